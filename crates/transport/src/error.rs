//! One error vocabulary for everything a token client can fail with, whichever HTTP stack and
//! runtime sends the requests.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{CallbackError, ConfigError, ResponseError, Stop, Wait};
use pinterest_oauth_store::StoreError;

/// A boxed error from an HTTP stack, kept as the source of a [`TransportError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong on the wire, whatever the HTTP stack.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{TransportError, TransportErrorKind};
///
/// let err = TransportError::new(TransportErrorKind::Timeout, std::io::Error::other("30 s"));
/// assert_eq!(err.kind(), TransportErrorKind::Timeout);
/// assert_eq!(err.to_string(), "timed out: 30 s");
/// assert!(err.may_have_reached_server());
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    source: Option<BoxError>,
}

/// The kind of a [`TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (refused, unreachable, name not found, connect timeout):
    /// no byte of the request left.
    Connect,
    /// The call took longer than its timeout.
    Timeout,
    /// TLS failed (handshake, certificate verification).
    Tls,
    /// The response body is larger than the cap; it was not read.
    BodyTooLarge,
    /// The server broke HTTP: garbage instead of a response, or a connection closed before
    /// the body was complete.
    Protocol,
    /// Any other failure of the HTTP stack.
    Other,
}

impl TransportError {
    /// An error of `kind` caused by `source`.
    pub fn new(kind: TransportErrorKind, source: impl Into<BoxError>) -> TransportError {
        TransportError {
            kind,
            source: Some(source.into()),
        }
    }

    /// An error of `kind` with no further cause.
    pub fn of_kind(kind: TransportErrorKind) -> TransportError {
        TransportError { kind, source: None }
    }

    /// The kind.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// `false` only when no byte of the request can have left (a failed connect): the request
    /// may be sent again without the server seeing it twice.
    pub fn may_have_reached_server(&self) -> bool {
        self.kind != TransportErrorKind::Connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Tls => "tls failure",
            TransportErrorKind::BodyTooLarge => "the response body exceeds the size limit",
            TransportErrorKind::Protocol => "the server broke the http protocol",
            TransportErrorKind::Other => "http transport failure",
        })?;
        match &self.source {
            Some(source) => write!(f, ": {source}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// What a one-shot call of a [`blocking::Client`](crate::blocking::Client) or an
/// [`asynchronous::Client`](crate::asynchronous::Client) can fail with: a call sends requests
/// and reads answers, and nothing else (no store, no lifecycle). Each method says which of
/// these it can return. Converts into [`Error`] with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// A value given was refused before anything was sent: scopes, a grant, or a request URI
    /// that is neither `https` nor plain `http` to a loopback host.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Pinterest answered with an error, or with something that could not be understood.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// The request or its answer failed on the wire.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The operating system gave no random bytes for a `state` or a PKCE verifier
    /// ([`authorization_url`](crate::blocking::Client::authorization_url) only; nothing weaker
    /// is ever used instead).
    #[error("the operating system gave no random bytes: {0}")]
    Entropy(getrandom::Error),
}

impl CallError {
    /// What this error is about, for exit codes and dispatch.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CallError::Config(_) | CallError::Entropy(_) => ErrorKind::Config,
            CallError::Response(e) if e.is_invalid_grant() => ErrorKind::ConsentNeeded,
            CallError::Response(_) => ErrorKind::Api,
            CallError::Transport(e) => ErrorKind::Transport(e.kind()),
        }
    }

    /// Pinterest's answer behind this error, if there is one.
    pub fn response(&self) -> Option<&ResponseError> {
        match self {
            CallError::Response(e) => Some(e),
            _ => None,
        }
    }

    /// The transport failure behind this error, if there is one.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            CallError::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// `true` when the user must log in again (the code or refresh token is invalid).
    pub fn is_consent_needed(&self) -> bool {
        self.kind() == ErrorKind::ConsentNeeded
    }

    /// Pinterest's request id (`x-pinterest-rid`) behind this error, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.response().and_then(ResponseError::request_id)
    }
}

impl From<CallError> for Error {
    fn from(error: CallError) -> Error {
        match error {
            CallError::Config(e) => Error::Config(e),
            CallError::Response(e) => Error::Response(e),
            CallError::Transport(e) => Error::Transport(e),
            CallError::Entropy(e) => Error::Entropy(e),
        }
    }
}

/// Everything a token source or a login can fail with, shared by every transport.
///
/// Pinterest's answers are [`Error::Response`]; the wire's failures [`Error::Transport`]; the
/// store's [`Error::Store`] (with [`StoreError::Unsaved`] when a new set could not be saved
/// and was kept aside). A token source adds what its lifecycle decided:
/// [`Error::ConsentNeeded`], [`Error::Stopped`], [`Error::Waiting`]. One-shot calls have a
/// narrower type of their own, [`CallError`]. No variant holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to the configuration or a request was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Pinterest answered with an error, or with something that could not be understood.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// The request or its answer failed on the wire.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The consent callback was refused.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// Reading, writing or locking the token store failed; or a new token set (whose refresh
    /// token Pinterest has already rotated) could not be saved and was kept aside
    /// ([`StoreError::Unsaved`]).
    #[error("token store: {0}")]
    Store(#[from] StoreError),
    /// The user must consent again: the grant is invalid (the cause this process saw, or the
    /// stop recorded by the process that did), or no token is stored.
    #[error("{}", consent_needed_text(cause.as_deref(), stop.as_ref()))]
    ConsentNeeded {
        /// The failure that said so (an invalid grant), if this process saw it.
        cause: Option<Arc<Error>>,
        /// The refusal as recorded in the store, if any.
        stop: Option<Stop>,
    },
    /// Pinterest refused in a way no retry can mend; no token request is sent automatically
    /// until the app's configuration changes or the user forces a refresh.
    #[error("{}", stopped_text(stop, cause.as_deref()))]
    Stopped {
        /// The stop, as recorded for every process sharing the grant.
        stop: Stop,
        /// The answer that caused it, when this process saw it.
        cause: Option<Arc<Error>>,
    },
    /// No token request is allowed before `until`: there is no valid token (or, for a refresh
    /// the user forced, the stored one is still valid until `valid_until`).
    #[error("{}", waiting_text(*until, *why, *valid_until, cause.as_deref()))]
    Waiting {
        /// When the next request may be sent.
        until: SystemTime,
        /// Why it waits (the request budget, backoff, or Pinterest's rate limit).
        why: Wait,
        /// Until when the stored access token is still valid, if it is.
        valid_until: Option<SystemTime>,
        /// The last failure, when there was one.
        cause: Option<Arc<Error>>,
    },
    /// A login could not listen, or the browser did not come back in time.
    #[cfg(feature = "login")]
    #[error(transparent)]
    Login(#[from] crate::login::LoginError),
    /// The operating system gave no random bytes for a `state` or a PKCE verifier (nothing
    /// weaker is ever used instead).
    #[error("the operating system gave no random bytes: {0}")]
    Entropy(getrandom::Error),
    /// A refresh failed with this (what [`refresh_now`](crate::blocking::TokenSource::refresh_now)
    /// returns; every caller that waited for the same refresh gets the same cause).
    #[error("token refresh failed: {0}")]
    Refresh(Arc<Error>),
    /// A refresh was interrupted before its outcome was known: the code driving it was
    /// dropped, cancelled or panicked. It is retried after a backoff.
    #[error("{}", interrupted_text(*sent))]
    Interrupted {
        /// Whether its request may have reached Pinterest.
        sent: bool,
    },
}

fn consent_needed_text(cause: Option<&Error>, stop: Option<&Stop>) -> String {
    let why = match (cause, stop) {
        (Some(cause), _) => cause.to_string(),
        (None, Some(stop)) => format!(
            "the grant was refused at {} ({stop})",
            pinterest_oauth_core::rfc3339(stop.at())
        ),
        (None, None) => "no token is stored".into(),
    };
    format!("consent needed: {why}; log in again")
}

fn stopped_text(stop: &Stop, cause: Option<&Error>) -> String {
    let cause = cause.map(|c| format!(" ({c})")).unwrap_or_default();
    format!(
        "no automatic token requests since {}: {stop}{cause}; fix the configuration, then force a refresh",
        pinterest_oauth_core::rfc3339(stop.at())
    )
}

fn interrupted_text(sent: bool) -> String {
    let what = if sent {
        "its request may have been sent"
    } else {
        "nothing was sent"
    };
    format!(
        "a token refresh was interrupted before its outcome was known ({what}); it is retried after a backoff"
    )
}

fn waiting_text(
    until: SystemTime,
    why: Wait,
    valid_until: Option<SystemTime>,
    cause: Option<&Error>,
) -> String {
    let until = pinterest_oauth_core::rfc3339(until);
    let mut text = match valid_until {
        Some(valid) => format!(
            "no token request is allowed before {until} ({why}); the stored access token is valid until {}",
            pinterest_oauth_core::rfc3339(valid)
        ),
        None => {
            format!("no valid access token; the next token request is allowed at {until} ({why})")
        }
    };
    if let Some(cause) = cause {
        text.push_str(&format!("; last failure: {cause}"));
    }
    text
}

/// What an [`Error`] is about, for exit codes and dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user must log in (again).
    ConsentNeeded,
    /// Pinterest refused, or answered something unusable; or automatic requests are stopped.
    Api,
    /// The network, TLS or the HTTP exchange failed.
    Transport(TransportErrorKind),
    /// The token store failed.
    Store,
    /// Configuration or input was refused.
    Config,
}

impl Error {
    /// What this error is about, looking through the causes a token source wraps.
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::{Error, ErrorKind, TransportError, TransportErrorKind};
    /// use std::sync::Arc;
    ///
    /// let timeout = Error::from(TransportError::of_kind(TransportErrorKind::Timeout));
    /// let wrapped = Error::Refresh(Arc::new(timeout));
    /// assert_eq!(wrapped.kind(), ErrorKind::Transport(TransportErrorKind::Timeout));
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) | Error::Entropy(_) => ErrorKind::Config,
            Error::Response(e) if e.is_invalid_grant() => ErrorKind::ConsentNeeded,
            Error::Response(_) | Error::Stopped { .. } => ErrorKind::Api,
            Error::Transport(e) => ErrorKind::Transport(e.kind()),
            Error::Callback(_) | Error::ConsentNeeded { .. } => ErrorKind::ConsentNeeded,
            #[cfg(feature = "login")]
            Error::Login(crate::login::LoginError::TimedOut { .. }) => ErrorKind::ConsentNeeded,
            #[cfg(feature = "login")]
            Error::Login(_) => ErrorKind::Config,
            Error::Store(_) | Error::Interrupted { sent: false } => ErrorKind::Store,
            Error::Interrupted { sent: true } => ErrorKind::Transport(TransportErrorKind::Other),
            Error::Refresh(cause) => cause.kind(),
            Error::Waiting { cause, .. } => cause.as_deref().map_or(ErrorKind::Api, Error::kind),
        }
    }

    /// Pinterest's answer behind this error, if there is one.
    pub fn response(&self) -> Option<&ResponseError> {
        match self {
            Error::Response(e) => Some(e),
            Error::Refresh(cause) => cause.response(),
            Error::Stopped { cause, .. }
            | Error::Waiting { cause, .. }
            | Error::ConsentNeeded { cause, .. } => cause.as_deref().and_then(Error::response),
            _ => None,
        }
    }

    /// The transport failure behind this error, if there is one.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Error::Transport(e) => Some(e),
            Error::Refresh(cause) => cause.transport(),
            Error::Stopped { cause, .. }
            | Error::Waiting { cause, .. }
            | Error::ConsentNeeded { cause, .. } => cause.as_deref().and_then(Error::transport),
            _ => None,
        }
    }

    /// `true` when the user must log in again.
    pub fn is_consent_needed(&self) -> bool {
        self.kind() == ErrorKind::ConsentNeeded
    }

    /// Pinterest's request id (`x-pinterest-rid`) behind this error, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.response().and_then(ResponseError::request_id)
    }
}
