//! The core's one error type, and the details it carries.

use std::fmt;

use http::StatusCode;

/// Everything that can go wrong in the core.
///
/// Nothing here ever holds a secret: no token, code, state or app secret is kept in an error or
/// printed by one, and text taken from a response is shortened and has token-like words redacted.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{Error, http};
/// use std::time::SystemTime;
///
/// let response = http::Response::builder()
///     .status(401)
///     .header("x-pinterest-rid", "abc123")
///     .body(r#"{"code":283,"message":"The authorization grant is invalid"}"#)
///     .unwrap();
/// let err = pinterest_oauth_core::parse_token_response(SystemTime::UNIX_EPOCH, &response)
///     .unwrap_err();
/// assert!(err.is_invalid_grant());
/// assert_eq!(err.request_id(), Some("abc123"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Pinterest answered with an error object (or a 2xx whose body is one).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The response could not be understood; nothing of its body is kept.
    #[error(transparent)]
    MalformedResponse(Box<MalformedResponse>),
    /// A URL given to the configuration or a grant was refused.
    #[error("invalid {role}: {problem}")]
    InvalidUrl {
        /// Which URL it was.
        role: UrlRole,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// The app id is empty.
    #[error("app id is empty")]
    EmptyAppId,
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
    /// Fewer than 16 bytes of entropy were supplied for a `state`.
    #[error("state needs at least {min} bytes of entropy, got {got}", min = crate::MIN_STATE_ENTROPY)]
    InsufficientEntropy {
        /// How many bytes were supplied.
        got: usize,
    },
    /// A root certificate given to [`HttpSettings`](crate::HttpSettings) could not be read.
    #[error("invalid root certificate")]
    InvalidCertificate,
    /// A [`TokenLifecycle`](crate::TokenLifecycle) method was called out of order.
    #[error("token lifecycle: `{call}` is not valid while {state}")]
    LifecycleOutOfOrder {
        /// The method.
        call: &'static str,
        /// The state the lifecycle was in.
        state: &'static str,
    },
    /// A stored token document could not be read.
    #[error("invalid token document: {0}")]
    InvalidTokenDocument(TokenDocumentProblem),
    /// The consent callback lacks a parameter it must have.
    #[error("callback is missing the `{0}` parameter")]
    MissingCallbackParameter(&'static str),
    /// The consent callback repeats a parameter (a sign of tampering).
    #[error("callback repeats the `{0}` parameter")]
    DuplicateCallbackParameter(&'static str),
    /// The callback's `state` differs from the one sent: possible cross-site request forgery.
    #[error("callback state does not match the state sent to the consent page")]
    StateMismatch,
    /// The user (or Pinterest) refused consent: the callback carried `error=`.
    #[error("consent was not granted: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizationDenied {
        /// The `error` parameter, such as `access_denied`.
        error: String,
        /// The `error_description` parameter, when present.
        description: Option<String>,
    },
}

impl Error {
    /// The HTTP status of the response this error came from, if it came from one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::MalformedResponse(e) => Some(e.status),
            _ => None,
        }
    }

    /// Pinterest's request id (`x-pinterest-rid`), for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::MalformedResponse(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            Error::Api(e) => e.retry_after,
            Error::MalformedResponse(e) => e.retry_after,
            _ => None,
        }
    }

    /// `true` when the grant (code or refresh token) is invalid: the user must consent again.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Error::Api(e) if e.kind == ApiErrorKind::InvalidGrant)
    }

    /// `true` when trying the same request again later may succeed: rate limiting, a server
    /// error, or a garbled answer that was not a client error.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(e) => matches!(
                e.kind,
                ApiErrorKind::RateLimited | ApiErrorKind::ServerError
            ),
            // A garbled 2xx or 5xx may come out right next time; a 3xx or 4xx will not.
            Error::MalformedResponse(e) => {
                let status = e.status;
                status.is_success()
                    || status.is_server_error()
                    || matches!(status.as_u16(), 408 | 429)
            }
            _ => false,
        }
    }
}

/// Which configured URL an [`Error::InvalidUrl`] is about.
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
}

/// How Pinterest's error is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// The code or refresh token is invalid, expired or already used (401 with code 283, or
    /// RFC 6749 `invalid_grant`): the user must consent again.
    InvalidGrant,
    /// The app id or secret was refused (401, RFC 6749 `invalid_client`).
    ClientAuthentication,
    /// The app is not allowed to do this (403).
    Forbidden,
    /// Too many requests (429); see [`ApiError::retry_after`] and [`ApiError::is_blocked`].
    RateLimited,
    /// Pinterest failed (5xx).
    ServerError,
    /// Anything else.
    Other,
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiErrorKind::InvalidGrant => "invalid grant (consent needed)",
            ApiErrorKind::ClientAuthentication => "client authentication failed",
            ApiErrorKind::Forbidden => "forbidden",
            ApiErrorKind::RateLimited => "rate limited",
            ApiErrorKind::ServerError => "server error",
            ApiErrorKind::Other => "api error",
        })
    }
}

/// An error object from Pinterest, with its status and headers that matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) kind: ApiErrorKind,
    pub(crate) code: Option<i64>,
    pub(crate) error: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) message_detail: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<RetryAfter>,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The classification.
    pub fn kind(&self) -> ApiErrorKind {
        self.kind
    }
    /// Pinterest's numeric `code` (e.g. 283 for an invalid grant).
    pub fn code(&self) -> Option<i64> {
        self.code
    }
    /// RFC 6749's `error` (e.g. `invalid_grant`), when the body used that shape.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// Pinterest's `message`, or RFC 6749's `error_description`.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// Pinterest's `message_detail`, when present.
    pub fn message_detail(&self) -> Option<&str> {
        self.message_detail.as_deref()
    }
    /// The `x-pinterest-rid` response header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// The `Retry-After` response header.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.retry_after
    }
    /// `true` for a 429 whose detail says the app is blocked for spam rather than throttled:
    /// waiting will not help.
    pub fn is_blocked(&self) -> bool {
        self.kind == ApiErrorKind::RateLimited
            && self
                .message_detail
                .as_deref()
                .is_some_and(|d| d.to_ascii_lowercase().contains("spam"))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (http {}", self.kind, self.status.as_u16())?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(error) = &self.error {
            write!(f, ", {error}")?;
        }
        f.write_str(")")?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(detail) = &self.message_detail {
            write!(f, " ({detail})")?;
        }
        if let Some(rid) = &self.request_id {
            write!(f, " [request id {rid}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A response that could not be understood.
///
/// Says what was wrong and where, never quoting the body (it may hold tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedResponse {
    pub(crate) status: StatusCode,
    pub(crate) problem: Malformation,
    pub(crate) content_type: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<RetryAfter>,
}

impl MalformedResponse {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// What was wrong.
    pub fn problem(&self) -> &Malformation {
        &self.problem
    }
    /// The `Content-Type` header, when present.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// The `x-pinterest-rid` response header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// The `Retry-After` response header.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.retry_after
    }
}

impl fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed response (http {}", self.status.as_u16())?;
        if let Some(ct) = &self.content_type {
            write!(f, ", content-type {ct}")?;
        }
        write!(f, "): {}", self.problem)?;
        if let Some(rid) = &self.request_id {
            write!(f, " [request id {rid}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for MalformedResponse {}

/// What made a response malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformation {
    /// The body is empty (or only whitespace).
    #[error("empty body")]
    EmptyBody,
    /// The body is not UTF-8.
    #[error("body is not utf-8 (first bad byte at offset {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The body is not JSON.
    #[error("body is not json (syntax error at line {line}, column {column})")]
    NotJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The JSON ends too early.
    #[error("json is truncated")]
    Truncated,
    /// The JSON is not an object.
    #[error("json is {found}, expected an object")]
    NotAnObject {
        /// What it is instead.
        found: JsonKind,
    },
    /// A required field is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field appears twice.
    #[error("duplicate field `{0}`")]
    DuplicateField(&'static str),
    /// A field has the wrong JSON type.
    #[error("field `{field}` is {found}, expected {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: JsonKind,
    },
    /// The server answered with a redirect; redirects are never followed (they would carry the
    /// credentials elsewhere). Usually the base URL is wrong.
    #[error("unexpected redirect{}", location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default())]
    UnexpectedRedirect {
        /// The `Location` header, shortened.
        location: Option<String>,
    },
    /// A field has the right type but an unusable value.
    #[error("field `{field}` {problem}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// What is wrong with a stored token document. Never quotes the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenDocumentProblem {
    /// It ends too early (an empty or cut file).
    #[error("truncated")]
    Truncated,
    /// It is not JSON.
    #[error("not json (syntax error at line {line}, column {column})")]
    NotJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A field is missing or has the wrong type.
    #[error("a field is missing or has the wrong type (line {line}, column {column})")]
    Fields {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Written by another version of this library.
    #[error("unsupported version {0}")]
    Version(u32),
    /// The access token is empty.
    #[error("the access token is empty")]
    EmptyAccessToken,
    /// A scope name is malformed.
    #[error("a scope name is malformed")]
    BadScope,
    /// A time is out of range.
    #[error("`{0}` is out of range")]
    OutOfRange(&'static str),
}

/// The kind of a JSON value, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        })
    }
}

pub(crate) use crate::redact::sanitize_text;
pub use crate::retry_after::RetryAfter;
