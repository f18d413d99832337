//! The app's identity and where to reach Pinterest.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;

use crate::endpoint::{BaseUrl, ConsentUrl};
use crate::error::ConfigError;
use crate::secret::AppSecret;

/// The `User-Agent` sent when none is configured: `pinterest-oauth/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("pinterest-oauth/", env!("CARGO_PKG_VERSION"));

/// The app id (OAuth client id). Not a secret: it appears in consent URLs.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::AppId;
///
/// assert_eq!(AppId::new("1234567").unwrap().as_str(), "1234567");
/// assert!(AppId::new("").is_err());
/// assert!(AppId::new("123\n4567").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AppId(String);

impl AppId {
    /// Wraps an app id: 1 to 128 printable ASCII characters without spaces (Pinterest's are
    /// digits).
    ///
    /// Errors: [`ConfigError::EmptyAppId`], [`ConfigError::InvalidAppId`].
    pub fn new(id: impl Into<String>) -> Result<AppId, ConfigError> {
        let id = id.into();
        if id.is_empty() {
            return Err(ConfigError::EmptyAppId);
        }
        if id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::InvalidAppId);
        }
        Ok(AppId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AppId").field(&self.0).finish()
    }
}

/// Everything the core needs to address Pinterest as one app.
///
/// Built once; the HTTP Basic `Authorization` header is computed here (RFC 6749 §2.3.1: both
/// parts form-urlencoded, then base64) and marked sensitive, so each request only clones it.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{AppId, AppSecret, BaseUrl, ClientConfig};
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("s3cret"))
///     .with_base_url(BaseUrl::sandbox())
///     .with_user_agent("my-app/1.0")?;
/// assert_eq!(config.base_url().as_str(), "https://api-sandbox.pinterest.com/v5");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    app_id: AppId,
    app_secret: AppSecret,
    base_url: BaseUrl,
    consent_url: ConsentUrl,
    user_agent: HeaderValue,
    authorization: HeaderValue,
}

/// The app id, as the `pinterest-oauth` command and [`ClientConfig::from_env`] read it.
pub const ENV_APP_ID: &str = "PINTEREST_APP_ID";
/// The app secret.
pub const ENV_APP_SECRET: &str = "PINTEREST_APP_SECRET";
/// The API base URL (default: production).
pub const ENV_API_URI: &str = "PINTEREST_API_URI";
/// The consent page URL (default: Pinterest's).
pub const ENV_CONSENT_URL: &str = "PINTEREST_CONSENT_URL";

impl ClientConfig {
    /// The configuration the environment describes, read as the `pinterest-oauth` command
    /// reads it, so an app, the command and a local fake tell one story:
    /// `PINTEREST_APP_ID` and `PINTEREST_APP_SECRET` (required), `PINTEREST_API_URI` (the API
    /// base: a fake's, the sandbox; default production) and `PINTEREST_CONSENT_URL` (default
    /// Pinterest's). The only function of this crate that reads anything from outside its
    /// arguments; [`from_lookup`](Self::from_lookup) is the same from any source.
    ///
    /// Errors: [`ConfigError::MissingVariable`] naming the first variable missing (or empty);
    /// what [`AppId::new`], [`BaseUrl::parse`] and [`ConsentUrl::parse`] refuse.
    pub fn from_env() -> Result<ClientConfig, ConfigError> {
        ClientConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `lookup` (a map, a
    /// configuration file's section).
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_core as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::ClientConfig;
    ///
    /// let vars = [("PINTEREST_APP_ID", "1234567"), ("PINTEREST_APP_SECRET", "secret"),
    ///             ("PINTEREST_API_URI", "http://127.0.0.1:8080/v5")];
    /// let config = ClientConfig::from_lookup(|name| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    /// })?;
    /// assert_eq!(config.app_id().as_str(), "1234567");
    /// assert_eq!(config.base_url().as_str(), "http://127.0.0.1:8080/v5");
    /// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
    /// ```
    ///
    /// Errors: those of [`from_env`](Self::from_env).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ClientConfig, ConfigError> {
        let get = |name| lookup(name).filter(|v| !v.is_empty());
        let required = |name| get(name).ok_or(ConfigError::MissingVariable { name });
        let app_id = AppId::new(required(ENV_APP_ID)?)?;
        let app_secret = AppSecret::new(required(ENV_APP_SECRET)?);
        let mut config = ClientConfig::new(app_id, app_secret);
        if let Some(base) = get(ENV_API_URI) {
            config = config.with_base_url(BaseUrl::parse(&base)?);
        }
        if let Some(consent) = get(ENV_CONSENT_URL) {
            config = config.with_consent_url(ConsentUrl::parse(&consent)?);
        }
        Ok(config)
    }

    /// A configuration for production Pinterest with the default `User-Agent`.
    pub fn new(app_id: AppId, app_secret: AppSecret) -> ClientConfig {
        let authorization = basic_authorization(&app_id, &app_secret);
        ClientConfig {
            app_id,
            app_secret,
            base_url: BaseUrl::production(),
            consent_url: ConsentUrl::pinterest(),
            user_agent: HeaderValue::from_static(DEFAULT_USER_AGENT),
            authorization,
        }
    }

    /// Uses another API base (sandbox, or a local fake).
    #[must_use]
    pub fn with_base_url(mut self, base_url: BaseUrl) -> ClientConfig {
        self.base_url = base_url;
        self
    }

    /// Uses another consent page (for a local fake).
    #[must_use]
    pub fn with_consent_url(mut self, consent_url: ConsentUrl) -> ClientConfig {
        self.consent_url = consent_url;
        self
    }

    /// Sends this `User-Agent` instead of `pinterest-oauth/<version>`.
    pub fn with_user_agent(mut self, user_agent: &str) -> Result<ClientConfig, ConfigError> {
        self.user_agent =
            HeaderValue::from_str(user_agent).map_err(|_| ConfigError::InvalidUserAgent)?;
        Ok(self)
    }

    /// The app id.
    pub fn app_id(&self) -> &AppId {
        &self.app_id
    }

    /// The app secret.
    pub fn app_secret(&self) -> &AppSecret {
        &self.app_secret
    }

    /// The API base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// The consent page URL.
    pub fn consent_url(&self) -> &ConsentUrl {
        &self.consent_url
    }

    /// The `User-Agent` header value.
    pub fn user_agent(&self) -> &HeaderValue {
        &self.user_agent
    }

    /// A 32-bit fingerprint of the app id, app secret and API base URL: it tells whether the
    /// configuration changed (a permanent stop recorded under another one no longer applies)
    /// without storing anything that could be turned back into the secret.
    ///
    /// # Examples
    ///
    /// ```
    /// # use pinterest_oauth_core as pinterest_oauth_ureq;
    /// use pinterest_oauth_ureq::{AppId, AppSecret, ClientConfig};
    ///
    /// let a = ClientConfig::new(AppId::new("1234")?, AppSecret::new("one"));
    /// let b = ClientConfig::new(AppId::new("1234")?, AppSecret::new("two"));
    /// assert_ne!(a.fingerprint(), b.fingerprint());
    /// assert_eq!(a.fingerprint(), a.clone().fingerprint());
    /// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
    /// ```
    pub fn fingerprint(&self) -> u32 {
        // FNV-1a: stable across releases and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [
            self.app_id.as_str(),
            self.app_secret.secret(),
            self.base_url.as_str(),
        ] {
            for byte in part.bytes().chain([0xff]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        (hash >> 32) as u32 ^ hash as u32
    }

    /// The `Authorization: Basic …` header value (marked sensitive).
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .field("base_url", &self.base_url)
            .field("consent_url", &self.consent_url)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, per RFC 6749 §2.3.1.
fn basic_authorization(app_id: &AppId, app_secret: &AppSecret) -> HeaderValue {
    let mut credentials = zeroize::Zeroizing::new(String::new());
    credentials.extend(form_urlencoded::byte_serialize(app_id.as_str().as_bytes()));
    credentials.push(':');
    credentials.extend(form_urlencoded::byte_serialize(
        app_secret.secret().as_bytes(),
    ));
    let mut header = zeroize::Zeroizing::new(String::from("Basic "));
    STANDARD.encode_string(credentials.as_bytes(), &mut header);
    // Base64 output and the "Basic " prefix are always valid header bytes.
    let mut value = HeaderValue::from_str(&header).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn the_environment_is_read_as_the_command_reads_it() {
        let full: HashMap<&str, &str> = [
            ("PINTEREST_APP_ID", "1234567"),
            ("PINTEREST_APP_SECRET", "s3cret"),
            ("PINTEREST_API_URI", "http://127.0.0.1:9/v5"),
            ("PINTEREST_CONSENT_URL", "http://127.0.0.1:9/oauth/"),
        ]
        .into_iter()
        .collect();
        let from = |vars: &HashMap<&str, &str>| {
            let vars = vars.clone();
            ClientConfig::from_lookup(move |name| vars.get(name).map(|v| v.to_string()))
        };
        let config = from(&full).unwrap();
        assert_eq!(config.app_id().as_str(), "1234567");
        assert_eq!(config.base_url().as_str(), "http://127.0.0.1:9/v5");
        assert_eq!(config.consent_url().as_str(), "http://127.0.0.1:9/oauth/");
        // Defaults: production.
        let mut bare = full.clone();
        bare.remove("PINTEREST_API_URI");
        bare.remove("PINTEREST_CONSENT_URL");
        let config = from(&bare).unwrap();
        assert_eq!(config.base_url(), &BaseUrl::production());
        // Missing or empty: named; a bad URL: refused; the secret never in the error.
        for name in ["PINTEREST_APP_ID", "PINTEREST_APP_SECRET"] {
            let mut missing = full.clone();
            missing.insert(name, "");
            assert_eq!(
                from(&missing).unwrap_err(),
                ConfigError::MissingVariable { name }
            );
        }
        let mut bad = full.clone();
        bad.insert("PINTEREST_API_URI", "ftp://x");
        let err = from(&bad).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidUrl { .. }), "{err}");
        assert!(!format!("{err} {err:?}").contains("s3cret"));
    }

    use super::*;

    #[test]
    fn basic_header_encodes_per_rfc6749() {
        let config = ClientConfig::new(AppId::new("a:b%c").unwrap(), AppSecret::new("s/+%&="));
        // "a%3Ab%25c:s%2F%2B%25%26%3D"
        assert_eq!(
            config.authorization().to_str().unwrap(),
            "Basic YSUzQWIlMjVjOnMlMkYlMkIlMjUlMjYlM0Q="
        );
        assert!(config.authorization().is_sensitive());
        assert!(
            ClientConfig::new(AppId::new("1").unwrap(), AppSecret::new("x"))
                .with_user_agent("bad\nagent")
                .is_err()
        );
    }
}
