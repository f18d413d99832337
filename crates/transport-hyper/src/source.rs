//! An async token source: a valid access token whenever asked, one refresh at a time.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::{
    AccessToken, Action, Grant, Status, Token, parse_token_response, token_request,
};
use pinterest_oauth_store::{
    Clock, MemoryStore, Next, Settled, SharedLifecycle, SourceOptions, StoreError, StoreLock,
    TokenStore, WorkGuard,
};
use tokio::sync::Notify;

use crate::{Client, Error, execute};

/// An async source of valid access tokens, backed by a [`TokenStore`].
///
/// [`access_token`](Self::access_token) returns the current token while it is fresh. When a
/// refresh is due, exactly one task is spawned to do it, however many tasks ask at once: while
/// the old token is still valid nobody waits for it; once it has expired, every caller waits
/// for that one refresh and shares its result, success or error. The refresh runs in its own
/// task, so a caller that gives up (drops its future) never strands the others. Every new set
/// is saved before anyone sees it; store calls run on tokio's blocking pool. With a
/// [`FileStore`](pinterest_oauth_store::FileStore), the refresher holds the file's lock,
/// re-reads it, and refreshes only if no other process already did.
///
/// Cheap to clone; clones share everything. Needs a tokio runtime (either flavour).
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig};
/// use pinterest_oauth_hyper::{Client, FileStore, TokenSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new(ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret")))?;
/// let tokens = TokenSource::new(client, FileStore::new("token.json"))?;
/// let token = tokens.access_token().await?; // refreshed (and saved) first when due
/// # Ok(()) }
/// ```
pub struct TokenSource<S: TokenStore = MemoryStore> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    client: Client,
    store: Arc<S>,
    clock: Clock,
    lifecycle: SharedLifecycle<Error>,
    finished: Notify,
}

impl<S: TokenStore> Clone for TokenSource<S> {
    fn clone(&self) -> Self {
        TokenSource {
            shared: self.shared.clone(),
        }
    }
}

impl<S: TokenStore> fmt::Debug for TokenSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("lifecycle", &self.shared.lifecycle)
            .finish_non_exhaustive()
    }
}

impl<S: TokenStore> TokenSource<S> {
    /// A source for the user's tokens in `store`, with the default lifecycle and the system
    /// clock. Loads the stored set: a corrupt or unreadable store is an error.
    pub fn new(client: Client, store: S) -> Result<TokenSource<S>, Error> {
        TokenSource::with_options(client, store, SourceOptions::default())
    }

    /// A source set up by `options` (lifecycle tuning, clock, client credentials).
    pub fn with_options(
        client: Client,
        store: S,
        options: SourceOptions,
    ) -> Result<TokenSource<S>, Error> {
        let lifecycle = options.start(&store)?;
        Ok(TokenSource {
            shared: Arc::new(Shared {
                client,
                store: Arc::new(store),
                clock: options.clock_fn().clone(),
                lifecycle,
                finished: Notify::new(),
            }),
        })
    }

    /// A valid access token, refreshing (and saving) first when due.
    ///
    /// Errors: [`Error::ConsentNeeded`] when the grant is invalid or there is no token (the
    /// user must log in again); [`Error::Refresh`] when the token has expired and the last
    /// refresh failed (the same error for every caller that waited for it). While a token is
    /// still valid, failures are not errors: they are retried with backoff and reported by
    /// [`last_error`](Self::last_error).
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        let shared = &self.shared;
        loop {
            // Registered before looking, so a leader finishing in between is not missed.
            let finished = shared.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            match shared.lifecycle.next((shared.clock)()) {
                Next::Use(token) => return Ok(token),
                Next::UseAndLead(token) => {
                    tokio::spawn(shared.clone().work());
                    return Ok(token);
                }
                Next::Lead => {
                    tokio::spawn(shared.clone().work());
                    finished.await;
                }
                Next::Wait => finished.await,
                Next::ConsentNeeded(cause) => return Err(Error::ConsentNeeded { cause }),
                Next::Failed(Some(cause)) => return Err(Error::Refresh(cause)),
                Next::Failed(None) => return Err(Error::ConsentNeeded { cause: None }),
            }
        }
    }

    /// Refreshes now, whatever the expiry, and returns the new set (once saved).
    pub async fn refresh_now(&self) -> Result<Token, Error> {
        self.shared.lifecycle.request_refresh((self.shared.clock)());
        self.access_token().await?;
        self.wait_idle().await;
        match self
            .shared
            .lifecycle
            .settled(|e: &Error| e.is_invalid_grant())
        {
            Settled::Refreshed(token) => Ok(token),
            Settled::ConsentNeeded(cause) => Err(Error::ConsentNeeded { cause }),
            Settled::Failed(cause) => Err(Error::Refresh(cause)),
        }
    }

    /// Waits until no refresh or save is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let finished = self.shared.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if !self.shared.lifecycle.is_working() {
                return;
            }
            finished.await;
        }
    }

    /// The current (saved) token set.
    pub fn token(&self) -> Option<Token> {
        self.shared.lifecycle.token()
    }

    /// Where the lifecycle stands now.
    pub fn status(&self) -> Status {
        self.shared.lifecycle.status((self.shared.clock)())
    }

    /// The last failure (refresh or save), until a success clears it.
    pub fn last_error(&self) -> Option<Arc<Error>> {
        self.shared.lifecycle.last_error()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.shared.store
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }
}

impl<S: TokenStore> Shared<S> {
    fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Runs a store call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&S) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || call(&store))
            .await
            .map_err(|e| {
                Error::Store(StoreError::Io {
                    action: "run a blocking store call",
                    path: Default::default(),
                    source: std::io::Error::other(e),
                })
            })
    }

    /// Sends a grant; the answer is timed by this source's clock.
    async fn send(&self, grant: &Grant) -> Result<Token, Error> {
        let request = token_request(self.client.config(), grant);
        let response = execute(self.client.http(), request).await?;
        Ok(parse_token_response(self.now(), &response)?)
    }

    /// The leader's work: take the store's lock, adopt what another process may have saved,
    /// then carry out the lifecycle's actions until none is left.
    async fn work(self: Arc<Self>) {
        let _guard = WorkGuard::new(&self.lifecycle, || self.finished.notify_waiters());
        let locked = self
            .blocking(|store| {
                let lock = store.lock()?;
                let stored = store.load()?;
                Ok::<(StoreLock, Option<Token>), StoreError>((lock, stored))
            })
            .await
            .and_then(|r| r.map_err(Error::from));
        let mut lock = match locked {
            Ok((lock, stored)) => {
                if let Some(stored) = stored
                    && self.lifecycle.load(self.now(), stored)
                {
                    tracing::debug!("adopted the token set another process saved");
                }
                lock
            }
            Err(e) => return self.lifecycle.start_failed(self.now(), e, entropy()),
        };
        while let Some(action) = self.lifecycle.poll(self.now()) {
            match action {
                Action::Send(grant) => match self.send(&grant).await {
                    Ok(token) => {
                        tracing::debug!(grant = grant.grant_type(), "new token set received");
                        self.lifecycle.token_received(self.now(), token);
                    }
                    Err(e) => {
                        tracing::warn!(grant = grant.grant_type(), error = %e, "token request failed");
                        let failure = e.failure();
                        self.lifecycle
                            .send_failed(self.now(), e, failure, entropy());
                        return;
                    }
                },
                Action::Persist(token) => {
                    let saved = self
                        .blocking(move |store| {
                            let result = store.save(&lock, &token);
                            (lock, result)
                        })
                        .await;
                    let result = match saved {
                        Ok((returned, result)) => {
                            lock = returned;
                            result.map_err(Error::from)
                        }
                        Err(e) => {
                            self.lifecycle.persist_failed(self.now(), e, entropy());
                            return;
                        }
                    };
                    match result {
                        Ok(()) => self.lifecycle.persisted(self.now()),
                        Err(e) => {
                            tracing::error!(error = %e, "could not save the new token set; it is kept in memory and saving is retried");
                            self.lifecycle.persist_failed(self.now(), e, entropy());
                            return;
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

/// Jitter for backoff, from the OS; falls back to the clock's nanoseconds.
fn entropy() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()))
    })
}
