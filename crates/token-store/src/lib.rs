//! Durable storage for Pinterest token sets, and the machinery both transports' token sources
//! share.
//!
//! Pinterest rotates the refresh token on every refresh: the new one must reach storage before
//! anything relies on it, and two processes must never race the rotation. [`TokenStore`] is the
//! contract the token sources of `pinterest-oauth-ureq` and `pinterest-oauth-hyper` are written
//! against:
//!
//! * [`TokenStore::lock`] takes the store's exclusive lock. For [`FileStore`] it is an advisory
//!   lock on a sibling `.lock` file, held across processes: a process that finds the token due
//!   takes it, re-reads the file, and refreshes only if no other process already did.
//! * [`TokenStore::load`] reads the current set (or `None`).
//! * [`TokenStore::save`] writes a set; it needs the lock as proof.
//!
//! [`FileStore`] writes the JSON document of [`pinterest_oauth_core::persist`] atomically: a
//! temporary file in the same directory (mode 0600), fsync, rename over the old file, fsync of
//! the directory. A reader, or a crash at any instant, sees the old set or the new one, never
//! a mix. A file that is corrupt or unreadable is a typed error and is never overwritten.
//!
//! ```
//! use pinterest_oauth_store::{FileStore, TokenStore};
//! # use pinterest_oauth_core::{parse_token_response, http};
//! # use std::time::SystemTime;
//! # let token = parse_token_response(SystemTime::now(), &http::Response::new(
//! #     r#"{"access_token":"pina.x","expires_in":60,"scope":"ads:read"}"#)).unwrap();
//! let dir = tempfile::tempdir()?;
//! let store = FileStore::new(dir.path().join("token.json"));
//! assert!(store.load()?.is_none());
//! let lock = store.lock()?;
//! store.save(&lock, &token)?;
//! drop(lock);
//! assert_eq!(store.load()?, Some(token));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod file;
mod memory;
mod shared;

use std::fmt;
use std::path::PathBuf;

use pinterest_oauth_core::Token;

pub use file::{DEFAULT_LOCK_TIMEOUT, FileStore};
pub use memory::MemoryStore;
pub use shared::{Clock, Next, Settled, SharedLifecycle, SourceOptions, WorkGuard};

/// Where a token source keeps its token set.
pub trait TokenStore: Send + Sync + 'static {
    /// Takes the store's exclusive lock, blocking until it is free. While it is held no other
    /// holder (thread or, for a file, process) saves or refreshes.
    fn lock(&self) -> Result<StoreLock, StoreError>;

    /// Reads the stored set; `Ok(None)` when there is none yet.
    fn load(&self) -> Result<Option<Token>, StoreError>;

    /// Stores a set durably. The caller holds the lock.
    fn save(&self, lock: &StoreLock, token: &Token) -> Result<(), StoreError>;

    /// Forgets the stored set (after its tokens were revoked). The caller holds the lock.
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError>;
}

/// Proof that the store's lock is held; dropping it releases the lock.
pub struct StoreLock {
    _guard: Option<Box<dyn Send>>,
}

impl StoreLock {
    /// A lock for stores that need none (their saves are already serialized).
    pub fn unlocked() -> StoreLock {
        StoreLock { _guard: None }
    }

    /// A lock released when `guard` is dropped (for stores of your own).
    pub fn new(guard: impl Send + 'static) -> StoreLock {
        StoreLock {
            _guard: Some(Box::new(guard)),
        }
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreLock").finish_non_exhaustive()
    }
}

/// What can go wrong storing tokens. Never holds a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing, locking or syncing failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another holder kept the lock longer than the timeout.
    #[error("{} stayed locked for {waited:?}", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long it was waited for.
        waited: std::time::Duration,
    },
    /// The file holds no valid token set; it was left untouched.
    #[error("{} holds no valid token set ({problem}); it was left untouched: remove it or log in again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: pinterest_oauth_core::Error,
    },
}
