//! The async token source: a valid access token whenever asked, one refresh at a time.

use std::sync::Arc;

use pinterest_oauth_core::{AccessToken, Token};
use pinterest_oauth_store::{MemoryStore, TokenStore};
use tokio::sync::Notify;

use crate::single_flight::drive::{self, access_token_loop};
use crate::single_flight::{Flight, Leader};
use crate::storage::Storage;
use crate::{AsyncHttp, Clock, Error, SourceConfig, TransportError, TransportErrorKind};

use super::Client;

/// An async source of valid access tokens, backed by a [`TokenStore`]: the blocking
/// [`TokenSource`](crate::blocking::TokenSource)'s behaviour on tokio.
///
/// When a refresh is due, exactly one turn of work is started, however many tasks ask at
/// once: while the old token is still valid nobody waits for it; once it has expired, every
/// caller waits for that one refresh and shares its result, success or error.
///
/// **A refresh that has started always ends with its answer stored.** The work runs on tokio's
/// blocking pool (store calls block), and its request on a runtime of its own over a
/// connection of its own ([`AsyncHttp::execute_isolated`]): a caller that gives up (drops its
/// future) never cuts it short, and a runtime that shuts down (`#[tokio::main]` returning,
/// either flavour) waits for it. When the last handle is dropped, a new set still waiting
/// for its save gets one more try. Needs a tokio runtime (either flavour).
///
/// What no library can see: a program that ends with `std::process::exit`, that drops its
/// runtime with `Runtime::shutdown_background` or `shutdown_timeout`, or that ends on a
/// signal runs no destructor and waits for nothing. Such a program calls
/// [`wait_for_refreshes`](crate::wait_for_refreshes) first (the `pinterest-oauth` command
/// does on `SIGINT` and `SIGTERM`).
///
/// Cheap to clone; clones share everything.
pub struct TokenSource<H: AsyncHttp, S: TokenStore = MemoryStore> {
    handle: Arc<Handle<H, S>>,
}

/// The handles callers hold; work in flight holds only the [`Shared`] part.
struct Handle<H: AsyncHttp, S: TokenStore> {
    shared: Arc<Shared<H, S>>,
}

struct Shared<H, S> {
    client: Client<H>,
    storage: Storage<S>,
    clock: Clock,
    flight: Arc<Flight>,
    finished: Arc<Notify>,
}

crate::flavours::source_basics!(http = AsyncHttp);

impl<H: AsyncHttp, S: TokenStore> TokenSource<H, S> {
    /// A source set up by `options` (lifecycle tuning, clock, client credentials, recovery).
    pub fn with_config(
        client: Client<H>,
        store: S,
        options: SourceConfig,
    ) -> Result<TokenSource<H, S>, Error> {
        let (flight, storage) = options.start(client.config_arc(), store)?;
        let finished = Arc::new(Notify::new());
        let wake = finished.clone();
        flight.on_finish(move || wake.notify_waiters());
        Ok(TokenSource {
            handle: Arc::new(Handle {
                shared: Arc::new(Shared {
                    client,
                    storage,
                    clock: options.clock().clone(),
                    flight,
                    finished,
                }),
            }),
        })
    }

    /// A valid access token, refreshing (and saving) first when due. The same errors as the
    /// blocking [`access_token`](crate::blocking::TokenSource::access_token).
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        let shared = self.shared();
        access_token_loop!(
            shared,
            lead = |leader| shared.clone().lead(leader).await,
            background = |leader| drop(shared.clone().start(leader)),
            wait = |seen| shared.finished_past(seen).await,
        )
    }

    /// Refreshes now, whatever the expiry or the budget's interval, and returns the new set
    /// (once saved). Pinterest's own rate limit, an invalid grant and the budget's ceiling
    /// still hold.
    pub async fn refresh_now(&self) -> Result<Token, Error> {
        let shared = self.shared();
        let before = shared.flight.force_refresh();
        let _ = self.access_token().await;
        self.wait_idle().await;
        shared.flight.settled((shared.clock)(), before)
    }

    crate::flavours::source_accessors!();

    /// Waits until no refresh or save is in flight. Never needed to keep a grant (see the
    /// type's docs).
    pub async fn wait_idle(&self) {
        let shared = self.shared();
        loop {
            let seen = shared.flight.generation();
            if !shared.flight.is_working() {
                return;
            }
            shared.finished_past(seen).await;
        }
    }
}

impl<H: AsyncHttp, S: TokenStore> Shared<H, S> {
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

    /// Starts the leader's work on tokio's blocking pool, where nothing cancels it and a
    /// runtime shutting down waits for it.
    fn start(self: Arc<Self>, leader: Leader) -> tokio::task::JoinHandle<Option<Arc<Error>>> {
        tokio::task::spawn_blocking(move || self.lead_blocking(leader))
    }

    /// The leader's work, waited for. Returns what the store failed with in this turn.
    async fn lead(self: Arc<Self>, leader: Leader) -> Option<Arc<Error>> {
        match self.start(leader).await {
            Ok(failure) => failure,
            // The pool refused the work (the runtime is shutting down) or it panicked: the
            // leader was dropped, so the flight has its outcome.
            Err(e) => Some(Arc::new(Error::Transport(TransportError::new(
                TransportErrorKind::Other,
                e,
            )))),
        }
    }

    /// The leader's work on this (blocking pool) thread; its request is driven on a runtime of
    /// the turn's own, made when a request is to be sent.
    fn lead_blocking(&self, leader: Leader) -> Option<Arc<Error>> {
        let mut runtime = None;
        drive::lead(
            leader,
            &self.storage,
            &self.clock,
            self.client.budget(),
            |request| {
                let runtime = match &mut runtime {
                    Some(runtime) => runtime,
                    None => runtime.insert(
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?,
                    ),
                };
                runtime.block_on(self.client.http().execute_isolated(request))
            },
        )
    }
}

impl<H: AsyncHttp, S: TokenStore> Drop for Handle<H, S> {
    /// The program lets go of the source: a new set still waiting for its save gets one more
    /// try at once, on the blocking pool (which a runtime shutting down waits for), or on this
    /// thread outside a runtime. Work already in flight runs on the pool and ends by itself.
    fn drop(&mut self) {
        let shared = &self.shared;
        if !shared.flight.holds_unsaved() || shared.flight.is_working() {
            return;
        }
        let Some(leader) = shared.flight.flush((shared.clock)()) else {
            return;
        };
        let shared = shared.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || shared.lead_blocking(leader))),
            Err(_) => drop(shared.lead_blocking(leader)),
        }
    }
}
