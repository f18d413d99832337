//! Async transport for pinterest-oauth over hyper 1, hyper-util and tokio: everything an async
//! app needs, from one dependency.
//!
//! [`Client`] sends the core's requests and parses the answers (`exchange_code`, `refresh`,
//! `client_credentials`, `revoke`); [`TokenSource`] hands out a valid access token whenever
//! asked, refreshing (and saving) first when due, one refresh at a time across tasks and
//! processes. Both are the shared transport layer's, over this crate's [`HttpClient`]:
//! hyper-util's pooled client over a rustls connector (ring provider, webpki roots plus
//! optional extra roots, HTTP/1.1 and HTTP/2 by ALPN), with connect and whole-call timeouts
//! (10 s / 30 s), the body cap (64 KiB) enforced while streaming, and no redirects. Futures
//! are `Send`; multi-thread and current-thread runtimes both work; clones share one pool.
//!
//! The core's types a flow needs, the store types and the transport layer's are re-exported
//! here, so this crate and tokio are the only dependencies an app needs.
//!
//! **Tokio.** This crate brings the runtime's `rt` and `time` features, and needs a tokio
//! runtime to run in (it starts none). An app adds tokio itself with what it uses to start
//! one: `tokio = { version = "1", features = ["macros", "rt-multi-thread"] }` for
//! `#[tokio::main]`, or `features = ["macros", "rt"]` with
//! `#[tokio::main(flavor = "current_thread")]`; both work.
//!
//! ```no_run
//! use pinterest_oauth_hyper::{AppId, AppSecret, Client, ClientConfig, FileStore, TokenSource};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
//! let tokens = TokenSource::new(Client::new(config)?, FileStore::new("token.json"))?;
//! let bearer = tokens.access_token().await?; // refreshed and saved first when due
//! # Ok(()) }
//! ```
//!
//! **In scope**: sending over hyper, classifying hyper's failures. **Out of scope**: everything
//! else lives once in `pinterest-oauth-transport` (clients, token sources, errors), the core
//! (protocol, lifecycle) and the store.

#![forbid(unsafe_code)]
// On docs.rs (`--cfg docsrs`, nightly): each item gated by a feature says which.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod stack;

pub use pinterest_oauth_transport::AsyncHttp;
pub use pinterest_oauth_transport::prelude::*;
pub use stack::{HttpClient, SecretBody, SecretChunk};

/// The async client, over hyper: one-shot calls to Pinterest's OAuth endpoints, each within
/// the client's request budget and retried only where that is safe. Clones share one
/// connection pool.
///
/// The methods an app calls (all on this page, below):
/// - making one: [`Client::new`] (this crate's stack with the default [`HttpConfig`]; inside
///   a tokio runtime), [`Client::with_http_config`] (timeouts, body cap, extra roots);
/// - a user's consent: [`Client::authorization_url`] (the consent URL with a fresh `state`,
///   PKCE on), then [`Client::exchange_code`]; or `Client::login` (feature `login`), the whole
///   loopback login, saved to a store;
/// - tokens: [`Client::refresh`], [`Client::client_credentials`], [`Client::revoke`],
///   [`Client::user_account`];
/// - settings: [`Client::config`], [`Client::with_retry`], [`Client::with_budget`].
///
/// A token kept valid across tasks is a [`TokenSource`]'s job.
///
/// ```no_run
/// use pinterest_oauth_hyper::{Client, ClientConfig, Scope};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new(ClientConfig::from_env()?)?;
/// let app_token = client.client_credentials(&[Scope::AdsRead]).await?;
/// println!("an app token until {:?}", app_token.expires_at());
/// # Ok(()) }
/// ```
pub type Client = pinterest_oauth_transport::asynchronous::Client<HttpClient>;

/// The async token source, over hyper: a valid access token whenever a task asks, refreshed
/// (and the rotated set saved to its store) first when due, one refresh at a time across
/// tasks and processes. Clones share one state.
///
/// The methods an app calls (all on this page, below): [`TokenSource::new`] and
/// [`TokenSource::with_config`] over a client and a store ([`FileStore`], [`MemoryStore`], or
/// a shared one); [`TokenSource::access_token`] (the hot path: no lock, no request while the
/// token is fresh); [`TokenSource::refresh_now`] (a refresh the user forces, within the
/// budget); [`TokenSource::request_refresh`] (after a 401); [`TokenSource::wait_idle`]
/// (before `main` returns); [`TokenSource::token`], [`TokenSource::last_error`] and
/// [`TokenSource::login_needed_by`] (what a status page shows).
///
/// ```no_run
/// use pinterest_oauth_hyper::{Client, ClientConfig, FileStore, TokenSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new(ClientConfig::from_env()?)?;
/// let tokens = TokenSource::new(client, FileStore::new("token.json"))?;
/// let bearer = tokens.access_token().await?;
/// println!("Authorization: Bearer <{} bytes>", bearer.secret().len());
/// # Ok(()) }
/// ```
pub type TokenSource<S = MemoryStore> =
    pinterest_oauth_transport::asynchronous::TokenSource<HttpClient, S>;

/// The tokens of many grants of one app, over hyper: a [`TokenSource`] per grant made on first
/// use, within bounded memory, and [`TokenPool::refresh_due`] for a timer's pass over every
/// grant. Make one with [`TokenPool::new`] or [`TokenPool::with_config`] over a [`GrantStore`]
/// ([`FileGrants`], or Redis's or Postgres's); ask with [`TokenPool::access_token`].
///
/// ```no_run
/// use pinterest_oauth_hyper::{Client, ClientConfig, FileGrants, GrantName, TokenPool};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = TokenPool::new(Client::new(ClientConfig::from_env()?)?, FileGrants::new("grants"));
/// let bearer = pool.access_token(&GrantName::new("customer-42")?).await?;
/// let report = pool.refresh_due().await?; // from a timer
/// # let _ = (bearer, report);
/// # Ok(()) }
/// ```
pub type TokenPool<G = FileGrants> =
    pinterest_oauth_transport::asynchronous::TokenPool<HttpClient, G>;

/// The hyper stack driven from blocking code (for the blocking client and token source).
pub type BlockingHttpClient = pinterest_oauth_transport::asynchronous::Blocking<HttpClient>;
