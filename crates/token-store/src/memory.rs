//! A store that keeps the document in memory: for tests, and for apps that persist elsewhere.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pinterest_oauth_core::TokenDocument;

use crate::{Attempt, StoreError, StoreLock, TokenStore};

/// Keeps the token document in memory. Token sources already serialize their own refreshes,
/// so its lock is a no-op.
///
/// # Examples
///
/// ```
/// # mod pinterest_oauth_ureq { pub use pinterest_oauth_core::*; pub use pinterest_oauth_store::*; }
/// use pinterest_oauth_ureq::{MemoryStore, TokenStore};
///
/// let store = MemoryStore::new();
/// assert!(store.load()?.is_none());
/// assert_eq!(store.saves(), 0);
/// # Ok::<(), pinterest_oauth_ureq::StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    document: Mutex<Option<TokenDocument>>,
    saves: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store holding `document`.
    pub fn with_document(document: TokenDocument) -> MemoryStore {
        MemoryStore {
            document: Mutex::new(Some(document)),
            saves: AtomicU64::new(0),
        }
    }

    /// A store holding a first document for `token` (as after a login).
    pub fn with_token(token: pinterest_oauth_core::Token) -> MemoryStore {
        MemoryStore::with_document(TokenDocument::new(token))
    }

    /// How many times [`save`](TokenStore::save) succeeded.
    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::Relaxed)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<TokenDocument>> {
        // A panic while holding this lock cannot leave a half-written document: recover it.
        self.document
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl TokenStore for MemoryStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        Ok(StoreLock::unlocked())
    }

    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        Ok(Some(StoreLock::unlocked()))
    }

    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        Ok(self.slot().clone())
    }

    fn save(&self, _lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        let mut slot = self.slot();
        if let Some(stored) = slot.as_ref()
            && stored.revision() >= document.revision()
            && stored != document
        {
            return Err(StoreError::Conflict {
                location: self.location(),
                stored: stored.revision(),
                attempted: document.revision(),
            });
        }
        *slot = Some(document.clone());
        self.saves.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Memory always takes a document: nothing to prove.
    fn reserve(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        Ok(())
    }

    /// The lock is a no-op (the token source serializes its own work): nothing to lose.
    fn confirm(&self, _lock: &StoreLock, _attempt: &Attempt) -> Result<(), StoreError> {
        Ok(())
    }

    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        *self.slot() = None;
        Ok(())
    }

    fn identity(&self) -> String {
        self.location()
    }
    fn sealing(&self) -> Option<&crate::seal::Sealing> {
        None
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }
}
