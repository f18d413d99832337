//! Many grants of one app: names, and stores that list them and open a [`TokenStore`] per
//! grant.
//!
//! A person with a personal and a business account, an agency posting for forty clients, a
//! service holding every customer's grant: each grant is a [`GrantName`], and a [`GrantStore`]
//! keeps one document per name. [`FileGrants`] is a directory with a file per grant; the Redis
//! store crate has one with a key per grant.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{FileStore, StoreError, TokenStore};

/// The longest grant name.
pub const MAX_GRANT_NAME: usize = 64;

/// The name of the grant commands use when none is named.
pub const DEFAULT_GRANT: &str = "default";

/// The name of one grant: 1 to 64 characters of ASCII letters, digits and `. _ - @ +` (an
/// email address or a user id fits), not starting with `.` or `-`. The same rule for every
/// store, so a name valid for files is valid for Redis and the other way round.
///
/// # Examples
///
/// ```
/// # mod pinterest_oauth_ureq { pub use pinterest_oauth_core::*; pub use pinterest_oauth_store::*; }
/// use pinterest_oauth_ureq::GrantName;
///
/// assert_eq!(GrantName::new("alice@example.com")?.as_str(), "alice@example.com");
/// assert!(GrantName::new("../etc/passwd").is_err());
/// assert!(GrantName::new("").is_err());
/// # Ok::<(), pinterest_oauth_ureq::GrantNameError>(())
/// ```
#[derive(Clone)]
pub struct GrantName {
    name: String,
    /// The name hashed once, with a key drawn for this process: maps of many grants hash a
    /// name for free, and names chosen to collide cannot be found without the key.
    hash: u64,
}

/// The key of this process's grant-name hashes.
fn hash_key() -> &'static std::collections::hash_map::RandomState {
    static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    KEY.get_or_init(std::collections::hash_map::RandomState::new)
}

impl PartialEq for GrantName {
    fn eq(&self, other: &GrantName) -> bool {
        self.hash == other.hash && self.name == other.name
    }
}

impl Eq for GrantName {}

impl PartialOrd for GrantName {
    fn partial_cmp(&self, other: &GrantName) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GrantName {
    fn cmp(&self, other: &GrantName) -> std::cmp::Ordering {
        self.name.cmp(&other.name)
    }
}

/// Feeds the name's hash, computed once (with this process's key) when the name was made: a
/// map keyed by names can use [`KnownHash`] instead of hashing the name again.
impl std::hash::Hash for GrantName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A hasher for maps keyed by [`GrantName`]: it takes the hash the name carries as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct KnownHash(u64);

impl std::hash::Hasher for KnownHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only names are hashed with it; anything else is mixed in, FNV-1a style.
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

/// Why a grant name was refused. It quotes no more than the first 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantNameError {
    /// The name is empty or longer than [`MAX_GRANT_NAME`].
    #[error("a grant name is 1 to {MAX_GRANT_NAME} characters (this one has {0})")]
    Length(usize),
    /// The name holds a character outside ASCII letters, digits and `. _ - @ +`, or starts
    /// with `.` or `-`.
    #[error(
        "a grant name is ASCII letters, digits and . _ - @ +, not starting with . or - (got {0:?})"
    )]
    Characters(String),
}

impl GrantName {
    /// Checks `name`.
    ///
    /// Errors: [`GrantNameError::Length`], [`GrantNameError::Characters`].
    pub fn new(name: impl Into<String>) -> Result<GrantName, GrantNameError> {
        let name = name.into();
        let length = name.chars().count();
        if length == 0 || length > MAX_GRANT_NAME {
            return Err(GrantNameError::Length(length));
        }
        let allowed =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+');
        if !name.bytes().all(allowed) || name.starts_with(['.', '-']) {
            return Err(GrantNameError::Characters(name.chars().take(64).collect()));
        }
        Ok(GrantName::known(name))
    }

    fn known(name: String) -> GrantName {
        use std::hash::BuildHasher as _;
        let hash = hash_key().hash_one(&name);
        GrantName { name, hash }
    }

    /// The grant commands use when none is named: `default`.
    pub fn default_grant() -> GrantName {
        GrantName::known(DEFAULT_GRANT.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name's hash in this process (keyed per process: never stored or sent anywhere).
    pub fn hash_value(&self) -> u64 {
        self.hash
    }
}

impl fmt::Debug for GrantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.name, f)
    }
}

impl fmt::Display for GrantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for GrantName {
    type Err = GrantNameError;
    fn from_str(s: &str) -> Result<GrantName, GrantNameError> {
        GrantName::new(s)
    }
}

/// A store of many grants of one app: it lists them, and opens the [`TokenStore`] of each.
pub trait GrantStore: Send + Sync + 'static {
    /// The store of one grant.
    type Store: TokenStore;

    /// Every grant the store holds a document for, sorted by name.
    ///
    /// Errors: [`StoreError::Io`] or [`StoreError::Unavailable`] when the store cannot be read.
    fn grants(&self) -> Result<Vec<GrantName>, StoreError>;

    /// The store of `grant` (whether or not it holds a document yet).
    ///
    /// Errors: what opening a store can fail with ([`StoreError::InvalidLocation`]).
    fn open(&self, grant: &GrantName) -> Result<Self::Store, StoreError>;

    /// Where the grants are kept, for messages. Never a secret.
    fn location(&self) -> String;

    /// The stored documents of `grants`, in order (each `Ok(None)` when it holds none): what
    /// a refresher reads on every pass. By default one [`open`](Self::open) and
    /// [`load`](TokenStore::load) each; a store that can read many at once (Redis, in one
    /// round trip per thousand) does.
    fn load_all(
        &self,
        grants: &[GrantName],
    ) -> Vec<Result<Option<crate::TokenDocument>, StoreError>> {
        grants
            .iter()
            .map(|grant| self.open(grant).and_then(|store| store.load()))
            .collect()
    }

    /// Claims for one refresh pass, for stores that let several workers (threads, processes,
    /// machines) share the work: each [`Claims::next`] hands this worker grants that are due
    /// and that no other live worker holds, so every due grant is looked at by one worker. The
    /// claims are released when the returned value is dropped (or its process dies).
    ///
    /// `Ok(None)` (the default): the store does not share work, and a pass walks every grant
    /// ([`grants`](Self::grants)).
    ///
    /// Errors: [`StoreError::Unavailable`] when the store cannot be reached.
    fn claims(&self) -> Result<Option<Box<dyn Claims>>, StoreError> {
        Ok(None)
    }
}

/// One worker's claims in a refresh pass (see [`GrantStore::claims`]); dropping it releases
/// them.
pub trait Claims: Send + std::fmt::Debug {
    /// Claims up to `max` more grants whose stored documents say they may need work by `by`,
    /// that no other live worker has claimed (and none this pass already handed out); empty
    /// when none are left.
    ///
    /// Errors: [`StoreError::Unavailable`] when the store cannot be reached.
    fn next(&mut self, by: std::time::SystemTime, max: usize)
    -> Result<Vec<GrantName>, StoreError>;
}

/// Grants as files in one directory: `default` is `token.json`, any other grant `NAME` is
/// `NAME.token.json`, each a [`FileStore`] (locked, written atomically, 0600).
///
/// # Examples
///
/// ```
/// # mod pinterest_oauth_ureq { pub use pinterest_oauth_core::*; pub use pinterest_oauth_store::*; }
/// use pinterest_oauth_ureq::{FileGrants, GrantName, GrantStore};
///
/// # let dir = std::env::temp_dir().join(format!("pinterest-oauth-doc-grants-{}", std::process::id()));
/// let grants = FileGrants::new(&dir); // dir: where this app keeps its grants
/// let alice = grants.open(&GrantName::new("alice")?)?;
/// assert_eq!(alice.path(), dir.join("alice.token.json"));
/// assert!(grants.grants()?.is_empty(), "no document saved yet");
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileGrants {
    dir: PathBuf,
    sealing: Option<(crate::seal::Keyring, pinterest_oauth_core::AppId)>,
}

/// The suffix of a grant's file (`token.json` itself is the default grant).
const SUFFIX: &str = ".token.json";

impl FileGrants {
    /// The grants in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> FileGrants {
        FileGrants {
            dir: dir.into(),
            sealing: None,
        }
    }

    /// Seals every grant's documents under `keyring` (each bound to `app_id` and its grant's
    /// name), and opens sealed ones with it.
    #[must_use]
    pub fn with_sealing(
        mut self,
        keyring: crate::seal::Keyring,
        app_id: pinterest_oauth_core::AppId,
    ) -> FileGrants {
        self.sealing = Some((keyring, app_id));
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `grant`.
    pub fn path(&self, grant: &GrantName) -> PathBuf {
        if grant.as_str() == DEFAULT_GRANT {
            self.dir.join("token.json")
        } else {
            self.dir.join(format!("{}{SUFFIX}", grant.as_str()))
        }
    }

    /// The grant a file name in the directory belongs to, if any (lock files, temporary files
    /// and anything else are no grant).
    fn grant_of(file_name: &str) -> Option<GrantName> {
        if file_name == "token.json" {
            return Some(GrantName::default_grant());
        }
        let name = file_name.strip_suffix(SUFFIX)?;
        GrantName::new(name)
            .ok()
            .filter(|n| n.as_str() != DEFAULT_GRANT)
    }
}

impl GrantStore for FileGrants {
    type Store = FileStore;

    /// The grants whose file exists (a regular file or not: opening it says what is wrong).
    /// A directory that does not exist holds no grant.
    fn grants(&self) -> Result<Vec<GrantName>, StoreError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "list the grants in",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut grants = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Io {
                action: "list the grants in",
                path: self.dir.clone(),
                source,
            })?;
            if let Some(grant) = entry.file_name().to_str().and_then(FileGrants::grant_of) {
                grants.push(grant);
            }
        }
        grants.sort();
        Ok(grants)
    }

    fn open(&self, grant: &GrantName) -> Result<FileStore, StoreError> {
        let store = FileStore::new(self.path(grant));
        Ok(match &self.sealing {
            Some((keyring, app_id)) => {
                store.with_sealing(crate::seal::Sealing::new(keyring.clone(), app_id, grant))
            }
            None => store,
        })
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_checked_the_same_way_everywhere() {
        for good in [
            "default",
            "alice",
            "alice@example.com",
            "user_42",
            "a.b-c+d",
            "A",
        ] {
            assert_eq!(GrantName::new(good).unwrap().as_str(), good);
        }
        let long = "a".repeat(MAX_GRANT_NAME + 1);
        for bad in [
            "", ".", "..", ".hidden", "-flag", "a b", "a/b", "../x", "a{b}", "é", "a\n", &long,
        ] {
            assert!(GrantName::new(bad).is_err(), "{bad:?}");
        }
        assert!(GrantName::new("a".repeat(MAX_GRANT_NAME)).is_ok());
    }

    #[test]
    fn files_are_named_after_their_grant_and_listed_back() {
        let dir = tempfile::tempdir().unwrap();
        let grants = FileGrants::new(dir.path());
        assert_eq!(grants.grants().unwrap(), Vec::<GrantName>::new());
        for file in [
            "token.json",
            "alice.token.json",
            "bob@example.com.token.json",
            "alice.token.json.lock",
            ".alice.token.json.tmp-1234",
            "default.token.json",
            "notes.txt",
            "..token.json",
        ] {
            std::fs::write(dir.path().join(file), b"{}").unwrap();
        }
        let names: Vec<String> = grants
            .grants()
            .unwrap()
            .iter()
            .map(|g| g.to_string())
            .collect();
        assert_eq!(names, ["alice", "bob@example.com", "default"]);
        assert_eq!(
            grants.path(&GrantName::default_grant()),
            dir.path().join("token.json")
        );
        let missing = FileGrants::new(dir.path().join("absent"));
        assert!(missing.grants().unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn any_text_is_a_name_or_a_typed_error_and_a_name_never_leaves_the_directory(text in ".{0,80}") {
            match GrantName::new(text.clone()) {
                Ok(name) => {
                    let grants = FileGrants::new("/grants");
                    let path = grants.path(&name);
                    prop_assert_eq!(path.parent(), Some(Path::new("/grants")));
                    prop_assert_eq!(FileGrants::grant_of(path.file_name().unwrap().to_str().unwrap()), Some(name));
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
