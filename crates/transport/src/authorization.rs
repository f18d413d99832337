//! One consent round trip: the URL, its `state`, and the check of the callback.

use pinterest_oauth_core::{
    AuthorizationCodeGrant, CallbackError, ClientConfig, CsrfState, RedirectUri, Scope, Url,
    authorization_url, parse_callback,
};

use crate::Error;

/// A consent round trip in progress: the URL to send the user to, and the `state` (32 bytes
/// from the OS) that the callback must bring back.
///
/// `Debug` shows neither the URL nor the state (the URL carries the state).
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, RedirectUri, Scope};
/// use pinterest_oauth_transport::Authorization;
///
/// let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret"));
/// let redirect = RedirectUri::new("http://localhost:8085/")?;
/// let consent = Authorization::new(&config, &redirect, &[Scope::BoardsRead])?;
/// assert!(consent.url().as_str().starts_with("https://www.pinterest.com/oauth/?client_id=1234567"));
///
/// let callback = format!("/?code=abc&state={}", consent.state().secret());
/// let grant = consent.callback(&callback)?;
/// assert_eq!(grant.code().secret(), "abc");
/// assert!(consent.callback("/?code=abc&state=forged").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Authorization {
    url: Url,
    state: CsrfState,
    redirect_uri: RedirectUri,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl Authorization {
    /// Starts a round trip for `scopes`, redirecting back to `redirect_uri`.
    pub fn new(
        config: &ClientConfig,
        redirect_uri: &RedirectUri,
        scopes: &[Scope],
    ) -> Result<Authorization, Error> {
        let entropy = zeroize::Zeroizing::new(crate::entropy::bytes::<32>()?);
        let state = CsrfState::from_entropy(entropy.as_slice())?;
        let url = authorization_url(config, redirect_uri, scopes, &state)?;
        Ok(Authorization {
            url,
            state,
            redirect_uri: redirect_uri.clone(),
        })
    }

    /// The consent page URL (it carries the state: treat it as a secret).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The state.
    pub fn state(&self) -> &CsrfState {
        &self.state
    }

    /// The redirect URI the code must be exchanged with.
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// Checks a callback (a URL, a request target or a query) and gives the grant to exchange.
    /// See [`parse_callback`] for what is refused; only a callback with the right `state` is
    /// believed.
    pub fn callback(&self, callback: &str) -> Result<AuthorizationCodeGrant, CallbackError> {
        let code = parse_callback(callback, &self.state)?;
        Ok(AuthorizationCodeGrant::new(code, self.redirect_uri.clone()))
    }
}
