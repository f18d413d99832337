//! A token store as a token source uses it: the lock its leader holds, and recovery of sets
//! the store would not take.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::{StoreError, StoreLock, TokenStore, recovery};

use crate::Error;

/// A [`TokenStore`], the lock a leader holds on it, and the directory where a new set the
/// store refused is kept (see [`pinterest_oauth_store::recovery`]).
#[derive(Debug)]
pub struct Storage<S> {
    store: S,
    recovery: Option<PathBuf>,
    held: Mutex<Option<StoreLock>>,
}

impl<S: TokenStore> Storage<S> {
    /// Wraps `store`; `recovery` is where refused sets are kept (`None`: nowhere but the
    /// store's own place, such as the file store's temporary file).
    pub fn new(store: S, recovery: Option<PathBuf>) -> Storage<S> {
        Storage {
            store,
            recovery,
            held: Mutex::new(None),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn held(&self) -> MutexGuard<'_, Option<StoreLock>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the store's lock (waiting, or only if free) and holds it until
    /// [`unlock`](Self::unlock); `Ok(false)` when another holder has it.
    pub fn lock(&self, wait: bool) -> Result<bool, StoreError> {
        let lock = if wait {
            Some(self.store.lock()?)
        } else {
            self.store.try_lock()?
        };
        let taken = lock.is_some();
        *self.held() = lock;
        Ok(taken)
    }

    /// Releases the lock.
    pub fn unlock(&self) {
        *self.held() = None;
    }

    /// The stored document; a newer one kept in the recovery directory (a set an earlier run
    /// could not save) wins, and is put back in the store while the lock is held.
    pub fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        let stored = self.store.load()?;
        let Some(dir) = &self.recovery else {
            return Ok(stored);
        };
        let location = self.store.location();
        let Some((path, kept)) = recovery::find(dir, &location).into_iter().next() else {
            return Ok(stored);
        };
        if stored
            .as_ref()
            .is_some_and(|s| s.revision() >= kept.revision())
        {
            recovery::forget(dir, &location);
            return Ok(stored);
        }
        if let Some(lock) = self.held().as_ref() {
            match self.store.save(lock, &kept) {
                Ok(()) => {
                    tracing::warn!(from = %path.display(), "restored a token set an earlier run could not save");
                    recovery::forget(dir, &location);
                }
                Err(e) => {
                    tracing::warn!(error = %e, kept = %path.display(), "a kept token set still cannot be saved")
                }
            }
        }
        Ok(Some(kept))
    }

    /// Saves under the held lock. When a `critical` document (a new set) is refused, it is
    /// kept where it can be found again, and the error says where.
    pub fn save(&self, document: &TokenDocument, critical: bool) -> Result<(), Error> {
        let held = self.held();
        let Some(lock) = held.as_ref() else {
            debug_assert!(false, "save without the lock");
            return Err(Error::Store(StoreError::NotLocked));
        };
        match self.store.save(lock, document) {
            Ok(()) => {
                if critical && let Some(dir) = &self.recovery {
                    recovery::forget(dir, &self.store.location());
                }
                Ok(())
            }
            Err(source) if critical => {
                let kept_in = match source.kept_in() {
                    Some(path) => Some(path.to_path_buf()),
                    None => self.recovery.as_ref().and_then(|dir| {
                        recovery::keep(dir, &self.store.location(), document)
                            .inspect_err(|e| tracing::error!(error = %e, "the new token set could not be kept in the recovery directory either"))
                            .ok()
                    }),
                };
                Err(Error::NotSaved { kept_in, source })
            }
            Err(source) => Err(Error::Store(source)),
        }
    }

    /// Forgets the stored document under a lock of its own (after a revocation).
    pub fn clear(&self) -> Result<(), StoreError> {
        let lock = self.store.lock()?;
        self.store.clear(&lock)
    }
}
