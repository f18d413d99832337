//! [`RedisStore`]: opening one, and the [`TokenStore`] it implements.

use std::fmt;
use std::sync::{Arc, Mutex};

use pinterest_oauth_core::{AppId, TokenDocument};
use pinterest_oauth_store::{Attempt, GrantName, StoreError, StoreLock, TokenStore};

use crate::config::{Keys, RedisConfig};
use crate::connection::Inner;
use crate::location::{redact, redact_url};
use crate::scripts::Scripts;
use crate::{document, lease};

/// A [`TokenStore`] in Redis, shared by every process that opens it with the same URL, app id
/// and grant name. Cheap to clone (clones share a connection).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
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
    /// The store of grant `grant` (a [`GrantName`]: such as `default`, a user id or an email
    /// address) of app `app_id`, on the Redis server at `url` (`redis://[:password@]host[:port][/db]`
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
        GrantName::new(grant).map_err(|e| invalid(e.to_string()))?;
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
                scripts: Scripts::new(),
                sealing: None,
            }),
        })
    }

    /// Seals every document this store writes under `sealing`'s first key, and opens sealed
    /// ones with any of its keys; plain documents already stored stay readable (the next save
    /// seals them). The grant's name and the app id are the sealed documents' authenticated
    /// data: give the same ones this store was opened with.
    #[must_use]
    pub fn with_sealing(self, sealing: pinterest_oauth_store::seal::Sealing) -> RedisStore {
        let inner = &self.inner;
        RedisStore {
            inner: Arc::new(Inner {
                client: inner.client.clone(),
                keys: inner.keys.clone(),
                location: inner.location.clone(),
                options: inner.options,
                connection: Mutex::new(None),
                scripts: Scripts::new(),
                sealing: Some(sealing),
            }),
        }
    }

    /// The sealing, if documents are sealed.
    pub fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        self.inner.sealing.as_ref()
    }

    /// The id of the key the stored document is sealed under; `None` when it is plain or there
    /// is none. Needs no key.
    ///
    /// Errors: [`StoreError::Unavailable`].
    pub fn sealed_under(&self) -> Result<Option<String>, StoreError> {
        Ok(document::raw(&self.inner)?
            .and_then(|bytes| pinterest_oauth_store::seal::sealed_kid(&bytes)))
    }

    /// Records the name of the Pinterest account the grant acts for (a username, not a
    /// secret), beside the document in its hash; gone with it when the grant is cleared.
    ///
    /// Errors: [`StoreError::Unavailable`].
    pub fn set_account(&self, name: &str) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner.run(|c| {
            redis::cmd("HSET")
                .arg(&inner.keys.document)
                .arg("account")
                .arg(name)
                .query::<()>(c)
        })
    }

    /// The account name [`set_account`](Self::set_account) recorded, if any.
    ///
    /// Errors: [`StoreError::Unavailable`].
    pub fn account(&self) -> Result<Option<String>, StoreError> {
        let inner = &self.inner;
        inner.run(|c| {
            redis::cmd("HGET")
                .arg(&inner.keys.document)
                .arg("account")
                .query(c)
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

impl TokenStore for RedisStore {
    /// Takes the lease, waiting for the holder to release it (woken by a notification,
    /// polling as a fallback) up to the lock timeout.
    ///
    /// Errors: [`StoreError::LockTimeout`] when another holder kept it that long;
    /// [`StoreError::LockNeverExpires`] at once for a lock key with no expiry (never one of
    /// this crate's); [`StoreError::Unavailable`] when Redis cannot be reached.
    fn lock(&self) -> Result<StoreLock, StoreError> {
        lease::acquire(&self.inner)
    }

    /// Takes the lease if nobody holds it.
    ///
    /// Errors: [`StoreError::Unavailable`] when Redis cannot be reached.
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        lease::try_acquire(&self.inner)
    }

    /// Reads the stored document; the bytes are wiped once parsed.
    ///
    /// Errors: [`StoreError::Corrupt`] when the stored bytes are not a token document (left
    /// untouched); [`StoreError::Unavailable`] when Redis cannot be reached.
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        document::load(&self.inner)
    }

    /// Stores the document if its revision is newer than the stored one (compare-and-set in
    /// one script), then wakes the waiters. As durable as the server is configured to be
    /// (`appendonly yes` with `appendfsync always` or `everysec`; see `docs/fleet.md`).
    ///
    /// Errors: [`StoreError::Conflict`] when the store holds the same or a newer revision (a
    /// stale writer); [`StoreError::Unavailable`] when Redis cannot be reached or refuses the
    /// write.
    fn save(&self, _lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        document::save(&self.inner, document)
    }

    /// Proves the stored document reads, and that the server takes writes now (a read-only
    /// replica, or a full one under `noeviction`, does not): a short-lived probe key is
    /// written and removed.
    ///
    /// Errors: [`StoreError::Corrupt`]; [`StoreError::Unavailable`].
    fn reserve(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        // What is stored must be readable (and so replaceable) before a code is spent.
        document::load(&self.inner)?;
        document::probe_write(&self.inner)
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
        lease::confirm(&self.inner, lock, attempt)
    }

    /// Forgets the document and wakes the waiters.
    ///
    /// Errors: [`StoreError::Unavailable`].
    fn clear(&self, _lock: &StoreLock) -> Result<(), StoreError> {
        document::clear(&self.inner)
    }

    /// `redis://host:port/db (key {pinterest-oauth:<app>:<grant>}:document)`, without a
    /// password.
    fn identity(&self) -> String {
        self.location()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        RedisStore::sealing(self)
    }
    fn location(&self) -> String {
        self.inner.location.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
