//! One consent round trip: the URL, its `state`, and the check of the callback.

use pinterest_oauth_core::{
    AuthorizationCodeGrant, CallbackError, ClientConfig, CsrfState, PkceVerifier, RedirectUri,
    Scope, Url, authorization_url, parse_callback,
};

use crate::CallError;

/// Whether a consent round trip uses PKCE (RFC 7636, S256).
///
/// Pinterest does not document PKCE; apps that send it work, and servers ignore parameters
/// they do not know (RFC 6749 §3.1, §3.2), so it is on by default (RFC 9700, RFC 8252 §8.1):
/// a code stolen on its way back is of no use without the verifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pkce {
    /// No PKCE.
    Off,
    /// A verifier from 32 bytes of OS entropy; its S256 challenge goes with the consent URL,
    /// the verifier with the code exchange.
    #[default]
    S256,
}

/// A consent round trip in progress: the URL to send the user to, the `state` (32 bytes from
/// the OS) that the callback must bring back, and the PKCE verifier when one is used.
///
/// `Debug` shows neither the URL nor the secrets (the URL carries the state).
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{AppId, AppSecret, ClientConfig, RedirectUri, Scope};
/// use pinterest_oauth_ureq::{AuthorizationRequest, Pkce};
///
/// let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret"));
/// let redirect = RedirectUri::new("http://localhost:8085/")?;
/// let consent = AuthorizationRequest::new(&config, &redirect, &[Scope::BoardsRead], Pkce::Off)?;
/// assert!(consent.url().as_str().starts_with("https://www.pinterest.com/oauth/?client_id=1234567"));
///
/// let callback = format!("/?code=abc&state={}", consent.state().secret());
/// let grant = consent.callback(&callback)?;
/// assert_eq!(grant.code().secret(), "abc");
/// assert!(consent.callback("/?code=abc&state=forged").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuthorizationRequest {
    url: Url,
    state: CsrfState,
    redirect_uri: RedirectUri,
    verifier: Option<PkceVerifier>,
    scopes: Vec<Scope>,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// Starts a round trip for `scopes`, redirecting back to `redirect_uri`.
    ///
    /// Errors: [`CallError::Config`] for scopes or a redirect URI Pinterest would refuse;
    /// [`CallError::Entropy`] when the OS gives no random bytes.
    pub fn new(
        config: &ClientConfig,
        redirect_uri: &RedirectUri,
        scopes: &[Scope],
        pkce: Pkce,
    ) -> Result<AuthorizationRequest, CallError> {
        let entropy =
            zeroize::Zeroizing::new(crate::entropy::bytes::<32>().map_err(CallError::Entropy)?);
        let state = CsrfState::from_entropy(entropy.as_slice())?;
        let verifier = match pkce {
            Pkce::Off => None,
            Pkce::S256 => {
                let entropy = zeroize::Zeroizing::new(
                    crate::entropy::bytes::<32>().map_err(CallError::Entropy)?,
                );
                Some(PkceVerifier::from_entropy(entropy.as_slice())?)
            }
        };
        let url = authorization_url(config, redirect_uri, scopes, &state, verifier.as_ref())?;
        Ok(AuthorizationRequest {
            url,
            state,
            redirect_uri: redirect_uri.clone(),
            verifier,
            scopes: scopes.to_vec(),
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

    /// Whether this round trip uses PKCE.
    pub fn pkce(&self) -> Pkce {
        if self.verifier.is_some() {
            Pkce::S256
        } else {
            Pkce::Off
        }
    }

    /// Checks a callback (a URL, a request target or a query) and gives the grant to exchange
    /// (with the PKCE verifier, when one is used). See [`parse_callback`] for what is refused;
    /// only a callback with the right `state` is believed.
    pub fn callback(&self, callback: &str) -> Result<AuthorizationCodeGrant, CallbackError> {
        let code = parse_callback(callback, &self.state)?;
        let grant = AuthorizationCodeGrant::new(code, self.redirect_uri.clone())
            .with_requested_scopes(self.scopes.clone());
        Ok(match &self.verifier {
            Some(verifier) => grant.with_pkce_verifier(verifier.clone()),
            None => grant,
        })
    }
}
