//! [`TokenPool`]: the tokens of many grants of one app, each with the guarantees of a
//! [`TokenSource`], in bounded memory.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{AccessToken, LifecycleConfig, Status, TokenLifecycle};
use pinterest_oauth_store::{GrantName, GrantStore, KnownHash, TokenStore};

use super::{Client, TokenSource};
use crate::{Error, Http, RequestBudget, SourceConfig};

/// How many grants a pool keeps in memory by default.
pub const DEFAULT_MAX_IN_MEMORY: usize = 10_000;
/// How far ahead of the usual margin a grant's refresh may be spread by default.
pub const DEFAULT_SPREAD: Duration = Duration::from_secs(6 * 3600);
/// The app-wide budget by default: 600 token requests a day, well under the 1,000 a day
/// Pinterest's Trial tier allows an app.
pub const DEFAULT_APP_BUDGET: (u32, Duration) = (600, Duration::from_secs(86_400));

/// The number of independently locked parts of the pool's map.
const SHARDS: usize = 64;

/// How a [`TokenPool`] holds its grants.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    source: SourceConfig,
    max_in_memory: usize,
    spread: Duration,
    app_budget: Arc<RequestBudget>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            source: SourceConfig::default(),
            max_in_memory: DEFAULT_MAX_IN_MEMORY,
            spread: DEFAULT_SPREAD,
            app_budget: Arc::new(RequestBudget::new(
                DEFAULT_APP_BUDGET.0,
                DEFAULT_APP_BUDGET.1,
            )),
        }
    }
}

impl PoolConfig {
    /// What every grant's source is set up with (lifecycle, clock, recovery directory). Its
    /// refresh margin is each grant's least; the spread is added per grant.
    #[must_use]
    pub fn with_source_config(mut self, source: SourceConfig) -> Self {
        self.source = source;
        self
    }

    /// At most this many grants in memory (at least 1); the least recently asked for are let
    /// go (their state lives in the store).
    #[must_use]
    pub fn with_max_in_memory(mut self, max: usize) -> Self {
        self.max_in_memory = max.max(1);
        self
    }

    /// Each grant refreshes up to this much earlier than the margin says, by an amount fixed
    /// per grant (a hash of its name): grants created in the same hour (a bulk onboarding) do
    /// not all refresh in the same minute, and each is still refreshed before it expires.
    #[must_use]
    pub fn with_spread(mut self, spread: Duration) -> Self {
        self.spread = spread;
        self
    }

    /// At most `requests` token requests in any `window`, for every grant of the app together
    /// (Pinterest counts requests per app). A request the budget has no room for is not sent;
    /// its grant waits and tries again later.
    #[must_use]
    pub fn with_app_budget(mut self, requests: u32, window: Duration) -> Self {
        self.app_budget = Arc::new(RequestBudget::new(requests, window));
        self
    }

    /// The app-wide budget every grant's requests count in.
    pub fn app_budget(&self) -> &Arc<RequestBudget> {
        &self.app_budget
    }

    /// The most grants in memory.
    pub fn max_in_memory(&self) -> usize {
        self.max_in_memory
    }
}

/// One part of the pool's map.
type Shard<H, S> = RwLock<HashMap<GrantName, Arc<Slot<H, S>>, BuildHasherDefault<KnownHash>>>;

/// One grant in memory: its source, made on first use.
struct Slot<H: Http, S: TokenStore> {
    source: OnceLock<TokenSource<H, S>>,
    making: Mutex<()>,
    /// Asked for since the last eviction sweep (the CLOCK algorithm's reference bit: set only
    /// when clear, so the hot path writes nothing shared once it is set).
    used: AtomicBool,
}

/// The tokens of every grant of one app in a [`GrantStore`] (a directory of token files,
/// Redis): [`access_token(grant)`](Self::access_token) for any of them, each grant with its own
/// single flight, lifecycle, request budget and store lock, exactly as a [`TokenSource`] (it
/// is one, made when the grant is first asked for), and every grant's requests within one
/// app-wide budget.
///
/// Memory is bounded ([`PoolConfig::with_max_in_memory`]): grants not asked for recently are
/// let go and read again from the store when next asked for. [`refresh_due`](Self::refresh_due)
/// walks every grant the store holds and refreshes those that are due, spread out
/// ([`PoolConfig::with_spread`]); a grant that needs consent is reported, never retried.
///
/// Cheap to clone; clones share everything.
///
/// # Examples
///
/// ```no_run
/// # fn run<H: pinterest_oauth_transport::Http + pinterest_oauth_transport::FromHttpConfig>() -> Result<(), Box<dyn std::error::Error>> {
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig};
/// use pinterest_oauth_store::{FileGrants, GrantName};
/// use pinterest_oauth_transport::blocking::{Client, TokenPool};
///
/// let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
/// let pool = TokenPool::new(Client::<H>::new(config)?, FileGrants::new("/var/lib/app/grants"));
/// let bearer = pool.access_token(&GrantName::new("customer-42")?)?;
/// // From a timer, every few minutes:
/// let report = pool.refresh_due()?;
/// for grant in &report.consent_needed {
///     eprintln!("{grant} must log in again");
/// }
/// # Ok(()) }
/// ```
pub struct TokenPool<H: Http, G: GrantStore> {
    inner: Arc<PoolInner<H, G>>,
}

struct PoolInner<H: Http, G: GrantStore> {
    client: Client<H>,
    grants: G,
    config: PoolConfig,
    shards: Vec<Shard<H, G::Store>>,
    held: AtomicUsize,
}

impl<H: Http, G: GrantStore> Clone for TokenPool<H, G> {
    fn clone(&self) -> Self {
        TokenPool {
            inner: self.inner.clone(),
        }
    }
}

impl<H: Http, G: GrantStore + std::fmt::Debug> std::fmt::Debug for TokenPool<H, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPool")
            .field("grants", &self.inner.grants)
            .field("in_memory", &self.in_memory())
            .finish_non_exhaustive()
    }
}

/// What one [`TokenPool::refresh_due`] pass did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RefreshReport {
    /// Grants looked at.
    pub checked: usize,
    /// Grants refreshed (their new sets stored).
    pub refreshed: Vec<GrantName>,
    /// Grants due but held back (the app's or the grant's budget, backoff, a rate limit)
    /// until the time given.
    pub waiting: Vec<(GrantName, SystemTime)>,
    /// Grants whose user must log in again (never retried).
    pub consent_needed: Vec<GrantName>,
    /// Grants stopped by a refusal no retry mends (see their status).
    pub stopped: Vec<GrantName>,
    /// Grants whose store or refresh failed, with why.
    pub failed: Vec<(GrantName, Error)>,
}

impl<H: Http, G: GrantStore> TokenPool<H, G> {
    /// A pool of the grants in `grants`, over `client`, with the default [`PoolConfig`].
    pub fn new(client: Client<H>, grants: G) -> TokenPool<H, G> {
        TokenPool::with_config(client, grants, PoolConfig::default())
    }

    /// A pool set up by `config`.
    pub fn with_config(client: Client<H>, grants: G, config: PoolConfig) -> TokenPool<H, G> {
        TokenPool {
            inner: Arc::new(PoolInner {
                client,
                grants,
                shards: (0..SHARDS)
                    .map(|_| RwLock::new(HashMap::default()))
                    .collect(),
                held: AtomicUsize::new(0),
                config,
            }),
        }
    }

    /// A valid access token of `grant`, refreshing (and saving) first when due: what
    /// [`TokenSource::access_token`] does, for this grant.
    ///
    /// Errors: those of [`TokenSource::access_token`]; and, when the grant is first asked
    /// for, those of opening and loading its store ([`Error::Store`]).
    pub fn access_token(&self, grant: &GrantName) -> Result<AccessToken, Error> {
        self.source(grant)?.access_token()
    }

    /// The token source of `grant` (made, and its store loaded, when first asked for).
    ///
    /// Errors: [`Error::Store`] when its store cannot be opened or read.
    pub fn source(&self, grant: &GrantName) -> Result<TokenSource<H, G::Store>, Error> {
        // The hot path: one read lock, a lookup by the name's own hash, one handle cloned.
        {
            let shard = self
                .shard(grant)
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = shard.get(grant)
                && let Some(source) = slot.source.get()
            {
                if !slot.used.load(Ordering::Relaxed) {
                    slot.used.store(true, Ordering::Relaxed);
                }
                return Ok(source.clone());
            }
        }
        let slot = self.slot(grant);
        let _making = slot.making.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(source) = slot.source.get() {
            return Ok(source.clone());
        }
        let store = self.inner.grants.open(grant)?;
        let source =
            TokenSource::with_config(self.inner.client.clone(), store, self.source_config(grant))?;
        Ok(slot.source.get_or_init(|| source).clone())
    }

    /// How many grants are in memory now.
    pub fn in_memory(&self) -> usize {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// The store of grants.
    pub fn grants(&self) -> &G {
        &self.inner.grants
    }

    /// The app-wide budget every grant's requests count in.
    pub fn app_budget(&self) -> &Arc<RequestBudget> {
        &self.inner.config.app_budget
    }

    /// Walks every grant the store holds and refreshes each that is due (by its own margin,
    /// spread per grant), within each grant's and the app's budgets, one at a time. Grants
    /// not due are only read, not kept in memory.
    ///
    /// Errors: what listing the grants fails with ([`Error::Store`]); a grant's own failure
    /// is in the report.
    pub fn refresh_due(&self) -> Result<RefreshReport, Error> {
        let mut report = RefreshReport::default();
        let now = (self.inner.config.source.clock())();
        for grant in self.inner.grants.grants()? {
            report.checked += 1;
            let document = match self.in_memory_source(&grant) {
                Some(source) => source.store().load(),
                None => self
                    .inner
                    .grants
                    .open(&grant)
                    .and_then(|store| store.load()),
            };
            let document = match document {
                Ok(Some(document)) => document,
                Ok(None) => continue,
                Err(e) => {
                    report.failed.push((grant, Error::Store(e)));
                    continue;
                }
            };
            let before = document.token().clone();
            let lifecycle = TokenLifecycle::user(self.lifecycle_config(&grant), Some(document));
            match lifecycle.status(now) {
                Status::Fresh => continue,
                Status::ConsentNeeded => {
                    report.consent_needed.push(grant);
                    continue;
                }
                Status::Stopped { .. } => {
                    report.stopped.push(grant);
                    continue;
                }
                Status::Waiting { until, .. } => {
                    report.waiting.push((grant, until));
                    continue;
                }
                _ => {}
            }
            let source = match self.source(&grant) {
                Ok(source) => source,
                Err(e) => {
                    report.failed.push((grant, e));
                    continue;
                }
            };
            // Due: the source refreshes (in the background while the old token is valid);
            // wait for it to land.
            let asked = source.access_token();
            source.wait_idle();
            match source.store().load() {
                Ok(Some(after)) if *after.token() != before => report.refreshed.push(grant),
                Err(e) => report.failed.push((grant, Error::Store(e))),
                Ok(_) => match (source.status(), asked, source.last_error()) {
                    (Status::ConsentNeeded, ..) => report.consent_needed.push(grant),
                    (Status::Stopped { .. }, ..) => report.stopped.push(grant),
                    (Status::Waiting { until, .. }, ..) => report.waiting.push((grant, until)),
                    (_, Err(e), _) => report.failed.push((grant, e)),
                    (_, Ok(_), Some(e)) => report.failed.push((grant, Error::Refresh(e))),
                    (_, Ok(_), None) => report.waiting.push((grant, now)),
                },
            }
        }
        Ok(report)
    }

    /// The lifecycle of `grant`: the configured margin, plus the grant's share of the spread.
    fn lifecycle_config(&self, grant: &GrantName) -> LifecycleConfig {
        let base = self.inner.config.source.lifecycle().clone();
        let spread = self.inner.config.spread.as_secs();
        if spread == 0 {
            return base;
        }
        // A hash of the name that is the same in every process (not the map's random one).
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in grant.as_str().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let margin = base.refresh_margin() + Duration::from_secs(hash % spread);
        base.with_refresh_margin(margin)
    }

    /// What `grant`'s source is made with.
    fn source_config(&self, grant: &GrantName) -> SourceConfig {
        self.inner
            .config
            .source
            .clone()
            .with_lifecycle(self.lifecycle_config(grant))
            .with_app_budget(self.inner.config.app_budget.clone())
    }

    fn shard(&self, grant: &GrantName) -> &Shard<H, G::Store> {
        // The top bits: the map inside uses the low ones.
        &self.inner.shards[(grant.hash_value() >> 58) as usize % SHARDS]
    }

    fn in_memory_source(&self, grant: &GrantName) -> Option<TokenSource<H, G::Store>> {
        let shard = self
            .shard(grant)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        shard.get(grant)?.source.get().cloned()
    }

    /// The slot of `grant`, made (and grants not asked for lately let go, past the limit) if
    /// new.
    fn slot(&self, grant: &GrantName) -> Arc<Slot<H, G::Store>> {
        let mut shard = self
            .shard(grant)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut made = false;
        let slot = shard
            .entry(grant.clone())
            .or_insert_with(|| {
                made = true;
                Arc::new(Slot {
                    source: OnceLock::new(),
                    making: Mutex::new(()),
                    used: AtomicBool::new(true),
                })
            })
            .clone();
        drop(shard);
        if made
            && self.inner.held.fetch_add(1, Ordering::Relaxed) + 1 > self.inner.config.max_in_memory
        {
            self.evict(grant);
        }
        slot
    }

    /// Lets go of grants not asked for lately (never `keep`) until a tenth of the limit is
    /// free: the CLOCK algorithm (a grant asked for since the last sweep gets a second
    /// chance, its mark cleared). Their sources are dropped: work in flight ends by itself
    /// (see [`TokenSource`]), and the next call reads the grant from the store again.
    fn evict(&self, keep: &GrantName) {
        let max = self.inner.config.max_in_memory;
        let target = max - max / 10;
        let mut dropped = Vec::new();
        // Two rounds at most: the first clears marks, the second finds them still clear.
        'rounds: for _ in 0..2 {
            for shard in &self.inner.shards {
                if self.inner.held.load(Ordering::Relaxed) <= target {
                    break 'rounds;
                }
                let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
                let idle: Vec<GrantName> = shard
                    .iter()
                    .filter(|(name, slot)| {
                        *name != keep && !slot.used.swap(false, Ordering::Relaxed)
                    })
                    .map(|(name, _)| name.clone())
                    .collect();
                for name in idle {
                    if self.inner.held.load(Ordering::Relaxed) <= target {
                        break;
                    }
                    if let Some(slot) = shard.remove(&name) {
                        self.inner.held.fetch_sub(1, Ordering::Relaxed);
                        dropped.push(slot);
                    }
                }
            }
        }
        tracing::debug!(evicted = dropped.len(), "grants let go from memory");
        // Dropped outside the map's locks (a source's last handle may store a set).
        drop(dropped);
    }
}
