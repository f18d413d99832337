//! The blocking token source: a valid access token whenever asked, one refresh at a time.

use std::sync::{Arc, Mutex};

use pinterest_oauth_core::{AccessToken, Token};
use pinterest_oauth_store::{MemoryStore, TokenStore};

use crate::single_flight::drive::{self, access_token_loop};
use crate::single_flight::{Flight, Leader};
use crate::storage::Storage;
use crate::{Clock, Error, Http, SourceConfig};

use super::Client;

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
/// **A refresh that has started always ends with its answer stored.** When the last handle
/// on a source is dropped (a program returning from `main` drops it), it waits for a refresh
/// in flight to end, and gives a new set that waits in memory for its save one more try:
/// nothing to call, nothing to remember.
///
/// What no library can see: a source held in a `static` (never dropped), a program that ends
/// with `std::process::exit`, or one that ends on a signal runs no destructor. Such a program
/// calls [`wait_for_refreshes`](crate::wait_for_refreshes) first (the `pinterest-oauth`
/// command does on `SIGINT` and `SIGTERM`).
///
/// Cheap to clone; clones share everything.
///
/// # Examples
///
/// ```no_run
/// # fn run<H: pinterest_oauth_transport::Http + pinterest_oauth_transport::FromHttpConfig>() -> Result<(), Box<dyn std::error::Error>> {
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig};
/// use pinterest_oauth_store::FileStore;
/// use pinterest_oauth_transport::blocking::{Client, TokenSource};
///
/// let client = Client::<H>::new(ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret")))?;
/// let tokens = TokenSource::new(client, FileStore::new("token.json"))?;
/// let token = tokens.access_token()?; // refreshed (and saved) first when due
/// # Ok(()) }
/// ```
pub struct TokenSource<H: Http, S: TokenStore = MemoryStore> {
    handle: Arc<Handle<H, S>>,
}

/// The handles callers hold; a background refresh holds only the [`Shared`] part, so the
/// last handle's drop is the program letting go of the source.
struct Handle<H: Http, S: TokenStore> {
    shared: Arc<Shared<H, S>>,
}

struct Shared<H, S> {
    client: Client<H>,
    storage: Storage<S>,
    clock: Clock,
    flight: Arc<Flight>,
}

crate::flavours::source_basics!(http = Http);

impl<H: Http, S: TokenStore> TokenSource<H, S> {
    /// A source set up by `options` (lifecycle tuning, clock, client credentials, recovery).
    pub fn with_config(
        client: Client<H>,
        store: S,
        options: SourceConfig,
    ) -> Result<TokenSource<H, S>, Error> {
        let (flight, storage) = options.start(client.config_arc(), store)?;
        Ok(TokenSource {
            handle: Arc::new(Handle {
                shared: Arc::new(Shared {
                    client,
                    storage,
                    clock: options.clock().clone(),
                    flight,
                }),
            }),
        })
    }

    /// A valid access token, refreshing (and saving) first when due.
    ///
    /// Errors: [`Error::ConsentNeeded`] when the grant is invalid or there is no token (the
    /// user must log in again); [`Error::Stopped`] after a refusal no retry can mend;
    /// [`Error::Waiting`] when the token has expired and no request is allowed yet (the last
    /// failure, if any, is its cause: every caller that waited for that refresh gets it);
    /// [`Error::Refresh`] when the store failed in this call's own turn.
    /// While a token is still valid, failures are not errors: they are retried within the
    /// request budget and reported by [`last_error`](Self::last_error).
    pub fn access_token(&self) -> Result<AccessToken, Error> {
        let shared = self.shared();
        access_token_loop!(
            shared,
            lead = |leader| shared.lead(leader),
            background = |leader| shared.lead_in_background(leader),
            wait = |seen| shared.flight.wait_past(seen),
        )
    }

    /// Refreshes now, whatever the expiry or the budget's interval, and returns the new set
    /// (once saved). Pinterest's own rate limit, an invalid grant and the budget's ceiling
    /// still hold.
    pub fn refresh_now(&self) -> Result<Token, Error> {
        let shared = self.shared();
        let before = shared.flight.force_refresh();
        // A valid old token is handed out while the refresh runs: wait for it to land.
        let _ = self.access_token();
        self.wait_idle();
        shared.flight.settled((shared.clock)(), before)
    }

    crate::flavours::source_accessors!();

    /// Blocks until no refresh or save is in flight. Never needed to keep a grant: the last
    /// handle's drop does this.
    pub fn wait_idle(&self) {
        self.shared().wait_idle();
    }
}

impl<H: Http, S: TokenStore> Shared<H, S> {
    /// The leader's work, on this thread. Returns what the store failed with in this turn.
    fn lead(&self, leader: Leader) -> Option<Arc<Error>> {
        drive::lead(
            leader,
            &self.storage,
            &self.clock,
            self.client.budget(),
            |request| self.client.http().execute(request),
        )
    }

    /// The leader's work on a thread of its own; if none can be started, on this one (the
    /// caller's token is valid meanwhile).
    fn lead_in_background(self: &Arc<Self>, leader: Leader) {
        let slot = Arc::new(Mutex::new(Some(leader)));
        let spawned = std::thread::Builder::new()
            .name("pinterest-oauth-refresh".into())
            .spawn({
                let background = self.clone();
                let slot = slot.clone();
                move || {
                    if let Some(leader) = take(&slot) {
                        let _ = background.lead(leader);
                    }
                }
            });
        if spawned.is_err()
            && let Some(leader) = take(&slot)
        {
            let _ = self.lead(leader);
        }
    }

    fn wait_idle(&self) {
        let flight = &self.flight;
        loop {
            let seen = flight.generation();
            if !flight.is_working() {
                return;
            }
            flight.wait_past(seen);
        }
    }
}

impl<H: Http, S: TokenStore> Drop for Handle<H, S> {
    /// The program lets go of the source: a refresh in flight is waited for, and a new set
    /// still waiting for its save gets one more try now (see [`drive::must_settle`]).
    fn drop(&mut self) {
        let shared = &self.shared;
        if !drive::must_settle(&shared.flight) {
            return;
        }
        shared.wait_idle();
        if shared.flight.holds_unsaved()
            && let Some(leader) = shared.flight.flush((shared.clock)())
        {
            let _ = shared.lead(leader);
        }
    }
}

/// Takes the leader out of its slot (whoever comes first).
fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}
