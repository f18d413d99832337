//! The lifecycle shared by concurrent callers: who uses the token, who refreshes, who waits.
//!
//! Both token sources (blocking and async) are written on top of this; they only add the IO.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use pinterest_oauth_core::{
    AccessToken, Action, ClientCredentialsGrant, Failure, LifecycleConfig, Status, Token,
    TokenLifecycle,
};

use crate::{StoreError, TokenStore};

/// What a caller asking for a token should do (from [`SharedLifecycle::next`]).
#[derive(Debug)]
pub enum Next<E> {
    /// Use this token.
    Use(AccessToken),
    /// Use this token; you were elected to refresh in the background. Run the work without
    /// making this caller wait, then call [`SharedLifecycle::finish_work`].
    UseAndLead(AccessToken),
    /// No valid token: you were elected to do the work. Do it, call
    /// [`SharedLifecycle::finish_work`], then ask again.
    Lead,
    /// Another caller is doing the work: wait for [`finish_work`](SharedLifecycle::finish_work)
    /// to be signalled, then ask again.
    Wait,
    /// The user must consent again; the failure that said so, if any.
    ConsentNeeded(Option<Arc<E>>),
    /// No valid token, nothing in flight, and the last attempt failed with this.
    Failed(Option<Arc<E>>),
}

/// A [`TokenLifecycle`] behind a mutex, with leader election: any number of concurrent callers
/// cause at most one piece of work (refresh, save) at a time, and everyone shares its result.
///
/// `E` is the transport's error, kept (shared) as the last failure.
#[derive(Debug)]
pub struct SharedLifecycle<E> {
    inner: Mutex<Inner<E>>,
}

#[derive(Debug)]
struct Inner<E> {
    lifecycle: TokenLifecycle,
    working: bool,
    last_error: Option<Arc<E>>,
}

impl<E> SharedLifecycle<E> {
    /// Wraps a lifecycle.
    pub fn new(lifecycle: TokenLifecycle) -> Self {
        SharedLifecycle {
            inner: Mutex::new(Inner {
                lifecycle,
                working: false,
                last_error: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<E>> {
        // Every update below is a single assignment or a lifecycle call that keeps its own
        // invariants, so a panic elsewhere cannot leave this half-updated.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the caller should do at `now`. Elects at most one leader at a time.
    pub fn next(&self, now: SystemTime) -> Next<E> {
        let mut inner = self.lock();
        let valid = inner.lifecycle.access_token(now).cloned();
        let work_due = inner.lifecycle.poll_timeout().is_some_and(|at| at <= now);
        if !inner.working && work_due {
            inner.working = true;
            return match valid {
                Some(token) => Next::UseAndLead(token),
                None => Next::Lead,
            };
        }
        if let Some(token) = valid {
            return Next::Use(token);
        }
        if inner.lifecycle.status(now) == Status::ConsentNeeded {
            return Next::ConsentNeeded(inner.last_error.clone());
        }
        if inner.working {
            return Next::Wait;
        }
        Next::Failed(inner.last_error.clone())
    }

    /// Leader: adopts a set read from storage (ignored while a save is pending).
    pub fn load(&self, now: SystemTime, token: Token) -> bool {
        self.lock()
            .lifecycle
            .handle_loaded(now, token)
            .unwrap_or(false)
    }

    /// Leader: the next action, if any.
    pub fn poll(&self, now: SystemTime) -> Option<Action> {
        self.lock().lifecycle.poll(now)
    }

    /// Leader: the answer to an [`Action::Send`].
    pub fn token_received(&self, now: SystemTime, token: Token) {
        let _ = self.lock().lifecycle.handle_token(now, token);
    }

    /// Leader: an [`Action::Send`] failed with `error`, classified as `failure`.
    pub fn send_failed(&self, now: SystemTime, error: E, failure: Failure, entropy: u64) {
        let mut inner = self.lock();
        let _ = inner.lifecycle.handle_failure(now, failure, entropy);
        inner.last_error = Some(Arc::new(error));
    }

    /// Leader: the set of an [`Action::Persist`] is stored.
    pub fn persisted(&self, now: SystemTime) {
        let mut inner = self.lock();
        let _ = inner.lifecycle.confirm_persisted(now);
        inner.last_error = None;
    }

    /// Leader: storing failed with `error`.
    pub fn persist_failed(&self, now: SystemTime, error: E, entropy: u64) {
        let mut inner = self.lock();
        let _ = inner.lifecycle.persist_failed(now, entropy);
        inner.last_error = Some(Arc::new(error));
    }

    /// Leader: the work could not even start (for example the store's lock failed). Counts as
    /// a failed attempt, so waiting callers get `error` and the next attempt backs off.
    pub fn start_failed(&self, now: SystemTime, error: E, entropy: u64) {
        let mut inner = self.lock();
        let lifecycle = &mut inner.lifecycle;
        let _ = match lifecycle.poll(now) {
            Some(Action::Send(_)) => {
                lifecycle.handle_failure(now, Failure::Retry { retry_after: None }, entropy)
            }
            Some(Action::Persist(_)) => lifecycle.persist_failed(now, entropy),
            _ => Ok(()),
        };
        inner.last_error = Some(Arc::new(error));
    }

    /// Leader: done; the caller must then wake the waiting callers.
    pub fn finish_work(&self) {
        self.lock().working = false;
    }

    /// Makes a refresh due now (see [`TokenLifecycle::request_refresh`]).
    pub fn request_refresh(&self, now: SystemTime) {
        self.lock().lifecycle.request_refresh(now);
    }

    /// The current (persisted) token set.
    pub fn token(&self) -> Option<Token> {
        self.lock().lifecycle.token().cloned()
    }

    /// The lifecycle's status at `now`; a due refresh a leader has taken on counts as
    /// refreshing.
    pub fn status(&self, now: SystemTime) -> Status {
        let inner = self.lock();
        match inner.lifecycle.status(now) {
            Status::Due if inner.working => Status::Refreshing,
            status => status,
        }
    }

    /// The last failure, until a success clears it.
    pub fn last_error(&self) -> Option<Arc<E>> {
        self.lock().last_error.clone()
    }

    /// `true` while a leader is working.
    pub fn is_working(&self) -> bool {
        self.lock().working
    }
}

/// Resets the leader flag even if the leader panics or its future is dropped, then runs
/// `wake` so waiters re-check.
pub struct WorkGuard<'a, E, W: Fn()> {
    shared: &'a SharedLifecycle<E>,
    wake: W,
}

impl<'a, E, W: Fn()> WorkGuard<'a, E, W> {
    /// Guards the work of the leader of `shared`.
    pub fn new(shared: &'a SharedLifecycle<E>, wake: W) -> Self {
        WorkGuard { shared, wake }
    }
}

impl<E, W: Fn()> Drop for WorkGuard<'_, E, W> {
    fn drop(&mut self) {
        self.shared.finish_work();
        (self.wake)();
    }
}

impl<E, W: Fn()> std::fmt::Debug for WorkGuard<'_, E, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkGuard").finish_non_exhaustive()
    }
}

/// The wall clock a token source reads; replaceable for tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How a token source is set up (both transports take the same options).
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{ClientCredentialsGrant, LifecycleConfig, Scope};
/// use pinterest_oauth_store::SourceOptions;
/// use std::time::{Duration, SystemTime};
///
/// let options = SourceOptions::default()
///     .lifecycle(LifecycleConfig::default().with_refresh_margin(Duration::from_secs(60)))
///     .clock(|| SystemTime::UNIX_EPOCH)
///     .client_credentials(ClientCredentialsGrant::new(vec![Scope::AdsRead])?);
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SourceOptions {
    config: LifecycleConfig,
    clock: Clock,
    client_credentials: Option<ClientCredentialsGrant>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            config: LifecycleConfig::default(),
            clock: Arc::new(SystemTime::now),
            client_credentials: None,
        }
    }
}

impl std::fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceOptions")
            .field("config", &self.config)
            .field("client_credentials", &self.client_credentials)
            .finish_non_exhaustive()
    }
}

impl SourceOptions {
    /// Tunes refresh margins and backoff.
    pub fn lifecycle(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// Reads time from `clock` instead of the system clock (for tests).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Serves app tokens from this client-credentials grant (asked for again before each
    /// expires) instead of a user's refreshed tokens.
    pub fn client_credentials(mut self, grant: ClientCredentialsGrant) -> Self {
        self.client_credentials = Some(grant);
        self
    }

    /// The clock.
    pub fn clock_fn(&self) -> &Clock {
        &self.clock
    }

    /// Loads the stored set (a corrupt or unreadable store is an error) and starts the
    /// lifecycle the options describe.
    pub fn start<E>(&self, store: &impl TokenStore) -> Result<SharedLifecycle<E>, StoreError> {
        let stored = store.load()?;
        let config = self.config.clone();
        let lifecycle = match (&self.client_credentials, stored) {
            (Some(grant), cached) => {
                TokenLifecycle::client_credentials(config, grant.clone(), cached)
            }
            (None, Some(token)) => TokenLifecycle::new(config, token),
            (None, None) => TokenLifecycle::empty(config),
        };
        Ok(SharedLifecycle::new(lifecycle))
    }
}

/// How a forced refresh ended (from [`SharedLifecycle::settled`]).
#[derive(Debug)]
pub enum Settled<E> {
    /// The new set, saved.
    Refreshed(Token),
    /// The grant is invalid (or there is no token).
    ConsentNeeded(Option<Arc<E>>),
    /// The refresh or the save failed.
    Failed(Arc<E>),
}

impl<E> SharedLifecycle<E> {
    /// After a forced refresh has run (nothing in flight): how it ended.
    pub fn settled(&self, is_invalid_grant: impl Fn(&E) -> bool) -> Settled<E> {
        match (self.token(), self.last_error()) {
            (_, Some(cause)) if is_invalid_grant(&cause) => Settled::ConsentNeeded(Some(cause)),
            (_, Some(cause)) => Settled::Failed(cause),
            (Some(after), None) => Settled::Refreshed(after),
            (None, None) => Settled::ConsentNeeded(None),
        }
    }
}
