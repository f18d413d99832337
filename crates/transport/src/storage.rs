//! A token store as a token source uses it: the lock its leader holds, and recovery of sets
//! the store would not take.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::recovery::{self, Keeper, Reservation};
use pinterest_oauth_store::{Attempt, StoreError, StoreLock, TokenStore};

use crate::Error;

/// The room reserved for an answer kept as it came: the default body cap (a larger answer is
/// kept only if the disk has room for it then).
const RAW_ROOM: usize = crate::DEFAULT_MAX_BODY as usize;

/// A [`TokenStore`], the lock a leader holds on it, and the [`Keeper`] where a new set the
/// store refused is kept (see [`pinterest_oauth_store::recovery`]).
#[derive(Debug)]
pub(crate) struct Storage<S> {
    store: S,
    recovery: Option<Arc<dyn Keeper>>,
    held: Mutex<Option<StoreLock>>,
    /// Room reserved in the recovery directory before a refresh token is spent (see
    /// [`confirm`](Self::confirm)): for the set it buys, and for Pinterest's answer as it came;
    /// given back when the turn ends.
    reserved: Mutex<Option<Box<dyn Reservation>>>,
    reserved_raw: Mutex<Option<Box<dyn Reservation>>>,
    /// The sets this storage kept in the recovery directory itself: removed once a newer set
    /// is saved to the store (nobody else's kept set is touched here; see
    /// [`recovery::settle`]).
    kept: Mutex<Vec<PathBuf>>,
    /// The app-wide budget (shared by every grant's source), and whether this turn's request
    /// is counted in it yet.
    app_budget: Option<Arc<crate::RequestBudget>>,
    app_counted: std::sync::atomic::AtomicBool,
}

impl<S: TokenStore> Storage<S> {
    /// Wraps `store`; `recovery` is where refused sets are kept (`None`: nowhere but the
    /// store's own place, such as the file store's temporary file).
    pub(crate) fn new(store: S, recovery: Option<Arc<dyn Keeper>>) -> Storage<S> {
        Storage {
            store,
            recovery,
            held: Mutex::new(None),
            reserved: Mutex::new(None),
            reserved_raw: Mutex::new(None),
            kept: Mutex::new(Vec::new()),
            app_budget: None,
            app_counted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Counts each turn's request in `budget` too (see [`SourceConfig::with_app_budget`]).
    ///
    /// [`SourceConfig::with_app_budget`]: crate::SourceConfig::with_app_budget
    pub(crate) fn with_app_budget(mut self, budget: Option<Arc<crate::RequestBudget>>) -> Self {
        self.app_budget = budget;
        self
    }

    /// The store.
    pub(crate) fn store(&self) -> &S {
        &self.store
    }

    fn held(&self) -> MutexGuard<'_, Option<StoreLock>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the store's lock (waiting, or only if free) and holds it until
    /// [`unlock`](Self::unlock); `Ok(false)` when another holder has it.
    pub(crate) fn lock(&self, wait: bool) -> Result<bool, StoreError> {
        let lock = if wait {
            Some(self.store.lock()?)
        } else {
            self.store.try_lock()?
        };
        let taken = lock.is_some();
        *self.held() = lock;
        Ok(taken)
    }

    /// Releases the lock (and any room reserved and not used).
    pub(crate) fn unlock(&self) {
        self.app_counted
            .store(false, std::sync::atomic::Ordering::SeqCst);
        *self.reserved.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.reserved_raw.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.held() = None;
    }

    /// The stored document, after putting in place what the recovery directory keeps for it
    /// (a set an earlier run could not save, over exactly the set it replaces; see
    /// [`recovery::settle`]). Called with the lock held.
    pub(crate) fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        let held = self.held();
        match held.as_ref() {
            Some(lock) => match &self.recovery {
                Some(keeper) => recovery::settle_with(&self.store, lock, keeper.as_ref()),
                None => self.store.load(),
            },
            None => self.store.load(),
        }
    }

    /// Saves under the held lock. When a `critical` document (a new set) is refused, it is
    /// kept where it can be found again, and the error says where.
    pub(crate) fn save(&self, document: &TokenDocument, critical: bool) -> Result<(), Error> {
        let held = self.held();
        let Some(lock) = held.as_ref() else {
            debug_assert!(false, "save without the lock");
            return Err(Error::Store(StoreError::NotLocked));
        };
        // A record of an attempt must leave room for the set it leads to: at the last readable
        // revision nothing is sent (only a document tampered with gets there).
        if !critical && let Err(problem) = document.check_followable() {
            return Err(Error::Store(StoreError::Corrupt {
                location: self.store.location(),
                problem,
            }));
        }
        match self.store.save(lock, document) {
            Ok(()) => {
                // What this storage kept earlier is older than what was just saved.
                if critical {
                    let kept =
                        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|p| p.into_inner()));
                    if let Some(keeper) = &self.recovery {
                        for path in kept {
                            keeper.remove(&path);
                        }
                    }
                }
                Ok(())
            }
            Err(source) if critical => {
                let kept_in = match source.kept_in() {
                    Some(path) => Some(path.to_path_buf()),
                    None => self.recovery.as_ref().and_then(|keeper| {
                        // In the room reserved before the refresh token was spent, if any:
                        // a disk that filled up meanwhile cannot refuse it.
                        let reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner()).take();
                        let kept = match reserved {
                            // A set larger than the room (a huge scope list, sealed) is
                            // still kept wherever the keeper can.
                            Some(room) => room.fill(document).or_else(|e| {
                                tracing::warn!(error = %e, "the reserved room did not take the new set; keeping it elsewhere");
                                keeper.keep(&self.store.identity(), document)
                            }),
                            None => keeper.keep(&self.store.identity(), document),
                        };
                        let path = kept
                            .inspect_err(|e| tracing::error!(error = %e, "the new token set could not be kept in the recovery directory either"))
                            .ok()?;
                        self.kept.lock().unwrap_or_else(|p| p.into_inner()).push(path.clone());
                        Some(path)
                    }),
                };
                Err(Error::Store(StoreError::unsaved(kept_in, source)))
            }
            Err(source) => Err(Error::Store(source)),
        }
    }

    /// Keeps a raw answer aside (mode 0600) where refused sets are kept, in the room reserved
    /// for it when it fits.
    pub(crate) fn keep_raw(&self, body: &[u8]) -> std::io::Result<PathBuf> {
        let Some(keeper) = &self.recovery else {
            return Err(std::io::Error::other("no recovery directory is set"));
        };
        let room = self
            .reserved_raw
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match room {
            Some(room) if body.len() <= RAW_ROOM => room.fill_raw(body),
            _ => keeper.keep_raw(&self.store.identity(), body),
        }
    }

    /// Just before a refresh token is spent: confirms the held lock is still ours, and
    /// reserves the room to keep the set it buys should the store refuse it (a full disk
    /// then cannot cost the grant).
    ///
    /// Errors: the store's own; [`StoreError::Io`] when no room can be reserved (nothing is
    /// sent then).
    pub(crate) fn confirm(&self, attempt: &Attempt) -> Result<(), StoreError> {
        // Once a turn: the app-wide budget, before anything of the attempt is written.
        if let Some(budget) = &self.app_budget
            && !self.app_counted.load(std::sync::atomic::Ordering::SeqCst)
        {
            if !budget.try_spend(std::time::Instant::now()) {
                return Err(StoreError::BudgetSpent {
                    location: "the app's request budget".into(),
                });
            }
            self.app_counted
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        match self.held().as_ref() {
            Some(lock) => self.store.confirm(lock, attempt)?,
            None => return Err(StoreError::NotLocked),
        }
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        let mut reserved_raw = self.reserved_raw.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(keeper) = &self.recovery
            && reserved.is_none()
        {
            let identity = self.store.identity();
            keeper.sweep(&identity);
            let reserve = |room| {
                keeper
                    .reserve(&identity, room)
                    .map_err(|source| StoreError::Io {
                        action: "reserve room to keep the new set in",
                        path: PathBuf::from("the recovery directory"),
                        source,
                    })
            };
            *reserved = Some(reserve(recovery::SET_ROOM)?);
            *reserved_raw = Some(reserve(RAW_ROOM)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use pinterest_oauth_core::{TokenDocument, http, parse_token_response};
    use pinterest_oauth_store::{FileStore, StoreLock};

    use super::*;

    /// A file store whose first `refusals` saves fail as a full disk would.
    struct Refusing {
        inner: FileStore,
        refusals: AtomicUsize,
    }

    impl TokenStore for Refusing {
        fn lock(&self) -> Result<StoreLock, StoreError> {
            self.inner.lock()
        }
        fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
            self.inner.try_lock()
        }
        fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
            self.inner.load()
        }
        fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
            let refused = self
                .refusals
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if refused {
                return Err(StoreError::Io {
                    action: "write",
                    path: self.inner.path().to_path_buf(),
                    source: std::io::Error::from(std::io::ErrorKind::StorageFull),
                });
            }
            self.inner.save(lock, document)
        }
        fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
            self.inner.reserve(lock)
        }
        fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
            self.inner.confirm(lock, attempt)
        }
        fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
            self.inner.clear(lock)
        }
        fn identity(&self) -> String {
            self.inner.identity()
        }
        fn location(&self) -> String {
            self.inner.location()
        }
        fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
            self.inner.sealing()
        }
    }

    fn document(access: &str, refresh: &str) -> TokenDocument {
        let body = format!(
            r#"{{"access_token":"{access}","expires_in":3600,"scope":"boards:read","refresh_token":"{refresh}"}}"#
        );
        TokenDocument::new(
            parse_token_response(std::time::SystemTime::now(), &http::Response::new(body)).unwrap(),
        )
    }

    #[test]
    fn a_saved_set_removes_only_the_sets_its_own_storage_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let kept_dir = tempfile::tempdir().unwrap();
        let file = FileStore::new(dir.path().join("token.json"));
        let first = document("pina_1", "pinr_1");
        file.save(&file.lock().unwrap(), &first).unwrap();
        let store = Refusing {
            inner: file,
            refusals: AtomicUsize::new(1),
        };
        let keeper: Arc<dyn Keeper> = Arc::new(recovery::RecoveryDir::new(kept_dir.path()));
        let storage = Storage::new(store, Some(keeper));
        let location = storage.store().identity();
        assert!(storage.lock(true).unwrap());
        let first = storage.load().unwrap().unwrap();
        let rotated = document("pina_2", "pinr_2").rotating(&first);
        let ours = match storage.save(&rotated, true).unwrap_err() {
            Error::Store(StoreError::Unsaved {
                kept_in: Some(path),
                ..
            }) => path,
            other => panic!("{other}"),
        };
        // Meanwhile another process of this user's kept a login its own store refused.
        let login = document("pina_3", "pinr_3").succeeding(None);
        let theirs = recovery::keep(kept_dir.path(), &location, &login).unwrap();
        storage.save(&rotated, true).unwrap();
        assert!(!ours.exists(), "what this storage kept is saved now");
        let kept: Vec<_> = recovery::find(kept_dir.path(), &location)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(
            kept,
            vec![theirs],
            "the other process's login is still kept"
        );
    }

    /// A set larger than the room reserved for it (a huge scope list) was lost when the store
    /// refused it: the room refused it and nothing else was tried. It is kept elsewhere now.
    #[test]
    fn a_set_larger_than_its_reserved_room_is_kept_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let kept_dir = tempfile::tempdir().unwrap();
        let file = FileStore::new(dir.path().join("token.json"));
        let first = document("pina_1", "pinr_1");
        file.save(&file.lock().unwrap(), &first).unwrap();
        let store = Refusing {
            inner: file,
            refusals: AtomicUsize::new(1),
        };
        let keeper: Arc<dyn Keeper> = Arc::new(recovery::RecoveryDir::new(kept_dir.path()));
        let storage = Storage::new(store, Some(keeper));
        assert!(storage.lock(true).unwrap());
        let first = storage.load().unwrap().unwrap();
        // Room reserved as before a spend, then an answer with 40 KiB of scopes.
        let attempt = Attempt::new(
            std::time::Duration::from_secs(60),
            5,
            std::time::Duration::from_secs(300),
        );
        storage.confirm(&attempt).unwrap();
        let scopes: Vec<String> = (0..4000).map(|i| format!("scope{i:05}")).collect();
        let body = format!(
            r#"{{"access_token":"pina_2","expires_in":3600,"scope":"{}","refresh_token":"pinr_2"}}"#,
            scopes.join(",")
        );
        let huge = TokenDocument::new(
            parse_token_response(std::time::SystemTime::now(), &http::Response::new(body)).unwrap(),
        )
        .rotating(&first);
        assert!(huge.to_bytes().len() > recovery::SET_ROOM);
        let kept = match storage.save(&huge, true).unwrap_err() {
            Error::Store(StoreError::Unsaved {
                kept_in: Some(path),
                ..
            }) => path,
            other => panic!("{other}"),
        };
        let text = std::fs::read_to_string(kept).unwrap();
        assert!(text.contains("pinr_2"));
    }
}
