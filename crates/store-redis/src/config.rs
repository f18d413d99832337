//! What a store is configured with: its timeouts, and the keys of its grant.

use std::time::Duration;

use pinterest_oauth_core::AppId;

#[cfg(doc)]
use pinterest_oauth_store::TokenStore;

use crate::{DEFAULT_IO_TIMEOUT, DEFAULT_LEASE, DEFAULT_LOCK_TIMEOUT, DEFAULT_POLL};

/// Timeouts of a [`RedisStore`](crate::RedisStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisConfig {
    pub(crate) lease: Duration,
    pub(crate) lock_timeout: Duration,
    pub(crate) poll: Duration,
    pub(crate) io_timeout: Duration,
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
    pub(crate) fn new(app_id: &AppId, grant: &str) -> Keys {
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
