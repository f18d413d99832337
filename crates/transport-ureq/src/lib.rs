//! Blocking transport for pinterest-oauth over ureq 3: everything a blocking app needs, from
//! one dependency.
//!
//! [`Client`] sends the core's requests and parses the answers (`exchange_code`, `refresh`,
//! `client_credentials`, `revoke`); [`TokenSource`] hands out a valid access token whenever
//! asked, refreshing (and saving) first when due, one refresh at a time across threads and
//! processes. Both are the shared transport layer's, over this crate's [`HttpClient`]: a ureq
//! agent with statuses as data (a 401's body reaches the parser), no redirects, connect and
//! whole-call timeouts (10 s / 30 s), response bodies capped while read (64 KiB), rustls with
//! the ring provider and the webpki roots plus optional extra roots, keep-alive reuse across
//! calls. No OpenSSL anywhere.
//!
//! The core's types a flow needs, the store types and the transport layer's are re-exported
//! here, so this crate is the only dependency an app needs.
//!
//! ```no_run
//! use pinterest_oauth_ureq::{AppId, AppSecret, Client, ClientConfig, FileStore, TokenSource};
//!
//! let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
//! let tokens = TokenSource::new(Client::new(config)?, FileStore::new("token.json"))?;
//! let bearer = tokens.access_token()?; // refreshed and saved first when due
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **In scope**: sending over ureq, classifying ureq's failures. **Out of scope**: everything
//! else lives once in `pinterest-oauth-transport` (clients, token sources, errors), the core
//! (protocol, lifecycle) and the store.

#![forbid(unsafe_code)]
// On docs.rs (`--cfg docsrs`, nightly): each item gated by a feature says which.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod stack;

pub use pinterest_oauth_transport::prelude::*;
pub use stack::HttpClient;

/// The blocking client, over ureq: one-shot calls to Pinterest's OAuth endpoints, each within
/// the client's request budget and retried only where that is safe.
///
/// The methods an app calls (all on this page, below):
/// - making one: [`Client::new`] (this crate's stack with the default [`HttpConfig`]),
///   [`Client::with_http_config`] (timeouts, body cap, extra root certificates);
/// - a user's consent: [`Client::authorization_url`] (the consent URL with a fresh `state`,
///   PKCE on), then [`Client::exchange_code`]; or `Client::login` (feature `login`), the whole
///   loopback login, saved to a store;
/// - tokens: [`Client::refresh`], [`Client::client_credentials`], [`Client::revoke`],
///   [`Client::user_account`];
/// - settings: [`Client::config`], [`Client::with_retry`], [`Client::with_budget`].
///
/// A token kept valid across calls is a [`TokenSource`]'s job.
///
/// ```no_run
/// use pinterest_oauth_ureq::{Client, ClientConfig, Scope};
///
/// let client = Client::new(ClientConfig::from_env()?)?;
/// let app_token = client.client_credentials(&[Scope::AdsRead])?;
/// println!("an app token until {:?}", app_token.expires_at());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Client = pinterest_oauth_transport::blocking::Client<HttpClient>;

/// The blocking token source, over ureq: a valid access token whenever asked, refreshed (and
/// the rotated set saved to its store) first when due, one refresh at a time across threads
/// and processes.
///
/// The methods an app calls (all on this page, below): [`TokenSource::new`] and
/// [`TokenSource::with_config`] over a client and a store ([`FileStore`], [`MemoryStore`], or
/// a shared one); [`TokenSource::access_token`] (the hot path: no lock, no request while the
/// token is fresh); [`TokenSource::refresh_now`] (a refresh the user forces, within the
/// budget); [`TokenSource::request_refresh`] (after a 401); [`TokenSource::wait_idle`]
/// (before a short-lived program returns); [`TokenSource::token`], [`TokenSource::last_error`]
/// and [`TokenSource::login_needed_by`] (what a status page shows).
///
/// ```no_run
/// use pinterest_oauth_ureq::{Client, ClientConfig, FileStore, TokenSource};
///
/// let client = Client::new(ClientConfig::from_env()?)?;
/// let tokens = TokenSource::new(client, FileStore::new("token.json"))?;
/// let bearer = tokens.access_token()?;
/// println!("Authorization: Bearer <{} bytes>", bearer.secret().len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type TokenSource<S = MemoryStore> =
    pinterest_oauth_transport::blocking::TokenSource<HttpClient, S>;

/// The tokens of many grants of one app, over ureq: a [`TokenSource`] per grant made on first
/// use, within bounded memory, and [`TokenPool::refresh_due`] for a timer's pass over every
/// grant. Make one with [`TokenPool::new`] or [`TokenPool::with_config`] over a [`GrantStore`]
/// ([`FileGrants`], or Redis's or Postgres's); ask with [`TokenPool::access_token`].
///
/// ```no_run
/// use pinterest_oauth_ureq::{Client, ClientConfig, FileGrants, GrantName, TokenPool};
///
/// let pool = TokenPool::new(Client::new(ClientConfig::from_env()?)?, FileGrants::new("grants"));
/// let bearer = pool.access_token(&GrantName::new("customer-42")?)?;
/// let report = pool.refresh_due()?; // from a timer
/// # let _ = (bearer, report);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type TokenPool<G = FileGrants> = pinterest_oauth_transport::blocking::TokenPool<HttpClient, G>;
