//! [`PostgresGrants`]: every grant of one app in one database, a row each; and the claims by
//! which workers share a refresh pass.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{AppId, TokenDocument};
use pinterest_oauth_store::seal::{Keyring, Sealing};
use pinterest_oauth_store::{Claims, GrantName, GrantStore, StoreError};

use tokio_postgres::types::Type;

use crate::config::PostgresConfig;
use crate::connect::{Connection, Pool, Server, Use};
use crate::schema::{self, Migrated};
use crate::store::PostgresStore;

/// What every store of one [`PostgresGrants`] shares.
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    pub(crate) app_id: AppId,
}

/// The grants of app `app_id` in one PostgreSQL database: a row each in
/// `pinterest_oauth_grants`, every one a [`PostgresStore`]. Opening connects, and applies the
/// migrations the database lacks (see [`PostgresConfig::with_migrations`]).
///
/// [`claims`](GrantStore::claims) lets any number of workers (threads, processes, machines)
/// share one refresh pass: each claims grants that are due with `FOR UPDATE SKIP LOCKED`, so
/// none waits on a grant another holds, and a worker's claims lapse the moment its connection
/// ends.
///
/// Cheap to clone; clones share the connections.
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::AppId;
/// use pinterest_oauth_postgres::PostgresGrants;
/// use pinterest_oauth_store::{GrantName, GrantStore};
///
/// let grants = PostgresGrants::open("postgres://app:secret@127.0.0.1/app", &AppId::new("1234567")?)?;
/// for grant in grants.grants()? {
///     println!("{grant}");
/// }
/// let alice = grants.open(&GrantName::new("alice")?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PostgresGrants {
    shared: Arc<Shared>,
    keyring: Option<Keyring>,
}

impl fmt::Debug for PostgresGrants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("PostgresGrants")
            .field("server", &self.shared.pool.server.shown)
            .field("app_id", &self.shared.app_id)
            .field("sealed", &self.keyring.is_some())
            .finish_non_exhaustive()
    }
}

impl PostgresGrants {
    /// The grants of `app_id` in the database at `url`
    /// (`postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`).
    /// Connects, and migrates the schema if it lacks a version.
    ///
    /// Errors: [`StoreError::InvalidLocation`] (not a Postgres URL; shown without its password);
    /// [`StoreError::AccessDenied`] (a wrong password, an unknown role or database, no
    /// privilege); [`StoreError::Schema`] (a newer schema); [`StoreError::Unavailable`]
    /// (unreachable, timed out).
    pub fn open(url: &str, app_id: &AppId) -> Result<PostgresGrants, StoreError> {
        PostgresGrants::with_config(url, app_id, PostgresConfig::default())
    }

    /// [`open`](Self::open) with other timeouts, limits, migrations or TLS roots.
    ///
    /// Errors: those of [`open`](Self::open).
    pub fn with_config(
        url: &str,
        app_id: &AppId,
        config: PostgresConfig,
    ) -> Result<PostgresGrants, StoreError> {
        let server = Server::parse(url, &config)?;
        let pool = Pool::new(server, config);
        schema::prepare(&pool)?;
        Ok(PostgresGrants {
            shared: Arc::new(Shared {
                pool,
                app_id: app_id.clone(),
            }),
            keyring: None,
        })
    }

    /// Seals every grant's documents under `keyring` (each bound to the app id and its grant's
    /// name), and opens sealed ones with it; plain documents stay readable (the next save
    /// seals them).
    #[must_use]
    pub fn with_sealing(mut self, keyring: Keyring) -> PostgresGrants {
        self.keyring = Some(keyring);
        self
    }

    /// Checks that the database answers: one round trip (`SELECT 1`) on a pooled connection,
    /// for a readiness probe.
    ///
    /// Errors: [`StoreError::Unavailable`] (unreachable, timed out);
    /// [`StoreError::AccessDenied`].
    pub fn ping(&self) -> Result<(), StoreError> {
        self.shared
            .pool
            .run(|c| async move { c.simple_query("SELECT 1").await.map(drop) })
    }

    /// The app whose grants these are.
    pub fn app_id(&self) -> &AppId {
        &self.shared.app_id
    }

    /// `postgres://user@host:port/db`, without the password.
    pub fn server(&self) -> &str {
        &self.shared.pool.server.shown
    }

    fn sealing(&self, grant: &GrantName) -> Option<Sealing> {
        self.keyring
            .as_ref()
            .map(|keyring| Sealing::new(keyring.clone(), &self.shared.app_id, grant))
    }

    fn grant_location(&self, grant: &GrantName) -> String {
        format!(
            "{} (app {}, grant {grant})",
            self.shared.pool.server.shown,
            self.shared.app_id.as_str()
        )
    }

    /// One document as [`load_all`](GrantStore::load_all) reads it: the errors its own store
    /// gives.
    fn read(
        &self,
        grant: &GrantName,
        bytes: Option<&[u8]>,
    ) -> Result<Option<TokenDocument>, StoreError> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let sealing = self.sealing(grant);
        pinterest_oauth_store::seal::read_stored(bytes, sealing.as_ref(), || {
            self.grant_location(grant)
        })
        .map(Some)
    }
}

/// Applies the migrations the database at `url` lacks (what `pinterest-oauth migrate` runs),
/// safely from any number of processes at once; refuses a schema newer than this build's.
///
/// Errors: those of [`PostgresGrants::open`].
pub fn migrate(url: &str, config: PostgresConfig) -> Result<Migrated, StoreError> {
    let server = Server::parse(url, &config)?;
    schema::migrate(&Pool::new(server, config))
}

/// The grant names of `names`, sorted; names that are not grant names (rows written by hand)
/// are skipped with a warning.
fn grant_names(names: Vec<String>) -> Vec<GrantName> {
    let mut grants: Vec<GrantName> = names
        .into_iter()
        .filter_map(|name| match GrantName::new(&name) {
            Ok(grant) => Some(grant),
            Err(e) => {
                tracing::warn!(problem = %e, "a row whose grant name is not one was skipped");
                None
            }
        })
        .collect();
    grants.sort();
    grants
}

/// Rows read in one statement by [`GrantStore::load_all`].
const LOAD_BATCH: usize = 1000;

impl GrantStore for PostgresGrants {
    type Store = PostgresStore;

    /// Every grant of this app with a row, sorted by name (rows whose names are not grant
    /// names, written by hand, are skipped with a warning).
    ///
    /// Errors: [`StoreError::Unavailable`].
    fn grants(&self) -> Result<Vec<GrantName>, StoreError> {
        let app = self.shared.app_id.as_str();
        let names: Vec<String> = self.shared.pool.run(|c| async move {
            c.query_typed(
                "SELECT grant_name FROM pinterest_oauth_grants WHERE app_id = $1",
                &[(&app, Type::TEXT)],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect()
        })?;
        Ok(grant_names(names))
    }

    fn open(&self, grant: &GrantName) -> Result<PostgresStore, StoreError> {
        Ok(PostgresStore {
            shared: self.shared.clone(),
            grant: grant.clone(),
            location: self.grant_location(grant),
            sealing: self.sealing(grant),
        })
    }

    fn location(&self) -> String {
        format!(
            "{} (app {})",
            self.shared.pool.server.shown,
            self.shared.app_id.as_str()
        )
    }

    /// The documents of `grants`, a thousand per statement.
    fn load_all(&self, grants: &[GrantName]) -> Vec<Result<Option<TokenDocument>, StoreError>> {
        let app = self.shared.app_id.as_str();
        let mut out = Vec::with_capacity(grants.len());
        for batch in grants.chunks(LOAD_BATCH) {
            let names: Vec<&str> = batch.iter().map(GrantName::as_str).collect();
            let names = &names;
            let rows = self.shared.pool.run(|c| async move {
                c.query_typed(
                    "SELECT grant_name, document FROM pinterest_oauth_grants
                     WHERE app_id = $1 AND grant_name = ANY($2)",
                    &[(&app, Type::TEXT), (names, Type::TEXT_ARRAY)],
                )
                .await?
                .iter()
                .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, Vec<u8>>(1)?)))
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            });
            match rows {
                Ok(rows) => {
                    let mut found: HashMap<String, zeroize::Zeroizing<Vec<u8>>> = rows
                        .into_iter()
                        .map(|(name, bytes)| (name, zeroize::Zeroizing::new(bytes)))
                        .collect();
                    for grant in batch {
                        let bytes = found.remove(grant.as_str());
                        out.push(self.read(grant, bytes.as_deref().map(Vec::as_slice)));
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    out.extend(batch.iter().map(|_| {
                        Err(StoreError::Unavailable {
                            what: self.shared.pool.server.shown.clone(),
                            source: text.clone().into(),
                        })
                    }));
                }
            }
        }
        out
    }

    /// Claims for this worker, on a connection of its own, the grants it will refresh in one
    /// pass: see [`PostgresClaims`].
    ///
    /// Errors: [`StoreError::Unavailable`].
    fn claims(&self) -> Result<Option<Box<dyn Claims>>, StoreError> {
        PostgresClaims::start(self.shared.clone()).map(|claims| Some(Box::new(claims) as _))
    }
}

/// The advisory-lock class (two-key space) of workers' ids: `'PINT'`.
const WORKER_CLASS: i32 = 0x5049_4e54;

/// One worker's claims in a refresh pass: a connection holding an advisory lock on the
/// worker's id, and the rows marked with that id. A claim is live only while that lock is
/// held: a worker killed, or cut off, releases its claims the moment Postgres sees its
/// connection end, and other workers take the grants over. Dropping the claims releases them.
pub struct PostgresClaims {
    shared: Arc<Shared>,
    connection: Option<Connection>,
    worker: i32,
}

impl fmt::Debug for PostgresClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresClaims")
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl PostgresClaims {
    fn start(shared: Arc<Shared>) -> Result<PostgresClaims, StoreError> {
        let pool = &shared.pool;
        let mut connection = pool.take(Use::Lock, pool.options.io_timeout)?;
        // A random id whose lock is free (ids of live workers are held).
        for _ in 0..16 {
            let worker = i32::from_le_bytes(random_bytes());
            let taken = pool.run_on(&mut connection, pool.options.io_timeout, |c| async move {
                c.query_typed_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[(&WORKER_CLASS, Type::INT4), (&worker, Type::INT4)],
                )
                .await?
                .try_get::<_, bool>(0)
            });
            match taken {
                Ok(true) => {
                    return Ok(PostgresClaims {
                        shared: shared.clone(),
                        connection: Some(connection),
                        worker,
                    });
                }
                Ok(false) => continue,
                Err(e) => {
                    pool.give_back(connection, Use::Lock);
                    return Err(e);
                }
            }
        }
        pool.give_back(connection, Use::Lock);
        Err(pool.unavailable("no free worker id in 16 tries".into()))
    }
}

impl Claims for PostgresClaims {
    /// Claims up to `max` grants of this app due by `by`, earliest first, that no live worker
    /// has claimed and no process is refreshing; `SKIP LOCKED`: never waits for another
    /// worker's claim.
    ///
    /// Errors: [`StoreError::Unavailable`].
    fn next(&mut self, by: SystemTime, max: usize) -> Result<Vec<GrantName>, StoreError> {
        let pool = &self.shared.pool;
        let Some(connection) = self.connection.as_mut() else {
            return Ok(Vec::new());
        };
        let app = self.shared.app_id.as_str();
        let worker = self.worker;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let names: Vec<String> = pool.run_on(connection, pool.options.io_timeout, |c| async move {
            c.query_typed(
                "WITH picked AS (
                    SELECT grant_name FROM pinterest_oauth_grants
                    WHERE app_id = $1 AND due_at <= $2
                      AND CASE
                            WHEN claimed_by = $3 THEN false
                            WHEN claimed_by IS NOT NULL
                                 AND NOT pg_try_advisory_xact_lock($5, claimed_by) THEN false
                            ELSE pg_try_advisory_xact_lock(
                                     hashtextextended('pinterest-oauth/' || app_id || '/' || grant_name, 0))
                          END
                    ORDER BY due_at
                    LIMIT $4
                    FOR UPDATE SKIP LOCKED
                 )
                 UPDATE pinterest_oauth_grants g SET claimed_by = $3
                 FROM picked WHERE g.app_id = $1 AND g.grant_name = picked.grant_name
                 RETURNING g.grant_name",
                &[(&app, Type::TEXT), (&by, Type::TIMESTAMPTZ), (&worker, Type::INT4), (&limit, Type::INT8), (&WORKER_CLASS, Type::INT4)],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect()
        })?;
        Ok(grant_names(names))
    }
}

impl Drop for PostgresClaims {
    fn drop(&mut self) {
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        let pool = &self.shared.pool;
        let app = self.shared.app_id.as_str();
        let worker = self.worker;
        // One statement: the claims cleared, then the worker's lock released.
        let released = pool.run_on(&mut connection, pool.options.io_timeout, |c| async move {
            c.execute_typed(
                "WITH cleared AS (
                    UPDATE pinterest_oauth_grants SET claimed_by = NULL
                    WHERE app_id = $1 AND claimed_by = $2
                    RETURNING 1
                 )
                 SELECT pg_advisory_unlock($3, $2) FROM (SELECT count(*) FROM cleared) AS done",
                &[
                    (&app, Type::TEXT),
                    (&worker, Type::INT4),
                    (&WORKER_CLASS, Type::INT4),
                ],
            )
            .await
            .map(drop)
        });
        if let Err(e) = released {
            // Closing the connection releases the worker's lock: its claims lapse.
            tracing::warn!(error = %e, "claims not released; they lapse as the connection closes");
            connection.spoiled = true;
        }
        pool.give_back(connection, Use::Lock);
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mixed = (nanos ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
        for (b, m) in bytes.iter_mut().zip(mixed.iter().cycle()) {
            *b = *m;
        }
    }
    bytes
}

/// A random id (128 bits, hex): a lock's owner.
pub(crate) fn random_id() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
