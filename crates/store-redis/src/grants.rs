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
}

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
        })
    }

    fn unavailable(&self, error: redis::RedisError) -> StoreError {
        StoreError::Unavailable {
            what: self.shown.clone(),
            source: Box::new(error),
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
        let mut connection = self
            .client
            .get_connection_with_timeout(self.config.io_timeout)
            .map_err(|e| self.unavailable(e))?;
        let io = Some(self.config.io_timeout);
        connection
            .set_read_timeout(io)
            .and_then(|()| connection.set_write_timeout(io))
            .map_err(|e| self.unavailable(e))?;
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
        RedisStore::with_config(&self.url, &self.app_id, grant.as_str(), self.config)
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
