//! Validated URLs: the API base, the consent page and redirect URIs.
//!
//! Each is checked once when built (https, or plain http only for loopback hosts) and then
//! carried as a type that cannot be wrong.

use std::fmt;
use std::str::FromStr;

use url::{Host, Url};

use crate::error::{ConfigError, UrlProblem, UrlRole};

/// Pinterest's production API base.
pub const PRODUCTION_BASE_URL: &str = "https://api.pinterest.com/v5";
/// Pinterest's sandbox API base.
pub const SANDBOX_BASE_URL: &str = "https://api-sandbox.pinterest.com/v5";
/// Pinterest's consent page.
pub const PINTEREST_CONSENT_URL: &str = "https://www.pinterest.com/oauth/";

/// Checks the scheme, host and credentials rules shared by every endpoint we send to.
fn parse_endpoint(input: &str, role: UrlRole) -> Result<Url, ConfigError> {
    let invalid = |problem| ConfigError::InvalidUrl { role, problem };
    let url = Url::parse(input.trim()).map_err(|_| invalid(UrlProblem::NotAbsolute))?;
    let host = url.host().ok_or(invalid(UrlProblem::NotAbsolute))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => return Err(invalid(UrlProblem::PlainHttpNotLoopback)),
        _ => return Err(invalid(UrlProblem::UnsupportedScheme)),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(UrlProblem::HasCredentials));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(UrlProblem::HasQueryOrFragment));
    }
    Ok(url)
}

/// `true` for 127.0.0.0/8, `::1` and `localhost`.
fn is_loopback<S: AsRef<str>>(host: &Host<S>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(name) => name.as_ref().eq_ignore_ascii_case("localhost"),
    }
}

/// Checks the URI of a request about to be sent: `https`, or plain `http` to a loopback host.
///
/// Requests built by this crate always pass (their base URL was checked when built); transports
/// call this before sending anything a caller built by hand.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{check_request_uri, http::Uri};
///
/// assert!(check_request_uri(&Uri::from_static("https://api.pinterest.com/v5/oauth/token")).is_ok());
/// assert!(check_request_uri(&Uri::from_static("http://127.0.0.1:8080/v5/oauth/token")).is_ok());
/// assert!(check_request_uri(&Uri::from_static("http://api.pinterest.com/v5/oauth/token")).is_err());
/// ```
pub fn check_request_uri(uri: &http::Uri) -> Result<(), ConfigError> {
    let invalid = |problem| ConfigError::InvalidUrl {
        role: UrlRole::RequestUri,
        problem,
    };
    let host = uri.host().ok_or(invalid(UrlProblem::NotAbsolute))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = match host.parse::<core::net::IpAddr>() {
                Ok(ip) => ip.is_loopback(),
                Err(_) => host.eq_ignore_ascii_case("localhost"),
            };
            if loopback {
                Ok(())
            } else {
                Err(invalid(UrlProblem::PlainHttpNotLoopback))
            }
        }
        Some(_) => Err(invalid(UrlProblem::UnsupportedScheme)),
        None => Err(invalid(UrlProblem::NotAbsolute)),
    }
}

/// The API base URL, such as `https://api.pinterest.com/v5`, with the token and revoke endpoint
/// URIs derived from it.
///
/// Must be `https`; plain `http` is accepted only for loopback hosts (127.0.0.0/8, `::1`,
/// `localhost`), for tests and local fakes. No credentials, query or fragment.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::BaseUrl;
///
/// let base = BaseUrl::production();
/// assert_eq!(base.token_endpoint(), "https://api.pinterest.com/v5/oauth/token");
///
/// let local: BaseUrl = "http://127.0.0.1:8080/v5/".parse().unwrap();
/// assert_eq!(local.as_str(), "http://127.0.0.1:8080/v5");
/// assert!("http://example.com/v5".parse::<BaseUrl>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    base: String,
    token: http::Uri,
    revoke: http::Uri,
    user_account: http::Uri,
    loopback: bool,
}

impl BaseUrl {
    /// `https://api.pinterest.com/v5`.
    pub fn production() -> BaseUrl {
        Self::from_known(PRODUCTION_BASE_URL)
    }

    /// `https://api-sandbox.pinterest.com/v5`.
    pub fn sandbox() -> BaseUrl {
        Self::from_known(SANDBOX_BASE_URL)
    }

    fn from_known(url: &'static str) -> BaseUrl {
        match Self::parse(url) {
            Ok(base) => base,
            // Both constants are checked by a unit test.
            Err(_) => unreachable!("built-in base url is valid"),
        }
    }

    /// Checks and normalizes a base URL (a trailing slash is dropped).
    pub fn parse(input: &str) -> Result<BaseUrl, ConfigError> {
        let url = parse_endpoint(input, UrlRole::BaseUrl)?;
        let loopback = url.host().is_some_and(|h| is_loopback(&h));
        let base = url.as_str().trim_end_matches('/').to_owned();
        let uri = |suffix: &str| {
            http::Uri::try_from(format!("{base}{suffix}")).map_err(|_| ConfigError::InvalidUrl {
                role: UrlRole::BaseUrl,
                problem: UrlProblem::NotAbsolute,
            })
        };
        Ok(BaseUrl {
            token: uri("/oauth/token")?,
            revoke: uri("/oauth/token/revoke")?,
            user_account: uri("/user_account")?,
            base,
            loopback,
        })
    }

    /// The normalized base, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `{base}/oauth/token`.
    pub fn token_endpoint(&self) -> &http::Uri {
        &self.token
    }

    /// `{base}/oauth/token/revoke`.
    pub fn revoke_endpoint(&self) -> &http::Uri {
        &self.revoke
    }

    /// `{base}/user_account`.
    pub fn user_account_endpoint(&self) -> &http::Uri {
        &self.user_account
    }

    /// `true` when the host is loopback (and plain http was therefore allowed).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl Default for BaseUrl {
    fn default() -> Self {
        BaseUrl::production()
    }
}

impl FromStr for BaseUrl {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        BaseUrl::parse(s)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.base).finish()
    }
}

/// The consent page URL, `https://www.pinterest.com/oauth/` unless changed (for a local fake).
///
/// Same rules as [`BaseUrl`].
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::ConsentUrl;
///
/// assert_eq!(ConsentUrl::pinterest().as_str(), "https://www.pinterest.com/oauth/");
/// assert!("http://localhost:9000/oauth/".parse::<ConsentUrl>().is_ok());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConsentUrl(Url);

impl ConsentUrl {
    /// `https://www.pinterest.com/oauth/`.
    pub fn pinterest() -> ConsentUrl {
        match Self::parse(PINTEREST_CONSENT_URL) {
            Ok(url) => url,
            // Checked by a unit test.
            Err(_) => unreachable!("built-in consent url is valid"),
        }
    }

    /// Checks a consent page URL.
    pub fn parse(input: &str) -> Result<ConsentUrl, ConfigError> {
        parse_endpoint(input, UrlRole::ConsentUrl).map(ConsentUrl)
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn url(&self) -> &Url {
        &self.0
    }
}

impl Default for ConsentUrl {
    fn default() -> Self {
        ConsentUrl::pinterest()
    }
}

impl FromStr for ConsentUrl {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        ConsentUrl::parse(s)
    }
}

impl fmt::Display for ConsentUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for ConsentUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConsentUrl").field(&self.0.as_str()).finish()
    }
}

/// The redirect URI registered with the app, kept exactly as given.
///
/// It must be an absolute URL without a fragment. It is sent byte-for-byte as given, both to the
/// consent page and in the code exchange, because Pinterest requires the two to be equal. Any
/// scheme is accepted (Pinterest decides which URIs are registered); the check only catches
/// typos early.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::RedirectUri;
///
/// let uri = RedirectUri::new("http://localhost:8085/").unwrap();
/// assert_eq!(uri.as_str(), "http://localhost:8085/");
/// assert!(RedirectUri::new("/callback").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
// Shared: every code exchange carries it, and a clone costs no allocation.
pub struct RedirectUri(std::sync::Arc<str>);

impl RedirectUri {
    /// Checks that `uri` is an absolute URL without a fragment, with no whitespace at its ends
    /// and no control character anywhere (URL parsing would strip or escape them: the URI sent
    /// would not be the one registered, which Pinterest compares byte for byte).
    pub fn new(uri: impl Into<String>) -> Result<RedirectUri, ConfigError> {
        let uri = uri.into();
        let invalid = |problem| ConfigError::InvalidUrl {
            role: UrlRole::RedirectUri,
            problem,
        };
        if uri.trim() != uri || uri.chars().any(char::is_control) {
            return Err(invalid(UrlProblem::Unclean));
        }
        let url = Url::parse(&uri).map_err(|_| invalid(UrlProblem::NotAbsolute))?;
        if url.cannot_be_a_base() {
            return Err(invalid(UrlProblem::NotAbsolute));
        }
        if url.fragment().is_some() {
            return Err(invalid(UrlProblem::HasFragment));
        }
        Ok(RedirectUri(uri.into()))
    }

    /// The URI exactly as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RedirectUri {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        RedirectUri::new(s)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedirectUri").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(input: &str) -> UrlProblem {
        match BaseUrl::parse(input) {
            Err(ConfigError::InvalidUrl { problem, .. }) => problem,
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn built_in_urls_are_valid() {
        assert_eq!(BaseUrl::production().as_str(), PRODUCTION_BASE_URL);
        assert_eq!(BaseUrl::sandbox().as_str(), SANDBOX_BASE_URL);
        assert_eq!(
            BaseUrl::sandbox().revoke_endpoint(),
            "https://api-sandbox.pinterest.com/v5/oauth/token/revoke"
        );
        assert_eq!(ConsentUrl::pinterest().as_str(), PINTEREST_CONSENT_URL);
        assert!(!BaseUrl::production().is_loopback());
    }

    #[test]
    fn loopback_http_only() {
        for ok in [
            "http://127.0.0.1:1/v5",
            "http://127.200.3.4/v5",
            "http://[::1]:8080/v5",
            "http://localhost/v5",
            "http://LOCALHOST:9/v5",
            "https://example.com/v5",
            "https://example.com",
        ] {
            let base = BaseUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(base.is_loopback(), ok.starts_with("http:"), "{ok}");
        }
        assert_eq!(
            problem("http://example.com/v5"),
            UrlProblem::PlainHttpNotLoopback
        );
        assert_eq!(
            problem("http://10.0.0.1/v5"),
            UrlProblem::PlainHttpNotLoopback
        );
        assert_eq!(
            problem("http://localhost.evil.com/v5"),
            UrlProblem::PlainHttpNotLoopback
        );
        assert_eq!(problem("http://[::2]/v5"), UrlProblem::PlainHttpNotLoopback);
        assert_eq!(problem("ftp://127.0.0.1/v5"), UrlProblem::UnsupportedScheme);
        assert_eq!(
            problem("https://u:p@example.com/v5"),
            UrlProblem::HasCredentials
        );
        assert_eq!(
            problem("https://example.com/v5?x=1"),
            UrlProblem::HasQueryOrFragment
        );
        assert_eq!(
            problem("https://example.com/v5#x"),
            UrlProblem::HasQueryOrFragment
        );
        assert_eq!(problem("not a url"), UrlProblem::NotAbsolute);
        assert_eq!(problem(""), UrlProblem::NotAbsolute);
        assert_eq!(problem("mailto:x@example.com"), UrlProblem::NotAbsolute);
    }

    #[test]
    fn trailing_slash_is_normalized() {
        let base = BaseUrl::parse("https://api.example.com/v5/").unwrap();
        assert_eq!(
            base.token_endpoint(),
            "https://api.example.com/v5/oauth/token"
        );
        let root = BaseUrl::parse("https://api.example.com").unwrap();
        assert_eq!(root.token_endpoint(), "https://api.example.com/oauth/token");
    }

    #[test]
    fn redirect_uri_is_kept_verbatim() {
        let raw = "https://example.com/cb?x=a b";
        assert_eq!(RedirectUri::new(raw).unwrap().as_str(), raw);
        assert!(RedirectUri::new("/relative").is_err());
        assert!(RedirectUri::new("https://example.com/#frag").is_err());
        assert!(RedirectUri::new("com.example.app:/oauth").is_ok());
    }

    #[test]
    fn a_redirect_uri_that_parsing_would_change_is_refused() {
        for bad in [
            " http://localhost:8085/",
            "http://localhost:8085/ ",
            "http://localhost:8085/\r\n",
            "http://local\thost:8085/",
            "http://localhost:8085/pa\u{7f}th",
            "\u{85}http://localhost:8085/",
        ] {
            let err = RedirectUri::new(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::InvalidUrl {
                        problem: UrlProblem::Unclean,
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
        assert!(RedirectUri::new("http://localhost:8085/").is_ok());
    }
}
