//! The consent page URL and the redirect back from it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;
use zeroize::Zeroizing;

use crate::config::ClientConfig;
use crate::endpoint::RedirectUri;
use crate::error::{CallbackError, ConfigError, sanitize_text};
use crate::pkce::PkceVerifier;
use crate::scope::Scope;
use crate::secret::{AuthorizationCode, CsrfState, ct_equal};

/// The least entropy accepted for a fresh `state`, in bytes (256 bits; RFC 6749 §10.10 asks
/// for at least 160).
pub const MIN_STATE_ENTROPY: usize = 32;

impl CsrfState {
    /// A `state` made from caller-supplied random bytes (at least 32), base64url-encoded.
    ///
    /// The core draws no randomness itself: pass bytes from the OS (`getrandom`) or your RNG.
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_core as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::{ConfigError, CsrfState};
    ///
    /// let state = CsrfState::from_entropy(&[7u8; 32])?;
    /// assert_eq!(state.secret().len(), 43);
    /// assert!(matches!(
    ///     CsrfState::from_entropy(&[7u8; 16]),
    ///     Err(ConfigError::InsufficientEntropy { got: 16, .. })
    /// ));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn from_entropy(entropy: &[u8]) -> Result<CsrfState, ConfigError> {
        if entropy.len() < MIN_STATE_ENTROPY {
            return Err(ConfigError::InsufficientEntropy {
                what: "state",
                min: MIN_STATE_ENTROPY,
                got: entropy.len(),
            });
        }
        CsrfState::new(URL_SAFE_NO_PAD.encode(entropy))
    }
}

/// Builds the consent page URL:
/// `{consent}?client_id=…&redirect_uri=…&response_type=code&scope=a,b&state=…`, and with a
/// PKCE verifier `&code_challenge=…&code_challenge_method=S256`.
///
/// Open it in the user's browser; keep `state` (and the verifier) to check the callback with
/// [`parse_callback`] and exchange the code. The URL carries the state, so treat it as you
/// treat the state.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{authorization_url, AppId, AppSecret, ClientConfig, CsrfState,
///     RedirectUri, Scope};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"));
/// let state = CsrfState::from_entropy(&[0u8; 32])?;
/// let url = authorization_url(
///     &config,
///     &RedirectUri::new("http://localhost:8085/")?,
///     &[Scope::BoardsRead, Scope::PinsRead],
///     &state,
///     None,
/// )?;
/// assert_eq!(
///     url.as_str(),
///     "https://www.pinterest.com/oauth/?client_id=1234&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F\
///      &response_type=code&scope=boards%3Aread%2Cpins%3Aread\
///      &state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
/// );
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
pub fn authorization_url(
    config: &ClientConfig,
    redirect_uri: &RedirectUri,
    scopes: &[Scope],
    state: &CsrfState,
    pkce: Option<&PkceVerifier>,
) -> Result<Url, ConfigError> {
    if scopes.is_empty() {
        return Err(ConfigError::EmptyScopes);
    }
    let mut url: Url = config.consent_url().url().clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", config.app_id().as_str())
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("response_type", "code")
            .append_pair("scope", &Scope::join(scopes))
            .append_pair("state", state.secret());
        if let Some(verifier) = pkce {
            query
                .append_pair("code_challenge", &verifier.challenge())
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url)
}

/// Checks the redirect back from the consent page and returns the authorization code.
///
/// `callback` may be the whole redirect URL, its request target (`/?code=…&state=…`) or just the
/// query. The `state` is compared with `expected` in constant time, and nothing is believed
/// unless it matches: a callback without the right `state` is [`CallbackError::StateMismatch`]
/// or [`CallbackError::MissingParameter`]`("state")`, whatever else it carries, so a forged
/// `error=access_denied` cannot end a login. With the right `state`, `error=` (such as
/// `access_denied`) is [`CallbackError::Denied`], its texts sanitized and shortened. A repeated
/// parameter is [`CallbackError::DuplicateParameter`].
/// [`CallbackError::state_matched`] tells a listener whether the callback came from the
/// consent page (end the flow) or from someone else (answer 400 and keep waiting).
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_callback, CallbackError, CsrfState};
///
/// let state = CsrfState::from_entropy(&[9u8; 32])?;
/// let good = format!("http://localhost:8085/?code=abc&state={}", state.secret());
/// assert_eq!(parse_callback(&good, &state)?.secret(), "abc");
///
/// let forged = parse_callback("/?code=abc&state=evil", &state).unwrap_err();
/// assert_eq!(forged, CallbackError::StateMismatch);
/// assert!(!forged.state_matched());
/// let denied = parse_callback(&format!("error=access_denied&state={}", state.secret()), &state);
/// assert!(matches!(denied, Err(CallbackError::Denied { .. })));
/// assert!(matches!(
///     parse_callback("error=access_denied", &state),
///     Err(CallbackError::MissingParameter("state"))
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_callback(
    callback: &str,
    expected: &CsrfState,
) -> Result<AuthorizationCode, CallbackError> {
    let query = match callback.split_once('?') {
        Some((_, query)) => query,
        None => callback,
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);

    let mut code: Option<AuthorizationCode> = None;
    let mut state: Option<Zeroizing<String>> = None;
    let mut error: Option<String> = None;
    let mut description: Option<String> = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "code" => set_once(&mut code, "code", AuthorizationCode::new(value))?,
            "state" => set_once(&mut state, "state", Zeroizing::new(value.into_owned()))?,
            "error" => set_once(&mut error, "error", sanitize_text(&value))?,
            "error_description" => {
                set_once(&mut description, "error_description", sanitize_text(&value))?
            }
            _ => {}
        }
    }

    let Some(state) = state else {
        return Err(CallbackError::MissingParameter("state"));
    };
    if !ct_equal(&state, expected.secret()) {
        return Err(CallbackError::StateMismatch);
    }
    if let Some(error) = error {
        return Err(CallbackError::Denied { error, description });
    }
    code.filter(|c| !c.secret().is_empty())
        .ok_or(CallbackError::MissingParameter("code"))
}

impl CallbackError {
    /// `true` when the callback carried the right `state`: it came from the consent page, and a
    /// login listener should end with this error. `false` for anything a third party could
    /// send (a wrong or missing `state`, a repeated parameter): answer it and keep waiting.
    pub fn state_matched(&self) -> bool {
        matches!(
            self,
            CallbackError::Denied { .. } | CallbackError::MissingParameter("code")
        )
    }
}

fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), CallbackError> {
    if slot.is_some() {
        return Err(CallbackError::DuplicateParameter(name));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_failures_are_typed() {
        let s = "s".repeat(32);
        let state = CsrfState::new(s.as_str()).unwrap();
        let err = |cb: &str| parse_callback(&cb.replace("{s}", &s), &state).unwrap_err();
        use CallbackError as E;
        assert_eq!(err("code=a"), E::MissingParameter("state"));
        assert_eq!(err("state={s}"), E::MissingParameter("code"));
        assert!(err("state={s}").state_matched());
        assert_eq!(err("state={s}&code="), E::MissingParameter("code"));
        assert_eq!(
            err("code=a&code=b&state={s}"),
            E::DuplicateParameter("code")
        );
        assert_eq!(
            err("code=a&state={s}&state={s}"),
            E::DuplicateParameter("state")
        );
        assert_eq!(err("code=a&state=S"), E::StateMismatch);
        assert_eq!(err("code=a&state="), E::StateMismatch);
        assert_eq!(err("error=access_denied&state=t"), E::StateMismatch);
        assert_eq!(err("error=access_denied"), E::MissingParameter("state"));
        assert!(!err("error=access_denied").state_matched());
        match err("?error=access_denied&error_description=User+said+no&state={s}#_") {
            E::Denied { error, description } => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("User said no"));
            }
            other => panic!("{other:?}"),
        }
        let code = parse_callback(&format!("/cb?code=a%2Bb&state={s}#frag"), &state).unwrap();
        assert_eq!(code.secret(), "a+b");
    }

    #[test]
    fn states_are_long_and_printable() {
        assert!(CsrfState::new("").is_err());
        assert!(CsrfState::new("x".repeat(31)).is_err());
        assert!(CsrfState::new("x".repeat(32)).is_ok());
        assert!(CsrfState::new(format!("{} ", "x".repeat(32))).is_err());
        assert!(CsrfState::from_entropy(&[1; 31]).is_err());
        assert_eq!(
            CsrfState::from_entropy(&[1; 32]).unwrap().secret().len(),
            43
        );
    }
}
