//! The blocking token source: a valid access token whenever asked, one refresh at a time.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use pinterest_oauth_core::{AccessToken, Token};
use pinterest_oauth_store::{MemoryStore, TokenStore};

use crate::flight::{Flight, Next};
use crate::step::{Step, StepAction};
use crate::storage::Storage;
use crate::{Clock, Error, Http, SourceConfig};

use super::Client;

/// How many leader turns one call may take before it reports the failure at hand (a bound on
/// work per call; in practice one or two).
const MAX_TURNS: u32 = 8;

/// A blocking source of valid access tokens, backed by a [`TokenStore`].
///
/// [`access_token`](Self::access_token) returns the current token while it is fresh, without
/// taking a lock. When a refresh is due it is done by exactly one caller: while the old token
/// is still valid, in a background thread (nobody waits); once it has expired, by the first
/// caller while the others wait and then share its result, success or error. Every new set is
/// saved before anyone sees it (Pinterest rotates the refresh token: losing the new one means
/// asking the user again). With a shared store such as
/// [`FileStore`](pinterest_oauth_store::FileStore), the refresher holds the store's lock,
/// re-reads it, and refreshes only if no other process already did; a process holding a
/// valid token never waits for another's lock. The core's request budget and backoff hold
/// across every process sharing the store.
///
/// Cheap to clone; clones share everything.
///
/// # Examples
///
/// ```no_run
/// # fn run<H: pinterest_oauth_transport::Http + pinterest_oauth_transport::FromSettings>() -> Result<(), Box<dyn std::error::Error>> {
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig};
/// use pinterest_oauth_store::FileStore;
/// use pinterest_oauth_transport::blocking::{Client, TokenSource};
///
/// let client = Client::<H>::new(ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret")))?;
/// let tokens = TokenSource::new(client, FileStore::new("token.json"))?;
/// let token = tokens.access_token()?; // refreshed (and saved) first when due
/// # Ok(()) }
/// ```
pub struct TokenSource<H, S: TokenStore = MemoryStore> {
    shared: Arc<Shared<H, S>>,
}

struct Shared<H, S> {
    client: Client<H>,
    storage: Storage<S>,
    clock: Clock,
    flight: Arc<Flight>,
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

impl<H: Http, S: TokenStore> TokenSource<H, S> {
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
        Ok(TokenSource {
            shared: Arc::new(Shared {
                client,
                storage,
                clock: options.clock().clone(),
                flight,
            }),
        })
    }

    /// A valid access token, refreshing (and saving) first when due.
    ///
    /// Errors: [`Error::ConsentNeeded`] when the grant is invalid or there is no token (the
    /// user must log in again); [`Error::Stopped`] after a refusal no retry can mend;
    /// [`Error::Waiting`] when the token has expired and no request is allowed yet (the last
    /// failure, if any, is its cause: every caller that waited for that refresh gets it).
    /// While a token is still valid, failures are not errors: they are retried within the
    /// request budget and reported by [`last_error`](Self::last_error).
    pub fn access_token(&self) -> Result<AccessToken, Error> {
        let shared = &self.shared;
        let mut turns = 0;
        loop {
            match shared.flight.next((shared.clock)()) {
                Next::Use(token) => return Ok(token),
                Next::UseAndLead(token, step) => {
                    // The step goes to a thread of its own; if none can be started, this
                    // caller does the work (its token is valid meanwhile).
                    let slot = Arc::new(Mutex::new(Some(step)));
                    let spawned = std::thread::Builder::new()
                        .name("pinterest-oauth-refresh".into())
                        .spawn({
                            let background = shared.clone();
                            let slot = slot.clone();
                            move || {
                                if let Some(step) = take(&slot) {
                                    let _ = background.lead(step);
                                }
                            }
                        });
                    if spawned.is_err()
                        && let Some(step) = take(&slot)
                    {
                        let _ = shared.lead(step);
                    }
                    return Ok(token);
                }
                Next::Lead(step) => {
                    turns += 1;
                    // This step's store failed (locked past its timeout, unreachable): say so
                    // now rather than wait for it again.
                    if let Some(failure) = shared.lead(step) {
                        return Err(Error::Refresh(failure));
                    }
                    if turns >= MAX_TURNS {
                        return match shared.flight.next((shared.clock)()) {
                            Next::Use(token) => Ok(token),
                            Next::Fail(error) => Err(error),
                            _ => Err(shared.flight.last_error().map_or(
                                Error::ConsentNeeded {
                                    cause: None,
                                    stop: None,
                                },
                                Error::Refresh,
                            )),
                        };
                    }
                }
                Next::Wait(seen) => shared.flight.wait_past(seen),
                Next::Fail(error) => return Err(error),
            }
        }
    }

    /// Refreshes now, whatever the expiry or the budget's interval, and returns the new set
    /// (once saved). Pinterest's own rate limit, an invalid grant and the budget's ceiling
    /// still hold.
    pub fn refresh_now(&self) -> Result<Token, Error> {
        let before = self.token();
        self.shared.flight.force_refresh((self.shared.clock)());
        // A valid old token is handed out while the refresh runs: wait for it to land.
        let _ = self.access_token();
        self.wait_idle();
        self.shared
            .flight
            .settled((self.shared.clock)(), before.as_ref())
    }

    crate::client::source_accessors!();

    /// Blocks until no refresh or save is in flight.
    pub fn wait_idle(&self) {
        let flight = &self.shared.flight;
        loop {
            let seen = flight.generation();
            if !flight.is_working() {
                return;
            }
            flight.wait_past(seen);
        }
    }
}

impl<H: Http, S: TokenStore> Shared<H, S> {
    fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// The leader's work: the step, driven to its end. The lock is released even if this
    /// thread panics. Returns what the store failed with in this step, if it did.
    fn lead(&self, mut step: Step) -> Option<Arc<Error>> {
        let _unlock = Unlock(&self.storage);
        loop {
            match step.poll(self.now()) {
                StepAction::Lock { wait } => step.handle_lock(self.now(), self.storage.lock(wait)),
                StepAction::Load => step.handle_load(self.now(), self.storage.load()),
                StepAction::Confirm => step.handle_confirm(self.now(), self.storage.confirm()),
                StepAction::Send(request) => {
                    // Counted in the client's budget, which one-shot retries honour.
                    self.client.budget().record(std::time::Instant::now());
                    let answer = self.client.http().execute(request);
                    step.handle_response(self.now(), answer);
                }
                StepAction::Save { document, critical } => {
                    step.handle_save(self.now(), self.storage.save(&document, critical));
                }
                StepAction::Done => return step.store_failure(),
            }
        }
    }
}

/// Takes the step out of its slot (whoever comes first).
fn take(slot: &Mutex<Option<Step>>) -> Option<Step> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Releases the store's lock when the leader is done, however it ends.
struct Unlock<'a, S: TokenStore>(&'a Storage<S>);

impl<S: TokenStore> Drop for Unlock<'_, S> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}
