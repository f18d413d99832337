//! The core's errors: one small type per operation, and [`Error`], the umbrella for `?`.
//!
//! | operation | error |
//! |---|---|
//! | building the configuration, URLs, scopes, grants, state | [`ConfigError`] |
//! | parsing a token or revoke response | [`ResponseError`] |
//! | checking the consent callback | [`CallbackError`] |
//! | reading a stored token document | [`DocumentError`] |
//!
//! Nothing here ever holds a secret: no token, code, state or app secret is kept in an error or
//! printed by one, and text taken from a response is shortened and has token-like words redacted.

use std::fmt;

mod response;

pub use response::{
    AccessTokenProblem, ApiError, ApiErrorKind, JsonKind, Malformation, MalformedResponse,
    ResponseError,
};

pub(crate) use crate::redact::sanitize_text;
pub use crate::retry_after::RetryAfter;

/// Any error of the core, for `?` across operations.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{AppId, Error, http, parse_token_response};
/// use std::time::SystemTime;
///
/// fn run() -> Result<(), Error> {
///     let _id = AppId::new("1234567")?; // a ConfigError
///     let response = http::Response::builder()
///         .status(401)
///         .header("x-pinterest-rid", "abc123")
///         .body(r#"{"code":283,"message":"The authorization grant is invalid"}"#)
///         .unwrap();
///     parse_token_response(SystemTime::UNIX_EPOCH, &response)?; // a ResponseError
///     Ok(())
/// }
/// let err = run().unwrap_err();
/// assert!(err.is_invalid_grant());
/// assert_eq!(err.request_id(), Some("abc123"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to the configuration, a grant or a consent request was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Pinterest answered with an error, or with something that could not be understood.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// The consent callback was refused.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// A stored token document could not be read.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

impl Error {
    /// The response error, when this is one.
    pub fn response(&self) -> Option<&ResponseError> {
        match self {
            Error::Response(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the response this error came from, if it came from one.
    pub fn status(&self) -> Option<http::StatusCode> {
        self.response().map(ResponseError::status)
    }

    /// Pinterest's request id (`x-pinterest-rid`), for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.response().and_then(ResponseError::request_id)
    }

    /// `true` when the grant (code or refresh token) is invalid: the user must consent again.
    pub fn is_invalid_grant(&self) -> bool {
        self.response().is_some_and(ResponseError::is_invalid_grant)
    }
}

/// A value given to the configuration, a grant, or a consent request was refused.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{AppId, ConfigError};
///
/// assert!(matches!(AppId::new(""), Err(ConfigError::EmptyAppId)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL was refused.
    #[error("invalid {role}: {problem}")]
    InvalidUrl {
        /// Which URL it was.
        role: UrlRole,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// A variable [`ClientConfig::from_env`](crate::ClientConfig::from_env) needs is not set
    /// (or is empty).
    #[error("{name} is not set")]
    MissingVariable {
        /// The variable.
        name: &'static str,
    },
    /// The app id is empty.
    #[error("app id is empty")]
    EmptyAppId,
    /// The app id is not 1 to 128 printable ASCII characters without spaces (Pinterest's are
    /// digits); it is not quoted.
    #[error("app id is not 1 to 128 printable ascii characters without spaces")]
    InvalidAppId,
    /// The `User-Agent` is not a valid header value.
    #[error("user agent is not a valid header value")]
    InvalidUserAgent,
    /// A grant or consent request that needs scopes was given none.
    #[error("at least one scope is required")]
    EmptyScopes,
    /// A scope name is empty or contains a separator (comma or whitespace).
    #[error("invalid scope {scope:?}: {problem}")]
    InvalidScope {
        /// The scope as given.
        scope: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Too little entropy was supplied for a `state` or a PKCE verifier.
    #[error("{what} needs at least {min} bytes of entropy, got {got}")]
    InsufficientEntropy {
        /// What was being made.
        what: &'static str,
        /// The least accepted.
        min: usize,
        /// How many bytes were supplied.
        got: usize,
    },
    /// A stored `state` or PKCE verifier is too short or has characters it cannot have.
    #[error("invalid {what}: {problem}")]
    InvalidSecret {
        /// What it is.
        what: &'static str,
        /// What is wrong with it (never the value).
        problem: &'static str,
    },
}

/// Which configured URL a [`ConfigError::InvalidUrl`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlRole {
    /// The API base URL.
    BaseUrl,
    /// The consent page URL.
    ConsentUrl,
    /// The redirect URI.
    RedirectUri,
    /// The URI of a request about to be sent.
    RequestUri,
}

impl fmt::Display for UrlRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlRole::BaseUrl => "base url",
            UrlRole::ConsentUrl => "consent url",
            UrlRole::RedirectUri => "redirect uri",
            UrlRole::RequestUri => "request uri",
        })
    }
}

/// What is wrong with a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlProblem {
    /// It does not parse as an absolute URL.
    #[error("not an absolute url")]
    NotAbsolute,
    /// Its scheme is neither `https` nor (for loopback hosts) `http`.
    #[error("scheme must be https (or http for a loopback host)")]
    UnsupportedScheme,
    /// Plain `http` to a host that is not loopback (127.0.0.0/8, ::1, localhost).
    #[error("plain http is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost)")]
    PlainHttpNotLoopback,
    /// It carries a user name or password.
    #[error("must not contain credentials")]
    HasCredentials,
    /// It carries a query or a fragment where none is allowed.
    #[error("must not contain a query or fragment")]
    HasQueryOrFragment,
    /// It has a fragment (not allowed in a redirect URI).
    #[error("must not contain a fragment")]
    HasFragment,
    /// It has leading or trailing whitespace, or a control character (CR, LF, tab…) anywhere:
    /// URL parsing would strip or escape them, so what is sent would not be what was given,
    /// and Pinterest matches the redirect URI byte for byte.
    #[error("must not contain whitespace at its ends or any control character (cr, lf, tab)")]
    Unclean,
}

/// Why a consent callback was refused.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_callback, CallbackError, CsrfState};
///
/// let state = CsrfState::new("a-restored-state-of-at-least-32-chars").unwrap();
/// assert!(matches!(
///     parse_callback("/?code=abc&state=forged", &state),
///     Err(CallbackError::StateMismatch)
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// A parameter it must have is missing.
    #[error("callback is missing the `{0}` parameter")]
    MissingParameter(&'static str),
    /// A parameter is repeated (a sign of tampering).
    #[error("callback repeats the `{0}` parameter")]
    DuplicateParameter(&'static str),
    /// The `state` differs from the one sent: possible cross-site request forgery.
    #[error("callback state does not match the state sent to the consent page")]
    StateMismatch,
    /// The user (or Pinterest) refused consent: a callback with the right `state` carried
    /// `error=`. The texts are the server's, sanitized and shortened.
    #[error("consent was not granted; the server said: {error}{}", parenthesized(description.as_deref()))]
    Denied {
        /// The `error` parameter, such as `access_denied`.
        error: String,
        /// The `error_description` parameter, when present.
        description: Option<String>,
    },
}

/// ` (text)` for a present text, nothing otherwise.
fn parenthesized(text: Option<&str>) -> String {
    text.map(|text| format!(" ({text})")).unwrap_or_default()
}

/// Why a stored token document could not be read. Never quotes the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// It ends too early (an empty or cut file).
    #[error("invalid token document: truncated")]
    Truncated,
    /// It is not JSON.
    #[error("invalid token document: not json (syntax error at line {line}, column {column})")]
    NotJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A field is missing or has the wrong type.
    #[error(
        "invalid token document: a field is missing or has the wrong type (line {line}, column {column})"
    )]
    Fields {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Written by a newer version of this library (or, for version 0, by no version of it).
    #[error("{}", version_text(*found, *max))]
    Version {
        /// The version the document declares.
        found: u32,
        /// The newest version this program reads.
        max: u32,
    },
    /// It holds no credential at all (neither an access token nor a refresh token).
    #[error("invalid token document: it holds no token")]
    NoCredential,
    /// A scope name is malformed.
    #[error("invalid token document: a scope name is malformed")]
    BadScope,
    /// It is far larger than any token document (more than 1 MiB).
    #[error("invalid token document: far too large")]
    TooLarge,
    /// Its revision is beyond any number of saves (more than 2^52).
    #[error("invalid token document: its revision is out of range")]
    RevisionOutOfRange,
}

/// [`DocumentError::Version`] in words: a newer document, or a version no release wrote.
fn version_text(found: u32, max: u32) -> String {
    if found == 0 {
        "invalid token document: version 0 was never written by pinterest-oauth (versions start at 1)".to_owned()
    } else {
        format!(
            "token document version {found} is newer than this program reads ({max}); upgrade pinterest-oauth"
        )
    }
}
