//! What parsing a response can fail with.

use std::fmt;

use http::StatusCode;

use crate::retry_after::RetryAfter;

/// Why a token or revoke response is not a success.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{http, parse_token_response, ApiErrorKind, ResponseError};
/// use std::time::SystemTime;
///
/// let response = http::Response::builder()
///     .status(401)
///     .header("x-pinterest-rid", "abc123")
///     .body(r#"{"code":283,"message":"The authorization grant is invalid"}"#)?;
/// let err = parse_token_response(SystemTime::UNIX_EPOCH, &response).unwrap_err();
/// assert!(err.is_invalid_grant());
/// assert_eq!(err.request_id(), Some("abc123"));
/// assert!(matches!(err, ResponseError::Api(ref e) if e.kind() == ApiErrorKind::InvalidGrant));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Pinterest answered with an error object (or a 2xx whose body is one).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The response could not be understood; nothing of its body is kept.
    #[error(transparent)]
    Malformed(Box<MalformedResponse>),
}

impl ResponseError {
    /// This error with every one of `secrets` (the app secret, the token or code just sent,
    /// any secret the caller holds) replaced by `<redacted>` wherever the server's text
    /// repeats it, whatever its shape. Server text is already stripped of anything that looks
    /// like a Pinterest token; this also catches secrets that do not look like one. Secrets
    /// shorter than 4 characters are not searched for (they would blank ordinary words).
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_core as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::{parse_token_response, http};
    /// use std::time::SystemTime;
    ///
    /// let echo = http::Response::builder()
    ///     .status(400)
    ///     .body(r#"{"code":1,"message":"bad client secret hunter2-hunter2"}"#)
    ///     .unwrap();
    /// let error = parse_token_response(SystemTime::UNIX_EPOCH, &echo).unwrap_err();
    /// let clean = error.without_secrets(&["hunter2-hunter2"]);
    /// assert!(!clean.to_string().contains("hunter2"));
    /// ```
    #[must_use]
    pub fn without_secrets(self, secrets: &[&str]) -> ResponseError {
        let scrub = |text: &mut Option<String>| {
            if let Some(text) = text {
                for secret in secrets.iter().filter(|s| s.len() >= 4) {
                    if text.contains(secret) {
                        *text = text.replace(secret, "<redacted>");
                    }
                }
            }
        };
        match self {
            ResponseError::Api(mut e) => {
                scrub(&mut e.error);
                scrub(&mut e.message);
                scrub(&mut e.message_detail);
                scrub(&mut e.request_id);
                ResponseError::Api(e)
            }
            ResponseError::Malformed(mut e) => {
                scrub(&mut e.content_type);
                scrub(&mut e.request_id);
                if let Malformation::UnexpectedRedirect { location } = &mut e.problem {
                    scrub(location);
                }
                ResponseError::Malformed(e)
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ResponseError::Api(e) => e.status,
            ResponseError::Malformed(e) => e.status,
        }
    }

    /// Pinterest's request id (`x-pinterest-rid`), for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ResponseError::Api(e) => e.request_id.as_deref(),
            ResponseError::Malformed(e) => e.request_id.as_deref(),
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            ResponseError::Api(e) => e.retry_after,
            ResponseError::Malformed(e) => e.retry_after,
        }
    }

    /// The server's `X-RateLimit-Reset`, when it sent one (read as seconds from now, or as a
    /// Unix time when it is larger than 10⁹).
    pub fn rate_limit_reset(&self) -> Option<RetryAfter> {
        match self {
            ResponseError::Api(e) => e.rate_limit_reset,
            ResponseError::Malformed(e) => e.rate_limit_reset,
        }
    }

    /// The API error, when Pinterest answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ResponseError::Api(e) => Some(e),
            ResponseError::Malformed(_) => None,
        }
    }

    /// `true` when the grant (code or refresh token) is invalid: the user must consent again.
    pub fn is_invalid_grant(&self) -> bool {
        self.api()
            .is_some_and(|e| e.kind == ApiErrorKind::InvalidGrant)
    }
}

/// How Pinterest's error is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// The code or refresh token is invalid, expired or already used (401 with code 283, or
    /// RFC 6749 `invalid_grant`): the user must consent again.
    InvalidGrant,
    /// The app id or secret was refused (401, code 2, RFC 6749 `invalid_client`).
    ClientAuthentication,
    /// The app is not allowed to do this (403, code 29).
    Forbidden,
    /// Too many requests (429, or code 8); see [`ApiError::retry_after`] and
    /// [`ApiError::is_blocked`].
    RateLimited,
    /// Pinterest failed (5xx).
    ServerError,
    /// Anything else (for example 400 with code 1: the request is malformed).
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

/// An error object from Pinterest, with its status and the headers that matter.
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
    pub(crate) rate_limit_reset: Option<RetryAfter>,
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
    /// The `X-RateLimit-Reset` response header.
    pub fn rate_limit_reset(&self) -> Option<RetryAfter> {
        self.rate_limit_reset
    }
    /// `true` when the answer says the app is blocked for spam rather than throttled: waiting
    /// will not help.
    pub fn is_blocked(&self) -> bool {
        let spam = |text: &Option<String>| {
            text.as_deref()
                .is_some_and(|d| d.to_ascii_lowercase().contains("spam"))
        };
        matches!(
            self.kind,
            ApiErrorKind::RateLimited | ApiErrorKind::Forbidden
        ) && (spam(&self.message_detail) || spam(&self.message))
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
    pub(crate) rate_limit_reset: Option<RetryAfter>,
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
    /// A 2xx carried neither an access token nor a refresh token: there is nothing to keep.
    #[error("a success answer carried no token")]
    NoToken,
    /// A 2xx carried an access token this client must not use (and no refresh token).
    #[error("unusable access token: {0}")]
    UnusableAccessToken(AccessTokenProblem),
    /// A field appears twice.
    #[error("duplicate field `{0}`")]
    DuplicateField(&'static str),
    /// The server answered with a redirect; redirects are never followed (they would carry the
    /// credentials elsewhere). Usually the base URL is wrong.
    #[error("unexpected redirect{}", to_location(location.as_deref()))]
    UnexpectedRedirect {
        /// The `Location` header, shortened.
        location: Option<String>,
    },
}

/// Why a token set carries no usable access token.
///
/// The refresh token of such a set is still kept (Pinterest has already rotated it), but the
/// access token is never handed out, printed or sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AccessTokenProblem {
    /// The answer carried no `access_token` (or an empty one, or one that was not a string).
    #[error("the answer carried no access token")]
    Missing,
    /// The access token has characters a bearer token cannot have (RFC 6750 §2.1 `b64token`:
    /// letters, digits, `-._~+/`, then optional `=` padding); it would break an
    /// `Authorization` header.
    #[error("the access token has characters a bearer token cannot have")]
    Malformed,
    /// The `token_type` is not `bearer`: a client must not use a token type it does not
    /// understand (RFC 6749 §7.1).
    #[error("the token type is not bearer")]
    UnsupportedType,
    /// The access token was revoked (and forgotten).
    #[error("the access token was revoked")]
    Revoked,
}

/// ` to <location>` for a redirect that said where, nothing otherwise.
fn to_location(location: Option<&str>) -> String {
    location.map(|l| format!(" to {l}")).unwrap_or_default()
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
