//! Blocking transport for [`pinterest_oauth_core`] over ureq 3.
//!
//! [`Client`] sends the core's requests and parses the answers: `exchange_code`, `refresh`,
//! `client_credentials`, `revoke`. [`execute`] sends any `http::Request<Vec<u8>>` the core built,
//! for callers who drive the core themselves. Written only against the core's public API.
//!
//! The agent is configured for a token endpoint: statuses are data (a 401's body reaches the
//! parser), redirects are never followed, connect and whole-call timeouts (10 s / 30 s), response
//! bodies capped while read (64 KiB), rustls with the ring provider and the webpki roots plus
//! optional extra roots, keep-alive reuse across calls. No OpenSSL anywhere.
//!
//! ```no_run
//! use pinterest_oauth_core::{AppId, AppSecret, AuthorizationCode, ClientConfig, RedirectUri};
//! use pinterest_oauth_ureq::Client;
//!
//! let client = Client::new(ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret")))?;
//! let redirect = RedirectUri::new("http://localhost:8085/")?;
//! let token = client.exchange_code(AuthorizationCode::new("code-from-callback"), &redirect)?;
//! println!("expires at {:?}", token.expires_at());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod client;
mod error;
mod http;
mod source;

pub use client::Client;
pub use error::Error;
pub use http::{HttpClient, execute};
pub use pinterest_oauth_core as core;
pub use pinterest_oauth_core::HttpSettings as Settings;
pub use pinterest_oauth_store::{FileStore, MemoryStore, SourceOptions, StoreError, TokenStore};
pub use source::TokenSource;
