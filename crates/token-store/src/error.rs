//! What storing tokens can fail with.

use std::path::PathBuf;
use std::time::Duration;

use pinterest_oauth_core::DocumentError;

/// What can go wrong storing tokens. Never holds a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing, locking or syncing failed.
    #[error("cannot {action} {}: {}", path.display(), io_text(path, source))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another holder kept the lock longer than the timeout.
    #[error("{location} stayed locked for {waited:?}; another process may be stuck")]
    LockTimeout {
        /// The lock (a file, a key).
        location: String,
        /// How long it was waited for.
        waited: Duration,
    },
    /// The lock is held by something that never lets it go: a shared store's lock with no
    /// expiry (set by hand, or by a client that is not this one). Waiting would not help.
    #[error(
        "{location} is held by a lock with no expiry (set by hand or by another client): it never runs out by itself; delete it once no process of yours is refreshing"
    )]
    LockNeverExpires {
        /// The lock (a key).
        location: String,
    },
    /// The stored document cannot be read; it was left untouched.
    #[error(
        "{location} holds no valid token set ({problem}); it was left untouched: move it away (a file) or delete it (a key, a row), then log in again"
    )]
    Corrupt {
        /// The store (a file, a key).
        location: String,
        /// What is wrong with it.
        problem: DocumentError,
    },
    /// The token file, its lock file or its directory belongs to another user (neither this
    /// process's user nor root): another user's file may hold someone else's tokens, and
    /// another user's directory lets them replace or remove the token file. Nothing was read
    /// from it or written to it.
    #[error(
        "{} belongs to another user (uid {owner}); it was left untouched: use a file in a directory of your own",
        path.display()
    )]
    NotOwned {
        /// The file or directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// The path is not a regular file (a directory, a FIFO, a device, or a symlink where none
    /// is allowed); nothing was read from it or written to it.
    #[error("{} is not a regular file; it was left untouched", path.display())]
    NotRegularFile {
        /// The path.
        path: PathBuf,
    },
    /// The store holds a newer revision than the document being saved: another writer got
    /// there first, and a stale set must not overwrite it.
    #[error("{location} holds revision {stored}, newer than the {attempted} being saved")]
    Conflict {
        /// The store.
        location: String,
        /// The stored revision.
        stored: u64,
        /// The revision that was refused.
        attempted: u64,
    },
    /// A new token set (whose refresh token Pinterest has already rotated) could not be saved.
    /// It is kept in `kept_in` (mode 0600) and restored the next time the store is locked;
    /// without `kept_in` it could not be written anywhere and lives only in this process.
    #[error("{}", unsaved_text(kept_in.as_deref(), source))]
    Unsaved {
        /// Where the set is kept, if it could be kept.
        kept_in: Option<PathBuf>,
        /// Why the store refused it.
        source: Box<StoreError>,
    },
    /// The lock ran out before the refresh it guarded was sent (the process was paused past
    /// its lease); another process may be refreshing. Nothing was sent.
    #[error("the lock on {location} ran out before the refresh was sent; nothing was sent")]
    LockLost {
        /// The lock.
        location: String,
    },
    /// Another process's token request may still be in flight (its lock was lost while it
    /// was at work): nothing was sent, so the refresh token it may have spent is not spent
    /// twice.
    #[error(
        "another process's token request on {location} may still be in flight; nothing was sent"
    )]
    InFlight {
        /// The mark (a key).
        location: String,
    },
    /// The request budget the store keeps for every process sharing the grant (on its own
    /// clock) is spent: nothing was sent.
    #[error("the request budget kept in {location} is spent; nothing was sent")]
    BudgetSpent {
        /// Where the budget is kept (a key).
        location: String,
    },
    /// A save or clear was attempted without holding the store's lock (a bug in the caller).
    #[error("the token store's lock is not held")]
    NotLocked,
    /// A sealed document does not open (a key not given, another grant's document, tampered
    /// with), or a document could not be sealed; nothing was overwritten.
    #[error("{location}: {problem}")]
    Sealed {
        /// The file or key.
        location: String,
        /// Why.
        problem: crate::seal::SealError,
    },
    /// The store's location cannot be used (a malformed URL); nothing was tried.
    #[error("invalid token store {location}: {problem}")]
    InvalidLocation {
        /// The location, without credentials.
        location: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The grant was removed from the store (its row deleted: the customer left) while this
    /// document was being made: a save that follows an earlier set never re-creates it.
    #[error("{location} was removed from the store; it is not re-created by a late save")]
    Removed {
        /// The grant's place (a table row).
        location: String,
    },
    /// The store's backend refused these credentials or this role (a wrong password, no
    /// privilege on the table); nothing was read or written. Never retried.
    #[error("{what} refused access: {problem}")]
    AccessDenied {
        /// The backend, without credentials.
        what: String,
        /// What it said (never the password).
        problem: String,
    },
    /// The store's schema is not one this build can use: newer than it knows (written by a
    /// newer version), or older and not to be migrated by this process. Nothing was changed.
    #[error("{location} has schema version {found}; this build uses version {supported}{}", schema_hint(*found, *supported))]
    Schema {
        /// The database.
        location: String,
        /// The version found (0: none).
        found: i64,
        /// The version this build reads and writes.
        supported: i64,
    },
    /// The store's backend is unreachable (a database down); `what` says which.
    #[error("{what} is unavailable: {source}")]
    Unavailable {
        /// The backend, without credentials.
        what: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// `source` in words; for a path through a file, which part of it is not a directory.
fn io_text(path: &std::path::Path, source: &std::io::Error) -> String {
    if source.kind() == std::io::ErrorKind::NotADirectory {
        let file = path.ancestors().skip(1).find(|dir| {
            std::fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir() && !m.file_type().is_symlink())
        });
        if let Some(file) = file {
            return format!("{} is not a directory", file.display());
        }
    }
    source.to_string()
}

fn schema_hint(found: i64, supported: i64) -> &'static str {
    if found < 0 {
        " (a version no pinterest-oauth writes: the schema table was edited by hand)"
    } else if found > supported {
        " (written by a newer pinterest-oauth: upgrade this one; nothing is downgraded)"
    } else {
        " (run `pinterest-oauth migrate`, or open the store with migrations allowed)"
    }
}

fn unsaved_text(kept_in: Option<&std::path::Path>, source: &StoreError) -> String {
    match kept_in {
        Some(path) => format!(
            "the new token set could not be saved ({source}); it is kept in {} and restored on the next run",
            path.display()
        ),
        None => format!(
            "the new token set could not be saved ({source}); it could not be kept anywhere: this process holds the only copy"
        ),
    }
}

impl StoreError {
    /// Where a set that could not be saved is kept, if this error says.
    pub fn kept_in(&self) -> Option<&std::path::Path> {
        match self {
            StoreError::Unsaved { kept_in, .. } => kept_in.as_deref(),
            _ => None,
        }
    }

    /// The error for a new set the store refused with `source`, kept in `kept_in` (if it
    /// could be kept): [`StoreError::Unsaved`]. A `source` that is already one keeps the
    /// place it names.
    pub fn unsaved(kept_in: Option<PathBuf>, source: StoreError) -> StoreError {
        match source {
            StoreError::Unsaved {
                kept_in: already,
                source,
            } => StoreError::Unsaved {
                kept_in: already.or(kept_in),
                source,
            },
            other => StoreError::Unsaved {
                kept_in,
                source: Box::new(other),
            },
        }
    }

    /// Why the store failed: for [`StoreError::Unsaved`] the refusal it wraps, otherwise this
    /// error itself.
    pub fn cause(&self) -> &StoreError {
        match self {
            StoreError::Unsaved { source, .. } => source.cause(),
            other => other,
        }
    }
}
