//! What a Postgres store is configured with: timeouts, connection limits, migrations, TLS roots.

use std::time::Duration;

use rustls::pki_types::CertificateDer;

#[cfg(doc)]
use pinterest_oauth_store::TokenStore;

/// How a [`PostgresGrants`](crate::PostgresGrants) (and the stores it opens) talks to the server.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_postgres::PostgresConfig;
/// use std::time::Duration;
///
/// let config = PostgresConfig::default()
///     .with_io_timeout(Duration::from_secs(2))
///     .with_max_connections(8);
/// assert_eq!(config.io_timeout(), Duration::from_secs(2));
/// ```
#[derive(Clone)]
pub struct PostgresConfig {
    pub(crate) io_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) lock_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_locks: usize,
    pub(crate) migrate: bool,
    pub(crate) roots: Vec<CertificateDer<'static>>,
    pub(crate) password: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("io_timeout", &self.io_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_locks", &self.max_locks)
            .field("migrate", &self.migrate)
            .field("roots", &self.roots.len())
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            io_timeout: crate::DEFAULT_IO_TIMEOUT,
            connect_timeout: crate::DEFAULT_IO_TIMEOUT,
            lock_timeout: crate::DEFAULT_LOCK_TIMEOUT,
            max_connections: 8,
            max_locks: 64,
            migrate: true,
            roots: Vec::new(),
            password: None,
        }
    }
}

impl PostgresConfig {
    /// The longest one statement (a load, a save, a claim) may take, its round trip included
    /// (at least 10 ms). A statement that takes longer is abandoned, its connection closed, and
    /// the call fails with [`StoreError::Unavailable`](pinterest_oauth_store::StoreError::Unavailable)
    /// saying it timed out.
    #[must_use]
    pub fn with_io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// The longest connecting (TCP, TLS, authentication) may take (at least 10 ms).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// How long [`lock`](TokenStore::lock) waits for another holder of a grant's lock.
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The most connections used at once for loads, saves, listings and claims (at least 1).
    /// A caller finding them all busy waits for one up to the I/O timeout.
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// The most grant locks held at once by this process, each on a connection of its own
    /// (at least 1). Counted apart from [`with_max_connections`](Self::with_max_connections),
    /// so lock holders never starve the connections their own saves need.
    #[must_use]
    pub fn with_max_locks(mut self, max: usize) -> Self {
        self.max_locks = max.max(1);
        self
    }

    /// Whether opening applies the migrations the database lacks (the default), or only checks
    /// that its schema is the one this build uses (for databases whose schema is changed by
    /// `pinterest-oauth migrate` or [`migrate`](crate::migrate) alone).
    #[must_use]
    pub fn with_migrations(mut self, apply: bool) -> Self {
        self.migrate = apply;
        self
    }

    /// Trusts these certificate authorities for `sslmode=require` (or `prefer`) besides the
    /// Mozilla roots built in: a private CA, a self-signed server.
    #[must_use]
    pub fn with_root_certificates(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.roots = roots;
        self
    }

    /// The password to use when the URL gives none (libpq's `PGPASSWORD`): a password kept
    /// out of the URL stays out of process listings and configuration files. Wiped on drop.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(zeroize::Zeroizing::new(password.into()));
        self
    }

    /// The per-statement timeout.
    pub fn io_timeout(&self) -> Duration {
        self.io_timeout
    }

    /// How long a lock is waited for.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }
}
