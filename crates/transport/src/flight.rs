//! Single flight: any number of concurrent callers of one token source cause at most one
//! piece of work (lock, load, refresh, save) at a time, and everyone shares its result.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use pinterest_oauth_core::{
    AccessToken, ClientConfig, Status, Token, TokenDocument, TokenLifecycle,
};

use crate::Error;
use crate::step::Step;

/// How often a token source that needs consent (or is stopped) re-reads its store, to pick up
/// a new login or a fixed configuration another process saved.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// What a caller asking for a token should do (from [`Flight::next`]).
#[derive(Debug)]
#[must_use = "a leader's step must be driven, and a failure reported"]
pub enum Next {
    /// Use this token.
    Use(AccessToken),
    /// Use this token; you were elected to refresh in the background: drive the step without
    /// making this caller wait.
    UseAndLead(AccessToken, Step),
    /// No valid token: you were elected to do the work. Drive the step, then ask again.
    Lead(Step),
    /// Another caller is doing the work: wait until the flight's generation passes this one
    /// ([`Flight::wait_past`], or the async source's notification), then ask again.
    Wait(u64),
    /// No valid token, and nothing can be done now: this is why.
    Fail(Error),
}

/// The token snapshot the hot path reads without locking: usable until `until`.
#[derive(Debug)]
struct Fresh {
    token: AccessToken,
    until: SystemTime,
}

/// The shared state of one token source: the core's [`TokenLifecycle`] behind a mutex, the
/// leader flag, the last failure, a generation counter waiters watch, and a lock-free snapshot
/// of the current token for the hot path.
///
/// Runtime-agnostic: the blocking source waits with [`wait_past`](Self::wait_past) (a condvar);
/// the async one installs a wake hook with [`on_finish`](Self::on_finish).
pub struct Flight {
    inner: Mutex<Inner>,
    finished: Condvar,
    fresh: ArcSwapOption<Fresh>,
    wake: OnceLock<Box<dyn Fn() + Send + Sync>>,
    pub(crate) config: Arc<ClientConfig>,
}

#[derive(Debug)]
struct Inner {
    lifecycle: TokenLifecycle,
    working: bool,
    last_error: Option<Arc<Error>>,
    generation: u64,
    reload_at: Option<SystemTime>,
    entropy: u64,
}

impl std::fmt::Debug for Flight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flight")
            .field("inner", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl Flight {
    /// Wraps a lifecycle whose requests are built with `config`.
    pub fn new(lifecycle: TokenLifecycle, config: Arc<ClientConfig>) -> Flight {
        let flight = Flight {
            inner: Mutex::new(Inner {
                lifecycle,
                working: false,
                last_error: None,
                generation: 0,
                reload_at: None,
                entropy: crate::entropy::seed(),
            }),
            finished: Condvar::new(),
            fresh: ArcSwapOption::empty(),
            wake: OnceLock::new(),
            config,
        };
        flight.refresh_snapshot(&flight.lock());
        flight
    }

    /// Calls `wake` whenever a leader finishes (after the generation was bumped); set once.
    pub fn on_finish(&self, wake: impl Fn() + Send + Sync + 'static) {
        let _ = self.wake.set(Box::new(wake));
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update keeps the lifecycle's own invariants, so a panic elsewhere cannot leave
        // this half-updated.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Republishes the hot path's snapshot: the token while it is usable and nothing is due.
    fn refresh_snapshot(&self, inner: &Inner) {
        let lifecycle = &inner.lifecycle;
        // While a stop holds (this process may have seen its grant refused while another
        // process stored a newer set), the slow path must run when the store is next to be
        // re-read: the snapshot lasts until then (or not at all, before that time is set).
        let reload = match (lifecycle.state().stop(), inner.reload_at) {
            (None, _) => None,
            (Some(_), Some(at)) => Some(at),
            (Some(_), None) => {
                self.fresh.store(None);
                return;
            }
        };
        let snapshot = lifecycle.token().and_then(|token| {
            let access = token.access_token()?.clone();
            let mut until = token.expires_at();
            if let Some(due) = lifecycle.poll_timeout() {
                until = until.min(due);
            }
            if let Some(at) = reload {
                until = until.min(at);
            }
            Some(Arc::new(Fresh {
                token: access,
                until,
            }))
        });
        self.fresh.store(snapshot);
    }

    /// What the caller should do at `now`. Elects at most one leader at a time. A token that
    /// is usable and not due is handed out without taking any lock.
    pub fn next(self: &Arc<Self>, now: SystemTime) -> Next {
        if let Some(fresh) = self.fresh.load().as_deref()
            && now < fresh.until
        {
            return Next::Use(fresh.token.clone());
        }
        let mut inner = self.lock();
        let valid = inner.lifecycle.access_token(now).cloned();
        let status = inner.lifecycle.status(now);
        let work_due = inner.lifecycle.poll_timeout().is_some_and(|at| at <= now);
        // Without a way forward, re-read the store now and then: a login, a fixed configuration
        // or another process's fresh set may have been saved (while another process refreshes,
        // its provisional record of the attempt says to wait; the set it saves says otherwise).
        let stuck = match status {
            Status::ConsentNeeded | Status::Stopped { .. } => true,
            Status::Waiting { .. } => valid.is_none(),
            _ => false,
        };
        let reload_due = inner.reload_at.map_or(stuck, |at| at <= now);
        if !inner.working && (work_due || reload_due) {
            inner.working = true;
            if reload_due {
                inner.reload_at = if stuck {
                    now.checked_add(RELOAD_INTERVAL)
                } else {
                    None
                };
            }
            // A forced refresh waits for another holder's lock (the user asked for a new set);
            // otherwise a holder of a valid token never waits for someone else's refresh.
            let forced = inner.lifecycle.refresh_forced();
            let step = Step::new(self.clone(), valid.is_some() && !forced, now);
            return match valid {
                Some(token) => Next::UseAndLead(token, step),
                None => Next::Lead(step),
            };
        }
        if let Some(token) = valid {
            return Next::Use(token);
        }
        if inner.working {
            return Next::Wait(inner.generation);
        }
        Next::Fail(failure(
            &inner.lifecycle,
            now,
            status,
            inner.last_error.clone(),
        ))
    }

    /// Runs `f` on the lifecycle, then republishes the snapshot.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut TokenLifecycle, &mut FlightState<'_>) -> T,
    ) -> T {
        let mut inner = self.lock();
        let Inner {
            lifecycle,
            last_error,
            entropy,
            ..
        } = &mut *inner;
        let result = f(
            lifecycle,
            &mut FlightState {
                last_error,
                entropy,
            },
        );
        self.refresh_snapshot(&inner);
        result
    }

    /// Called by a leader's step when it ends (driven to the end, or dropped): the flag is
    /// cleared, the generation bumped and waiters woken.
    ///
    /// After a store failure (a lock held past its timeout, an unreachable store), callers
    /// without a token are told at once for a while, rather than each leading a new step that
    /// waits for the store again.
    pub(crate) fn finish(&self, now: SystemTime, store_failed: bool) {
        {
            let mut inner = self.lock();
            inner.working = false;
            if store_failed {
                inner.reload_at = now.checked_add(RELOAD_INTERVAL);
            }
            inner.generation = inner.generation.wrapping_add(1);
            self.refresh_snapshot(&inner);
        }
        self.finished.notify_all();
        if let Some(wake) = self.wake.get() {
            wake();
        }
    }

    /// Blocks until the generation differs from `seen` (a leader working at `seen` finished).
    pub fn wait_past(&self, seen: u64) {
        let mut inner = self.lock();
        while inner.generation == seen {
            inner = self
                .finished
                .wait(inner)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Makes a refresh due now, within the request budget (the API refused the access token).
    pub fn request_refresh(&self, now: SystemTime) {
        self.with(|lifecycle, _| lifecycle.request_refresh(now));
    }

    /// Makes a refresh due now because the user asked (see
    /// [`TokenLifecycle::force_refresh`]); a stored set another process saved meanwhile counts
    /// as that refresh.
    pub fn force_refresh(&self, now: SystemTime) {
        self.with(|lifecycle, state| {
            lifecycle.force_refresh(now);
            *state.last_error = None;
        });
        self.lock().reload_at = None;
        // The next caller takes the slow path (and leads the refresh).
        self.fresh.store(None);
    }

    /// Makes the next caller re-read the store (to adopt a set saved elsewhere, such as a new
    /// login).
    pub fn reload(&self, now: SystemTime) {
        self.lock().reload_at = Some(now);
        // The hot path would not look: make the next caller take the slow one.
        self.fresh.store(None);
    }

    /// Adopts a document (for example right after a login in this process) when it is not
    /// older than the current set; returns whether it was adopted. Nothing is adopted while a
    /// leader is working.
    pub fn adopt(&self, now: SystemTime, document: TokenDocument) -> bool {
        if self.lock().working {
            return false;
        }
        self.with(|lifecycle, state| {
            let adopted = lifecycle.handle_loaded(now, document);
            if adopted {
                *state.last_error = None;
            }
            adopted
        })
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

    /// When the user must have logged in again: the refresh token's expiry, once refreshes
    /// no longer renew it and it is within the rotation margin at `now`.
    pub fn login_needed_by(&self, now: SystemTime) -> Option<SystemTime> {
        self.lock().lifecycle.refresh_token_lapses_at(now)
    }

    /// The last failure, until a success clears it.
    pub fn last_error(&self) -> Option<Arc<Error>> {
        self.lock().last_error.clone()
    }

    /// `true` while a leader is working.
    pub fn is_working(&self) -> bool {
        self.lock().working
    }

    /// After a forced refresh has run (nothing in flight): the new set, or why there is none.
    pub fn settled(&self, now: SystemTime, before: Option<&Token>) -> Result<Token, Error> {
        let inner = self.lock();
        let current = inner.lifecycle.token();
        match (current, &inner.last_error) {
            (Some(token), None) if Some(token) != before => Ok(token.clone()),
            (_, Some(cause)) if inner.lifecycle.status(now) == Status::ConsentNeeded => {
                Err(Error::ConsentNeeded {
                    cause: Some(cause.clone()),
                    stop: inner.lifecycle.state().stop().copied(),
                })
            }
            (_, Some(cause)) => Err(Error::Refresh(cause.clone())),
            _ => Err(failure(
                &inner.lifecycle,
                now,
                inner.lifecycle.status(now),
                None,
            )),
        }
    }
}

/// What a step may change besides the lifecycle.
pub(crate) struct FlightState<'a> {
    pub(crate) last_error: &'a mut Option<Arc<Error>>,
    entropy: &'a mut u64,
}

impl FlightState<'_> {
    /// A fresh random-looking `u64` for backoff jitter (splitmix64 over an OS-seeded state).
    pub(crate) fn entropy(&mut self) -> u64 {
        *self.entropy = self.entropy.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *self.entropy;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Why there is no token now, as an error callers can act on.
fn failure(
    lifecycle: &TokenLifecycle,
    now: SystemTime,
    status: Status,
    cause: Option<Arc<Error>>,
) -> Error {
    match status {
        Status::ConsentNeeded => Error::ConsentNeeded {
            cause,
            stop: lifecycle.state().stop().copied(),
        },
        Status::Stopped { .. } => match lifecycle.state().stop() {
            Some(stop) => Error::Stopped { stop: *stop, cause },
            None => Error::ConsentNeeded { cause, stop: None },
        },
        Status::Waiting { until, why } => Error::Waiting { until, why, cause },
        _ => match (lifecycle.poll_timeout(), cause) {
            (Some(until), cause) => Error::Waiting {
                // Due already (the step could not run): not before now.
                until: until.max(now),
                why: lifecycle.state().wait(),
                cause,
            },
            (None, Some(cause)) => Error::Refresh(cause),
            (None, None) => Error::ConsentNeeded {
                cause: None,
                stop: None,
            },
        },
    }
}
