//! The token store a command works on: the token file, or a grant kept in Redis
//! (`--store redis://…`) that processes on many machines share.

use std::path::PathBuf;

use crate::error::CliError;
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

/// The file an app token for `app_id`, the API at `api_base` and `scopes` is kept in:
/// `$XDG_STATE_HOME/pinterest-oauth/app-tokens/<hash>.json` (0600, in a 0700 directory).
///
/// Errors: [`CliError::NoStateDir`] when the platform names no state or local data directory.
pub(crate) fn app_token_cache(
    app_id: &str,
    api_base: &str,
    scopes: &[pinterest_oauth_core::Scope],
) -> Result<CliStore, CliError> {
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .ok_or(CliError::NoStateDir)?
        .join("pinterest-oauth")
        .join("app-tokens");
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // FNV-1a: a file-name-safe key, so the app id and scopes are not in the name.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [app_id, api_base, &names.join(" ")] {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(CliStore::File(FileStore::new(
        dir.join(format!("{hash:016x}.json")),
    )))
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
