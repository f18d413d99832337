//! The transport's error: the core's, plus what can go wrong on the wire.

use std::io;

/// Everything that can go wrong calling Pinterest through ureq.
///
/// Protocol answers (Pinterest's error objects, malformed bodies, invalid grants) arrive as
/// [`Error::Core`]; the other variants are the transport's own. No variant holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Pinterest's answer was an error, or could not be understood; or the configuration was
    /// refused by the core.
    #[error(transparent)]
    Core(#[from] pinterest_oauth_core::Error),
    /// No connection could be made (refused, unreachable, name not found).
    #[error("could not connect: {0}")]
    Connect(#[source] ureq::Error),
    /// The call took longer than its timeout.
    #[error("timed out: {0}")]
    Timeout(#[source] ureq::Error),
    /// The response body is larger than the configured cap; it was not read.
    #[error("response body exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// TLS failed (handshake, certificate verification).
    #[error("tls failure: {0}")]
    Tls(#[source] ureq::Error),
    /// The server broke HTTP: garbage instead of a response, or a connection closed before the
    /// body was complete.
    #[error("the server broke the http protocol: {0}")]
    Protocol(#[source] ureq::Error),
    /// The user must consent again: the grant is invalid (the cause), or no token is stored.
    #[error("consent needed: {}; log in again", match cause { Some(cause) => cause.to_string(), None => "no token is stored".into() })]
    ConsentNeeded {
        /// The failure that said so (an invalid grant), if any.
        cause: Option<std::sync::Arc<Error>>,
    },
    /// The token has expired and the last refresh failed with this; every caller that waited
    /// for that refresh gets the same error.
    #[error("token refresh failed: {0}")]
    Refresh(std::sync::Arc<Error>),
    /// Reading or writing the token store failed.
    #[error("token store: {0}")]
    Store(#[from] pinterest_oauth_store::StoreError),
    /// Any other failure of the HTTP client.
    #[error("http transport failure: {0}")]
    Http(#[source] ureq::Error),
}

impl Error {
    /// The core's error, when the failure is a protocol answer.
    pub fn core(&self) -> Option<&pinterest_oauth_core::Error> {
        match self {
            Error::Core(e) => Some(e),
            _ => None,
        }
    }

    /// `true` when the grant is invalid or missing: the user must consent again.
    pub fn is_invalid_grant(&self) -> bool {
        match self {
            Error::ConsentNeeded { .. } => true,
            Error::Refresh(cause) => cause.is_invalid_grant(),
            _ => self
                .core()
                .is_some_and(pinterest_oauth_core::Error::is_invalid_grant),
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<pinterest_oauth_core::RetryAfter> {
        match self {
            Error::Refresh(cause) => cause.retry_after(),
            _ => self
                .core()
                .and_then(pinterest_oauth_core::Error::retry_after),
        }
    }

    /// How a token lifecycle should treat this failure: the core's classification of a
    /// protocol answer; consent needed for a missing grant; otherwise retry.
    pub fn failure(&self) -> pinterest_oauth_core::Failure {
        match self {
            Error::Core(core) => pinterest_oauth_core::Failure::of(core),
            Error::Refresh(cause) => cause.failure(),
            Error::ConsentNeeded { .. } => pinterest_oauth_core::Failure::InvalidGrant,
            _ => pinterest_oauth_core::Failure::Retry { retry_after: None },
        }
    }

    /// `true` when the same call may succeed later (network trouble, rate limiting, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Core(e) => e.is_transient(),
            Error::Refresh(cause) => cause.is_transient(),
            Error::ConsentNeeded { .. } | Error::Store(_) => false,
            Error::Connect(_) | Error::Timeout(_) | Error::Protocol(_) | Error::Http(_) => true,
            Error::BodyTooLarge { .. } | Error::Tls(_) => false,
        }
    }

    /// Sorts a ureq error into this enum.
    pub(crate) fn from_ureq(error: ureq::Error) -> Error {
        use ureq::Error as U;
        match error {
            U::BodyExceedsLimit(limit) => Error::BodyTooLarge { limit },
            U::Timeout(_) => Error::Timeout(error),
            U::HostNotFound | U::ConnectionFailed => Error::Connect(error),
            U::Tls(_) | U::Rustls(_) | U::Pem(_) => Error::Tls(error),
            U::Protocol(_) => Error::Protocol(error),
            U::Io(ref io)
                if io
                    .get_ref()
                    .is_some_and(|inner| inner.is::<rustls::Error>()) =>
            {
                Error::Tls(error)
            }
            U::Io(ref io) => match io.kind() {
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkUnreachable => Error::Connect(error),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout(error),
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::InvalidData => Error::Protocol(error),
                _ => Error::Http(error),
            },
            other => Error::Http(other),
        }
    }
}
