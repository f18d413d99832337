//! The lock as a lease: taken with `SET NX PX`, renewed by a thread while held, released by
//! compare-and-delete, confirmed (and the request counted) just before a refresh token is
//! spent.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Instant;

use pinterest_oauth_store::{Attempt, StoreError, StoreLock};
use redis::Connection;

use crate::connection::{Inner, millis};

/// Takes the lease if nobody holds it.
pub(crate) fn try_acquire(inner: &Arc<Inner>) -> Result<Option<StoreLock>, StoreError> {
    let owner = owner_id();
    let lease_ms = millis(inner.options.lease);
    let taken: Option<String> = inner.run(|c| {
        redis::cmd("SET")
            .arg(&inner.keys.lock)
            .arg(&owner)
            .arg("NX")
            .arg("PX")
            .arg(lease_ms)
            .query(c)
    })?;
    if taken.is_none() {
        // `run` repeats a command whose reply was lost: a first SET that went through
        // makes the second find the key, holding this very owner id.
        let holder: Option<String> =
            inner.run(|c| redis::cmd("GET").arg(&inner.keys.lock).query(c))?;
        if holder.as_deref() != Some(owner.as_str()) {
            return Ok(None);
        }
    }
    tracing::debug!(lock = %inner.keys.lock, "lease taken");
    Ok(Some(StoreLock::new(Lease::start(inner.clone(), owner))))
}

/// Takes the lease, waiting for the holder to release it (woken by a notification, polling
/// as a fallback) up to the lock timeout; a lock with no expiry is reported at once.
pub(crate) fn acquire(inner: &Arc<Inner>) -> Result<StoreLock, StoreError> {
    if let Some(lock) = try_acquire(inner)? {
        return Ok(lock);
    }
    // Every lease this crate takes has an expiry: a lock without one was set by hand or by
    // another client, and would be waited for in vain.
    let ttl: i64 = inner.run(|c| redis::cmd("PTTL").arg(&inner.keys.lock).query(c))?;
    if ttl == -1 {
        return Err(StoreError::LockNeverExpires {
            location: inner.keys.lock.clone(),
        });
    }
    let deadline = Instant::now() + inner.options.lock_timeout;
    // Subscribed before the next attempt, so a release in between is not missed.
    let mut listener = inner.connect().ok();
    let mut subscribed = listener.as_mut().is_some_and(|c| {
        let mut pubsub = c.as_pubsub();
        pubsub.subscribe(&inner.keys.events).is_ok()
    });
    loop {
        if let Some(lock) = try_acquire(inner)? {
            return Ok(lock);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StoreError::LockTimeout {
                location: inner.keys.lock.clone(),
                waited: inner.options.lock_timeout,
            });
        }
        let nap = left.min(inner.options.poll);
        match listener.as_mut().filter(|_| subscribed) {
            Some(c) => {
                let mut pubsub = c.as_pubsub();
                let woken = pubsub
                    .set_read_timeout(Some(nap))
                    .and_then(|()| pubsub.get_message());
                if let Err(e) = woken
                    && !e.is_timeout()
                {
                    subscribed = false;
                }
            }
            None => std::thread::sleep(nap),
        }
    }
}

/// Confirms the lease `lock` carries is still held, lengthens it to cover the request and its
/// save, marks the request in flight and counts it in `attempt`'s budget, all on Redis's
/// clock (see [`TokenStore::confirm`](pinterest_oauth_store::TokenStore::confirm) on
/// [`RedisStore`](crate::RedisStore)).
pub(crate) fn confirm(
    inner: &Inner,
    lock: &StoreLock,
    attempt: &Attempt,
) -> Result<(), StoreError> {
    let lease = lock
        .guard::<Lease>()
        .filter(|lease| lease.inner.location == inner.location)
        .ok_or(StoreError::NotLocked)?;
    let in_flight_ms = millis(attempt.deadline());
    let hold_ms = millis(inner.options.lease).max(in_flight_ms);
    let confirmed: i64 = inner.run(|c| {
        inner
            .scripts
            .confirm
            .key(&inner.keys.lock)
            .key(&inner.keys.in_flight)
            .key(&inner.keys.requests)
            .arg(&lease.owner)
            .arg(hold_ms)
            .arg(in_flight_ms)
            .arg(attempt.burst())
            .arg(millis(attempt.window()))
            .invoke(c)
    })?;
    match confirmed {
        1 => Ok(()),
        -1 => Err(StoreError::InFlight {
            location: inner.keys.in_flight.clone(),
        }),
        -2 => Err(StoreError::BudgetSpent {
            location: inner.keys.requests.clone(),
        }),
        _ => Err(StoreError::LockLost {
            location: inner.keys.lock.clone(),
        }),
    }
}

/// A held lease: renewed by a thread until dropped, then released by compare-and-delete.
pub(crate) struct Lease {
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
    inner: Arc<Inner>,
    owner: String,
}

impl Lease {
    fn start(inner: Arc<Inner>, owner: String) -> Lease {
        let (stop, stopped) = mpsc::channel::<()>();
        let (renew_inner, renew_owner) = (inner.clone(), owner.clone());
        let renewer = std::thread::Builder::new()
            .name("pinterest-oauth-lease".into())
            .spawn(move || renew(&renew_inner, &renew_owner, &stopped))
            .inspect_err(|e| tracing::warn!(error = %e, "no thread to renew the lease; it runs out after its term"))
            .ok();
        Lease {
            stop: Some(stop),
            renewer,
            inner,
            owner,
        }
    }
}

/// Renews the lease every third of its term until told to stop (or the sender is gone).
fn renew(inner: &Inner, owner: &str, stopped: &mpsc::Receiver<()>) {
    let every = inner.options.lease / 3;
    let lease_ms = millis(inner.options.lease);
    let mut connection: Option<Connection> = None;
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        if connection.is_none() {
            connection = inner.connect().ok();
        }
        let Some(c) = connection.as_mut() else {
            tracing::warn!("the lease could not be renewed: Redis is unreachable");
            continue;
        };
        match inner
            .scripts
            .renew
            .key(&inner.keys.lock)
            .arg(owner)
            .arg(lease_ms)
            .invoke::<i64>(c)
        {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(lock = %inner.keys.lock, "the lease was lost (it ran out); another process may refresh");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the lease could not be renewed");
                connection = None;
            }
        }
    }
}

/// Releases the lease if `owner` still holds it, and its in-flight mark.
fn release(inner: &Inner, owner: &str) {
    let released = inner.run(|c| {
        inner
            .scripts
            .release
            .key(&inner.keys.lock)
            .key(&inner.keys.in_flight)
            .arg(owner)
            .arg(&inner.keys.events)
            .invoke::<i64>(c)
    });
    match released {
        Ok(1) => tracing::debug!(lock = %inner.keys.lock, "lease released"),
        Ok(_) => {
            tracing::warn!(lock = %inner.keys.lock, "the lease had run out before it was released; another process may have taken it")
        }
        Err(e) => {
            tracing::warn!(error = %e, "the lease could not be released; it runs out by itself")
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        release(&self.inner, &self.owner);
    }
}

/// A random owner id for a lease: 128 bits from the OS, hex.
fn owner_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: the time and the process id still make owners distinct.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
