//! The token store a command works on: the token file, a grant kept in Redis
//! (`--store redis://…`) that processes on many machines share, or a grant's row in PostgreSQL
//! (`--store postgres://…`).

use std::path::{Path, PathBuf};

use crate::error::CliError;
use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::{
    Attempt, FileGrants, FileStore, GrantName, GrantStore, StoreError, StoreLock, TokenStore,
    recovery,
};
use pinterest_oauth_transport::Error;

/// The token file, or a Redis grant.
#[derive(Debug)]
pub(crate) enum CliStore {
    /// A locked, atomically written JSON file.
    File(FileStore),
    /// A grant in Redis, shared by a fleet.
    #[cfg(feature = "redis")]
    Redis(pinterest_oauth_redis::RedisStore),
    /// A grant's row in PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(pinterest_oauth_postgres::PostgresStore),
}

impl CliStore {
    fn inner(&self) -> &dyn TokenStore {
        match self {
            CliStore::File(file) => file,
            #[cfg(feature = "redis")]
            CliStore::Redis(redis) => redis,
            #[cfg(feature = "postgres")]
            CliStore::Postgres(postgres) => postgres,
        }
    }
}

impl CliStore {
    /// The file beside a token file that names its account.
    fn account_file(file: &FileStore) -> PathBuf {
        let mut path = file.path().as_os_str().to_owned();
        path.push(".account");
        path.into()
    }

    /// Records the name of the account the grant acts for (after a login). Best effort: a
    /// name that cannot be recorded is only not shown by `grants`.
    pub(crate) fn set_account(&self, name: &str) {
        let recorded = match self {
            // Written to a new private file and renamed over the old one: never through a
            // link someone planted in its place.
            CliStore::File(file) => {
                recovery::write_private(&CliStore::account_file(file), name.as_bytes())
                    .map_err(|e| e.to_string())
            }
            #[cfg(feature = "redis")]
            CliStore::Redis(redis) => redis.set_account(name).map_err(|e| e.to_string()),
            #[cfg(feature = "postgres")]
            CliStore::Postgres(postgres) => postgres.set_account(name).map_err(|e| e.to_string()),
        };
        if let Err(why) = recorded {
            tracing::warn!(%why, "the account's name could not be recorded");
        }
    }

    /// The account name recorded at login, if any: only from a private file of this user's
    /// (never a FIFO, a link or another user's file), shown as printable ASCII (at most 256
    /// characters; anything else, bidirectional controls included, as `?`).
    pub(crate) fn account(&self) -> Option<String> {
        let name = match self {
            CliStore::File(file) => recovery::read_private(&CliStore::account_file(file))
                .ok()
                .filter(|b| b.len() <= 1024)
                .and_then(|b| String::from_utf8(b.to_vec()).ok()),
            #[cfg(feature = "redis")]
            CliStore::Redis(redis) => redis.account().ok().flatten(),
            #[cfg(feature = "postgres")]
            CliStore::Postgres(postgres) => postgres.account().ok().flatten(),
        }?;
        let clean: String = name
            .chars()
            .take(256)
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .collect();
        (!clean.is_empty()).then_some(clean)
    }

    /// Forgets the recorded account name (the grant was revoked).
    pub(crate) fn forget_account(&self) {
        match self {
            CliStore::File(file) => {
                let _ = std::fs::remove_file(CliStore::account_file(file));
            }
            // Cleared with the document's hash.
            #[cfg(feature = "redis")]
            CliStore::Redis(_) => {}
            // Deleted with the row.
            #[cfg(feature = "postgres")]
            CliStore::Postgres(_) => {}
        }
    }

    /// The id of the key the stored document is sealed under (`None`: plain, or nothing).
    pub(crate) fn sealed_under(&self) -> Result<Option<String>, StoreError> {
        match self {
            CliStore::File(file) => file.sealed_under(),
            #[cfg(feature = "redis")]
            CliStore::Redis(redis) => redis.sealed_under(),
            #[cfg(feature = "postgres")]
            CliStore::Postgres(postgres) => postgres.sealed_under(),
        }
    }
}

/// The token keys given, and the app they seal for.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) keyring: pinterest_oauth_store::seal::Keyring,
    pub(crate) app_id: pinterest_oauth_core::AppId,
}

impl Keys {
    /// What binds `grant`'s documents to it.
    pub(crate) fn sealing(&self, grant: &GrantName) -> pinterest_oauth_store::seal::Sealing {
        pinterest_oauth_store::seal::Sealing::new(self.keyring.clone(), &self.app_id, grant)
    }
}

impl TokenStore for CliStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.inner().lock()
    }
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        self.inner().try_lock()
    }
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        self.inner().load()
    }
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        self.inner().save(lock, document)
    }
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner().reserve(lock)
    }
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        self.inner().confirm(lock, attempt)
    }
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner().clear(lock)
    }
    fn identity(&self) -> String {
        self.inner().identity()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        self.inner().sealing()
    }
    fn location(&self) -> String {
        self.inner().location()
    }
}

/// Where the grants are: a directory of token files, or Redis.
#[derive(Debug)]
pub(crate) enum CliGrants {
    /// `default` is token.json, any other grant NAME.token.json.
    File(FileGrants),
    /// A key per grant.
    #[cfg(feature = "redis")]
    Redis(Box<pinterest_oauth_redis::RedisGrants>),
    /// A row per grant.
    #[cfg(feature = "postgres")]
    Postgres(Box<pinterest_oauth_postgres::PostgresGrants>),
}

impl CliGrants {
    /// Every grant with a document, sorted by name.
    pub(crate) fn list(&self) -> Result<Vec<GrantName>, StoreError> {
        match self {
            CliGrants::File(files) => files.grants(),
            #[cfg(feature = "redis")]
            CliGrants::Redis(redis) => redis.grants(),
            #[cfg(feature = "postgres")]
            CliGrants::Postgres(postgres) => postgres.grants(),
        }
    }

    /// Where the grants are, for messages.
    pub(crate) fn location(&self) -> String {
        match self {
            CliGrants::File(files) => files.location(),
            #[cfg(feature = "redis")]
            CliGrants::Redis(redis) => redis.location(),
            #[cfg(feature = "postgres")]
            CliGrants::Postgres(postgres) => postgres.location(),
        }
    }

    /// The store of `grant`, sealing under `keys` when given.
    pub(crate) fn open(
        &self,
        grant: &GrantName,
        keys: Option<&Keys>,
    ) -> Result<CliStore, StoreError> {
        let sealing = keys.map(|keys| keys.sealing(grant));
        Ok(match self {
            CliGrants::File(files) => {
                let store = files.open(grant)?;
                CliStore::File(match sealing {
                    Some(sealing) => store.with_sealing(sealing),
                    None => store,
                })
            }
            #[cfg(feature = "redis")]
            CliGrants::Redis(redis) => {
                let store = redis.open(grant)?;
                CliStore::Redis(match sealing {
                    Some(sealing) => store.with_sealing(sealing),
                    None => store,
                })
            }
            // Sealed by the grants themselves (opened with the keyring).
            #[cfg(feature = "postgres")]
            CliGrants::Postgres(postgres) => CliStore::Postgres(postgres.open(grant)?),
        })
    }
}

/// The grant commands use without `--grant`: the name in `file` (written by `grants default`),
/// else `default`.
///
/// Errors: [`CliError::DefaultGrant`] when the file exists but cannot be read;
/// [`CliError::GrantName`] when it holds no valid name.
pub(crate) fn default_grant(file: Option<&Path>) -> Result<GrantName, CliError> {
    let Some(file) = file else {
        return Ok(GrantName::default_grant());
    };
    if std::fs::symlink_metadata(file).is_err() {
        return Ok(GrantName::default_grant());
    }
    // Only a private file of this user's: another user must not choose the account.
    match recovery::read_private(file) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            Ok(GrantName::new(text.trim())?)
        }
        Err(why) => Err(CliError::DefaultGrant {
            action: "read",
            path: file.to_path_buf(),
            source: std::io::Error::other(why.to_string()),
        }),
    }
}

/// Records `grant` as the default in `file` (a new private file renamed over the old one).
///
/// Errors: [`CliError::DefaultGrant`].
pub(crate) fn set_default_grant(file: &Path, grant: &GrantName) -> Result<(), CliError> {
    let failed = |source| CliError::DefaultGrant {
        action: "record",
        path: file.to_path_buf(),
        source,
    };
    if let Some(dir) = file.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(failed)?;
    }
    recovery::write_private(file, format!("{grant}\n").as_bytes()).map_err(failed)
}

/// Where sets a store refused are kept (the library's default directory).
pub(crate) fn recovery_dir() -> Option<PathBuf> {
    recovery::default_dir()
}

/// The file an app token for `app_id`, the API at `api_base` and `scopes` is kept in:
/// `$XDG_STATE_HOME/pinterest-oauth/app-tokens/<hash>.json` (0600, in a 0700 directory).
///
/// Errors: [`CliError::NoStateDir`] when the platform names no state or local data directory.
pub(crate) fn app_token_cache(
    app_id: &str,
    api_base: &str,
    scopes: &[pinterest_oauth_core::Scope],
) -> Result<CliStore, CliError> {
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .ok_or(CliError::NoStateDir)?
        .join("pinterest-oauth")
        .join("app-tokens");
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // A file-name-safe key, so the app id and scopes are not in the name.
    let hash = file_key(&[app_id, api_base, &names.join(" ")]);
    Ok(CliStore::File(FileStore::new(
        dir.join(format!("{hash:016x}.json")),
    )))
}

/// Raw answers kept aside for this store (2xx answers not read whole), and by one-shot calls.
pub(crate) fn kept_answers(store: &CliStore) -> Vec<PathBuf> {
    use recovery::Keeper;
    let Some(dir) = recovery_dir() else {
        return Vec::new();
    };
    let keeper = recovery::RecoveryDir::new(dir);
    let mut found = keeper.find_raw(&store.identity());
    found.extend(keeper.find_raw(recovery::ONE_SHOT));
    found
}

/// Under the lock: what is stored, after putting in place a set an earlier run could not save
/// (only over the set it was made to replace).
pub(crate) fn settled(
    store: &CliStore,
    lock: &StoreLock,
) -> Result<Option<TokenDocument>, StoreError> {
    recovery::settle(store, lock, recovery_dir().as_deref())
}

/// The requests made for a token file that holds no document yet (a first app token): a
/// store with a document keeps its request budget and Pinterest's waits in it, but before the
/// first success there is nothing to keep them in, and a loop of failing runs would send a
/// request each. Kept beside the file as `<file>.attempts` (JSON: the Unix times of recent
/// requests, and the time before which none may go).
#[derive(Debug)]
pub(crate) struct FirstRequests {
    path: PathBuf,
}

/// At most this many first requests…
const FIRST_BURST: usize = 5;
/// …in any window this long, as the lifecycle's budget.
const FIRST_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);
/// The longest wait a failure (without Pinterest naming one) imposes.
const FIRST_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(300);
/// The longest wait Pinterest may ask for that is honoured (as the lifecycle's cap).
const FIRST_MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(86_400);

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Attempts {
    requests: Vec<u64>,
    not_before: u64,
}

fn unix(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl FirstRequests {
    /// The record for `store`, when it is a token file that holds no document now.
    ///
    /// Errors: what reading the store fails with.
    pub(crate) fn for_store(store: &CliStore) -> Result<Option<FirstRequests>, StoreError> {
        // Without the redis feature a token file is the only store there is.
        #[cfg_attr(
            not(any(feature = "redis", feature = "postgres")),
            allow(clippy::infallible_destructuring_match)
        )]
        let file = match store {
            CliStore::File(file) => file,
            #[cfg(feature = "redis")]
            CliStore::Redis(_) => return Ok(None),
            #[cfg(feature = "postgres")]
            CliStore::Postgres(_) => return Ok(None),
        };
        if store.load()?.is_some() {
            return Ok(None);
        }
        let mut path = file.path().as_os_str().to_owned();
        path.push(".attempts");
        Ok(Some(FirstRequests { path: path.into() }))
    }

    /// Only a private file of this user's is read (a planted one, a FIFO, a huge file are
    /// passed over, and replaced by the next record).
    fn read(&self) -> Attempts {
        recovery::read_private(&self.path)
            .ok()
            .filter(|bytes| bytes.len() < 64 * 1024)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Takes the record's lock (a first request at a time across processes), and checks that
    /// a request may go at `now`: the lock is held until [`record`](FirstTurn::record).
    ///
    /// Errors: [`CliError::FirstRequestWaiting`] with when one may.
    pub(crate) fn begin(&self, now: std::time::SystemTime) -> Result<FirstTurn<'_>, CliError> {
        let lock = self.lock();
        let attempts = self.read();
        let now_s = unix(now);
        let recent: Vec<u64> = attempts
            .requests
            .iter()
            .copied()
            .filter(|t| now_s.saturating_sub(*t) < FIRST_WINDOW.as_secs())
            .collect();
        // A record cannot ask for more than the longest wait honoured (a day and the window).
        let ceiling = now_s
            .saturating_add(FIRST_MAX_RETRY_AFTER.as_secs())
            .saturating_add(FIRST_WINDOW.as_secs());
        let mut until = attempts.not_before.min(ceiling);
        if recent.len() >= FIRST_BURST
            && let Some(oldest) = recent.iter().min()
        {
            until = until.max(oldest.saturating_add(FIRST_WINDOW.as_secs()).min(ceiling));
        }
        if until > now_s {
            return Err(CliError::FirstRequestWaiting {
                until: std::time::UNIX_EPOCH + std::time::Duration::from_secs(until),
                record: self.path.clone(),
            });
        }
        Ok(FirstTurn {
            requests: self,
            _lock: lock,
        })
    }

    /// An exclusive lock on `<record>.lock` (opened without following a link), if one can be
    /// had; without it, first requests are still recorded, only not serialized.
    fn lock(&self) -> Option<std::fs::File> {
        let mut path = self.path.as_os_str().to_owned();
        path.push(".lock");
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(PathBuf::from(path)).ok()?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return None;
        }
        file.lock().ok()?;
        Some(file)
    }

    fn write(&self, now: std::time::SystemTime, error: &Error) {
        let mut attempts = self.read();
        let now_s = unix(now);
        attempts
            .requests
            .retain(|t| now_s.saturating_sub(*t) < FIRST_WINDOW.as_secs());
        attempts.requests.push(now_s);
        let failures = u32::try_from(attempts.requests.len()).unwrap_or(u32::MAX);
        let backoff =
            std::time::Duration::from_secs(1u64 << failures.min(9)).min(FIRST_BACKOFF_MAX);
        let asked = error
            .response()
            .map(|response| {
                [response.retry_after(), response.rate_limit_reset()]
                    .into_iter()
                    .flatten()
                    .map(|r| r.delay_from(now))
                    .max()
                    .unwrap_or_default()
                    .min(FIRST_MAX_RETRY_AFTER)
            })
            .unwrap_or_default();
        let ceiling = now_s.saturating_add(FIRST_MAX_RETRY_AFTER.as_secs());
        attempts.not_before = attempts
            .not_before
            .min(ceiling)
            .max(now_s.saturating_add(backoff.max(asked).as_secs()));
        let Ok(bytes) = serde_json::to_vec(&attempts) else {
            return;
        };
        if let Err(e) = recovery::write_private(&self.path, &bytes) {
            tracing::warn!(record = %self.path.display(), error = %e, "the first requests could not be recorded");
        }
    }
}

/// A first request under way: the record's lock is held until it is recorded.
#[derive(Debug)]
pub(crate) struct FirstTurn<'a> {
    requests: &'a FirstRequests,
    _lock: Option<std::fs::File>,
}

impl FirstTurn<'_> {
    /// Records the request sent at `now` and how it went: a failure waits what Pinterest
    /// asked (`Retry-After`, `X-RateLimit-Reset`, capped at a day) or a backoff doubling from
    /// a second; a success removes the record (the stored document keeps the budget from now).
    pub(crate) fn record(self, now: std::time::SystemTime, outcome: Result<(), &Error>) {
        match outcome {
            Ok(()) => {
                let _ = std::fs::remove_file(&self.requests.path);
            }
            Err(error) => self.requests.write(now, error),
        }
    }
}

/// A key for a file name from `parts` (FNV-1a over each part and a 0 after it: stable across
/// releases and platforms, and nothing of the parts can be read back from it).
pub(crate) fn file_key(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}
