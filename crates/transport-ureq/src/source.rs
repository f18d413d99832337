//! A blocking token source: a valid access token whenever asked, one refresh at a time.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

use pinterest_oauth_core::{
    AccessToken, Action, Grant, Status, Token, parse_token_response, token_request,
};
use pinterest_oauth_store::{
    Clock, MemoryStore, Next, Settled, SharedLifecycle, SourceOptions, TokenStore, WorkGuard,
};

use crate::{Client, Error, execute};

/// A blocking source of valid access tokens, backed by a [`TokenStore`].
///
/// [`access_token`](Self::access_token) returns the current token while it is fresh. When a
/// refresh is due it is done by exactly one caller: while the old token is still valid, in a
/// background thread (nobody waits); once it has expired, by the first caller while the others
/// wait and then share its result, success or error. Every new set is saved before anyone sees
/// it (Pinterest rotates the refresh token: losing the new one means asking the user again).
/// With a [`FileStore`](pinterest_oauth_store::FileStore), the refresher holds the file's lock,
/// re-reads it, and refreshes only if no other process already did.
///
/// Cheap to clone; clones share everything.
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig};
/// use pinterest_oauth_store::FileStore;
/// use pinterest_oauth_ureq::{Client, TokenSource};
///
/// let client = Client::new(ClientConfig::new(AppId::new("1234567")?, AppSecret::new("secret")))?;
/// let tokens = TokenSource::new(client, FileStore::new("token.json"))?;
/// let token = tokens.access_token()?; // refreshed (and saved) first when due
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TokenSource<S: TokenStore = MemoryStore> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    client: Client,
    store: S,
    clock: Clock,
    lifecycle: SharedLifecycle<Error>,
    /// Bumped each time a leader finishes, so waiters never miss it.
    generation: Mutex<u64>,
    finished: Condvar,
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
                store,
                clock: options.clock_fn().clone(),
                lifecycle,
                generation: Mutex::new(0),
                finished: Condvar::new(),
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
    pub fn access_token(&self) -> Result<AccessToken, Error> {
        let shared = &self.shared;
        loop {
            let seen = *shared.lock_generation();
            match shared.lifecycle.next((shared.clock)()) {
                Next::Use(token) => return Ok(token),
                Next::UseAndLead(token) => {
                    let background = shared.clone();
                    let spawned = std::thread::Builder::new()
                        .name("pinterest-oauth-refresh".into())
                        .spawn(move || background.work());
                    if spawned.is_err() {
                        shared.work();
                    }
                    return Ok(token);
                }
                Next::Lead => shared.work(),
                Next::Wait => shared.wait_past(seen),
                Next::ConsentNeeded(cause) => return Err(Error::ConsentNeeded { cause }),
                Next::Failed(Some(cause)) => return Err(Error::Refresh(cause)),
                Next::Failed(None) => return Err(Error::ConsentNeeded { cause: None }),
            }
        }
    }

    /// Refreshes now, whatever the expiry, and returns the new set (once saved).
    pub fn refresh_now(&self) -> Result<Token, Error> {
        self.shared.lifecycle.request_refresh((self.shared.clock)());
        self.access_token()?;
        // A valid old token is handed out while the refresh runs: wait for it to land.
        self.wait_idle();
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

    /// Blocks until no refresh or save is in flight.
    pub fn wait_idle(&self) {
        let shared = &self.shared;
        loop {
            let seen = *shared.lock_generation();
            if !shared.lifecycle.is_working() {
                return;
            }
            shared.wait_past(seen);
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
    fn lock_generation(&self) -> std::sync::MutexGuard<'_, u64> {
        self.generation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks until a leader that was working at generation `seen` has finished.
    fn wait_past(&self, seen: u64) {
        let mut generation = self.lock_generation();
        while *generation == seen {
            generation = self
                .finished
                .wait(generation)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Sends a grant; the answer is timed by this source's clock.
    fn send(&self, grant: &Grant) -> Result<Token, Error> {
        let request = token_request(self.client.config(), grant);
        let response = execute(self.client.http(), request)?;
        Ok(parse_token_response(self.now(), &response)?)
    }

    /// The leader's work: take the store's lock, adopt what another process may have saved,
    /// then carry out the lifecycle's actions until none is left.
    fn work(&self) {
        let _guard = WorkGuard::new(&self.lifecycle, || {
            *self.lock_generation() += 1;
            self.finished.notify_all();
        });
        let lock = match self.store.lock() {
            Ok(lock) => lock,
            Err(e) => return self.lifecycle.start_failed(self.now(), e.into(), entropy()),
        };
        match self.store.load() {
            Ok(Some(stored)) => {
                if self.lifecycle.load(self.now(), stored) {
                    tracing::debug!("adopted the token set another process saved");
                }
            }
            Ok(None) => {}
            Err(e) => return self.lifecycle.start_failed(self.now(), e.into(), entropy()),
        }
        while let Some(action) = self.lifecycle.poll(self.now()) {
            match action {
                Action::Send(grant) => match self.send(&grant) {
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
                Action::Persist(token) => match self.store.save(&lock, &token) {
                    Ok(()) => self.lifecycle.persisted(self.now()),
                    Err(e) => {
                        tracing::error!(error = %e, "could not save the new token set; it is kept in memory and saving is retried");
                        self.lifecycle
                            .persist_failed(self.now(), e.into(), entropy());
                        return;
                    }
                },
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
