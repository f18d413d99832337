//! The async token source: a valid access token whenever asked, one refresh at a time.

use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{AccessToken, Token};
use pinterest_oauth_store::{MemoryStore, StoreError, TokenStore};
use tokio::sync::Notify;

use crate::flight::{Flight, Next};
use crate::step::{Step, StepAction};
use crate::storage::Storage;
use crate::{AsyncHttp, Clock, Error, SourceConfig};

use super::Client;

/// How many leader turns one call may take before it reports the failure at hand.
const MAX_TURNS: u32 = 8;

/// An async source of valid access tokens, backed by a [`TokenStore`]: the blocking
/// [`TokenSource`](crate::blocking::TokenSource)'s behaviour on tokio.
///
/// When a refresh is due, exactly one task is spawned to do it, however many tasks ask at
/// once: while the old token is still valid nobody waits for it; once it has expired, every
/// caller waits for that one refresh and shares its result, success or error. The refresh runs
/// in its own task, so a caller that gives up (drops its future) never strands the others.
/// Store calls run on tokio's blocking pool. Needs a tokio runtime (either flavour).
///
/// Cheap to clone; clones share everything.
pub struct TokenSource<H, S: TokenStore = MemoryStore> {
    shared: Arc<Shared<H, S>>,
}

struct Shared<H, S> {
    client: Client<H>,
    storage: Arc<Storage<S>>,
    clock: Clock,
    flight: Arc<Flight>,
    finished: Arc<Notify>,
}

impl<H, S: TokenStore> Clone for TokenSource<H, S> {
    fn clone(&self) -> Self {
        TokenSource {
            shared: self.shared.clone(),
        }
    }
}

impl<H, S: TokenStore> std::fmt::Debug for TokenSource<H, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("flight", &self.shared.flight)
            .finish_non_exhaustive()
    }
}

impl<H: AsyncHttp, S: TokenStore> TokenSource<H, S> {
    /// A source for the user's tokens in `store`, with the default lifecycle and the system
    /// clock. Loads the stored set: a corrupt or unreadable store is an error.
    pub fn new(client: Client<H>, store: S) -> Result<TokenSource<H, S>, Error> {
        TokenSource::with_options(client, store, SourceConfig::default())
    }

    /// A source set up by `options` (lifecycle tuning, clock, client credentials, recovery).
    pub fn with_options(
        client: Client<H>,
        store: S,
        options: SourceConfig,
    ) -> Result<TokenSource<H, S>, Error> {
        let (flight, storage) = options.start(client.config_arc(), store)?;
        let finished = Arc::new(Notify::new());
        let wake = finished.clone();
        flight.on_finish(move || wake.notify_waiters());
        Ok(TokenSource {
            shared: Arc::new(Shared {
                client,
                storage: Arc::new(storage),
                clock: options.clock().clone(),
                flight,
                finished,
            }),
        })
    }

    /// A valid access token, refreshing (and saving) first when due. The same errors as the
    /// blocking [`access_token`](crate::blocking::TokenSource::access_token).
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        let shared = &self.shared;
        let mut turns = 0;
        loop {
            let seen = match shared.flight.next((shared.clock)()) {
                Next::Use(token) => return Ok(token),
                Next::UseAndLead(token, step) => {
                    tokio::spawn(shared.clone().lead(step));
                    return Ok(token);
                }
                Next::Lead(step) => {
                    turns += 1;
                    if turns > MAX_TURNS {
                        drop(step);
                        return Err(shared.flight.last_error().map_or(
                            Error::ConsentNeeded {
                                cause: None,
                                stop: None,
                            },
                            Error::Refresh,
                        ));
                    }
                    // In a task of its own: dropping this future never cuts a refresh short.
                    let led = tokio::spawn(shared.clone().lead(step)).await;
                    // This step's store failed (locked past its timeout, unreachable): say so
                    // now rather than wait for it again.
                    if let Ok(Some(failure)) = led {
                        return Err(Error::Refresh(failure));
                    }
                    continue;
                }
                Next::Wait(seen) => seen,
                Next::Fail(error) => return Err(error),
            };
            shared.finished_past(seen).await;
        }
    }

    /// Refreshes now, whatever the expiry or the budget's interval, and returns the new set
    /// (once saved). Pinterest's own rate limit, an invalid grant and the budget's ceiling
    /// still hold.
    pub async fn refresh_now(&self) -> Result<Token, Error> {
        let before = self.token();
        self.shared.flight.force_refresh((self.shared.clock)());
        let _ = self.access_token().await;
        self.wait_idle().await;
        self.shared
            .flight
            .settled((self.shared.clock)(), before.as_ref())
    }

    crate::client::source_accessors!();

    /// Waits until no refresh or save is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let seen = self.shared.flight.generation();
            if !self.shared.flight.is_working() {
                return;
            }
            self.shared.finished_past(seen).await;
        }
    }
}

impl<H: AsyncHttp, S: TokenStore> Shared<H, S> {
    fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Waits until the flight's generation is past `seen` (registered before looking, so a
    /// leader finishing in between is not missed).
    async fn finished_past(&self, seen: u64) {
        let finished = self.finished.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        if self.flight.generation() != seen {
            return;
        }
        finished.await;
    }

    /// Runs a store call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Storage<S>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || call(&storage))
            .await
            .map_err(|e| StoreError::Unavailable {
                what: "the blocking pool running the token store".into(),
                source: Box::new(e),
            })
    }

    /// The leader's work: the step, driven to its end in a task of its own. Returns what the
    /// store failed with in this step, if it did.
    async fn lead(self: Arc<Self>, mut step: Step) -> Option<Arc<Error>> {
        let _unlock = Unlock(self.storage.clone());
        loop {
            match step.poll(self.now()) {
                StepAction::Lock { wait } => {
                    let taken = self.blocking(move |s| s.lock(wait)).await.and_then(|r| r);
                    step.handle_lock(self.now(), taken);
                }
                StepAction::Load => {
                    let loaded = self.blocking(|s| s.load()).await.and_then(|r| r);
                    step.handle_load(self.now(), loaded);
                }
                StepAction::Confirm => {
                    let confirmed = self.blocking(|s| s.confirm()).await.and_then(|r| r);
                    step.handle_confirm(self.now(), confirmed);
                }
                StepAction::Send(request) => {
                    // Counted in the client's budget, which one-shot retries honour.
                    self.client.budget().record(std::time::Instant::now());
                    let answer = self.client.http().execute(request).await;
                    step.handle_response(self.now(), answer);
                }
                StepAction::Save { document, critical } => {
                    let saved = self
                        .blocking(move |s| s.save(&document, critical))
                        .await
                        .map_err(Error::Store)
                        .and_then(|r| r);
                    step.handle_save(self.now(), saved);
                }
                StepAction::Done => return step.store_failure(),
            }
        }
    }
}

/// Releases the store's lock when the leader is done, however it ends.
struct Unlock<S: TokenStore>(Arc<Storage<S>>);

impl<S: TokenStore> Drop for Unlock<S> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}
