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

mod stack;

pub use pinterest_oauth_transport::prelude::*;
pub use stack::HttpClient;

/// The blocking client, over ureq.
pub type Client = pinterest_oauth_transport::blocking::Client<HttpClient>;

/// The blocking token source, over ureq.
pub type TokenSource<S = MemoryStore> =
    pinterest_oauth_transport::blocking::TokenSource<HttpClient, S>;

/// The tokens of many grants of one app, over ureq.
pub type TokenPool<G = FileGrants> = pinterest_oauth_transport::blocking::TokenPool<HttpClient, G>;
