//! Async transport for [`pinterest_oauth_core`] over hyper 1, hyper-util and tokio.
//!
//! [`Client`] sends the core's requests and parses the answers: `exchange_code`, `refresh`,
//! `client_credentials`, `revoke`. [`execute`] sends any `http::Request<Vec<u8>>` the core built,
//! for callers who drive the core themselves. Written only against the core's public API; the
//! same names as `pinterest-oauth-ureq`.
//!
//! The client is hyper-util's pooled client over a rustls connector (ring provider, webpki roots
//! plus optional extra roots, HTTP/1.1 and HTTP/2 by ALPN), with connect and whole-call timeouts
//! (10 s / 30 s), the body cap (64 KiB) enforced while streaming, and no redirects. Futures are
//! `Send`; multi-thread and current-thread runtimes both work; clones share one pool.
//!
//! ```no_run
//! use pinterest_oauth_core::{AppId, AppSecret, AuthorizationCode, ClientConfig, RedirectUri};
//! use pinterest_oauth_hyper::Client;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret")))?;
//! let redirect = RedirectUri::new("http://localhost:8085/")?;
//! let token = client.exchange_code(AuthorizationCode::new("code-from-callback"), &redirect).await?;
//! println!("expires at {:?}", token.expires_at());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod client;
mod error;
mod http;
mod source;

pub use client::Client;
pub use error::{BoxError, Error};
pub use http::{HttpClient, execute};
pub use pinterest_oauth_core as core;
pub use pinterest_oauth_core::HttpSettings as Settings;
pub use pinterest_oauth_store::{FileStore, MemoryStore, SourceOptions, StoreError, TokenStore};
pub use source::TokenSource;
