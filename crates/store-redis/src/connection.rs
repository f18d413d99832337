//! The one connection a store (and its clones) share, made on first use and again after a
//! failure.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pinterest_oauth_store::StoreError;
use redis::{Connection, RedisError, RedisResult};

use crate::config::{Keys, RedisConfig};
use crate::scripts::Scripts;

/// What clones of one store share.
pub(crate) struct Inner {
    pub(crate) client: redis::Client,
    pub(crate) keys: Keys,
    /// The server and key, without a password: in messages, and as the store's identity.
    pub(crate) location: String,
    pub(crate) options: RedisConfig,
    pub(crate) connection: Mutex<Option<Connection>>,
    pub(crate) scripts: Scripts,
    /// Seals documents written, opens sealed ones read.
    pub(crate) sealing: Option<pinterest_oauth_store::seal::Sealing>,
}

/// What a failed command says: a timeout as "timed out after N s" (the socket's own words for
/// it are "Resource temporarily unavailable", which reads like a refusal), anything else as is.
pub(crate) fn cause(
    error: RedisError,
    timeout: Duration,
) -> Box<dyn std::error::Error + Send + Sync> {
    if error.is_timeout() {
        let seconds = format!("{:.3}", timeout.as_secs_f64());
        let seconds = seconds.trim_end_matches('0').trim_end_matches('.');
        Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "timed out after {seconds} s (Redis did not answer: paused, overloaded or unreachable)"
            ),
        ))
    } else {
        Box::new(error)
    }
}

impl Inner {
    pub(crate) fn unavailable(&self, error: RedisError) -> StoreError {
        StoreError::Unavailable {
            what: self.location.clone(),
            source: cause(error, self.options.io_timeout),
        }
    }

    /// A new connection with the configured timeouts (for the renewer and for waiters, which
    /// must not hold the shared one).
    pub(crate) fn connect(&self) -> RedisResult<Connection> {
        let connection = self
            .client
            .get_connection_with_timeout(self.options.io_timeout)?;
        connection.set_read_timeout(Some(self.options.io_timeout))?;
        connection.set_write_timeout(Some(self.options.io_timeout))?;
        Ok(connection)
    }

    /// Runs `command` on the shared connection (made on first use). A kept connection that
    /// fails at the IO level (Redis restarted, the connection was killed) is replaced and the
    /// command tried once more on a fresh one: every command here is safe to repeat.
    pub(crate) fn run<T>(
        &self,
        command: impl Fn(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
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
}

/// Whole milliseconds, at least 1 (Redis refuses a zero expiry).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
