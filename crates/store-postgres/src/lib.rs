//! A PostgreSQL token store for pinterest-oauth: the Pinterest grants of thousands of
//! customers kept where the customers are, one refresh at a time per grant across every
//! machine, and refresh work shared by any number of workers.
//!
//! - One row per (app, grant) in `pinterest_oauth_grants`: the token document (sealed when a
//!   key is given) with the lifecycle's memory every worker honours (waits, backoff, stops), a
//!   version for compare-and-set, the requests sent lately (the budget every process shares,
//!   on the server's clock), an in-flight mark, and when the grant next falls due (indexed).
//! - Single flight per grant: a session-level advisory lock held on a connection of its own.
//!   Postgres releases it when that connection ends, never while it lives: no lease to run out
//!   while a process is paused. Just before a refresh token is spent, the row is marked in
//!   flight (committed): should the holder's connection die mid-request, no other process
//!   sends until the mark runs out.
//! - A stale writer never overwrites a newer document (the version is compared and set in one
//!   statement); a row deleted (the customer left) is never re-created by a late save
//!   ([`StoreError::Removed`]).
//! - Workers share refresh passes ([`GrantStore::claims`]): each claims due grants with
//!   `FOR UPDATE SKIP LOCKED`, so none waits on another's grant; a worker's claims lapse the
//!   moment its connection ends.
//! - The schema is the crate's: versioned migrations applied on open (or by
//!   `pinterest-oauth migrate` / [`migrate`]) under an advisory lock, safe from many processes
//!   at once; a schema newer than this build's is refused ([`StoreError::Schema`]).
//! - TLS through rustls (`sslmode=require`; ring, no OpenSSL); URLs are shown without their
//!   password, and a wrong password is [`StoreError::AccessDenied`].
//!
//! **In scope**: grants' documents, their locks, shared budgets and claims. **Out of scope**:
//! Postgres's own durability and failover (see `docs/fleet.md` in the repository for how a
//! refresh in flight behaves when its connection dies or the server fails over).
//!
//! The store's calls are blocking (the [`TokenStore`] contract); the async token sources and
//! pools call them on tokio's blocking pool, as they do for files and Redis. Its connections
//! run on one small runtime of its own.
//!
//! # Examples
//!
//! ```no_run
//! use pinterest_oauth_core::AppId;
//! use pinterest_oauth_postgres::PostgresGrants;
//! use pinterest_oauth_store::{GrantName, GrantStore, TokenStore};
//!
//! let grants = PostgresGrants::open("postgres://app:secret@127.0.0.1:5432/app", &AppId::new("1234567")?)?;
//! let store = grants.open(&GrantName::new("customer-42")?)?;
//! // Hand `store` to any token source, or `grants` to a TokenPool.
//! assert!(store.location().starts_with("postgres://app@127.0.0.1:5432/app"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod config;
mod connect;
mod grants;
mod schema;
mod store;

use std::time::Duration;

pub use config::PostgresConfig;
pub use grants::{PostgresClaims, PostgresGrants, migrate};
pub use schema::{Migrated, SCHEMA_VERSION};
pub use store::PostgresStore;

#[cfg(doc)]
use pinterest_oauth_store::{GrantStore, StoreError, TokenStore};

/// How long [`lock`](TokenStore::lock) waits for another holder by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);
/// Connect and per-statement timeout by default.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);
