//! How a token source is set up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{ClientCredentialsGrant, LifecycleConfig};
use pinterest_oauth_store::recovery;
#[cfg(any(feature = "blocking", feature = "tokio"))]
use {
    crate::single_flight::Flight,
    crate::storage::Storage,
    pinterest_oauth_core::{ClientConfig, TokenLifecycle},
    pinterest_oauth_store::recovery::{Keeper, RecoveryDir},
    pinterest_oauth_store::{StoreError, TokenStore},
};

/// The wall clock a token source reads; replaceable for tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How a token source is set up (every token source takes the same options).
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::{ClientCredentialsGrant, LifecycleConfig, Scope};
/// use pinterest_oauth_ureq::SourceConfig;
/// use std::time::{Duration, SystemTime};
///
/// let config = SourceConfig::default()
///     .with_lifecycle(LifecycleConfig::default().with_refresh_margin(Duration::from_secs(60)))
///     .with_clock(|| SystemTime::UNIX_EPOCH)
///     .with_client_credentials(ClientCredentialsGrant::new(vec![Scope::AdsRead])?)
///     .with_recovery_dir("/var/lib/my-app/recovered");
/// # Ok::<(), pinterest_oauth_ureq::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SourceConfig {
    config: LifecycleConfig,
    clock: Clock,
    client_credentials: Option<ClientCredentialsGrant>,
    recovery: Option<PathBuf>,
    app_budget: Option<Arc<crate::RequestBudget>>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            config: LifecycleConfig::default(),
            clock: Arc::new(coarse_now),
            client_credentials: None,
            recovery: recovery::default_dir(),
            app_budget: None,
        }
    }
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceConfig")
            .field("config", &self.config)
            .field("client_credentials", &self.client_credentials)
            .field("recovery", &self.recovery)
            .field("app_budget", &self.app_budget)
            .finish_non_exhaustive()
    }
}

impl SourceConfig {
    /// Tunes refresh margins, the request budget and backoff.
    #[must_use]
    pub fn with_lifecycle(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// Reads time from `clock` instead of the system clock (for tests). The default reads the
    /// wall clock at the kernel tick's resolution (a few milliseconds, on Linux without a
    /// system call): expiry is counted in seconds, and a token source reads the clock on every
    /// call.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Serves app tokens from this client-credentials grant (asked for again before each
    /// expires) instead of a user's refreshed tokens.
    #[must_use]
    pub fn with_client_credentials(mut self, grant: ClientCredentialsGrant) -> Self {
        self.client_credentials = Some(grant);
        self
    }

    /// Where a new token set the store refuses is kept (default: the user's state directory,
    /// `…/pinterest-oauth/recovered`).
    #[must_use]
    pub fn with_recovery_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.recovery = Some(dir.into());
        self
    }

    /// Counts every token request in `budget` too, shared by the sources of every grant of the
    /// app (Pinterest counts requests per app): when it has no room, the request is not sent
    /// and the grant waits, as for any store failure (backoff). A token pool shares one.
    #[must_use]
    pub fn with_app_budget(mut self, budget: Arc<crate::RequestBudget>) -> Self {
        self.app_budget = Some(budget);
        self
    }

    /// The app-wide budget, if one is shared.
    pub fn app_budget(&self) -> Option<&Arc<crate::RequestBudget>> {
        self.app_budget.as_ref()
    }

    /// The lifecycle's tuning.
    pub fn lifecycle(&self) -> &LifecycleConfig {
        &self.config
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Loads the stored document (a corrupt or unreadable store is an error) and starts the
    /// flight the options describe, for `client`.
    #[cfg(any(feature = "blocking", feature = "tokio"))]
    pub(crate) fn start<S: TokenStore>(
        &self,
        client: Arc<ClientConfig>,
        store: S,
    ) -> Result<(Arc<Flight>, Storage<S>), StoreError> {
        let keeper: Option<Arc<dyn Keeper>> = self.recovery.as_ref().map(|dir| {
            Arc::new(RecoveryDir::new(dir).with_sealing(store.sealing().cloned()))
                as Arc<dyn Keeper>
        });
        let (lifecycle, storage) = self.open(&client, store, keeper)?;
        Ok((Arc::new(Flight::new(lifecycle, client)), storage))
    }

    /// What [`start`](Self::start) does, with sets kept by `keeper`: the lifecycle over what is
    /// stored, and the storage. A set an earlier run kept aside (its store refused it) is put
    /// back first, if the store is free: it is what Pinterest honours now, whether or not this
    /// process holds a valid token and ever takes the lock.
    #[cfg(any(feature = "blocking", feature = "tokio"))]
    pub(crate) fn open<S: TokenStore>(
        &self,
        client: &ClientConfig,
        store: S,
        keeper: Option<Arc<dyn Keeper>>,
    ) -> Result<(TokenLifecycle, Storage<S>), StoreError> {
        let mut stored = store.load()?;
        if let Some(keeper) = &keeper
            && recovery::pending_over(stored.as_ref(), keeper.as_ref(), &store.identity()).is_some()
            && let Some(lock) = store.try_lock()?
        {
            stored = recovery::settle_with(&store, &lock, keeper.as_ref())?;
        }
        let config = self.config.clone();
        let lifecycle = match &self.client_credentials {
            Some(grant) => TokenLifecycle::client_credentials(config, grant.clone(), stored),
            None => TokenLifecycle::user(config, stored),
        }
        .with_client(client);
        Ok((
            lifecycle,
            Storage::new(store, keeper).with_app_budget(self.app_budget.clone()),
        ))
    }
}

/// The wall clock at the resolution of the kernel's tick (`CLOCK_REALTIME_COARSE`).
#[cfg(target_os = "linux")]
pub(crate) fn coarse_now() -> SystemTime {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    match (u64::try_from(now.tv_sec), u64::try_from(now.tv_nsec)) {
        (Ok(secs), Ok(nanos)) => std::time::Duration::from_secs(secs)
            .checked_add(std::time::Duration::from_nanos(nanos))
            .and_then(|since| SystemTime::UNIX_EPOCH.checked_add(since))
            .unwrap_or_else(SystemTime::now),
        _ => SystemTime::now(),
    }
}

/// The wall clock.
#[cfg(not(target_os = "linux"))]
pub(crate) fn coarse_now() -> SystemTime {
    SystemTime::now()
}
