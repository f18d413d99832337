//! How a failure is classified for the lifecycle.

use crate::document::StopReason;
use crate::error::{ApiErrorKind, Malformation, ResponseError, RetryAfter};

/// How a token request failed, as far as the lifecycle cares. Made by [`Failure::of`] for
/// Pinterest's answers; transports give [`Failure::Transient`] for network errors.
///
/// | failure | what the lifecycle does |
/// |---|---|
/// | `InvalidGrant` (401 code 283, `invalid_grant`) | stops: consent needed until a new set is loaded |
/// | `Permanent` (401 code 2, 403, spam block, 400 and other 4xx, redirects) | stops until the app's configuration changes or the user forces a refresh |
/// | `RateLimited` (429, code 8) | backs off, at least as long as `Retry-After` or `X-RateLimit-Reset` say |
/// | `Transient` (5xx, network, timeouts, garbled 2xx) | backs off exponentially, at least `Retry-After` |
/// | `Store` (the store failed before anything was sent) | backs off, in this process only |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The grant is invalid: stop, consent is needed.
    InvalidGrant,
    /// Retrying cannot help until something changes.
    Permanent {
        /// Why.
        reason: StopReason,
        /// The answer's HTTP status.
        status: Option<u16>,
        /// Pinterest's error code.
        code: Option<i64>,
    },
    /// Pinterest is throttling the app.
    RateLimited {
        /// `Retry-After`, when sent.
        retry_after: Option<RetryAfter>,
        /// `X-RateLimit-Reset`, when sent.
        reset: Option<RetryAfter>,
    },
    /// Trying again later may succeed.
    Transient {
        /// `Retry-After`, when sent.
        retry_after: Option<RetryAfter>,
    },
    /// The store could not be locked, read or reserved; nothing was sent.
    Store,
}

impl Failure {
    /// Classifies Pinterest's answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::{http, parse_token_response, Failure, StopReason};
    /// use std::time::SystemTime;
    ///
    /// let answer = |status, body: &str| {
    ///     let response = http::Response::builder().status(status).body(body.to_owned()).unwrap();
    ///     Failure::of(&parse_token_response(SystemTime::UNIX_EPOCH, &response).unwrap_err())
    /// };
    /// assert_eq!(answer(401, r#"{"code":283,"message":"m"}"#), Failure::InvalidGrant);
    /// assert!(matches!(
    ///     answer(401, r#"{"code":2,"message":"Authentication failed."}"#),
    ///     Failure::Permanent { reason: StopReason::InvalidClient, .. }
    /// ));
    /// assert!(matches!(answer(503, "oops"), Failure::Transient { .. }));
    /// ```
    pub fn of(error: &ResponseError) -> Failure {
        let status = error.status();
        let permanent = |reason, code| Failure::Permanent {
            reason,
            status: Some(status.as_u16()),
            code,
        };
        match error {
            ResponseError::Api(e) => match e.kind() {
                ApiErrorKind::InvalidGrant => Failure::InvalidGrant,
                _ if e.is_blocked() => permanent(StopReason::Blocked, e.code()),
                ApiErrorKind::RateLimited => Failure::RateLimited {
                    retry_after: e.retry_after(),
                    reset: e.rate_limit_reset(),
                },
                ApiErrorKind::ClientAuthentication => {
                    permanent(StopReason::InvalidClient, e.code())
                }
                ApiErrorKind::Forbidden => permanent(StopReason::Forbidden, e.code()),
                ApiErrorKind::ServerError => Failure::Transient {
                    retry_after: e.retry_after(),
                },
                _ if status.is_client_error() && status != 408 => {
                    permanent(StopReason::BadRequest, e.code())
                }
                _ => Failure::Transient {
                    retry_after: e.retry_after(),
                },
            },
            ResponseError::Malformed(m) => match (status.as_u16(), m.problem()) {
                (_, Malformation::UnexpectedRedirect { .. }) => {
                    permanent(StopReason::BadRequest, None)
                }
                (429, _) => Failure::RateLimited {
                    retry_after: m.retry_after(),
                    reset: m.rate_limit_reset,
                },
                (408, _) => Failure::Transient {
                    retry_after: m.retry_after(),
                },
                (401, _) => permanent(StopReason::InvalidClient, None),
                (403, _) => permanent(StopReason::Forbidden, None),
                (400..=499, _) => permanent(StopReason::BadRequest, None),
                _ => Failure::Transient {
                    retry_after: m.retry_after(),
                },
            },
        }
    }
}
