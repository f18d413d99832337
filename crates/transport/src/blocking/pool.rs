//! The blocking [`TokenPool`]: the tokens of many grants of one app, each with the guarantees
//! of a [`TokenSource`], in bounded memory.

use std::sync::Arc;

use pinterest_oauth_core::AccessToken;
use pinterest_oauth_store::{GrantName, GrantStore, TokenStore};

use super::{Client, TokenSource};
use crate::pool::{PoolConfig, PoolMap, RefreshReport};
use crate::{Error, Http, RequestBudget};

/// The tokens of every grant of one app in a [`GrantStore`] (a directory of token files,
/// Redis): [`access_token(grant)`](Self::access_token) for any of them, each grant with its own
/// single flight, lifecycle, request budget and store lock, exactly as a [`TokenSource`] (it
/// is one, made when the grant is first asked for), and every grant's requests within one
/// app-wide budget.
///
/// Memory is bounded ([`PoolConfig::with_max_in_memory`](crate::PoolConfig::with_max_in_memory)): grants not asked for recently are
/// let go and read again from the store when next asked for. [`refresh_due`](Self::refresh_due)
/// walks every grant the store holds and refreshes those that are due, spread out
/// ([`PoolConfig::with_spread`](crate::PoolConfig::with_spread)); a grant that needs consent is reported, never retried.
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

crate::pool::token_pool_basics!(http = Http);

impl<H: Http, G: GrantStore> TokenPool<H, G> {
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
        self.source_now(grant)
    }

    /// Walks every grant the store holds and refreshes each that is due (by its own margin,
    /// spread per grant), within each grant's and the app's budgets, one at a time. Grants
    /// not due are only read, not kept in memory.
    ///
    /// When the store shares passes between workers
    /// ([`GrantStore::claims`](pinterest_oauth_store::GrantStore::claims): Postgres), the pass
    /// walks only the grants this worker claims, a few at a time, until none are left: any
    /// number of workers running passes at once refresh each due grant once between them.
    ///
    /// Errors: what listing (or claiming) the grants fails with ([`Error::Store`]); a grant's
    /// own failure is in the report.
    pub fn refresh_due(&self) -> Result<RefreshReport, Error> {
        let mut report = RefreshReport::default();
        let config = &self.inner.config;
        let grants = &self.inner.grants;
        let now = config.now();
        let mut due = Vec::new();
        match grants.claims()? {
            None => {
                for batch in grants.grants()?.chunks(crate::pool::READ_BATCH) {
                    crate::pool::sort_out(config, grants, batch, now, &mut report, &mut due);
                }
                self.refresh_each(due, now, &mut report);
            }
            Some(mut claims) => loop {
                let batch = claims.next(config.claim_horizon(now), crate::pool::CLAIM_BATCH)?;
                if batch.is_empty() {
                    break;
                }
                crate::pool::sort_out(config, grants, &batch, now, &mut report, &mut due);
                self.refresh_each(std::mem::take(&mut due), now, &mut report);
            },
        }
        Ok(report)
    }

    /// Refreshes each of `due` (a grant and the token it held) and files how it went.
    fn refresh_each(
        &self,
        due: Vec<(GrantName, pinterest_oauth_core::Token)>,
        now: std::time::SystemTime,
        report: &mut RefreshReport,
    ) {
        for (grant, before) in due {
            let source = match self.source(&grant) {
                Ok(source) => source,
                Err(e) => {
                    report.failed.push((grant, e));
                    continue;
                }
            };
            // Due: the source refreshes (in the background while the old token is valid);
            // wait for it to land.
            let asked = source.access_token().map(drop);
            source.wait_idle();
            let after = source.store().load();
            report.after(
                grant,
                &before,
                after,
                source.status(),
                asked,
                source.last_error(),
                now,
            );
        }
    }
}
