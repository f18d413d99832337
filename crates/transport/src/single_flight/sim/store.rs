//! The stores the simulated processes share, with the semantics that matter: the file store's
//! `flock` (released however its holder ends), temporary file and rename, restoration of what
//! a writer left; Redis's compare-and-set and a lease that runs out or vanishes; the recovery
//! directory on the same disk.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::recovery::{Keeper, Reservation};
use pinterest_oauth_store::{Attempt, StoreError, StoreLock, TokenStore};

use super::Pid;
use super::world::{Kind, LEASE, World};

pub(super) type Shared = Arc<Mutex<World>>;

pub(super) fn world(shared: &Shared) -> MutexGuard<'_, World> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// One process's handle on the shared store.
#[derive(Debug, Clone)]
pub(super) struct SimStore {
    pub(super) world: Shared,
    pub(super) pid: Pid,
}

/// What a lock holds; released on drop unless its process was killed holding a lease.
#[derive(Debug)]
struct Held {
    world: Shared,
    pid: Pid,
    /// The lease's owner number (Redis).
    owner: Option<u64>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut w = world(&self.world);
        match self.owner {
            None => {
                if w.disk.lock == Some(self.pid) {
                    w.disk.lock = None;
                }
            }
            Some(owner) => {
                // A killed process's lease and mark run out by themselves.
                if w.dead.contains(&self.pid) {
                    return;
                }
                if w.redis.in_flight.is_some_and(|(o, _)| o == owner) {
                    w.redis.in_flight = None;
                }
                if w.redis.lease.is_some_and(|(o, _, _)| o == owner) {
                    w.redis.lease = None;
                }
            }
        }
    }
}

fn full(path: &str) -> StoreError {
    StoreError::Io {
        action: "write",
        path: PathBuf::from(path),
        source: io::Error::from(io::ErrorKind::StorageFull),
    }
}

fn down() -> StoreError {
    StoreError::Unavailable {
        what: "redis".into(),
        source: Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)),
    }
}

/// The file store's restoration, when the lock is taken: a temporary file in the stored set's
/// lineage goes in place; one the stored set made obsolete goes; others stay.
pub(super) fn restore_temps(w: &mut World) {
    loop {
        let stored = w.disk.file.clone();
        let Some(at) = w
            .disk
            .temps
            .iter()
            .position(|(_, doc)| doc.supersedes(stored.as_ref()))
        else {
            break;
        };
        let (_, doc) = w.disk.temps.swap_remove(at);
        w.disk.file = Some(doc.after(stored.as_ref()));
    }
    if let Some(stored) = w.disk.file.clone() {
        w.disk.temps.retain(|(_, doc)| !doc.obsoleted_by(&stored));
    }
}

impl SimStore {
    fn take(&self, w: &mut World) -> Option<StoreLock> {
        match w.kind {
            Kind::File => {
                if w.disk.lock.is_some_and(|holder| holder != self.pid) {
                    return None;
                }
                w.disk.lock = Some(self.pid);
                restore_temps(w);
                Some(StoreLock::new(Held {
                    world: self.world.clone(),
                    pid: self.pid,
                    owner: None,
                }))
            }
            Kind::Redis => {
                if w.redis.lease.is_some() {
                    return None;
                }
                w.redis.owners += 1;
                let owner = w.redis.owners;
                w.redis.lease = Some((owner, self.pid, w.now + LEASE));
                Some(StoreLock::new(Held {
                    world: self.world.clone(),
                    pid: self.pid,
                    owner: Some(owner),
                }))
            }
        }
    }

    /// Whether the lock is free for this process (the driver waits otherwise).
    pub(super) fn is_free(&self) -> bool {
        let w = world(&self.world);
        match w.kind {
            Kind::File => w.disk.lock.is_none_or(|holder| holder == self.pid),
            Kind::Redis => w.redis.lease.is_none(),
        }
    }

    fn redis_call(&self, w: &mut World) -> Result<(), StoreError> {
        if w.kind == Kind::Redis && std::mem::take(&mut w.redis.down) {
            return Err(down());
        }
        Ok(())
    }
}

impl TokenStore for SimStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        let lock = {
            let mut w = world(&self.world);
            self.redis_call(&mut w)?;
            self.take(&mut w)
        };
        lock.ok_or(StoreError::LockTimeout {
            location: "sim".into(),
            waited: std::time::Duration::from_secs(120),
        })
    }

    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        let mut w = world(&self.world);
        self.redis_call(&mut w)?;
        Ok(self.take(&mut w))
    }

    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        let mut w = world(&self.world);
        self.redis_call(&mut w)?;
        Ok(match w.kind {
            Kind::File => w.disk.file.clone(),
            Kind::Redis => w.redis.document.clone(),
        })
    }

    fn save(&self, _lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        let mut w = world(&self.world);
        self.redis_call(&mut w)?;
        let faults = std::mem::take(&mut w.save_faults);
        let stored = match w.kind {
            Kind::File => w.disk.file.clone(),
            Kind::Redis => w.redis.document.clone(),
        };
        if let Some(stored) = stored
            && stored.revision() >= document.revision()
            && stored != *document
        {
            return Err(StoreError::Conflict {
                location: "sim".into(),
                stored: stored.revision(),
                attempted: document.revision(),
            });
        }
        match w.kind {
            Kind::Redis => {
                w.redis.document = Some(document.clone());
                Ok(())
            }
            Kind::File => {
                if w.disk.full {
                    return Err(full("token.json.tmp"));
                }
                if faults.crash || faults.rename_fails {
                    w.disk.serial += 1;
                    let serial = w.disk.serial;
                    w.disk.temps.push((serial, document.clone()));
                    if faults.crash {
                        w.crash_after_save = Some(self.pid);
                        return Err(full("token.json"));
                    }
                    return Err(StoreError::unsaved(
                        Some(PathBuf::from(format!("temp-{serial}"))),
                        StoreError::Io {
                            action: "put in place",
                            path: PathBuf::from("token.json"),
                            source: io::Error::from(io::ErrorKind::PermissionDenied),
                        },
                    ));
                }
                w.disk.file = Some(document.clone());
                Ok(())
            }
        }
    }

    fn reserve(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        let mut w = world(&self.world);
        self.redis_call(&mut w)?;
        if w.kind == Kind::File && w.disk.full {
            return Err(full("probe"));
        }
        Ok(())
    }

    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        let mut w = world(&self.world);
        self.redis_call(&mut w)?;
        let held = lock.guard::<Held>().ok_or(StoreError::NotLocked)?;
        match held.owner {
            None => Ok(()),
            Some(owner) => {
                let now = w.now;
                match w.redis.lease {
                    Some((o, pid, until)) if o == owner => {
                        if let Some((other, until)) = w.redis.in_flight
                            && other != owner
                            && until > now
                        {
                            return Err(StoreError::InFlight {
                                location: "sim".into(),
                            });
                        }
                        let window = attempt.window();
                        w.redis.requests.retain(|(_, at)| *at + window > now);
                        if !w.redis.requests.iter().any(|(o, _)| *o == owner) {
                            if w.redis.requests.len() >= attempt.burst() as usize {
                                return Err(StoreError::BudgetSpent {
                                    location: "sim".into(),
                                });
                            }
                            w.redis.requests.push((owner, now));
                        }
                        let deadline = attempt.deadline();
                        w.redis.in_flight = Some((owner, now + deadline));
                        w.redis.lease = Some((o, pid, until.max(now + deadline.max(LEASE))));
                        Ok(())
                    }
                    _ => Err(StoreError::LockLost {
                        location: "sim".into(),
                    }),
                }
            }
        }
    }

    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        let mut w = world(&self.world);
        w.disk.file = None;
        w.redis.document = None;
        Ok(())
    }

    fn location(&self) -> String {
        "sim".into()
    }

    fn identity(&self) -> String {
        "sim".into()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        None
    }
}

/// The recovery directory, on the simulated disk (a full disk refuses it too).
#[derive(Debug, Clone)]
pub(super) struct SimKeeper {
    pub(super) world: Shared,
}

fn number(at: &Path) -> Option<u64> {
    at.to_str()?.strip_prefix("kept-")?.parse().ok()
}

impl Keeper for SimKeeper {
    fn keep(&self, _identity: &str, document: &TokenDocument) -> io::Result<PathBuf> {
        let mut w = world(&self.world);
        if w.disk.full {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        w.disk.serial += 1;
        let serial = w.disk.serial;
        w.disk.kept.push((serial, document.clone()));
        Ok(PathBuf::from(format!("kept-{serial}")))
    }

    fn keep_raw(&self, _identity: &str, body: &[u8]) -> io::Result<PathBuf> {
        let mut w = world(&self.world);
        if w.disk.full {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        w.disk.serial += 1;
        let serial = w.disk.serial;
        w.disk.raw.push((serial, body.to_vec()));
        Ok(PathBuf::from(format!("raw-{serial}")))
    }

    fn find(&self, _identity: &str) -> Vec<(PathBuf, TokenDocument)> {
        let w = world(&self.world);
        let mut found: Vec<_> = w
            .disk
            .kept
            .iter()
            .map(|(n, doc)| (PathBuf::from(format!("kept-{n}")), doc.clone()))
            .collect();
        found.sort_by_key(|(_, doc)| std::cmp::Reverse(doc.revision()));
        found
    }

    fn find_raw(&self, _identity: &str) -> Vec<PathBuf> {
        let w = world(&self.world);
        w.disk
            .raw
            .iter()
            .map(|(n, _)| PathBuf::from(format!("raw-{n}")))
            .collect()
    }

    fn remove(&self, at: &Path) {
        let mut w = world(&self.world);
        if let Some(n) = number(at) {
            w.disk.kept.retain(|(k, _)| *k != n);
        }
    }

    fn sweep(&self, _identity: &str) {}

    fn reserve(&self, _identity: &str, _room: usize) -> io::Result<Box<dyn Reservation>> {
        let mut w = world(&self.world);
        if w.disk.full {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        w.disk.reserved += 1;
        Ok(Box::new(Room {
            world: self.world.clone(),
            filled: false,
        }))
    }
}

/// Room reserved on the simulated disk: a full disk does not stop it being filled.
#[derive(Debug)]
struct Room {
    world: Shared,
    filled: bool,
}

impl Reservation for Room {
    fn fill_raw(mut self: Box<Self>, body: &[u8]) -> io::Result<PathBuf> {
        self.filled = true;
        let mut w = world(&self.world);
        w.disk.reserved -= 1;
        w.disk.serial += 1;
        let serial = w.disk.serial;
        w.disk.raw.push((serial, body.to_vec()));
        Ok(PathBuf::from(format!("raw-{serial}")))
    }

    fn fill(mut self: Box<Self>, document: &TokenDocument) -> io::Result<PathBuf> {
        self.filled = true;
        let mut w = world(&self.world);
        w.disk.reserved -= 1;
        w.disk.serial += 1;
        let serial = w.disk.serial;
        w.disk.kept.push((serial, document.clone()));
        Ok(PathBuf::from(format!("kept-{serial}")))
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if !self.filled {
            world(&self.world).disk.reserved -= 1;
        }
    }
}
