//! The schema: versioned migrations, applied under a transaction-scoped advisory lock so that
//! any number of processes may apply them at once, and refused against a newer schema.

use pinterest_oauth_store::StoreError;

use crate::connect::{Pool, Use};

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// The advisory lock (bigint space) every migrating process takes: `'pinterest-oauth/schema'`.
const MIGRATION_LOCK: i64 = 0x7069_6e74_5f73_6368;

/// The migrations, in order: version `i + 1` is `MIGRATIONS[i]`. Never edit one that shipped;
/// add the next.
const MIGRATIONS: &[&str] = &[
    // 1: one row per (app, grant). (`IF NOT EXISTS`: a schema table emptied by hand next to
    // the grants is brought back, the rows untouched.)
    "CREATE TABLE IF NOT EXISTS pinterest_oauth_grants (
        app_id          text        NOT NULL,
        grant_name      text        NOT NULL,
        -- the token document, sealed when a key is given: the set and the lifecycle's memory
        -- (waits, backoff, stops, recent requests), read by every worker
        document        bytea       NOT NULL,
        -- the document's revision: saves are compare-and-set on it
        version         bigint      NOT NULL,
        -- this row's own id, new each time the row is made: a row deleted and made again by a
        -- login is not the row an old writer saw, whatever its version
        generation      text        NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
        -- the Pinterest account the grant acts for (a username, for listings)
        account         text,
        -- when the grant next needs work (NULL: never without a person), for claiming workers
        due_at          timestamptz,
        -- token requests sent lately (on the server's clock): the budget every process shares
        requests        timestamptz[] NOT NULL DEFAULT '{}',
        -- a token request in flight: no other process sends for this grant until it ends
        in_flight_owner text,
        in_flight_until timestamptz,
        -- the worker whose refresh pass holds the grant (alive while it holds its advisory lock)
        claimed_by      integer,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, grant_name),
        CHECK (version >= 0),
        CHECK (octet_length(document) <= 1048576)
    );
    CREATE INDEX IF NOT EXISTS pinterest_oauth_grants_due ON pinterest_oauth_grants (app_id, due_at)
        WHERE due_at IS NOT NULL;",
];

/// What the migrations did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migrated {
    /// The version found (0: an empty database).
    pub from: i64,
    /// The version now.
    pub to: i64,
}

/// The schema version recorded, without taking any lock (0 when there is none).
pub(crate) fn version(pool: &Pool) -> Result<i64, StoreError> {
    pool.run(|c| async move {
        let exists: bool = c
            .query_one(
                "SELECT to_regclass('pinterest_oauth_schema') IS NOT NULL",
                &[],
            )
            .await?
            .try_get(0)?;
        if !exists {
            return Ok(0);
        }
        c.query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM pinterest_oauth_schema",
            &[],
        )
        .await?
        .try_get::<_, i64>(0)
    })
}

/// Applies the migrations the database lacks, one transaction under the migration lock.
///
/// Errors: [`StoreError::Schema`] for a schema newer than this build's (nothing changed);
/// [`StoreError::AccessDenied`] (no privilege to create tables); [`StoreError::Unavailable`].
pub(crate) fn migrate(pool: &Pool) -> Result<Migrated, StoreError> {
    let found = version(pool)?;
    if found == SCHEMA_VERSION {
        return Ok(Migrated {
            from: found,
            to: found,
        });
    }
    if !(0..=SCHEMA_VERSION).contains(&found) {
        return Err(too_new(pool, found));
    }
    // Other processes may be migrating: wait for them as long as a lock is waited for.
    let wait = pool.options.lock_timeout + pool.options.io_timeout;
    let mut connection = pool.take(Use::Statements, pool.options.io_timeout)?;
    let result = pool.run_on(&mut connection, wait, |c| async move {
        c.batch_execute("BEGIN").await?;
        let applied = async {
            c.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            c.batch_execute(
                "CREATE TABLE IF NOT EXISTS pinterest_oauth_schema (
                    version    integer     PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )",
            )
            .await?;
            let from: i64 = c
                .query_one(
                    "SELECT coalesce(max(version), 0)::bigint FROM pinterest_oauth_schema",
                    &[],
                )
                .await?
                .try_get(0)?;
            if (0..SCHEMA_VERSION).contains(&from) {
                for (i, migration) in MIGRATIONS.iter().enumerate().skip(from as usize) {
                    c.batch_execute(migration).await?;
                    let to = i as i32 + 1;
                    c.execute(
                        "INSERT INTO pinterest_oauth_schema (version) VALUES ($1)",
                        &[&to],
                    )
                    .await?;
                }
            }
            Ok::<i64, tokio_postgres::Error>(from)
        }
        .await;
        match applied {
            Ok(from) if (0..=SCHEMA_VERSION).contains(&from) => {
                c.batch_execute("COMMIT").await?;
                Ok(from)
            }
            Ok(from) => {
                c.batch_execute("ROLLBACK").await?;
                Ok(from)
            }
            Err(e) => {
                let _ = c.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    });
    pool.give_back(connection, Use::Statements);
    let from = result?;
    if !(0..=SCHEMA_VERSION).contains(&from) {
        return Err(too_new(pool, from));
    }
    if from < SCHEMA_VERSION {
        tracing::info!(from, to = SCHEMA_VERSION, server = %pool.server.shown, "schema migrated");
    }
    Ok(Migrated {
        from,
        to: SCHEMA_VERSION,
    })
}

/// Checks the schema is this build's, migrating first if allowed.
pub(crate) fn prepare(pool: &Pool) -> Result<(), StoreError> {
    if pool.options.migrate {
        migrate(pool).map(drop)
    } else {
        match version(pool)? {
            SCHEMA_VERSION => Ok(()),
            found => Err(StoreError::Schema {
                location: pool.server.shown.clone(),
                found,
                supported: SCHEMA_VERSION,
            }),
        }
    }
}

fn too_new(pool: &Pool, found: i64) -> StoreError {
    StoreError::Schema {
        location: pool.server.shown.clone(),
        found,
        supported: SCHEMA_VERSION,
    }
}
