//! What both token pools share, written once: their configuration and report, the sharded
//! map of grants in memory with its eviction, each grant's spread margin, and the reading of
//! a refresher's pass. [`blocking::TokenPool`](crate::blocking::TokenPool) and
//! [`asynchronous::TokenPool`](crate::asynchronous::TokenPool) differ only in how they wait.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{LifecycleConfig, Status, Token, TokenDocument, TokenLifecycle};
use pinterest_oauth_store::{GrantName, KnownHash, StoreError};

use crate::{Error, RequestBudget, SourceConfig};

/// How many grants a pool keeps in memory by default.
pub const DEFAULT_MAX_IN_MEMORY: usize = 10_000;
/// How far ahead of the usual margin a grant's refresh may be spread by default.
pub const DEFAULT_SPREAD: Duration = Duration::from_secs(6 * 3600);
/// The app-wide budget by default: 600 token requests a day, well under the 1,000 a day
/// Pinterest's Trial tier allows an app.
pub const DEFAULT_APP_BUDGET: (u32, Duration) = (600, Duration::from_secs(86_400));

/// Grants whose documents a refresher reads at once ([`GrantStore::load_all`]).
///
/// [`GrantStore::load_all`]: pinterest_oauth_store::GrantStore::load_all
pub(crate) const READ_BATCH: usize = 1000;

/// Grants a worker claims at once when the store shares passes between workers
/// ([`GrantStore::claims`](pinterest_oauth_store::GrantStore::claims)): small, so that the
/// workers of one pass share its work evenly.
pub(crate) const CLAIM_BATCH: usize = 32;

/// The number of independently locked parts of a pool's map.
const SHARDS: usize = 64;

/// How a token pool holds its grants.
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

    /// At most this many grants in memory (at least 1); grants not asked for lately are let
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

    /// The lifecycle of `grant`: the configured margin, plus the grant's share of the spread
    /// (a hash of its name that is the same in every process).
    pub(crate) fn lifecycle(&self, grant: &GrantName) -> LifecycleConfig {
        let base = self.source.lifecycle().clone();
        let spread = self.spread.as_secs();
        if spread == 0 {
            return base;
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in grant.as_str().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let margin = base.refresh_margin() + Duration::from_secs(hash % spread);
        base.with_refresh_margin(margin)
    }

    /// What `grant`'s source is made with.
    pub(crate) fn source_config(&self, grant: &GrantName) -> SourceConfig {
        self.source
            .clone()
            .with_lifecycle(self.lifecycle(grant))
            .with_app_budget(self.app_budget.clone())
    }

    /// Now, on the sources' clock.
    pub(crate) fn now(&self) -> SystemTime {
        (self.source.clock())()
    }

    /// The latest time a grant's store may say it falls due, on its own terms (no margin), for
    /// it to be due at `now` by this pool's margins: what a worker claims by.
    pub(crate) fn claim_horizon(&self, now: SystemTime) -> SystemTime {
        now.checked_add(self.source.lifecycle().refresh_margin() + self.spread)
            .unwrap_or(now)
    }
}

/// Reads `batch`'s documents from `grants` and files each in `report`; those due are added to
/// `due` with the token each holds. What one step of either pool's pass does with the store.
pub(crate) fn sort_out<G: pinterest_oauth_store::GrantStore>(
    config: &PoolConfig,
    grants: &G,
    batch: &[GrantName],
    now: SystemTime,
    report: &mut RefreshReport,
    due: &mut Vec<(GrantName, Token)>,
) {
    let documents = grants.load_all(batch);
    for (grant, document) in batch.iter().zip(documents) {
        if let Some(before) = report.before(config, grant, document, now) {
            due.push((grant.clone(), before));
        }
    }
}

/// What one `refresh_due` pass did.
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

impl RefreshReport {
    /// Adds what `other` filed to this report.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn merge(&mut self, other: RefreshReport) {
        self.checked += other.checked;
        self.refreshed.extend(other.refreshed);
        self.waiting.extend(other.waiting);
        self.consent_needed.extend(other.consent_needed);
        self.stopped.extend(other.stopped);
        self.failed.extend(other.failed);
    }

    /// Files `grant` by what its stored document says at `now`; `Some(token)` when it is due
    /// (the token it holds, to tell a refresh from no change afterwards).
    pub(crate) fn before(
        &mut self,
        config: &PoolConfig,
        grant: &GrantName,
        document: Result<Option<TokenDocument>, StoreError>,
        now: SystemTime,
    ) -> Option<Token> {
        self.checked += 1;
        let document = match document {
            Ok(Some(document)) => document,
            Ok(None) => return None,
            Err(e) => {
                self.failed.push((grant.clone(), Error::Store(e)));
                return None;
            }
        };
        let before = document.token().clone();
        match TokenLifecycle::user(config.lifecycle(grant), Some(document)).status(now) {
            Status::Fresh => None,
            Status::ConsentNeeded => {
                self.consent_needed.push(grant.clone());
                None
            }
            Status::Stopped { .. } => {
                self.stopped.push(grant.clone());
                None
            }
            Status::Waiting { until, .. } => {
                self.waiting.push((grant.clone(), until));
                None
            }
            _ => Some(before),
        }
    }

    /// Files a due `grant` by how its refresh went: what the store holds `after` against the
    /// token it held `before`, else the source's status, the call's result, its last error.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn after(
        &mut self,
        grant: GrantName,
        before: &Token,
        after: Result<Option<TokenDocument>, StoreError>,
        status: Status,
        asked: Result<(), Error>,
        last_error: Option<Arc<Error>>,
        now: SystemTime,
    ) {
        match after {
            Ok(Some(after)) if after.token() != before => self.refreshed.push(grant),
            Err(e) => self.failed.push((grant, Error::Store(e))),
            Ok(_) => match (status, asked, last_error) {
                (Status::ConsentNeeded, ..) => self.consent_needed.push(grant),
                (Status::Stopped { .. }, ..) => self.stopped.push(grant),
                (Status::Waiting { until, .. }, ..) => self.waiting.push((grant, until)),
                (_, Err(e), _) => self.failed.push((grant, e)),
                (_, Ok(()), Some(e)) => self.failed.push((grant, Error::Refresh(e))),
                (_, Ok(()), None) => self.waiting.push((grant, now)),
            },
        }
    }
}

/// One part of a pool's map.
type Shard<T> = RwLock<HashMap<GrantName, Arc<Slot<T>>, BuildHasherDefault<KnownHash>>>;

/// One grant in memory: its source, made on first use.
pub(crate) struct Slot<T> {
    source: OnceLock<T>,
    /// Held while the source is made (its store read), so it is made once.
    making: Mutex<()>,
    /// Asked for since the last eviction sweep (the CLOCK algorithm's reference bit: set only
    /// when clear, so the hot path writes nothing shared once it is set).
    used: AtomicBool,
}

/// The grants in memory: 64 shards, each a map keyed by the hash the name carries.
pub(crate) struct PoolMap<T> {
    shards: Vec<Shard<T>>,
    held: AtomicUsize,
    max: usize,
}

impl<T: Clone> PoolMap<T> {
    pub(crate) fn new(max: usize) -> PoolMap<T> {
        PoolMap {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            held: AtomicUsize::new(0),
            max,
        }
    }

    fn shard(&self, grant: &GrantName) -> &Shard<T> {
        // The top bits: the map inside uses the low ones.
        &self.shards[(grant.hash_value() >> 58) as usize % SHARDS]
    }

    /// The hot path: `grant`'s source if it is in memory (one read lock, one probe).
    pub(crate) fn get(&self, grant: &GrantName) -> Option<T> {
        let shard = self
            .shard(grant)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = shard.get(grant)?;
        let source = slot.source.get()?;
        if !slot.used.load(Ordering::Relaxed) {
            slot.used.store(true, Ordering::Relaxed);
        }
        Some(source.clone())
    }

    /// `grant`'s source: the one in memory, else one `make` makes (once, however many callers
    /// ask at the same time: the others wait for it). Blocks while it is made (`make` reads the
    /// grant's store).
    ///
    /// Errors: what `make` fails with (nothing is kept then).
    pub(crate) fn get_or_make(
        &self,
        grant: &GrantName,
        make: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some(source) = self.get(grant) {
            return Ok(source);
        }
        let slot = self.slot(grant);
        let _making = slot.making.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(source) = slot.source.get() {
            return Ok(source.clone());
        }
        let source = make()?;
        Ok(slot.source.get_or_init(|| source).clone())
    }

    /// Grants in memory.
    pub(crate) fn len(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// The slot of `grant`, made (and grants not asked for lately let go, past the limit) if
    /// new.
    fn slot(&self, grant: &GrantName) -> Arc<Slot<T>> {
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
        if made && self.held.fetch_add(1, Ordering::Relaxed) + 1 > self.max {
            self.evict(grant);
        }
        slot
    }

    /// Lets go of grants not asked for lately (never `keep`) until a tenth of the limit is
    /// free: the CLOCK algorithm (a grant asked for since the last sweep gets a second
    /// chance, its mark cleared). Their sources are dropped: work in flight ends by itself,
    /// and the next call reads the grant from the store again.
    fn evict(&self, keep: &GrantName) {
        let target = self.max - self.max / 10;
        let mut dropped = Vec::new();
        // Two rounds at most: the first clears marks, the second finds them still clear.
        'rounds: for _ in 0..2 {
            for shard in &self.shards {
                if self.held.load(Ordering::Relaxed) <= target {
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
                    if self.held.load(Ordering::Relaxed) <= target {
                        break;
                    }
                    if let Some(slot) = shard.remove(&name) {
                        self.held.fetch_sub(1, Ordering::Relaxed);
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

/// Implements what both flavours' `TokenPool<H, G>` share over the HTTP trait `$http`: its
/// inner state, `Clone`, `Debug`, the constructors and accessors. Each flavour writes the
/// struct (with its docs), `source`, `access_token` and `refresh_due`.
macro_rules! token_pool_basics {
    (http = $http:ident) => {
        struct PoolInner<H: $http, G: GrantStore> {
            client: Client<H>,
            grants: G,
            config: PoolConfig,
            map: PoolMap<TokenSource<H, G::Store>>,
        }

        impl<H: $http, G: GrantStore> Clone for TokenPool<H, G> {
            fn clone(&self) -> Self {
                TokenPool {
                    inner: self.inner.clone(),
                }
            }
        }

        impl<H: $http, G: GrantStore + std::fmt::Debug> std::fmt::Debug for TokenPool<H, G> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("TokenPool")
                    .field("grants", &self.inner.grants)
                    .field("in_memory", &self.in_memory())
                    .finish_non_exhaustive()
            }
        }

        impl<H: $http, G: GrantStore> TokenPool<H, G> {
            /// A pool of the grants in `grants`, over `client`, with the default
            /// [`PoolConfig`].
            pub fn new(client: Client<H>, grants: G) -> TokenPool<H, G> {
                TokenPool::with_config(client, grants, PoolConfig::default())
            }

            /// A pool set up by `config`.
            pub fn with_config(
                client: Client<H>,
                grants: G,
                config: PoolConfig,
            ) -> TokenPool<H, G> {
                TokenPool {
                    inner: Arc::new(PoolInner {
                        client,
                        grants,
                        map: PoolMap::new(config.max_in_memory()),
                        config,
                    }),
                }
            }

            /// How many grants are in memory now.
            pub fn in_memory(&self) -> usize {
                self.inner.map.len()
            }

            /// The store of grants.
            pub fn grants(&self) -> &G {
                &self.inner.grants
            }

            /// The app-wide budget every grant's requests count in.
            pub fn app_budget(&self) -> &Arc<RequestBudget> {
                self.inner.config.app_budget()
            }

            /// `grant`'s source, made (its store read, this call blocking) if not in memory.
            fn source_now(&self, grant: &GrantName) -> Result<TokenSource<H, G::Store>, Error> {
                let inner = &self.inner;
                inner.map.get_or_make(grant, || {
                    let store = inner.grants.open(grant)?;
                    TokenSource::with_config(
                        inner.client.clone(),
                        store,
                        inner.config.source_config(grant),
                    )
                })
            }
        }
    };
}
pub(crate) use token_pool_basics;
