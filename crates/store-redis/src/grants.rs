//! [`RedisGrants`]: every grant of one app on one Redis server, a key per grant.

use pinterest_oauth_core::AppId;
use pinterest_oauth_store::{GrantName, GrantStore, StoreError, TokenStore as _};

use crate::config::RedisConfig;
use crate::location::redact_url;
use crate::store::RedisStore;

/// How many keys one `SCAN` step asks for.
const SCAN_COUNT: usize = 1000;

/// The grants of app `app_id` on the Redis server at `url`: each a [`RedisStore`] with its own
/// keys, found by `SCAN` over their document keys (`{pinterest-oauth:<app>:<grant>}:document`),
/// never `KEYS` (which would stall a server holding many).
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::AppId;
/// use pinterest_oauth_redis::RedisGrants;
/// use pinterest_oauth_store::{GrantName, GrantStore};
///
/// let grants = RedisGrants::open("redis://127.0.0.1:6379/0", &AppId::new("1234567")?)?;
/// for grant in grants.grants()? {
///     println!("{grant}");
/// }
/// let alice = grants.open(&GrantName::new("alice")?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisGrants {
    url: String,
    app_id: AppId,
    config: RedisConfig,
    client: redis::Client,
    shown: String,
    keyring: Option<pinterest_oauth_store::seal::Keyring>,
}

/// Documents read in one round trip by [`GrantStore::load_all`].
const LOAD_BATCH: usize = 1000;

impl RedisGrants {
    /// The grants of `app_id` at `url` (as [`RedisStore::open`] takes it). Connects lazily.
    ///
    /// Errors: [`StoreError::InvalidLocation`] for a URL this build does not support or an app
    /// id with braces.
    pub fn open(url: &str, app_id: &AppId) -> Result<RedisGrants, StoreError> {
        RedisGrants::with_config(url, app_id, RedisConfig::default())
    }

    /// [`open`](Self::open) with other timeouts (for the grants' stores too).
    pub fn with_config(
        url: &str,
        app_id: &AppId,
        config: RedisConfig,
    ) -> Result<RedisGrants, StoreError> {
        // The same checks as a grant's own store.
        let probe = RedisStore::with_config(url, app_id, "default", config)?;
        let client = redis::Client::open(url).map_err(|_| StoreError::InvalidLocation {
            location: redact_url(url),
            problem: "not a Redis URL".into(),
        })?;
        let shown = probe
            .location()
            .split(" (key")
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(RedisGrants {
            url: url.to_owned(),
            app_id: app_id.clone(),
            config,
            client,
            shown,
            keyring: None,
        })
    }

    /// Seals every grant's documents under `keyring` (each bound to the app id and its
    /// grant's name), and opens sealed ones with it.
    #[must_use]
    pub fn with_sealing(mut self, keyring: pinterest_oauth_store::seal::Keyring) -> RedisGrants {
        self.keyring = Some(keyring);
        self
    }

    fn sealing(&self, grant: &GrantName) -> Option<pinterest_oauth_store::seal::Sealing> {
        self.keyring.as_ref().map(|keyring| {
            pinterest_oauth_store::seal::Sealing::new(keyring.clone(), &self.app_id, grant)
        })
    }

    fn connect(&self) -> Result<redis::Connection, StoreError> {
        let connection = self
            .client
            .get_connection_with_timeout(self.config.io_timeout)
            .map_err(|e| self.unavailable(e))?;
        let io = Some(self.config.io_timeout);
        connection
            .set_read_timeout(io)
            .and_then(|()| connection.set_write_timeout(io))
            .map_err(|e| self.unavailable(e))?;
        Ok(connection)
    }

    fn unavailable(&self, error: redis::RedisError) -> StoreError {
        StoreError::Unavailable {
            what: self.shown.clone(),
            source: crate::connection::cause(error, self.config.io_timeout),
        }
    }
}

impl std::fmt::Debug for RedisGrants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("RedisGrants")
            .field("server", &self.shown)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl RedisGrants {
    /// One document as read by [`GrantStore::load_all`]: too large, sealed, or not a document
    /// are the errors its own store gives.
    fn read(
        &self,
        grant: &GrantName,
        bytes: Option<&[u8]>,
    ) -> Result<Option<pinterest_oauth_core::TokenDocument>, StoreError> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let sealing = self.sealing(grant);
        pinterest_oauth_store::seal::read_stored(bytes, sealing.as_ref(), || {
            format!("{} (grant {grant})", self.shown)
        })
        .map(Some)
    }
}

/// `text` with Redis glob characters escaped.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl GrantStore for RedisGrants {
    type Store = RedisStore;

    /// Every grant with a document, by `SCAN` (a key whose grant part is not a valid name is
    /// passed over).
    fn grants(&self) -> Result<Vec<GrantName>, StoreError> {
        let prefix = format!("{{pinterest-oauth:{}:", self.app_id.as_str());
        let suffix = "}:document";
        let pattern = format!("{}*{suffix}", glob_escape(&prefix));
        let mut connection = self.connect()?;
        let mut grants = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query(&mut connection)
                .map_err(|e| self.unavailable(e))?;
            grants.extend(keys.iter().filter_map(|key| {
                let name = key.strip_prefix(&prefix)?.strip_suffix(suffix)?;
                GrantName::new(name).ok()
            }));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key more than once.
        grants.sort();
        grants.dedup();
        Ok(grants)
    }

    fn open(&self, grant: &GrantName) -> Result<RedisStore, StoreError> {
        let store = RedisStore::with_config(&self.url, &self.app_id, grant.as_str(), self.config)?;
        Ok(match self.sealing(grant) {
            Some(sealing) => store.with_sealing(sealing),
            None => store,
        })
    }

    /// A thousand documents per round trip (pipelined `HGET`s), each opened as its grant's
    /// store would.
    fn load_all(
        &self,
        grants: &[GrantName],
    ) -> Vec<Result<Option<pinterest_oauth_core::TokenDocument>, StoreError>> {
        let mut connection = match self.connect() {
            Ok(connection) => connection,
            Err(_) => {
                return grants
                    .iter()
                    .map(|grant| self.open(grant).and_then(|store| store.load()))
                    .collect();
            }
        };
        let mut documents = Vec::with_capacity(grants.len());
        for batch in grants.chunks(LOAD_BATCH) {
            let mut pipe = redis::pipe();
            for grant in batch {
                let key = format!(
                    "{{pinterest-oauth:{}:{}}}:document",
                    self.app_id.as_str(),
                    grant.as_str()
                );
                pipe.cmd("HGET").arg(key).arg("document");
            }
            let answers: Result<Vec<Option<Vec<u8>>>, _> = pipe.query(&mut connection);
            match answers {
                Ok(answers) => {
                    for (grant, bytes) in batch.iter().zip(answers) {
                        let bytes = bytes.map(zeroize::Zeroizing::new);
                        documents.push(self.read(grant, bytes.as_deref().map(Vec::as_slice)));
                    }
                }
                Err(e) => {
                    let failed = self.unavailable(e);
                    for _ in batch {
                        documents.push(Err(StoreError::Unavailable {
                            what: self.shown.clone(),
                            source: Box::new(std::io::Error::other(failed.to_string())),
                        }));
                    }
                }
            }
        }
        documents
    }

    fn location(&self) -> String {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_an_app_id_match_only_themselves() {
        assert_eq!(glob_escape("a*b?c[d]e\\"), "a\\*b\\?c\\[d\\]e\\\\");
        assert_eq!(glob_escape("1234567"), "1234567");
    }

    #[test]
    fn a_bad_url_is_refused_before_anything_is_tried() {
        let app = AppId::new("1234567").unwrap();
        assert!(matches!(
            RedisGrants::open("rediss://:hunter2@host/0", &app),
            Err(StoreError::InvalidLocation { .. })
        ));
        let grants = RedisGrants::open("redis://:hunter2@127.0.0.1:1/0", &app).unwrap();
        assert!(!grants.location().contains("hunter2"));
        assert!(!format!("{grants:?}").contains("hunter2"));
    }
}
