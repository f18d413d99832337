//! Durable storage for Pinterest token sets.
//!
//! Pinterest rotates the refresh token on every refresh: the new one must reach storage before
//! anything relies on it, and two processes must never race the rotation. [`TokenStore`] is the
//! contract the token sources of `pinterest-oauth-transport` (blocking and tokio, whichever HTTP
//! stack sends) are written against; what is stored is a [`TokenDocument`]: the token set, the
//! lifecycle's memory every process honours (request budget, backoff, stops), and a revision
//! counting the saves.
//!
//! * [`TokenStore::lock`] takes the store's exclusive lock, waiting for it;
//!   [`TokenStore::try_lock`] takes it only if it is free. For [`FileStore`] it is an advisory
//!   lock on a sibling `.lock` file, held across processes: a process that finds the token due
//!   takes it, re-reads the file, and refreshes only if no other process already did.
//! * [`TokenStore::load`] reads the current document (or `None`).
//! * [`TokenStore::save`] writes a document; it needs the lock as proof, and refuses one whose
//!   revision is not newer than the stored one (a stale writer never overwrites a newer set).
//! * [`TokenStore::reserve`] proves, before a code or refresh token is spent, that the answer
//!   can be stored; [`TokenStore::confirm`] checks the lock is still held just before the
//!   request is sent (a lease may run out) and counts it in a budget every process shares.
//!
//! [`FileStore`] writes atomically: a temporary file in the same directory (mode 0600), fsync,
//! rename over the old file, fsync of the directory. A reader, or a crash at any instant, sees
//! the old document or the new one, never a mix; a complete document a writer left in its
//! temporary file (a crash, or a rename that failed) is restored the next time the lock is
//! taken, if it is a regular file of this user, mode 0600, that follows the stored set in its
//! lineage (anything else is left alone and reported). A file that is corrupt, unreadable, of a newer version, or not a regular file is a
//! typed error and is never overwritten. When a new set cannot be saved anywhere in the store,
//! [`recovery`] keeps it in the user's state directory.
//!
//! **In scope**: storing documents durably, locking, recovery. **Out of scope**: deciding when
//! to refresh (the core's `TokenLifecycle`) and talking to Pinterest (the transports).
//!
//! ```
//! # mod pinterest_oauth_ureq { pub use pinterest_oauth_core::*; pub use pinterest_oauth_store::*; }
//! use pinterest_oauth_ureq::{FileStore, TokenStore};
//! # use pinterest_oauth_ureq::{parse_token_response, http, TokenDocument};
//! # use std::time::SystemTime;
//! # let token = parse_token_response(SystemTime::now(), &http::Response::new(
//! #     r#"{"access_token":"pina.x","expires_in":60,"scope":"ads:read"}"#)).unwrap();
//! # let dir = std::env::temp_dir().join(format!("pinterest-oauth-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let store = FileStore::new(dir.join("token.json")); // dir: where this app keeps its token
//! assert!(store.load()?.is_none());
//! let document = TokenDocument::new(token);
//! let lock = store.lock()?;
//! store.save(&lock, &document)?;
//! drop(lock);
//! assert_eq!(store.load()?, Some(document));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod error;
mod file;
pub mod grants;
mod memory;
pub mod recovery;
pub mod seal;

use std::any::Any;
use std::fmt;
use std::time::Duration;

use pinterest_oauth_core::TokenDocument;

pub use error::StoreError;
pub use file::{DEFAULT_LOCK_TIMEOUT, FileStore};
pub use grants::{Claims, FileGrants, GrantName, GrantNameError, GrantStore, KnownHash};
pub use memory::MemoryStore;

/// Where a token source keeps its token document.
///
/// Implementations must make [`save`](Self::save) durable before returning `Ok` (a token source
/// hands a new set out only afterwards), and must refuse a document whose revision is not newer
/// than the stored one with [`StoreError::Conflict`].
pub trait TokenStore: Send + Sync + 'static {
    /// Takes the store's exclusive lock, waiting for it (up to the store's own timeout). While
    /// it is held no other holder (thread or, for a shared store, process) saves or refreshes.
    fn lock(&self) -> Result<StoreLock, StoreError>;

    /// Takes the lock if it is free; `Ok(None)` when another holder has it (a process holding
    /// a valid token then need not wait for someone else's refresh).
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError>;

    /// Reads the stored document; `Ok(None)` when there is none.
    fn load(&self) -> Result<Option<TokenDocument>, StoreError>;

    /// Stores a document durably. The caller holds the lock; the document's revision must be
    /// newer than the stored one's.
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError>;

    /// Proves, before a credential is spent (a code exchanged), that the store can take a
    /// document now: for a file, a private temporary file is created, written, synced and
    /// removed in its directory. The caller holds the lock.
    ///
    /// There is no default: a store that wraps another must pass this on (a wrapper that
    /// silently did nothing would let a credential be spent that cannot be stored).
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError>;

    /// Confirms, just before a refresh token is spent, that the caller still holds `lock`:
    /// a lock that can run out (a lease in a shared database) may have been lost while the
    /// process was paused, and another process may be refreshing. `attempt` says how long the
    /// request and its save may take, and the request budget the caller keeps: a store shared
    /// across machines keeps the lock at least that long, marks the request in flight and
    /// counts it on its own clock (no process's clock can then stretch the budget or let a
    /// second process send meanwhile). Stores whose locks cannot be lost, on one machine's
    /// clock, return `Ok(())`; a lock this store did not make is [`StoreError::NotLocked`] for
    /// stores that can tell.
    ///
    /// There is no default, for the same reason as [`reserve`](Self::reserve).
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError>;

    /// Forgets the stored document (after its tokens were revoked). The caller holds the lock.
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError>;

    /// Where the store keeps its document, for messages (a path, a key). Never a secret.
    fn location(&self) -> String;

    /// What the store is, the same however it was named: sets kept aside for it
    /// ([`recovery`]) are filed under this. For most stores it is the
    /// [`location`](Self::location); a store whose location has several spellings (a file named
    /// relatively, absolutely, or through a linked directory) gives one of its own.
    ///
    /// There is no default: a store that wraps another must pass this on (a wrapper that
    /// answered its own location would file sets where the next run does not look). Never a
    /// secret.
    fn identity(&self) -> String;

    /// How this store seals its documents, if it does: sets kept aside for it
    /// ([`recovery`]) are sealed the same way, and sealed ones are opened with it.
    ///
    /// There is no default: a store that wraps another must pass this on (a wrapper that
    /// answered `None` would keep sets in the clear, and could not open a set a sealing
    /// process kept: the only valid refresh token would never be put back).
    fn sealing(&self) -> Option<&seal::Sealing>;
}

/// What a token request about to be sent asks of the store (see [`TokenStore::confirm`]).
///
/// # Examples
///
/// ```
/// # mod pinterest_oauth_ureq { pub use pinterest_oauth_core::*; pub use pinterest_oauth_store::*; }
/// use pinterest_oauth_ureq::Attempt;
/// use std::time::Duration;
///
/// let attempt = Attempt::new(Duration::from_secs(60), 5, Duration::from_secs(300));
/// assert_eq!(attempt.deadline(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    deadline: Duration,
    burst: u32,
    window: Duration,
}

impl Attempt {
    /// A request and its save taking at most `deadline`, within a budget of at most `burst`
    /// requests in any `window`.
    pub fn new(deadline: Duration, burst: u32, window: Duration) -> Attempt {
        Attempt {
            deadline,
            burst: burst.max(1),
            window,
        }
    }

    /// The longest the request and the save of its answer may take.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// At most this many requests…
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// …in any window this long.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// Proof that the store's lock is held; dropping it releases the lock.
pub struct StoreLock {
    guard: Option<Box<dyn Any + Send>>,
}

impl StoreLock {
    /// A lock for stores that need none (their saves are already serialized).
    pub fn unlocked() -> StoreLock {
        StoreLock { guard: None }
    }

    /// A lock released when `guard` is dropped (for stores of your own).
    pub fn new(guard: impl Send + 'static) -> StoreLock {
        StoreLock {
            guard: Some(Box::new(guard)),
        }
    }

    /// The guard this lock was made with, if it is a `T`: how a store finds which of its
    /// locks (a lease and its owner id) a caller holds.
    pub fn guard<T: Any>(&self) -> Option<&T> {
        self.guard.as_deref()?.downcast_ref()
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreLock").finish_non_exhaustive()
    }
}

impl<T: TokenStore + ?Sized> TokenStore for std::sync::Arc<T> {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        (**self).lock()
    }
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        (**self).try_lock()
    }
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        (**self).load()
    }
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        (**self).save(lock, document)
    }
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
        (**self).reserve(lock)
    }
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        (**self).confirm(lock, attempt)
    }
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        (**self).clear(lock)
    }
    fn location(&self) -> String {
        (**self).location()
    }
    fn identity(&self) -> String {
        (**self).identity()
    }
    fn sealing(&self) -> Option<&seal::Sealing> {
        (**self).sealing()
    }
}
