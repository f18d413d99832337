//! The transport's error: the core's, plus what can go wrong on the wire.

use std::error::Error as StdError;
use std::io;

/// A boxed error from hyper, hyper-util, rustls or the OS.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Everything that can go wrong calling Pinterest through hyper.
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
    Connect(#[source] BoxError),
    /// The call took longer than its timeout.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The response body is larger than the configured cap; it was not read.
    #[error("response body exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// TLS failed (handshake, certificate verification).
    #[error("tls failure: {0}")]
    Tls(#[source] BoxError),
    /// The server broke HTTP: garbage instead of a response, or a connection closed before the
    /// body was complete.
    #[error("the server broke the http protocol: {0}")]
    Protocol(#[source] BoxError),
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
    Http(#[source] BoxError),
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

    /// Sorts a failure of the pooled client into this enum.
    pub(crate) fn from_client(
        error: hyper_util::client::legacy::Error,
        timeout: std::time::Duration,
    ) -> Error {
        if chain_has::<rustls::Error>(&error) {
            return Error::Tls(Box::new(error));
        }
        if chain_io_kind(&error) == Some(io::ErrorKind::TimedOut) {
            return Error::Timeout(timeout);
        }
        if error.is_connect() {
            return Error::Connect(Box::new(error));
        }
        Error::Protocol(Box::new(error))
    }

    /// Sorts a failure while reading the body into this enum.
    pub(crate) fn from_body(error: BoxError, limit: u64) -> Error {
        if error.is::<http_body_util::LengthLimitError>() {
            return Error::BodyTooLarge { limit };
        }
        Error::Protocol(error)
    }
}

/// Every error in the source chain, stepping into `io::Error`s (whose `source()` skips the
/// error they wrap).
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e: &&'a (dyn StdError + 'static)| match e
        .downcast_ref::<io::Error>()
    {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// `true` when `T` is anywhere in the chain.
fn chain_has<T: StdError + 'static>(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|e| e.is::<T>())
}

/// The kind of the first `io::Error` in the chain.
fn chain_io_kind(error: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    chain(error).find_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
}
