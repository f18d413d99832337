//! The token store a command works on: the token file, or a grant kept in Redis
//! (`--store redis://…`) that processes on many machines share.

use std::path::PathBuf;

use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::{Attempt, FileStore, StoreError, StoreLock, TokenStore, recovery};

/// The token file, or a Redis grant.
#[derive(Debug)]
pub(crate) enum CliStore {
    /// A locked, atomically written JSON file.
    File(FileStore),
    /// A grant in Redis, shared by a fleet.
    #[cfg(feature = "redis")]
    Redis(pinterest_oauth_redis::RedisStore),
}

impl CliStore {
    fn inner(&self) -> &dyn TokenStore {
        match self {
            CliStore::File(file) => file,
            #[cfg(feature = "redis")]
            CliStore::Redis(redis) => redis,
        }
    }
}

impl TokenStore for CliStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.inner().lock()
    }
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        self.inner().try_lock()
    }
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        self.inner().load()
    }
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        self.inner().save(lock, document)
    }
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner().reserve(lock)
    }
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        self.inner().confirm(lock, attempt)
    }
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner().clear(lock)
    }
    fn identity(&self) -> String {
        self.inner().identity()
    }
    fn location(&self) -> String {
        self.inner().location()
    }
}

/// Where sets a store refused are kept (the library's default directory).
pub(crate) fn recovery_dir() -> Option<PathBuf> {
    recovery::default_dir()
}

/// Raw answers kept aside for this store (2xx answers not read whole), and by one-shot calls.
pub(crate) fn kept_answers(store: &CliStore) -> Vec<PathBuf> {
    use recovery::Keeper;
    let Some(dir) = recovery_dir() else {
        return Vec::new();
    };
    let keeper = recovery::RecoveryDir::new(dir);
    let mut found = keeper.find_raw(&store.identity());
    found.extend(keeper.find_raw(recovery::ONE_SHOT));
    found
}

/// Under the lock: what is stored, after putting in place a set an earlier run could not save
/// (only over the set it was made to replace).
pub(crate) fn settled(
    store: &CliStore,
    lock: &StoreLock,
) -> Result<Option<TokenDocument>, StoreError> {
    recovery::settle(store, lock, recovery_dir().as_deref())
}
