//! [`PostgresStore`]: one grant's row, and the [`TokenStore`] it implements.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{DocumentError, LifecycleConfig, Status, TokenDocument, TokenLifecycle};
use pinterest_oauth_store::seal::Sealing;
use pinterest_oauth_store::{Attempt, GrantName, StoreError, StoreLock, TokenStore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use zeroize::Zeroizing;

use crate::connect::{Connection, Use};
use crate::grants::Shared;

/// The largest document read or written (a token document is well under 4 KiB).
/// The largest document written (as every store reads at most).
const MAX_DOCUMENT: usize = pinterest_oauth_store::seal::MAX_STORED;

/// A [`TokenStore`] in one row of PostgreSQL, shared by every process that opens the same
/// database, app id and grant. Made by [`PostgresGrants::open`](crate::PostgresGrants); cheap to
/// clone (clones share the connections).
///
/// The lock is a session-level advisory lock on the grant, held on a connection of its own for
/// as long as the [`StoreLock`] lives: Postgres releases it when that connection ends (the
/// process died, the network failed), never while the connection lives. Saves are
/// compare-and-set on the row's version; a row deleted meanwhile is never re-created by a save
/// that follows an earlier set ([`StoreError::Removed`]).
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) shared: Arc<Shared>,
    pub(crate) grant: GrantName,
    pub(crate) location: String,
    pub(crate) sealing: Option<Sealing>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("sealed", &self.sealing.is_some())
            .finish_non_exhaustive()
    }
}

/// A held grant lock: the connection holding the advisory lock, released on drop.
pub(crate) struct GrantLock {
    shared: Arc<Shared>,
    key: String,
    grant: GrantName,
    owner: String,
    connection: Mutex<Option<Connection>>,
    /// The row as this lock last saw it (confirmed or saved through it): its version and
    /// generation. A save after the lock's connection died is made only over exactly that.
    seen: Mutex<Option<(i64, String)>>,
}

impl GrantLock {
    fn seen(&self) -> Option<(i64, String)> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn see(&self, row: (i64, String)) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(row);
    }

    /// Runs `work` on the lock's own connection; `None` when that connection is gone.
    fn run<T, F>(
        &self,
        work: impl FnOnce(Arc<tokio_postgres::Client>) -> F,
    ) -> Option<Result<T, StoreError>>
    where
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send,
        T: Send,
    {
        let pool = &self.shared.pool;
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(connection) if !connection.spoiled && !connection.client.is_closed() => {
                Some(pool.run_on(connection, pool.options.io_timeout, work))
            }
            _ => None,
        }
    }

    /// Whether the connection holding the lock is gone (closed, or spoiled by a failure): the
    /// server has released the lock, or will.
    fn connection_gone(&self) -> bool {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_none_or(|c| c.spoiled || c.client.is_closed())
    }
}

impl Drop for GrantLock {
    fn drop(&mut self) {
        let Some(mut connection) = self
            .connection
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let pool = &self.shared.pool;
        let (app, grant, owner, key) = (
            self.shared.app_id.as_str(),
            self.grant.as_str(),
            self.owner.as_str(),
            self.key.as_str(),
        );
        // One statement: the in-flight mark cleared, then the lock released. (The unlock
        // takes effect before the clearing commits; a next holder's `confirm` locks the row
        // and so reads the cleared mark.)
        let released = pool.run_on(&mut connection, pool.options.io_timeout, |c| async move {
            c.query_typed_one(
                "WITH cleared AS (
                    UPDATE pinterest_oauth_grants SET in_flight_owner = NULL, in_flight_until = NULL
                    WHERE app_id = $1 AND grant_name = $2 AND in_flight_owner = $3
                    RETURNING 1
                 )
                 SELECT pg_advisory_unlock(hashtextextended($4, 0))
                 FROM (SELECT count(*) FROM cleared) AS done",
                &[
                    (&app, Type::TEXT),
                    (&grant, Type::TEXT),
                    (&owner, Type::TEXT),
                    (&key, Type::TEXT),
                ],
            )
            .await?
            .try_get::<_, bool>(0)
        });
        match released {
            Ok(true) => tracing::debug!(grant = %self.grant, "grant lock released"),
            Ok(false) => {
                tracing::warn!(grant = %self.grant, "the grant lock was not held when released");
                connection.spoiled = true;
            }
            Err(e) => {
                // Closing the connection releases the lock; the in-flight mark runs out.
                tracing::warn!(error = %e, "the grant lock could not be released; its connection is closed");
                connection.spoiled = true;
            }
        }
        let cleared_here = !connection.spoiled;
        pool.give_back(connection, Use::Lock);
        if !cleared_here {
            // The lock went with its connection; this owner's in-flight mark (its request is
            // over) is cleared on another, so no one waits for it to run out.
            let cleared = pool.run(|c| async move {
                c.execute_typed(
                    "UPDATE pinterest_oauth_grants SET in_flight_owner = NULL, in_flight_until = NULL
                     WHERE app_id = $1 AND grant_name = $2 AND in_flight_owner = $3",
                    &[(&app, Type::TEXT), (&grant, Type::TEXT), (&owner, Type::TEXT)],
                )
                .await
            });
            if let Err(e) = cleared {
                tracing::warn!(error = %e, "the in-flight mark could not be cleared; it runs out by itself");
            }
        }
    }
}

impl PostgresStore {
    /// The grant this store holds.
    pub fn grant(&self) -> &GrantName {
        &self.grant
    }

    /// The name of the advisory lock of this grant (hashed by the server).
    fn lock_key(&self) -> String {
        format!(
            "pinterest-oauth/{}/{}",
            self.shared.app_id.as_str(),
            self.grant.as_str()
        )
    }

    /// The stored bytes, as stored (wiped on drop).
    fn raw(&self) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let (app, grant) = (self.shared.app_id.as_str(), self.grant.as_str());
        let bytes: Option<Vec<u8>> = self.shared.pool.run(|c| async move {
            let row = c
                .query_typed_opt(
                    "SELECT document FROM pinterest_oauth_grants
                     WHERE app_id = $1 AND grant_name = $2",
                    &[(&app, Type::TEXT), (&grant, Type::TEXT)],
                )
                .await?;
            row.map(|row| row.try_get(0)).transpose()
        })?;
        Ok(bytes.map(Zeroizing::new))
    }

    /// The id of the key the stored document is sealed under; `None` when it is plain or there
    /// is none. Needs no key.
    ///
    /// Errors: [`StoreError::Unavailable`].
    pub fn sealed_under(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .raw()?
            .and_then(|bytes| pinterest_oauth_store::seal::sealed_kid(&bytes)))
    }

    /// Records the name of the Pinterest account the grant acts for (a username, not a
    /// secret) in its row. Nothing is recorded for a grant with no row yet.
    ///
    /// Errors: [`StoreError::Unavailable`].
    pub fn set_account(&self, name: &str) -> Result<(), StoreError> {
        let (app, grant) = (self.shared.app_id.as_str(), self.grant.as_str());
        self.shared.pool.run(|c| async move {
            c.execute_typed(
                "UPDATE pinterest_oauth_grants SET account = $3 WHERE app_id = $1 AND grant_name = $2",
                &[(&app, Type::TEXT), (&grant, Type::TEXT), (&name, Type::TEXT)],
            )
            .await
            .map(drop)
        })
    }

    /// The account name [`set_account`](Self::set_account) recorded, if any.
    ///
    /// Errors: [`StoreError::Unavailable`].
    pub fn account(&self) -> Result<Option<String>, StoreError> {
        let (app, grant) = (self.shared.app_id.as_str(), self.grant.as_str());
        self.shared.pool.run(|c| async move {
            let row = c
                .query_typed_opt(
                    "SELECT account FROM pinterest_oauth_grants WHERE app_id = $1 AND grant_name = $2",
                    &[(&app, Type::TEXT), (&grant, Type::TEXT)],
                )
                .await?;
            Ok(row.and_then(|row| row.get::<_, Option<String>>(0)))
        })
    }

    /// The lock `lock` carries, if it is one of this grant's.
    fn held<'a>(&self, lock: &'a StoreLock) -> Result<&'a GrantLock, StoreError> {
        lock.guard::<GrantLock>()
            // The same grant of the same app in the same database (never a lock another
            // database's store took: its connection is to that database).
            .filter(|held| {
                Arc::ptr_eq(&held.shared, &self.shared)
                    || (held.key == self.lock_key()
                        && held.shared.pool.server.shown == self.shared.pool.server.shown)
            })
            .filter(|held| held.grant == self.grant)
            .ok_or(StoreError::NotLocked)
    }

    /// Runs `work` on the lock's connection: work that must be done under the lock
    /// (confirming, reserving, clearing) is never moved to another connection.
    ///
    /// Errors: [`StoreError::LockLost`] when that connection is gone; what `work` fails with.
    fn on_lock<T, F>(
        &self,
        lock: &StoreLock,
        work: impl FnOnce(Arc<tokio_postgres::Client>) -> F,
    ) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send,
        T: Send,
    {
        self.held(lock)?.run(work).unwrap_or_else(|| {
            Err(StoreError::LockLost {
                location: self.location.clone(),
            })
        })
    }

    fn corrupt(&self, problem: DocumentError) -> StoreError {
        StoreError::Corrupt {
            location: self.location.clone(),
            problem,
        }
    }
}

/// A row's `version` and `generation` (what a lock last saw of it).
fn version_and_generation(
    row: &tokio_postgres::Row,
) -> Result<(i64, String), tokio_postgres::Error> {
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// When `document` next needs work, on its own terms (no margin): the access token's expiry
/// or the refresh token's renewal, not before a wait it records; `None` when only a person can
/// move it on (consent needed, stopped).
pub(crate) fn due_at(document: &TokenDocument, now: SystemTime) -> Option<SystemTime> {
    let config = LifecycleConfig::default().with_refresh_margin(Duration::ZERO);
    let lifecycle = TokenLifecycle::user(config, Some(document.clone()));
    match lifecycle.status(now) {
        Status::ConsentNeeded | Status::Stopped { .. } => None,
        _ => {
            let due = lifecycle.refresh_due_at()?;
            Some(match document.state().not_before() {
                Some(wait) => due.max(wait),
                None => due,
            })
        }
    }
}

impl TokenStore for PostgresStore {
    /// Takes the grant's advisory lock on a connection of its own, waiting for the holder up
    /// to the lock timeout (Postgres wakes the waiter the moment it is released).
    ///
    /// Errors: [`StoreError::LockTimeout`]; [`StoreError::Unavailable`];
    /// [`StoreError::AccessDenied`].
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.take_lock(true)?
            .ok_or_else(|| StoreError::LockTimeout {
                location: self.location.clone(),
                waited: self.shared.pool.options.lock_timeout,
            })
    }

    /// Takes the grant's advisory lock if nobody holds it.
    ///
    /// Errors: [`StoreError::Unavailable`]; [`StoreError::AccessDenied`].
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        self.take_lock(false)
    }

    /// Reads the row's document; the bytes are wiped once parsed.
    ///
    /// Errors: [`StoreError::Corrupt`] (not a token document; left untouched);
    /// [`StoreError::Sealed`]; [`StoreError::Unavailable`].
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        let Some(bytes) = self.raw()? else {
            return Ok(None);
        };
        pinterest_oauth_store::seal::read_stored(&bytes, self.sealing.as_ref(), || {
            self.location.clone()
        })
        .map(Some)
    }

    /// Writes the document if its revision is newer than the row's (or it is the stored
    /// document again), with its due time; committed before this returns. A first document
    /// (revision 0: a login) creates the row; any other only updates it.
    ///
    /// Errors: [`StoreError::Conflict`] (a stale writer); [`StoreError::Removed`] (the row was
    /// deleted); [`StoreError::NotLocked`]; [`StoreError::Sealed`]; [`StoreError::Corrupt`]
    /// (a document that could not be read back); [`StoreError::Unavailable`].
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        document
            .check_storable()
            .map_err(|problem| self.corrupt(problem))?;
        let bytes = pinterest_oauth_store::seal::write_document(document, self.sealing.as_ref())
            .map_err(|problem| StoreError::Sealed {
                location: self.location.clone(),
                problem,
            })?;
        if bytes.len() > MAX_DOCUMENT {
            return Err(self.corrupt(DocumentError::TooLarge));
        }
        let version = i64::try_from(document.revision()).map_err(|_| StoreError::Conflict {
            location: self.location.clone(),
            stored: u64::MAX,
            attempted: document.revision(),
        })?;
        let due = due_at(document, SystemTime::now());
        let (app, grant) = (self.shared.app_id.as_str(), self.grant.as_str());
        let bytes = bytes.as_slice();
        let held = self.held(lock)?;
        let pool = &self.shared.pool;
        let on_lock = held.run(|c| async move {
                        let row = if version == 0 {
                            c.query_typed_opt(
                                "INSERT INTO pinterest_oauth_grants (app_id, grant_name, document, version, due_at)
                                 VALUES ($1, $2, $3, $4, $5)
                                 ON CONFLICT (app_id, grant_name) DO UPDATE SET updated_at = now()
                                 WHERE pinterest_oauth_grants.document = EXCLUDED.document
                                 RETURNING version, generation",
                                &[(&app, Type::TEXT), (&grant, Type::TEXT), (&bytes, Type::BYTEA), (&version, Type::INT8), (&due, Type::TIMESTAMPTZ)],
                            )
                            .await?
                        } else {
                            c.query_typed_opt(
                                "UPDATE pinterest_oauth_grants
                                 SET document = $3, version = $4, due_at = $5, updated_at = now()
                                 WHERE app_id = $1 AND grant_name = $2 AND (version < $4 OR document = $3)
                                 RETURNING version, generation",
                                &[(&app, Type::TEXT), (&grant, Type::TEXT), (&bytes, Type::BYTEA), (&version, Type::INT8), (&due, Type::TIMESTAMPTZ)],
                            )
                            .await?
                        };
                        row.map(|row| version_and_generation(&row)).transpose()
                    });
        let written = match on_lock {
            Some(Ok(written)) => written,
            Some(Err(e)) if !held.connection_gone() => return Err(e),
            // The lock's connection is gone (the network, a server restart): another process
            // may hold the lock now. The set is written on another connection only over exactly
            // the row this lock last saw (the same version of the same row: not one deleted and
            // made again by a login since), else it is refused and kept aside.
            _ => {
                let Some((seen_version, seen_generation)) = held.seen() else {
                    return Err(StoreError::LockLost {
                        location: self.location.clone(),
                    });
                };
                let seen_generation = seen_generation.as_str();
                pool.run(|c| async move {
                    let row = c
                        .query_typed_opt(
                            "UPDATE pinterest_oauth_grants
                             SET document = $3, version = $4, due_at = $5, updated_at = now()
                             WHERE app_id = $1 AND grant_name = $2
                               AND ((version = $6 AND generation = $7 AND version < $4)
                                    OR (generation = $7 AND document = $3))
                             RETURNING version, generation",
                            &[
                                (&app, Type::TEXT),
                                (&grant, Type::TEXT),
                                (&bytes, Type::BYTEA),
                                (&version, Type::INT8),
                                (&due, Type::TIMESTAMPTZ),
                                (&seen_version, Type::INT8),
                                (&seen_generation, Type::TEXT),
                            ],
                        )
                        .await?;
                    row.map(|row| version_and_generation(&row)).transpose()
                })?
            }
        };
        if let Some(seen) = written {
            held.see(seen);
            return Ok(());
        }
        let stored: Option<i64> = self.shared.pool.run(|c| async move {
            let row = c
                .query_typed_opt(
                    "SELECT version FROM pinterest_oauth_grants WHERE app_id = $1 AND grant_name = $2",
                    &[(&app, Type::TEXT), (&grant, Type::TEXT)],
                )
                .await?;
            row.map(|row| row.try_get(0)).transpose()
        })?;
        match stored {
            None => Err(StoreError::Removed {
                location: self.location.clone(),
            }),
            Some(stored) => Err(StoreError::Conflict {
                location: self.location.clone(),
                stored: u64::try_from(stored).unwrap_or_default(),
                attempted: document.revision(),
            }),
        }
    }

    /// Proves, under the lock, that the stored document reads and that the server takes a
    /// write of this row now (a read-only replica, a role without the privilege does not): the
    /// write is made in a transaction rolled back.
    ///
    /// Errors: [`StoreError::Corrupt`]; [`StoreError::Sealed`]; [`StoreError::NotLocked`];
    /// [`StoreError::AccessDenied`]; [`StoreError::Unavailable`].
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.held(lock)?;
        self.load()?;
        let (app, grant) = (self.shared.app_id.as_str(), self.grant.as_str());
        self.on_lock(lock, |c| async move {
            c.batch_execute("BEGIN").await?;
            let probe = c
                .execute_typed(
                    "INSERT INTO pinterest_oauth_grants (app_id, grant_name, document, version)
                     VALUES ($1, $2, '\\x', 0)
                     ON CONFLICT (app_id, grant_name)
                     DO UPDATE SET updated_at = pinterest_oauth_grants.updated_at",
                    &[(&app, Type::TEXT), (&grant, Type::TEXT)],
                )
                .await;
            let rollback = c.batch_execute("ROLLBACK").await;
            probe?;
            rollback
        })
    }

    /// Confirms, just before a refresh token is spent, that this process still holds the lock
    /// (its connection lives) and the row is still there; marks the request in flight until
    /// `attempt`'s deadline and counts it in `attempt`'s budget, both in the row, on the
    /// server's clock. Should the lock be lost meanwhile (the connection cut, the server
    /// restarted), no other process sends until the mark runs out.
    ///
    /// Errors: [`StoreError::LockLost`] (the lock's connection is gone);
    /// [`StoreError::InFlight`]; [`StoreError::BudgetSpent`]; [`StoreError::Removed`];
    /// [`StoreError::NotLocked`]; [`StoreError::Unavailable`].
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        let held = self.held(lock)?;
        let (app, grant, owner) = (
            self.shared.app_id.as_str(),
            self.grant.as_str(),
            held.owner.as_str(),
        );
        let deadline = attempt.deadline().as_secs_f64();
        let window = attempt.window().as_secs_f64();
        let burst = i32::try_from(attempt.burst()).unwrap_or(i32::MAX);
        let lost = || StoreError::LockLost {
            location: self.location.clone(),
        };
        let outcome = self.on_lock(lock, |c| async move {
            let row = c
                .query_typed_opt(
                    "WITH current AS (
                        SELECT ARRAY(SELECT r FROM unnest(requests) r
                                     WHERE r > now() - make_interval(secs => $5)
                                       AND r < now() + make_interval(secs => $5)) AS recent,
                               in_flight_owner, in_flight_until
                        FROM pinterest_oauth_grants WHERE app_id = $1 AND grant_name = $2
                        FOR UPDATE
                     ), marked AS (
                        UPDATE pinterest_oauth_grants g
                        -- This owner's request is counted once, however often confirmed.
                        SET requests = CASE WHEN current.in_flight_owner = $3 THEN current.recent
                                            ELSE array_append(current.recent, now()) END,
                            in_flight_owner = $3,
                            in_flight_until = now() + make_interval(secs => $4)
                        FROM current
                        WHERE g.app_id = $1 AND g.grant_name = $2
                          AND (current.in_flight_until IS NULL OR current.in_flight_until <= now()
                               OR current.in_flight_owner = $3)
                          AND (current.in_flight_owner = $3 OR cardinality(current.recent) < $6)
                        RETURNING g.version, g.generation
                     )
                     SELECT (SELECT count(*) FROM marked)::int,
                            (current.in_flight_until > now() AND current.in_flight_owner <> $3),
                            (SELECT version FROM marked), (SELECT generation FROM marked)
                     FROM current",
                    &[
                        (&app, Type::TEXT),
                        (&grant, Type::TEXT),
                        (&owner, Type::TEXT),
                        (&deadline, Type::FLOAT8),
                        (&window, Type::FLOAT8),
                        (&burst, Type::INT4),
                    ],
                )
                .await?;
            row.map(|row| {
                Ok((
                    row.try_get::<_, i32>(0)?,
                    row.try_get::<_, Option<bool>>(1)?,
                    row.try_get::<_, Option<i64>>(2)?,
                    row.try_get::<_, Option<String>>(3)?,
                ))
            })
            .transpose()
        });
        match outcome {
            Ok(Some((1, _, Some(version), Some(generation)))) => {
                held.see((version, generation));
                Ok(())
            }
            Ok(Some((_, Some(true), ..))) => Err(StoreError::InFlight {
                location: self.location.clone(),
            }),
            Ok(Some(_)) => Err(StoreError::BudgetSpent {
                location: self.location.clone(),
            }),
            Ok(None) => Err(StoreError::Removed {
                location: self.location.clone(),
            }),
            Err(StoreError::Unavailable { .. }) => {
                if held.connection_gone() {
                    Err(lost())
                } else {
                    outcome.map(drop)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes the row (after its tokens were revoked), on the lock's own connection only: a
    /// lock whose connection is gone may have been taken since, and a newer set saved.
    ///
    /// Errors: [`StoreError::LockLost`] (the lock's connection is gone; nothing deleted);
    /// [`StoreError::NotLocked`]; [`StoreError::Unavailable`].
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        let held = self.held(lock)?;
        if held.connection_gone() {
            return Err(StoreError::LockLost {
                location: self.location.clone(),
            });
        }
        let (app, grant) = (self.shared.app_id.as_str(), self.grant.as_str());
        self.on_lock(lock, |c| async move {
            c.execute_typed(
                "DELETE FROM pinterest_oauth_grants WHERE app_id = $1 AND grant_name = $2",
                &[(&app, Type::TEXT), (&grant, Type::TEXT)],
            )
            .await
            .map(drop)
        })
    }

    /// `postgres://user@host:port/db (app <id>, grant <name>)`, without a password.
    fn location(&self) -> String {
        self.location.clone()
    }

    fn identity(&self) -> String {
        self.location.clone()
    }

    fn sealing(&self) -> Option<&Sealing> {
        self.sealing.as_ref()
    }
}

impl PostgresStore {
    /// Takes the advisory lock, waiting up to the lock timeout when `wait`; `None` when it is
    /// held by another session (and not waited for, or not released in time).
    fn take_lock(&self, wait: bool) -> Result<Option<StoreLock>, StoreError> {
        let pool = &self.shared.pool;
        let timeout = pool.options.lock_timeout;
        let mut connection = pool.take(
            Use::Lock,
            if wait {
                timeout
            } else {
                pool.options.io_timeout
            },
        )?;
        let key = self.lock_key();
        let key_ref = key.as_str();
        // Waited for up to the lock timeout, set on every connection of the pool (the server
        // ends the wait with `lock_not_available`).
        let taken = if wait {
            pool.run_on(
                &mut connection,
                timeout + pool.options.io_timeout,
                |c| async move {
                    match c
                        .execute_typed(
                            "SELECT pg_advisory_lock(hashtextextended($1, 0))",
                            &[(&key_ref, Type::TEXT)],
                        )
                        .await
                    {
                        Ok(_) => Ok(true),
                        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Ok(false),
                        Err(e) => Err(e),
                    }
                },
            )
        } else {
            pool.run_on(&mut connection, pool.options.io_timeout, |c| async move {
                c.query_typed_one(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                    &[(&key_ref, Type::TEXT)],
                )
                .await?
                .try_get::<_, bool>(0)
            })
        };
        match taken {
            Ok(true) => {
                tracing::debug!(grant = %self.grant, "grant lock taken");
                Ok(Some(StoreLock::new(GrantLock {
                    shared: self.shared.clone(),
                    key,
                    grant: self.grant.clone(),
                    owner: crate::grants::random_id(),
                    connection: Mutex::new(Some(connection)),
                    seen: Mutex::new(None),
                })))
            }
            Ok(false) => {
                pool.give_back(connection, Use::Lock);
                Ok(None)
            }
            Err(e) => {
                pool.give_back(connection, Use::Lock);
                Err(e)
            }
        }
    }
}
