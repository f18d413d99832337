//! A store that keeps the set in memory: for tests, and for apps that persist elsewhere.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pinterest_oauth_core::Token;

use crate::{StoreError, StoreLock, TokenStore};

/// Keeps the token set in memory. Token sources already serialize their own refreshes, so its
/// lock is a no-op.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_store::{MemoryStore, StoreLock, TokenStore};
///
/// let store = MemoryStore::new();
/// assert!(store.load()?.is_none());
/// assert_eq!(store.saves(), 0);
/// # Ok::<(), pinterest_oauth_store::StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    token: Mutex<Option<Token>>,
    saves: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store holding `token`.
    pub fn with_token(token: Token) -> MemoryStore {
        MemoryStore {
            token: Mutex::new(Some(token)),
            saves: AtomicU64::new(0),
        }
    }

    /// How many times [`save`](TokenStore::save) was called.
    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::Relaxed)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Token>> {
        // A panic while holding this lock cannot leave a half-written token: recover it.
        self.token
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl TokenStore for MemoryStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        Ok(StoreLock::unlocked())
    }

    fn load(&self) -> Result<Option<Token>, StoreError> {
        Ok(self.slot().clone())
    }

    fn save(&self, _lock: &StoreLock, token: &Token) -> Result<(), StoreError> {
        *self.slot() = Some(token.clone());
        self.saves.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        *self.slot() = None;
        Ok(())
    }
}
