//! A Redis [`TokenStore`] for pinterest-oauth: many processes, on many machines, share one
//! Pinterest grant and behave as one token source, with exactly one refresh at a time.
//!
//! Pinterest rotates the refresh token on every refresh: two workers refreshing at once burn a
//! refresh token the other just replaced. With a `RedisStore`, every token source (blocking or
//! async, over any transport) elects one refresher across the fleet through the store's lock,
//! and everyone else uses the set it stores:
//!
//! - the document (the token set and the lifecycle's shared state: budget, backoff, rate-limit
//!   deadline, a dead grant) lives in one hash, `{pinterest-oauth:<app>:<grant>}:document`,
//!   with its revision; a save is a compare-and-set on the revision (a Lua script), so a stale
//!   writer never overwrites a newer set;
//! - the lock is a lease, `SET {…}:lock <random owner> NX PX <lease>`, renewed by a thread while
//!   it is held and released by compare-and-delete: a holder that dies loses it when the lease
//!   runs out, and the next holder refreshes from whatever revision the store holds;
//! - waiters are woken by a message on `{…}:events` (published on release and on save), and poll
//!   as a fallback.
//!
//! **In scope**: one grant's document, its lease and its waiters, over the blocking `redis`
//! client (the async token source calls the store on tokio's blocking pool, as it does for the
//! file store). **Out of scope**: Redis's own durability and replication (configure
//! `appendonly`), TLS to Redis (`rediss://` is not built in), cluster slot routing beyond
//! keeping a grant's keys in one slot.
//!
//! A token source only waits for the lock when it holds no valid token: while Redis is down,
//! a valid cached token keeps being served, and the store's failures are typed
//! ([`StoreError::Unavailable`]). `docs/fleet.md` in the repository walks through the design
//! and every failure case.
//!
//! # Examples
//!
//! ```no_run
//! use pinterest_oauth_core::AppId;
//! use pinterest_oauth_redis::RedisStore;
//! use pinterest_oauth_store::TokenStore;
//!
//! let store = RedisStore::open("redis://127.0.0.1:6379/0", &AppId::new("1234567")?, "default")?;
//! // Hand it to any token source, as a FileStore would be.
//! assert!(store.location().starts_with("redis://127.0.0.1:6379/0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pinterest_oauth_core::{AppId, TokenDocument};
use pinterest_oauth_store::{Attempt, StoreError, StoreLock, TokenStore};
use redis::{Connection, RedisError, RedisResult, Script};
use zeroize::Zeroizing;

/// How long a lease lasts unless renewed: long enough for a token request to finish (its
/// holder renews it every third of this), short enough that a dead holder is replaced soon.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);
/// How long [`lock`](TokenStore::lock) waits for another holder by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest a waiter sleeps between two attempts when no notification comes.
pub const DEFAULT_POLL: Duration = Duration::from_millis(250);
/// Connect and per-command timeout by default.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest document read: a token document is well under 4 KiB.
const MAX_DOCUMENT: u64 = 1024 * 1024;

/// Stores a document if its revision is newer than the stored one (or it is the stored
/// document again), then tells the waiters. Returns `{stored?, revision}`.
const SAVE: &str = r"
local stored = redis.call('HGET', KEYS[1], 'revision')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then
  if redis.call('HGET', KEYS[1], 'document') == ARGV[2] then return {1, stored} end
  return {0, stored}
end
redis.call('HSET', KEYS[1], 'revision', ARGV[1], 'document', ARGV[2])
redis.call('PUBLISH', ARGV[3], 'saved')
return {1, ARGV[1]}
";

/// Extends the lease to at least `ARGV[2]` ms if this owner still holds it (never shortens a
/// lease that [`CONFIRM`] lengthened).
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 1
end
return 0
";

/// Before a refresh token is spent (and again just before it is sent): the lease must be this
/// owner's (else 0), no other owner's request may be in flight (else -1), and fewer than
/// `ARGV[4]` requests may have been confirmed in the last `ARGV[5]` ms (else -2), all on the
/// server's clock. Counts this owner's request once, marks it in flight for `ARGV[3]` ms, and
/// lengthens the lease to at least `ARGV[2]` ms.
const CONFIRM: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local flying = redis.call('GET', KEYS[2])
if flying and flying ~= ARGV[1] then return -1 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return -2 end
  redis.call('ZADD', KEYS[3], now, ARGV[1])
end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
";

/// Releases the lease if this owner still holds it, and tells the waiters. This owner's
/// in-flight mark goes too (its request is over), whether or not the lease was still held.
const RELEASE: &str = r"
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
";

/// Forgets the document, and tells the waiters.
const CLEAR: &str = r"
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'cleared')
return 1
";

/// Timeouts of a [`RedisStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisConfig {
    lease: Duration,
    lock_timeout: Duration,
    poll: Duration,
    io_timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            lease: DEFAULT_LEASE,

            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            poll: DEFAULT_POLL,
            io_timeout: DEFAULT_IO_TIMEOUT,
        }
    }
}

impl RedisConfig {
    /// How long a lease lasts unless renewed (at least 300 ms; renewed every third of it).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self
    }

    /// How long [`lock`](TokenStore::lock) waits for another holder.
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The longest sleep between two attempts of a waiter (at least 10 ms).
    #[must_use]
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(10));
        self
    }

    /// The connect and per-command timeout (at least 10 ms).
    #[must_use]
    pub fn with_io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The lock timeout.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }
}

/// The keys of one grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The hash holding `revision` and `document`.
    pub document: String,
    /// The lease.
    pub lock: String,
    /// Marks a token request in flight (see [`confirm`](TokenStore::confirm)).
    pub in_flight: String,
    /// The times of recent token requests, on Redis's clock (see
    /// [`confirm`](TokenStore::confirm)).
    pub requests: String,
    /// The channel waiters listen on.
    pub events: String,
    /// A short-lived key [`reserve`](TokenStore::reserve) writes.
    pub probe: String,
}

impl Keys {
    fn new(app_id: &AppId, grant: &str) -> Keys {
        // One hash tag: every key of a grant lives in one cluster slot.
        let tag = format!("{{pinterest-oauth:{}:{grant}}}", app_id.as_str());
        Keys {
            document: format!("{tag}:document"),
            lock: format!("{tag}:lock"),
            in_flight: format!("{tag}:inflight"),
            requests: format!("{tag}:requests"),
            events: format!("{tag}:events"),
            probe: format!("{tag}:probe"),
        }
    }
}

/// A [`TokenStore`] in Redis, shared by every process that opens it with the same URL, app id
/// and grant name. Cheap to clone (clones share a connection).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    keys: Keys,
    location: String,
    options: RedisConfig,
    connection: Mutex<Option<Connection>>,
    save: Script,
    renew: Script,
    confirm: Script,
    release: Script,
    clear: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("location", &self.inner.location)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The store of grant `grant` (any name without spaces or braces, such as `default` or a
    /// user id) of app `app_id`, on the Redis server at `url` (`redis://[:password@]host[:port][/db]`
    /// or `redis+unix:///path`). Connects lazily: an unreachable server is an error of the
    /// first operation, not of this call.
    ///
    /// Errors: [`StoreError::InvalidLocation`] for a URL that is not a Redis URL this build
    /// supports (`rediss://` needs TLS, which is not built in) or a bad grant name.
    pub fn open(url: &str, app_id: &AppId, grant: &str) -> Result<RedisStore, StoreError> {
        RedisStore::with_config(url, app_id, grant, RedisConfig::default())
    }

    /// [`open`](Self::open) with other timeouts.
    pub fn with_config(
        url: &str,
        app_id: &AppId,
        grant: &str,
        options: RedisConfig,
    ) -> Result<RedisStore, StoreError> {
        let shown = redact_url(url);
        let invalid = |problem: String| StoreError::InvalidLocation {
            location: shown.clone(),
            problem,
        };
        if grant.is_empty()
            || grant.len() > 128
            || !grant
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
        {
            return Err(invalid(
                "the grant name must be 1 to 128 printable characters without spaces or braces"
                    .into(),
            ));
        }
        if app_id.as_str().contains(['{', '}']) {
            return Err(invalid("the app id must not contain braces".into()));
        }
        if url.starts_with("rediss://") {
            return Err(invalid("TLS (rediss://) is not built in".into()));
        }
        if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
            return Err(invalid(
                "expected redis://host:port/db or redis+unix:///path".into(),
            ));
        }
        let client = redis::Client::open(url).map_err(|e| invalid(redact(&e.to_string(), url)))?;
        let keys = Keys::new(app_id, grant);
        // The same server however its URL is spelled: messages and kept sets use one name.
        let info = client.get_connection_info();
        let server = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => format!("redis://{host}:{port}"),
            redis::ConnectionAddr::Unix(path) => format!("redis+unix://{}", path.display()),
            other => format!("redis://{other}"),
        };
        let location = format!(
            "{server}/{} (key {})",
            info.redis_settings().db(),
            keys.document
        );
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                keys,
                location,
                options,
                connection: Mutex::new(None),
                save: Script::new(SAVE),
                renew: Script::new(RENEW),
                confirm: Script::new(CONFIRM),
                release: Script::new(RELEASE),
                clear: Script::new(CLEAR),
            }),
        })
    }

    /// The keys this store uses.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The timeouts.
    pub fn options(&self) -> &RedisConfig {
        &self.inner.options
    }
}

impl Inner {
    fn unavailable(&self, error: RedisError) -> StoreError {
        StoreError::Unavailable {
            what: self.location.clone(),
            source: Box::new(error),
        }
    }

    fn connect(&self) -> RedisResult<Connection> {
        let connection = self
            .client
            .get_connection_with_timeout(self.options.io_timeout)?;
        connection.set_read_timeout(Some(self.options.io_timeout))?;
        connection.set_write_timeout(Some(self.options.io_timeout))?;
        Ok(connection)
    }

    /// Runs `command` on the shared connection (made on first use, and again after a failure).
    /// Runs `command` on the shared connection (made on first use). A kept connection that
    /// fails at the IO level (Redis restarted, the connection was killed) is replaced and the
    /// command tried once more on a fresh one: every command here is safe to repeat.
    fn run<T>(&self, command: impl Fn(&mut Connection) -> RedisResult<T>) -> Result<T, StoreError> {
        let mut slot = self.slot();
        let reused = slot.is_some();
        if let Some(connection) = slot.as_mut() {
            match command(connection) {
                Ok(value) => return Ok(value),
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {}
                Err(e) => {
                    *slot = None;
                    return Err(self.unavailable(e));
                }
            }
        }
        if reused {
            tracing::debug!("a kept Redis connection failed; trying a fresh one");
        }
        *slot = None;
        let mut connection = self.connect().map_err(|e| self.unavailable(e))?;
        let result = command(&mut connection).map_err(|e| self.unavailable(e));
        if result.is_ok() {
            *slot = Some(connection);
        }
        result
    }

    fn slot(&self) -> MutexGuard<'_, Option<Connection>> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn try_acquire(self: &Arc<Self>) -> Result<Option<StoreLock>, StoreError> {
        let owner = owner_id();
        let lease_ms = millis(self.options.lease);
        let taken: Option<String> = self.run(|c| {
            redis::cmd("SET")
                .arg(&self.keys.lock)
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
                self.run(|c| redis::cmd("GET").arg(&self.keys.lock).query(c))?;
            if holder.as_deref() != Some(owner.as_str()) {
                return Ok(None);
            }
        }
        tracing::debug!(lock = %self.keys.lock, "lease taken");
        Ok(Some(StoreLock::new(Lease::start(self.clone(), owner))))
    }

    fn release(&self, owner: &str) {
        let released = self.run(|c| {
            self.release
                .key(&self.keys.lock)
                .key(&self.keys.in_flight)
                .arg(owner)
                .arg(&self.keys.events)
                .invoke::<i64>(c)
        });
        match released {
            Ok(1) => tracing::debug!(lock = %self.keys.lock, "lease released"),
            Ok(_) => {
                tracing::warn!(lock = %self.keys.lock, "the lease had run out before it was released; another process may have taken it")
            }
            Err(e) => {
                tracing::warn!(error = %e, "the lease could not be released; it runs out by itself")
            }
        }
    }
}

/// A held lease: renewed by a thread until dropped, then released by compare-and-delete.
struct Lease {
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

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        self.inner.release(&self.owner);
    }
}

impl TokenStore for RedisStore {
    /// Takes the lease, waiting for the holder to release it (woken by a notification,
    /// polling as a fallback) up to the lock timeout.
    ///
    /// Errors: [`StoreError::LockTimeout`] when another holder kept it that long;
    /// [`StoreError::Unavailable`] when Redis cannot be reached.
    fn lock(&self) -> Result<StoreLock, StoreError> {
        let inner = &self.inner;
        if let Some(lock) = inner.try_acquire()? {
            return Ok(lock);
        }
        let deadline = Instant::now() + inner.options.lock_timeout;
        // Subscribed before the next attempt, so a release in between is not missed.
        let mut listener = inner.connect().ok();
        let mut subscribed = listener.as_mut().is_some_and(|c| {
            let mut pubsub = c.as_pubsub();
            pubsub.subscribe(&inner.keys.events).is_ok()
        });
        loop {
            if let Some(lock) = inner.try_acquire()? {
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

    /// Takes the lease if nobody holds it.
    ///
    /// Errors: [`StoreError::Unavailable`] when Redis cannot be reached.
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        self.inner.try_acquire()
    }

    /// Reads the stored document; the bytes are wiped once parsed.
    ///
    /// Errors: [`StoreError::Corrupt`] when the stored bytes are not a token document (left
    /// untouched); [`StoreError::Unavailable`] when Redis cannot be reached.
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        let inner = &self.inner;
        let size: u64 = inner.run(|c| {
            redis::cmd("HSTRLEN")
                .arg(&inner.keys.document)
                .arg("document")
                .query(c)
        })?;
        if size > MAX_DOCUMENT {
            return Err(StoreError::Corrupt {
                location: inner.location.clone(),
                problem: pinterest_oauth_core::DocumentError::TooLarge,
            });
        }
        let bytes: Option<Vec<u8>> = inner.run(|c| {
            redis::cmd("HGET")
                .arg(&inner.keys.document)
                .arg("document")
                .query(c)
        })?;
        let Some(bytes) = bytes.map(Zeroizing::new) else {
            return Ok(None);
        };
        TokenDocument::from_bytes(&bytes)
            .map(Some)
            .map_err(|problem| StoreError::Corrupt {
                location: inner.location.clone(),
                problem,
            })
    }

    /// Stores the document if its revision is newer than the stored one (compare-and-set in
    /// one script), then wakes the waiters. As durable as the server is configured to be
    /// (`appendonly yes` with `appendfsync always` or `everysec`; see `docs/fleet.md`).
    ///
    /// Errors: [`StoreError::Conflict`] when the store holds the same or a newer revision (a
    /// stale writer); [`StoreError::Unavailable`] when Redis cannot be reached or refuses the
    /// write.
    fn save(&self, _lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        let inner = &self.inner;
        // Never write what could not be read back.
        document
            .check_storable()
            .map_err(|problem| StoreError::Corrupt {
                location: inner.location.clone(),
                problem,
            })?;
        let bytes = document.to_bytes();
        let (stored, revision): (i64, u64) = inner.run(|c| {
            inner
                .save
                .key(&inner.keys.document)
                .arg(document.revision())
                .arg(bytes.as_slice())
                .arg(&inner.keys.events)
                .invoke(c)
        })?;
        if stored == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                location: inner.location.clone(),
                stored: revision,
                attempted: document.revision(),
            })
        }
    }

    /// Proves the stored document reads, and that the server takes writes now (a read-only
    /// replica, or a full one under `noeviction`, does not): a short-lived probe key is
    /// written and removed.
    ///
    /// Errors: [`StoreError::Corrupt`]; [`StoreError::Unavailable`].
    fn reserve(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        // What is stored must be readable (and so replaceable) before a code is spent.
        self.load()?;
        let inner = &self.inner;
        inner.run(|c| {
            redis::cmd("SET")
                .arg(&inner.keys.probe)
                .arg(1)
                .arg("PX")
                .arg(10_000)
                .query::<()>(c)?;
            redis::cmd("DEL").arg(&inner.keys.probe).query::<()>(c)
        })
    }

    /// Confirms the lease `lock` holds is still held, just before a refresh token is spent: a
    /// process paused past its lease must not refresh while another may. The lease checked is
    /// the one `lock` carries, never another one this store (or a clone of it) took since. It
    /// is lengthened to cover the request and its save (`attempt`'s deadline), the request is
    /// marked in flight and counted in `attempt`'s budget, both on Redis's clock: should the
    /// lease be lost meanwhile, no other process sends until the mark runs out or this owner
    /// releases, and no process's clock, however far off, stretches the budget.
    ///
    /// Errors: [`StoreError::LockLost`] when the lease ran out (or another holder has it);
    /// [`StoreError::InFlight`] when another owner's request may still be in flight;
    /// [`StoreError::BudgetSpent`] when the shared request budget is spent;
    /// [`StoreError::NotLocked`] for a lock a Redis store of this grant did not make;
    /// [`StoreError::Unavailable`].
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        let inner = &self.inner;
        let lease = lock
            .guard::<Lease>()
            .filter(|lease| lease.inner.location == inner.location)
            .ok_or(StoreError::NotLocked)?;
        let in_flight_ms = millis(attempt.deadline());
        let hold_ms = millis(inner.options.lease).max(in_flight_ms);
        let confirmed: i64 = inner.run(|c| {
            inner
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

    /// Forgets the document and wakes the waiters.
    ///
    /// Errors: [`StoreError::Unavailable`].
    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner.run(|c| {
            inner
                .clear
                .key(&inner.keys.document)
                .arg(&inner.keys.events)
                .invoke::<i64>(c)
                .map(drop)
        })
    }

    /// `redis://host:port/db (key {pinterest-oauth:<app>:<grant>}:document)`, without a
    /// password.
    fn identity(&self) -> String {
        self.location()
    }
    fn location(&self) -> String {
        self.inner.location.clone()
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The URL without its password, in the user part or the query (for messages).
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let query: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let secret = matches!(k.as_ref(), "pass" | "password");
                    (
                        k.into_owned(),
                        if secret { "***".into() } else { v.into_owned() },
                    )
                })
                .collect();
            if !query.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(query);
            }
            parsed.to_string()
        }
        Err(_) => "an unparsable URL".to_owned(),
    }
}

/// `text` with any password `url` carries replaced (an error message may quote the URL).
fn redact(text: &str, url: &str) -> String {
    let mut text = text.to_owned();
    if let Ok(parsed) = url::Url::parse(url) {
        let secrets = parsed.password().map(str::to_owned).into_iter().chain(
            parsed
                .query_pairs()
                .filter(|(k, _)| matches!(k.as_ref(), "pass" | "password"))
                .map(|(_, v)| v.into_owned()),
        );
        for secret in secrets.filter(|s| !s.is_empty()) {
            text = text.replace(&secret, "***");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_locations_are_typed_and_hide_the_password() {
        let app = AppId::new("1234567").unwrap();
        let bad = |url: &str, grant: &str| RedisStore::open(url, &app, grant).unwrap_err();
        for (url, grant) in [
            ("rediss://:hunter2@host/0", "default"),
            ("http://host/0", "default"),
            ("redis://host/0", ""),
            ("redis://host/0", "a b"),
            ("redis://host/0", "a{b}"),
        ] {
            let err = bad(url, grant);
            assert!(
                matches!(err, StoreError::InvalidLocation { .. }),
                "{url} {grant}: {err}"
            );
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
        for url in [
            "redis://:hunter2@127.0.0.1:1/3",
            "redis://user:hunter2@127.0.0.1:1/3",
            "redis+unix:///tmp/redis.sock?pass=hunter2",
            "redis+unix:///tmp/redis.sock?db=2&password=hunter2",
        ] {
            let store = RedisStore::open(url, &app, "default").unwrap();
            assert!(
                !store.location().contains("hunter2"),
                "{}",
                store.location()
            );
            assert!(!format!("{store:?}").contains("hunter2"));
        }
        // One name for one server, however the URL is spelled (kept sets are found by it).
        let a = RedisStore::open("redis://127.0.0.1:6379/0", &app, "default").unwrap();
        let b = RedisStore::open("redis://127.0.0.1:6379", &app, "default").unwrap();
        assert_eq!(a.location(), b.location());
        assert!(matches!(
            RedisStore::open("redis://127.0.0.1/0", &AppId::new("12}34").unwrap(), "g"),
            Err(StoreError::InvalidLocation { .. })
        ));
        let store = RedisStore::open("redis://:hunter2@127.0.0.1:1/3", &app, "default").unwrap();
        assert_eq!(
            store.keys().document,
            "{pinterest-oauth:1234567:default}:document"
        );
    }

    #[test]
    fn an_unreachable_server_is_a_typed_error() {
        let app = AppId::new("1234567").unwrap();
        // Nothing listens on port 1.
        let store = RedisStore::with_config(
            "redis://127.0.0.1:1/0",
            &app,
            "default",
            RedisConfig::default().with_io_timeout(Duration::from_millis(200)),
        )
        .unwrap();
        assert!(matches!(store.load(), Err(StoreError::Unavailable { .. })));
        assert!(matches!(
            store.try_lock(),
            Err(StoreError::Unavailable { .. })
        ));
    }
}
