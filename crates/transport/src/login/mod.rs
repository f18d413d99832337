//! The loopback login, for any app: build the consent URL, listen on the registered redirect
//! URI, open the browser (or hand the URL to a callback), check the callback, exchange the
//! code, save the tokens through a [`TokenStore`].
//!
//! What it guarantees, whoever else talks to the listener:
//!
//! * the browser is opened on a one-time start address, never on the consent URL, so the
//!   `state` is on no command line; the start address answers once (a second fetch stops the
//!   login), with a cookie the callback must bring back: only that browser can finish;
//! * on Linux, connections from another local user's socket are refused;
//! * PKCE (S256) is on by default;
//! * only a callback whose `state` matches (compared in constant time) ends the login;
//!   anything else (a wrong or missing `state`, `error=` without the right `state`, another
//!   path) gets a 400 or 404 page and the listener keeps waiting;
//! * connections are served concurrently, each for at most five seconds, under a hard
//!   overall deadline no client can extend; request heads are capped at 16 KiB; only
//!   loopback peers are served;
//! * for `localhost`, both `127.0.0.1` and `[::1]` are bound, so the name can never resolve
//!   to someone else's socket;
//! * the store is proved writable before the code is exchanged, the code is never sent twice,
//!   and the new set is saved before the browser is told the login worked.
//!
//! [`blocking::Client::login`](crate::blocking::Client::login) and
//! [`asynchronous::Client::login`](crate::asynchronous::Client::login) run the whole flow; the
//! pieces ([`Listener`], [`AuthorizationRequest`](crate::AuthorizationRequest), [`save_login`]) are public for
//! flows of your own.

mod listener;
mod peer;

use std::net::SocketAddr;
use std::time::Duration;

use pinterest_oauth_core::{ConfigError, RedirectUri, Scope, Token, TokenDocument};
use pinterest_oauth_store::TokenStore;

pub use listener::{Callback, Listener};

use crate::{Error, Pkce};

/// The redirect URI Pinterest's quickstart tells apps to register.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:8085/";

/// The longest login wait accepted: one day.
pub const MAX_LOGIN_TIMEOUT: Duration = Duration::from_secs(86_400);

/// How a login runs.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{RedirectUri, Scope};
/// use pinterest_oauth_ureq::Pkce;
/// use pinterest_oauth_ureq::login::LoginConfig;
/// use std::time::Duration;
///
/// let options = LoginConfig::new(vec![Scope::BoardsRead])
///     .with_redirect_uri(RedirectUri::new("http://127.0.0.1:8085/pinterest/callback")?)
///     .with_timeout(Duration::from_secs(120))
///     .with_pkce(Pkce::S256);
/// assert_eq!(options.timeout(), Duration::from_secs(120));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct LoginConfig {
    scopes: Vec<Scope>,
    redirect_uri: Option<RedirectUri>,
    timeout: Duration,
    pkce: Pkce,
    recovery: Option<std::path::PathBuf>,
}

impl LoginConfig {
    /// A login asking for `scopes`, redirecting to [`DEFAULT_REDIRECT_URI`], waiting five
    /// minutes, without PKCE.
    pub fn new(scopes: Vec<Scope>) -> LoginConfig {
        LoginConfig {
            scopes,
            redirect_uri: None,
            timeout: Duration::from_secs(300),
            pkce: Pkce::S256,
            recovery: pinterest_oauth_store::recovery::default_dir(),
        }
    }

    /// Where the new set is kept if the store refuses it after the code was spent (default
    /// [`recovery::default_dir`](pinterest_oauth_store::recovery::default_dir)); token sources
    /// given the same directory put it in place.
    #[must_use]
    pub fn with_recovery_dir(mut self, dir: impl Into<std::path::PathBuf>) -> LoginConfig {
        self.recovery = Some(dir.into());
        self
    }

    /// The registered redirect URI to listen on (a loopback `http` URI, any path and port).
    #[must_use]
    pub fn with_redirect_uri(mut self, redirect_uri: RedirectUri) -> LoginConfig {
        self.redirect_uri = Some(redirect_uri);
        self
    }

    /// How long to wait for the browser (at most [`MAX_LOGIN_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> LoginConfig {
        self.timeout = timeout.min(MAX_LOGIN_TIMEOUT);
        self
    }

    /// Whether to use PKCE (default [`Pkce::S256`]: RFC 9700 and RFC 8252 §8.1 ask for it, and
    /// servers ignore parameters they do not know, RFC 6749 §3.1 and §3.2).
    #[must_use]
    pub fn with_pkce(mut self, pkce: Pkce) -> LoginConfig {
        self.pkce = pkce;
        self
    }

    /// The scopes.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The redirect URI to listen on.
    pub fn redirect_uri(&self) -> Result<RedirectUri, ConfigError> {
        match &self.redirect_uri {
            Some(uri) => Ok(uri.clone()),
            None => RedirectUri::new(DEFAULT_REDIRECT_URI),
        }
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The PKCE choice.
    pub fn pkce(&self) -> Pkce {
        self.pkce
    }

    /// The recovery directory.
    pub fn recovery_dir(&self) -> Option<&std::path::Path> {
        self.recovery.as_deref()
    }
}

/// Why a login could not complete (besides the errors of the exchange and the store).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The redirect URI is not a loopback `http` URI this process could listen on.
    #[error(
        "cannot listen on {uri}: only an http redirect uri on localhost, 127.0.0.1 or [::1] can be served here; for another registered uri use the out-of-band login (print the consent url, paste the redirected url back)"
    )]
    NotLoopback {
        /// The URI.
        uri: String,
    },
    /// An address of the redirect URI could not be bound (another process holds it: it would
    /// receive the code).
    #[error(
        "cannot listen on {addr}: {source}; another process may hold it (choose another registered redirect uri or port)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// No callback with the login's state arrived in time.
    #[error("no answer from the browser within {}s", after.as_secs())]
    TimedOut {
        /// How long it waited.
        after: Duration,
    },
    /// The login's one-time start address was opened twice: someone besides the user's
    /// browser has it (another local user reading the browser launcher's command line, say).
    /// The login was stopped before any code was exchanged; nothing was saved.
    #[error(
        "the login's start address was opened twice, so someone else may have it; the login was stopped and nothing was saved: start it again"
    )]
    StartFetchedTwice,
    /// The operating system gave no random bytes for the start address or its cookie.
    #[error("the operating system gave no random bytes: {0}")]
    Entropy(getrandom::Error),
}

/// What a login in progress is waiting for, handed to the code that opens the browser: the
/// one-time start address to open (never the consent URL itself, whose `state` must stay off
/// command lines), where it listens, and until when.
#[derive(Debug, Clone)]
pub struct LoginStart {
    url: pinterest_oauth_core::Url,
    listening: Vec<SocketAddr>,
    redirect_uri: RedirectUri,
    deadline: std::time::SystemTime,
}

impl LoginStart {
    /// The address to open in the user's browser (see [`Listener::start_url`]).
    pub fn url(&self) -> &pinterest_oauth_core::Url {
        &self.url
    }

    /// The addresses the listener is bound to.
    pub fn listening(&self) -> &[SocketAddr] {
        &self.listening
    }

    /// The redirect URI the consent page sends the browser back to.
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// When the login gives up waiting.
    pub fn deadline(&self) -> std::time::SystemTime {
        self.deadline
    }
}

/// Saves a new token set from a login (or client credentials) as the next revision of what
/// the store holds, under its lock; returns the document saved. When the store refuses it, the
/// set is kept in `recovery` (the code is already spent) and the error says where.
pub fn save_login<S: TokenStore + ?Sized>(
    store: &S,
    token: Token,
    recovery: Option<&std::path::Path>,
) -> Result<TokenDocument, Error> {
    let mut previous = None;
    let saved = store.lock().and_then(|lock| {
        previous = store.load()?;
        let document = TokenDocument::new(token.clone()).succeeding(previous.as_ref());
        store.save(&lock, &document).map(|()| document)
    });
    match saved {
        Ok(document) => Ok(document),
        // The code is spent: whatever failed (the lock, the read, the write), the set must not
        // vanish with this process. Kept as a new grant, it replaces any older set later.
        Err(source) => {
            let document = TokenDocument::new(token).succeeding(previous.as_ref());
            let kept_in = match source.kept_in() {
                Some(path) => Some(path.to_path_buf()),
                None => recovery.and_then(|dir| {
                    {
                        use pinterest_oauth_store::recovery::Keeper as _;
                        pinterest_oauth_store::recovery::RecoveryDir::new(dir)
                            .with_sealing(store.sealing().cloned())
                            .keep(&store.identity(), &document)
                    }
                        .inspect_err(|e| tracing::error!(error = %e, "the new token set could not be kept in the recovery directory either"))
                        .ok()
                }),
            };
            Err(Error::Store(pinterest_oauth_store::StoreError::unsaved(
                kept_in, source,
            )))
        }
    }
}

/// Proves, before a code is spent, that the store will take the set: locks it, checks what it
/// holds can be replaced, and reserves room.
pub fn reserve<S: TokenStore + ?Sized>(store: &S) -> Result<(), Error> {
    let lock = store.lock()?;
    store.reserve(&lock)?;
    Ok(())
}

/// What the browser is told once the login is over.
#[cfg(any(feature = "blocking", feature = "tokio"))]
pub(crate) fn answer(callback: Callback, result: &Result<Token, Error>) {
    match result {
        Ok(_) => callback.respond(
            true,
            "You are logged in to Pinterest. You can close this tab.",
        ),
        Err(Error::Callback(_)) => callback.respond(false, "Access was not granted."),
        Err(_) => callback.respond(
            false,
            "The login could not be completed; see the application.",
        ),
    }
}

/// Binds the listener, proves the store will take the set, and prepares the consent round
/// trip: everything before the browser is sent to the consent page.
#[cfg(any(feature = "blocking", feature = "tokio"))]
pub(crate) fn start<S: TokenStore + ?Sized>(
    config: &pinterest_oauth_core::ClientConfig,
    store: &S,
    options: &LoginConfig,
) -> Result<
    (
        Listener,
        std::sync::Arc<crate::AuthorizationRequest>,
        LoginStart,
    ),
    Error,
> {
    let listener = Listener::bind(&options.redirect_uri()?)?;
    reserve(store)?;
    let consent = crate::AuthorizationRequest::new(
        config,
        listener.redirect_uri(),
        options.scopes(),
        options.pkce(),
    )?;
    let prompt = LoginStart {
        url: listener.start_url(),
        listening: listener.local_addrs(),
        redirect_uri: listener.redirect_uri().clone(),
        deadline: std::time::SystemTime::now() + options.timeout(),
    };
    Ok((listener, std::sync::Arc::new(consent), prompt))
}
