//! A faithful local fake of Pinterest's OAuth consent page and token endpoints.
//!
//! It serves, on `127.0.0.1:<port>` (port 0 by default), plain or over TLS:
//!
//! | route | what |
//! |---|---|
//! | `GET /oauth/` | the consent page: checks `client_id`, `redirect_uri`, `response_type=code` and the scopes, then (auto-approve) redirects back with `code` and `state`, or with `error=access_denied` when set to deny |
//! | `POST /v5/oauth/token` | the three grants, with Basic client auth, content type and required fields checked; codes are single-use, short-lived and bound to their `redirect_uri`; refresh tokens rotate on every refresh |
//! | `POST /v5/oauth/token/revoke` | revokes an access or refresh token |
//! | `GET /v5/user_account` | a bearer-protected endpoint, to show that revoked or expired tokens stop working |
//! | `GET /_fake/stats` | request counts per grant and endpoint, as JSON |
//!
//! Success bodies, `{code, message}` error bodies, statuses and the `x-pinterest-rid` header are
//! Pinterest's. The fake never uses the client core: it reads and writes the wire format itself,
//! so a mistake in the core cannot hide behind the same mistake here.
//!
//! Any request can be scripted to misbehave with a [`Fault`]: a given status and body, a delay,
//! `Retry-After`, closing mid-body, dripping bytes, an endless body, a redirect, garbage bytes,
//! no answer at all, or an answer lost after the request was carried out; connections can be
//! cut before a request is read whole ([`Cut`]).
//!
//! **In scope**: what a token client sees of Pinterest's OAuth (the consent round trip, the
//! token and revoke endpoints, one bearer-protected endpoint), every answer shape Pinterest
//! allows, rotation with an optional grace period, bounded lifetimes, and faults. **Out of
//! scope**: the rest of the API, real users and sessions, persistence (state lives in memory).
//! For tests and demos only, never on a public interface.
//!
//! ```
//! use fake_pinterest::{FakeConfig, FakePinterest, Fault, Route, Times};
//!
//! let fake = FakePinterest::start(FakeConfig::default())?;
//! assert!(fake.api_base_url().starts_with("http://127.0.0.1:"));
//! fake.push_fault(Route::Token, Fault::unavailable(), Times::Once);
//! assert_eq!(fake.stats().token.refresh_token, 0);
//! # Ok::<(), fake_pinterest::Error>(())
//! ```

#![forbid(unsafe_code)]

mod body;
mod browser;
mod fault;
mod routes;
mod server;
mod state;
mod tls;
mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use body::FakeBody;
pub use browser::{Browser, Visit, visit};
pub use fault::{Cut, Fault, Grant, Route, Times};
pub use state::{AnswerShape, GrantCounts, Malformed, RecordedRequest, RefreshExpiresAt, Stats};
pub use wire::{KNOWN_SCOPES, REQUEST_ID};

use fault::Script;
use server::Shared;
use state::{IssuedCode, State};

/// The default test app id.
pub const DEFAULT_APP_ID: &str = "1234567";
/// The redirect URI registered by default (Pinterest's quickstart's).
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:8085/";
/// The default test app secret.
pub const DEFAULT_APP_SECRET: &str = "0123456789abcdef0123456789abcdef01234567";

/// The longest lifetime the fake gives anything (100 years): longer settings are cut to it, so
/// no setting can overflow a clock.
pub const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What the consent page does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsentMode {
    /// Redirect back with a code at once, as if the user clicked "Give access".
    #[default]
    AutoApprove,
    /// Redirect back with `error=access_denied`.
    Deny,
}

/// How to run the fake.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The app id it accepts.
    pub app_id: String,
    /// The app secret it accepts.
    pub app_secret: String,
    /// Registered redirect URIs, matched byte for byte, port included, as Pinterest does (no
    /// any-port loopback). Default: `http://localhost:8085/`, what Pinterest's quickstart
    /// registers. More can be registered while it runs
    /// ([`FakePinterest::register_redirect_uri`]).
    pub redirect_uris: Vec<String>,
    /// Accept PKCE's `plain` method (RFC 7636 allows it, but only S256 is worth having): off by
    /// default, a `plain` challenge is refused.
    pub allow_plain_pkce: bool,
    /// Access token lifetime (Pinterest: 30 days).
    pub access_ttl: Duration,
    /// Refresh token lifetime (Pinterest: 60 days, continuous).
    pub refresh_ttl: Duration,
    /// Authorization code lifetime.
    pub code_ttl: Duration,
    /// How long a refresh token stays usable after it was rotated away (Pinterest: not at all).
    /// Within it, the old token still refreshes (rotating again); after it, 401 code 283.
    pub rotation_grace: Duration,
    /// How proper token answers are shaped (201, scope format, legacy refresh, headers).
    pub shape: AnswerShape,
    /// Serve HTTPS with a certificate made at start.
    pub tls: bool,
    /// The consent page's behaviour.
    pub consent: ConsentMode,
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            app_id: DEFAULT_APP_ID.to_owned(),
            app_secret: DEFAULT_APP_SECRET.to_owned(),
            redirect_uris: vec![DEFAULT_REDIRECT_URI.to_owned()],
            allow_plain_pkce: false,
            access_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_ttl: Duration::from_secs(60 * 24 * 3600),
            code_ttl: Duration::from_secs(600),
            rotation_grace: Duration::ZERO,
            shape: AnswerShape::default(),
            tls: false,
            consent: ConsentMode::AutoApprove,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        }
    }
}

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The runtime or its thread could not start.
    #[error("cannot start the server: {0}")]
    Runtime(#[source] std::io::Error),
    /// The browser stand-in could not load a page.
    #[error("the browser stand-in could not load the page: {0}")]
    Browse(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The consent page did not redirect back.
    #[error("the consent page answered {status} instead of redirecting back")]
    NoRedirect {
        /// Its status.
        status: u16,
    },
    /// The TLS identity could not be made.
    #[error("cannot make the tls identity: {0}")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A running fake. Stops when dropped.
#[derive(Debug)]
pub struct FakePinterest {
    addr: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    ca_der: Option<Vec<u8>>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl FakePinterest {
    /// Binds and starts serving on a thread of its own, so it works from blocking and async
    /// code alike.
    pub fn start(config: FakeConfig) -> Result<FakePinterest, Error> {
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        listener.set_nonblocking(true).map_err(Error::Runtime)?;
        let addr = listener.local_addr().map_err(Error::Runtime)?;
        let identity = if config.tls {
            Some(tls::identity()?)
        } else {
            None
        };
        let (stop, shutdown) = watch::channel(false);
        let tls = config.tls;
        let state = State {
            shape: config.shape.clone(),
            redirect_uris: config.redirect_uris.clone(),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(state),
            fault_body_bytes: Arc::new(AtomicU64::new(0)),
            shutdown,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-pinterest")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let acceptor = identity
            .as_ref()
            .map(|i| tokio_rustls::TlsAcceptor::from(i.server_config.clone()));
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-pinterest".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server::serve(listener, acceptor, serving).await,
                        Err(e) => eprintln!("fake-pinterest: cannot listen: {e}"),
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .map_err(Error::Runtime)?;
        Ok(FakePinterest {
            addr,
            tls,
            ca_pem: identity.as_ref().map(|i| i.ca_pem.clone()),
            ca_der: identity.map(|i| i.ca_der),
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (or `https://…`).
    pub fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The API base URL, `<origin>/v5`.
    pub fn api_base_url(&self) -> String {
        format!("{}/v5", self.origin())
    }

    /// The consent page URL, `<origin>/oauth/`.
    pub fn consent_url(&self) -> String {
        format!("{}/oauth/", self.origin())
    }

    /// The app id it accepts.
    pub fn app_id(&self) -> &str {
        &self.shared.config.app_id
    }

    /// The app secret it accepts.
    pub fn app_secret(&self) -> &str {
        &self.shared.config.app_secret
    }

    /// The CA certificate (PEM) that signed the server certificate, when serving TLS.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The CA certificate (DER), when serving TLS.
    pub fn ca_certificate_der(&self) -> Option<&[u8]> {
        self.ca_der.as_deref()
    }

    /// Request counts so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The most recent requests (up to 256), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().recorded.iter().cloned().collect()
    }

    /// Scripts `fault` for the requests `route` matches, `times` times. Faults are taken in the
    /// order they were pushed.
    pub fn push_fault(&self, route: Route, fault: Fault, times: Times) {
        let left = match times {
            Times::Once => Some(1),
            Times::N(0) => return,
            Times::N(n) => Some(n),
            Times::Always => None,
        };
        self.lock().scripts.push(Script { route, fault, left });
    }

    /// Cuts the next `times` connections as `cut` says, before any request on them is read
    /// whole (counted in [`Stats::cut_connections`] and [`Stats::cut_bytes`]).
    pub fn cut_connections(&self, cut: Cut, times: usize) {
        let mut state = self.lock();
        state.cuts.extend(std::iter::repeat_n(cut, times));
    }

    /// Removes every scripted fault and connection cut.
    pub fn clear_faults(&self) {
        let mut state = self.lock();
        state.cuts.clear();
        state.scripts.clear();
    }

    /// Shapes the proper token answers from now on (see [`AnswerShape`]).
    pub fn set_shape(&self, shape: AnswerShape) {
        self.lock().shape = shape;
    }

    /// `true` when the fake would accept this refresh token now.
    pub fn refresh_token_valid(&self, token: &str) -> bool {
        let grace = self.shared.config.rotation_grace;
        self.lock().refresh_usable(token, grace)
    }

    /// Registers one more redirect URI (as an app's owner adds one in Pinterest's app settings):
    /// from now on the consent page and the code exchange accept it, byte for byte.
    pub fn register_redirect_uri(&self, uri: &str) {
        let mut state = self.lock();
        if !state.redirect_uris.iter().any(|r| r == uri) {
            state.redirect_uris.push(uri.to_owned());
        }
    }

    /// Issues an authorization code directly, as the consent page would after approval.
    pub fn issue_code(&self, redirect_uri: &str, scopes: &[&str]) -> String {
        let code = wire::random_token("", 24);
        let expires = state::after_instant(self.shared.config.code_ttl);
        self.lock().codes.insert(
            code.clone(),
            IssuedCode {
                redirect_uri: redirect_uri.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                expires,
                challenge: None,
            },
        );
        code
    }

    /// Loads `url` with the [browser stand-in](visit), trusting this fake's CA.
    pub fn visit(&self, url: &str) -> Result<Visit, Error> {
        visit(url, self.ca_certificate_der())
    }

    /// Follows a consent URL as a browser would and returns the callback URL the consent page
    /// redirects to (with `code` and `state`, or `error`).
    pub fn approve(&self, consent_url: &str) -> Result<String, Error> {
        let page = self.visit(consent_url)?;
        match (page.status, page.location) {
            (302, Some(location)) => Ok(location),
            (status, _) => Err(Error::NoRedirect { status }),
        }
    }

    /// `true` when the fake would accept this access token on `GET /v5/user_account`.
    pub fn access_token_valid(&self, token: &str) -> bool {
        self.lock().access_valid(token)
    }

    /// Stops serving and waits for the server thread (at most a few seconds).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for FakePinterest {
    fn drop(&mut self) {
        self.stop_now();
    }
}
