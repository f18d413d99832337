//! The transport layer of pinterest-oauth, written once: what every way of sending the core's
//! requests shares.
//!
//! The sans-IO core (`pinterest-oauth-core`) builds requests, parses answers and runs the token
//! lifecycle without IO. Something must send the requests, keep the store, coordinate callers
//! and wait: that is this crate, written once for every HTTP stack and both kinds of runtime.
//! The transport crates only add an HTTP stack: `pinterest-oauth-ureq` implements [`Http`]
//! over ureq, `pinterest-oauth-hyper` implements [`AsyncHttp`] over hyper; any other stack
//! (reqwest, a raw `TcpStream`) plugs in the same way.
//!
//! **Why a crate of its own**: the core must not do IO, and the store crate should export
//! storage, not coordination. Written in each transport, this layer was two near-copies that
//! every fix had to land in twice, with two error types whose variants differed.
//!
//! **In scope**
//! * [`HttpConfig`] (timeouts, body cap, extra roots) and the HTTP contract ([`Http`],
//!   [`AsyncHttp`]).
//! * One error vocabulary: [`Error`], with [`TransportError`] kinds.
//! * One-shot clients ([`blocking::Client`], [`asynchronous::Client`]) with bounded retries
//!   ([`RetryConfig`]) that never replay a code exchange.
//! * Token sources ([`blocking::TokenSource`], [`asynchronous::TokenSource`]): single flight,
//!   with the leader's work as a sans-IO state machine (crate-private: nothing outside drives
//!   it) carried out by one loop for both flavours; a refresh that has started always ends
//!   with its answer stored, however the program ends.
//! * [`AuthorizationRequest`]: a consent round trip's URL, `state` and PKCE verifier; with the
//!   `login` feature, the loopback login every app can run (`login`).
//!
//! **Out of scope**: the protocol (the core), storage (the store crate), sockets and TLS (the
//! transport crates).
//!
//! Features: `blocking` (the blocking client and source), `tokio` (the async ones, and
//! `asynchronous::Blocking`), `login` (the loopback login).
//!
//! # Plugging in an HTTP stack
//!
//! Implement [`Http`] (or [`AsyncHttp`]) for your client, and the one-shot client, the token
//! sources, the retries and the login come with it. Here a stand-in answers like Pinterest:
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! use pinterest_oauth_core::http::{Request, Response};
//! use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, RefreshToken};
//! use pinterest_oauth_transport::blocking::Client;
//! use pinterest_oauth_transport::{Http, SecretResponse, TransportError};
//! use zeroize::Zeroizing;
//!
//! /// Your HTTP stack: send as given, follow no redirect, cap the body, wipe the buffers.
//! struct Canned;
//!
//! impl Http for Canned {
//!     fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
//!         let _sent = Zeroizing::new(request.into_body());
//!         let body = br#"{"access_token":"pina.new","token_type":"bearer","expires_in":60,"refresh_token":"pinr.next"}"#;
//!         Ok(Response::new(Zeroizing::new(body.to_vec())))
//!     }
//! }
//!
//! let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
//! let client = Client::with_http(config, Canned);
//! let token = client.refresh(&RefreshToken::new("pinr.old"))?;
//! assert_eq!(token.refresh_token().map(|t| t.secret()), Some("pinr.next"));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
// On docs.rs (`--cfg docsrs`, nightly): each item gated by a feature says which.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorization;
mod call;
mod entropy;
mod error;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod flavours;
mod http;
mod http_config;
mod in_flight;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod pool;
pub mod prelude;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod retry;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod single_flight;
mod source_config;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod storage;

#[cfg(feature = "tokio")]
pub mod asynchronous;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "login")]
pub mod login;

pub use authorization::{AuthorizationRequest, Pkce};
pub use call::{RequestBudget, RetryConfig};
pub use error::{BoxError, CallError, Error, ErrorKind, TransportError, TransportErrorKind};
pub use http::{AsyncHttp, FromHttpConfig, Http, SecretResponse};
pub use http_config::{
    CertificateDer, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, HttpConfig,
    InvalidCertificate,
};
pub use in_flight::{InFlight, exit_once_settled, refreshes_in_flight, wait_for_refreshes};
#[cfg(any(feature = "blocking", feature = "tokio"))]
pub use pool::{
    DEFAULT_APP_BUDGET, DEFAULT_MAX_IN_MEMORY, DEFAULT_SPREAD, PoolConfig, RefreshReport,
};
pub use source_config::{Clock, SourceConfig};
