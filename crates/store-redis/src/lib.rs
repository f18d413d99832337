//! A Redis [`TokenStore`] for pinterest-oauth: many processes, on many machines, share one
//! Pinterest grant and behave as one token source, with exactly one refresh at a time.
//!
//! Pinterest rotates the refresh token on every refresh: two workers refreshing at once burn a
//! refresh token the other just replaced. With a `RedisStore`, every token source (blocking or
//! async, over any transport) elects one refresher across the fleet through the store's lock,
//! and everyone else uses the set it stores:
//!
//! - the document (the token set and the lifecycle's shared state: budget, backoff, rate-limit
//!   deadline, a dead grant) lives in one hash, `{pinterest-oauth:<app>:<grant>}:document`,
//!   with its revision; a save is a compare-and-set on the revision (a Lua script), so a stale
//!   writer never overwrites a newer set;
//! - the lock is a lease, `SET {…}:lock <random owner> NX PX <lease>`, renewed by a thread while
//!   it is held and released by compare-and-delete: a holder that dies loses it when the lease
//!   runs out, and the next holder refreshes from whatever revision the store holds;
//! - waiters are woken by a message on `{…}:events` (published on release and on save), and poll
//!   as a fallback.
//!
//! **In scope**: one grant's document, its lease and its waiters, over the blocking `redis`
//! client (the async token source calls the store on tokio's blocking pool, as it does for the
//! file store). **Out of scope**: Redis's own durability and replication (configure
//! `appendonly`), TLS to Redis (`rediss://` is not built in), cluster slot routing beyond
//! keeping a grant's keys in one slot.
//!
//! A token source only waits for the lock when it holds no valid token: while Redis is down,
//! a valid cached token keeps being served, and the store's failures are typed
//! ([`StoreError::Unavailable`]). `docs/fleet.md` in the repository walks through the design
//! and every failure case.
//!
//! # Examples
//!
//! ```no_run
//! use pinterest_oauth_core::AppId;
//! use pinterest_oauth_redis::RedisStore;
//! use pinterest_oauth_store::TokenStore;
//!
//! let store = RedisStore::open("redis://127.0.0.1:6379/0", &AppId::new("1234567")?, "default")?;
//! // Hand it to any token source, as a FileStore would be.
//! assert!(store.location().starts_with("redis://127.0.0.1:6379/0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod config;
mod connection;
mod document;
mod grants;
mod lease;
mod location;
mod scripts;
mod store;

use std::time::Duration;

pub use config::{Keys, RedisConfig};
pub use grants::RedisGrants;
pub use store::RedisStore;

#[cfg(doc)]
use pinterest_oauth_store::{StoreError, TokenStore};

/// How long a lease lasts unless renewed: long enough for a token request to finish (its
/// holder renews it every third of this), short enough that a dead holder is replaced soon.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);
/// How long [`lock`](TokenStore::lock) waits for another holder by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest a waiter sleeps between two attempts when no notification comes.
pub const DEFAULT_POLL: Duration = Duration::from_millis(250);
/// Connect and per-command timeout by default.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(2);
