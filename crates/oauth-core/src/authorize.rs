//! The consent page URL and the redirect back from it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use crate::config::ClientConfig;
use crate::endpoint::RedirectUri;
use crate::error::{Error, sanitize_text};
use crate::scope::Scope;
use crate::secret::{AuthorizationCode, CsrfState, ct_equal};

/// The least entropy accepted for a `state`, in bytes.
pub const MIN_STATE_ENTROPY: usize = 16;

impl CsrfState {
    /// A `state` made from caller-supplied random bytes (at least 16), base64url-encoded.
    ///
    /// The core draws no randomness itself: pass bytes from the OS (`getrandom`) or your RNG.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::{CsrfState, Error};
    ///
    /// let state = CsrfState::from_entropy(&[7u8; 16])?;
    /// assert_eq!(state.secret().len(), 22);
    /// assert!(matches!(
    ///     CsrfState::from_entropy(&[7u8; 15]),
    ///     Err(Error::InsufficientEntropy { got: 15 })
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_entropy(entropy: &[u8]) -> Result<CsrfState, Error> {
        if entropy.len() < MIN_STATE_ENTROPY {
            return Err(Error::InsufficientEntropy { got: entropy.len() });
        }
        Ok(CsrfState::new(URL_SAFE_NO_PAD.encode(entropy)))
    }
}

/// Builds the consent page URL:
/// `{consent}?client_id=…&redirect_uri=…&response_type=code&scope=a,b&state=…`.
///
/// Open it in the user's browser; keep `state` to check the callback with [`parse_callback`].
/// The URL carries the state, so treat it as you treat the state.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{authorization_url, AppId, AppSecret, ClientConfig, CsrfState,
///     RedirectUri, Scope};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"));
/// let state = CsrfState::from_entropy(&[0u8; 16])?;
/// let url = authorization_url(
///     &config,
///     &RedirectUri::new("http://localhost:8085/")?,
///     &[Scope::BoardsRead, Scope::PinsRead],
///     &state,
/// )?;
/// assert_eq!(
///     url.as_str(),
///     "https://www.pinterest.com/oauth/?client_id=1234&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F\
///      &response_type=code&scope=boards%3Aread%2Cpins%3Aread&state=AAAAAAAAAAAAAAAAAAAAAA"
/// );
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
pub fn authorization_url(
    config: &ClientConfig,
    redirect_uri: &RedirectUri,
    scopes: &[Scope],
    state: &CsrfState,
) -> Result<Url, Error> {
    if scopes.is_empty() {
        return Err(Error::EmptyScopes);
    }
    let mut url: Url = config.consent_url().url().clone();
    url.query_pairs_mut()
        .append_pair("client_id", config.app_id().as_str())
        .append_pair("redirect_uri", redirect_uri.as_str())
        .append_pair("response_type", "code")
        .append_pair("scope", &Scope::join(scopes))
        .append_pair("state", state.secret());
    Ok(url)
}

/// Checks the redirect back from the consent page and returns the authorization code.
///
/// `callback` may be the whole redirect URL, its request target (`/?code=…&state=…`) or just the
/// query. The `state` is compared with `expected` in constant time. Every failure is typed:
/// [`Error::StateMismatch`], [`Error::AuthorizationDenied`] (the callback carried `error=`, such
/// as `access_denied`), [`Error::MissingCallbackParameter`] and
/// [`Error::DuplicateCallbackParameter`].
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_callback, CsrfState, Error};
///
/// let state = CsrfState::new("xyz");
/// let code = parse_callback("http://localhost:8085/?code=abc&state=xyz", &state)?;
/// assert_eq!(code.secret(), "abc");
///
/// assert!(matches!(parse_callback("/?code=abc&state=evil", &state), Err(Error::StateMismatch)));
/// assert!(matches!(
///     parse_callback("error=access_denied&state=xyz", &state),
///     Err(Error::AuthorizationDenied { .. })
/// ));
/// # Ok::<(), Error>(())
/// ```
pub fn parse_callback(callback: &str, expected: &CsrfState) -> Result<AuthorizationCode, Error> {
    let query = match callback.split_once('?') {
        Some((_, query)) => query,
        None => callback,
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);

    let mut code: Option<AuthorizationCode> = None;
    let mut state: Option<CsrfState> = None;
    let mut error: Option<String> = None;
    let mut description: Option<String> = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "code" => set_once(&mut code, "code", AuthorizationCode::new(value))?,
            "state" => set_once(&mut state, "state", CsrfState::new(value))?,
            "error" => set_once(&mut error, "error", sanitize_text(&value))?,
            "error_description" => {
                set_once(&mut description, "error_description", sanitize_text(&value))?
            }
            _ => {}
        }
    }

    match (state, error) {
        (Some(state), _) if !ct_equal(state.secret(), expected.secret()) => {
            Err(Error::StateMismatch)
        }
        // A refusal accepts nothing, so it is reported even without a state.
        (_, Some(error)) => Err(Error::AuthorizationDenied { error, description }),
        (None, None) => Err(Error::MissingCallbackParameter("state")),
        (Some(_), None) => code
            .filter(|c| !c.secret().is_empty())
            .ok_or(Error::MissingCallbackParameter("code")),
    }
}

fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::DuplicateCallbackParameter(name));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_failures_are_typed() {
        let state = CsrfState::new("s");
        let err = |cb: &str| parse_callback(cb, &state).unwrap_err();
        assert!(matches!(
            err("code=a"),
            Error::MissingCallbackParameter("state")
        ));
        assert!(matches!(
            err("state=s"),
            Error::MissingCallbackParameter("code")
        ));
        assert!(matches!(
            err("state=s&code="),
            Error::MissingCallbackParameter("code")
        ));
        assert!(matches!(
            err("code=a&code=b&state=s"),
            Error::DuplicateCallbackParameter("code")
        ));
        assert!(matches!(
            err("code=a&state=s&state=s"),
            Error::DuplicateCallbackParameter("state")
        ));
        assert!(matches!(err("code=a&state=S"), Error::StateMismatch));
        assert!(matches!(err("code=a&state="), Error::StateMismatch));
        assert!(matches!(
            err("error=access_denied&state=t"),
            Error::StateMismatch
        ));
        match err("?error=access_denied&error_description=User+said+no&state=s#_") {
            Error::AuthorizationDenied { error, description } => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("User said no"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            err("error=access_denied"),
            Error::AuthorizationDenied { .. }
        ));
        assert_eq!(
            parse_callback("/cb?code=a%2Bb&state=s#frag", &state)
                .unwrap()
                .secret(),
            "a+b"
        );
    }
}
