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
//! here, so this crate is the only dependency an app needs.
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

mod stack;

pub use pinterest_oauth_transport::AsyncHttp;
pub use pinterest_oauth_transport::prelude::*;
pub use stack::{HttpClient, SecretBody, SecretChunk};

/// The async client, over hyper.
pub type Client = pinterest_oauth_transport::asynchronous::Client<HttpClient>;

/// The async token source, over hyper.
pub type TokenSource<S = MemoryStore> =
    pinterest_oauth_transport::asynchronous::TokenSource<HttpClient, S>;

/// The tokens of many grants of one app, over hyper.
pub type TokenPool<G = FileGrants> =
    pinterest_oauth_transport::asynchronous::TokenPool<HttpClient, G>;

/// The hyper stack driven from blocking code (for the blocking client and token source).
pub type BlockingHttpClient = pinterest_oauth_transport::asynchronous::Blocking<HttpClient>;
