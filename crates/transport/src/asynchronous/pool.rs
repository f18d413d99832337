//! The async [`TokenPool`]: the tokens of many grants of one app, each with the guarantees of
//! a [`TokenSource`], in bounded memory. Store work (listing, loading, a grant's first read)
//! runs on tokio's blocking pool.

use std::sync::Arc;

use pinterest_oauth_core::{AccessToken, Token};
use pinterest_oauth_store::{GrantName, GrantStore, TokenStore};

use super::blocking;
use super::{Client, TokenSource};
use crate::pool::{PoolConfig, PoolMap, RefreshReport};
use crate::{AsyncHttp, Error, RequestBudget};

/// The tokens of every grant of one app in a [`GrantStore`], on tokio: what the blocking
/// [`TokenPool`](crate::blocking::TokenPool) does (one [`TokenSource`] per grant, bounded
/// memory, an app-wide budget, [`refresh_due`](Self::refresh_due) spread per grant), with
/// `await` where it blocks.
///
/// Cheap to clone; clones share everything.
///
/// # Examples
///
/// ```no_run
/// # async fn run<H: pinterest_oauth_transport::AsyncHttp + pinterest_oauth_transport::FromHttpConfig>() -> Result<(), Box<dyn std::error::Error>> {
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig};
/// use pinterest_oauth_store::{FileGrants, GrantName};
/// use pinterest_oauth_transport::asynchronous::{Client, TokenPool};
///
/// let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
/// let pool = TokenPool::new(Client::<H>::new(config)?, FileGrants::new("/var/lib/app/grants"));
/// let bearer = pool.access_token(&GrantName::new("customer-42")?).await?;
/// let report = pool.refresh_due().await?;
/// # Ok(()) }
/// ```
pub struct TokenPool<H: AsyncHttp, G: GrantStore> {
    inner: Arc<PoolInner<H, G>>,
}

crate::pool::token_pool_basics!(http = AsyncHttp);

impl<H: AsyncHttp, G: GrantStore> TokenPool<H, G> {
    /// A valid access token of `grant`, refreshing (and saving) first when due: what
    /// [`TokenSource::access_token`] does, for this grant.
    ///
    /// Errors: those of [`TokenSource::access_token`]; and, when the grant is first asked
    /// for, those of opening and loading its store ([`Error::Store`]).
    pub async fn access_token(&self, grant: &GrantName) -> Result<AccessToken, Error> {
        self.source(grant).await?.access_token().await
    }

    /// The token source of `grant` (made, and its store loaded on the blocking pool, when
    /// first asked for).
    ///
    /// Errors: [`Error::Store`] when its store cannot be opened or read.
    pub async fn source(&self, grant: &GrantName) -> Result<TokenSource<H, G::Store>, Error> {
        if let Some(source) = self.inner.map.get(grant) {
            return Ok(source);
        }
        let (pool, grant) = (self.clone(), grant.clone());
        blocking(move || pool.source_now(&grant)).await?
    }

    /// Walks every grant the store holds (or, when the store shares passes between workers,
    /// the grants this worker claims) and refreshes each that is due, as the blocking
    /// [`refresh_due`](crate::blocking::TokenPool::refresh_due) does.
    ///
    /// Errors: what listing (or claiming) the grants fails with ([`Error::Store`]); a grant's
    /// own failure is in the report.
    pub async fn refresh_due(&self) -> Result<RefreshReport, Error> {
        let now = self.inner.config.now();
        let pool = self.clone();
        // The store's side on the blocking pool: list (or claim), read, sort out what is due.
        let (mut report, due, mut claims) = blocking(move || -> Result<_, Error> {
            let inner = &pool.inner;
            let mut report = RefreshReport::default();
            let mut due: Vec<(GrantName, Token)> = Vec::new();
            let claims = inner.grants.claims()?;
            if claims.is_none() {
                for batch in inner.grants.grants()?.chunks(crate::pool::READ_BATCH) {
                    crate::pool::sort_out(
                        &inner.config,
                        &inner.grants,
                        batch,
                        now,
                        &mut report,
                        &mut due,
                    );
                }
            }
            Ok((report, due, claims))
        })
        .await??;
        self.refresh_each(due, now, &mut report).await;
        while let Some(held) = claims.take() {
            let pool = self.clone();
            // The claims are dropped (released) on the blocking pool too.
            let (held, due, step) = blocking(move || {
                let mut held = held;
                let inner = &pool.inner;
                let mut step = RefreshReport::default();
                let mut due = Vec::new();
                let batch = held.next(inner.config.claim_horizon(now), crate::pool::CLAIM_BATCH);
                match batch {
                    Ok(batch) if !batch.is_empty() => {
                        crate::pool::sort_out(
                            &inner.config,
                            &inner.grants,
                            &batch,
                            now,
                            &mut step,
                            &mut due,
                        );
                        (Some(held), due, Ok(step))
                    }
                    other => {
                        drop(held);
                        (None, due, other.map(|_| step))
                    }
                }
            })
            .await?;
            let step = step?;
            report.merge(step);
            self.refresh_each(due, now, &mut report).await;
            claims = held;
        }
        Ok(report)
    }

    /// Refreshes each of `due` (a grant and the token it held) and files how it went.
    async fn refresh_each(
        &self,
        due: Vec<(GrantName, Token)>,
        now: std::time::SystemTime,
        report: &mut RefreshReport,
    ) {
        for (grant, before) in due {
            let source = match self.source(&grant).await {
                Ok(source) => source,
                Err(e) => {
                    report.failed.push((grant, e));
                    continue;
                }
            };
            let asked = source.access_token().await.map(drop);
            source.wait_idle().await;
            let reader = source.clone();
            let after = blocking(move || reader.store().load()).await;
            let after = match after {
                Ok(after) => after,
                Err(e) => {
                    report.failed.push((grant, e));
                    continue;
                }
            };
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
