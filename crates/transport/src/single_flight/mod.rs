//! Single flight: any number of concurrent callers of one token source cause at most one
//! piece of work (lock, load, refresh, save) at a time, and everyone shares its result.
//!
//! Written in the quinn-proto manner: the decisions are plain functions of plain data, the
//! locking and waking a thin layer around them.
//!
//! * [`state`]: [`FlightState`], what the callers share (the core's lifecycle, the leader
//!   flag, the last failure, a generation counter), and the election.
//! * [`leader`]: [`LeaderTurn`], the leader's work as a machine whose methods take the state
//!   they change and the time; it knows no lock, condvar or waker.
//! * this module: [`Flight`], the state behind a mutex with a condvar, a wake hook and a
//!   lock-free snapshot for the hot path; [`Leader`], the guard that locks, delegates to the
//!   turn and finishes it on drop.
//! * [`drive`]: the one loop that carries a turn's actions out, and the one policy for what a
//!   caller does after leading, shared by the blocking and the async source.
//!
//! The simulation (`sim`, tests only) drives [`FlightState`] and [`LeaderTurn`] directly, so it
//! runs exactly the code that ships.

pub(crate) mod drive;
pub(crate) mod leader;
pub(crate) mod state;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use pinterest_oauth_core::{
    AccessToken, ClientConfig, Status, Token, TokenDocument, TokenLifecycle,
};
use pinterest_oauth_store::StoreError;

use crate::{Error, SecretResponse};
pub(crate) use leader::{LeaderTurn, StepAction, report_raw_kept};
pub(crate) use state::{Election, FlightState};

/// What a caller asking for a token should do (from [`Flight::next`]).
#[derive(Debug)]
#[must_use = "a leader's turn must be driven, and a failure reported"]
pub(crate) enum Next {
    /// Use this token.
    Use(AccessToken),
    /// Use this token; you were elected to refresh in the background: drive the turn without
    /// making this caller wait.
    UseAndLead(AccessToken, Leader),
    /// No valid token: you were elected to do the work. Drive the turn, then ask again.
    Lead(Leader),
    /// Another caller is doing the work: wait until the flight's generation passes this one,
    /// then ask again.
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

/// The shared state of one token source behind a mutex, a condvar the blocking waiters use, a
/// wake hook for the async ones, and a lock-free snapshot of the current token for the hot
/// path.
pub(crate) struct Flight {
    inner: Mutex<FlightState>,
    finished: Condvar,
    fresh: ArcSwapOption<Fresh>,
    wake: OnceLock<Box<dyn Fn() + Send + Sync>>,
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
    pub(crate) fn new(lifecycle: TokenLifecycle, config: Arc<ClientConfig>) -> Flight {
        let flight = Flight {
            inner: Mutex::new(FlightState::new(lifecycle, config, crate::entropy::seed())),
            finished: Condvar::new(),
            fresh: ArcSwapOption::empty(),
            wake: OnceLock::new(),
        };
        flight.publish(&flight.lock());
        flight
    }

    /// Calls `wake` whenever a leader finishes (after the generation was bumped); set once.
    #[cfg(feature = "tokio")]
    pub(crate) fn on_finish(&self, wake: impl Fn() + Send + Sync + 'static) {
        let _ = self.wake.set(Box::new(wake));
    }

    fn lock(&self) -> MutexGuard<'_, FlightState> {
        // Every update keeps the lifecycle's own invariants, so a panic elsewhere cannot leave
        // this half-updated.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Republishes the hot path's snapshot.
    fn publish(&self, state: &FlightState) {
        self.fresh.store(
            state
                .snapshot()
                .map(|(token, until)| Arc::new(Fresh { token, until })),
        );
    }

    /// Runs `f` on the state, then republishes the snapshot.
    fn with<T>(&self, f: impl FnOnce(&mut FlightState) -> T) -> T {
        let mut state = self.lock();
        let result = f(&mut state);
        self.publish(&state);
        result
    }

    /// What the caller should do at `now`. Elects at most one leader at a time. A token that
    /// is usable and not due is handed out without taking any lock.
    pub(crate) fn next(self: &Arc<Self>, now: SystemTime) -> Next {
        if let Some(fresh) = self.fresh.load().as_deref()
            && now < fresh.until
        {
            return Next::Use(fresh.token.clone());
        }
        let leader = |turn| Leader {
            flight: self.clone(),
            turn,
        };
        match self.with(|state| state.elect(now)) {
            Election::Use(token) => Next::Use(token),
            Election::UseAndLead(token, turn) => Next::UseAndLead(token, leader(turn)),
            Election::Lead(turn) => Next::Lead(leader(turn)),
            Election::Wait(generation) => Next::Wait(generation),
            Election::Fail(error) => Next::Fail(error),
        }
    }

    /// Ends a leader's turn: the flag is cleared, the generation bumped and waiters woken.
    fn finish(&self, now: SystemTime, store_failed: bool) {
        self.with(|state| state.finish(now, store_failed));
        self.finished.notify_all();
        if let Some(wake) = self.wake.get() {
            wake();
        }
    }

    /// Blocks until the generation differs from `seen` (a leader working at `seen` finished).
    #[cfg(feature = "blocking")]
    pub(crate) fn wait_past(&self, seen: u64) {
        let mut state = self.lock();
        while state.generation() == seen {
            state = self
                .finished
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The current generation.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation()
    }

    /// `true` while a leader is working.
    pub(crate) fn is_working(&self) -> bool {
        self.lock().is_working()
    }

    /// `true` while a new set waits in memory for its save.
    pub(crate) fn holds_unsaved(&self) -> bool {
        self.lock().holds_unsaved()
    }

    /// A turn that saves at once a new set still waiting for its save (see
    /// [`FlightState::flush`]).
    pub(crate) fn flush(self: &Arc<Self>, now: SystemTime) -> Option<Leader> {
        let turn = self.with(|state| state.flush(now))?;
        Some(Leader {
            flight: self.clone(),
            turn,
        })
    }

    /// Makes a refresh due now, within the request budget (the API refused the access token).
    pub(crate) fn request_refresh(&self) {
        self.with(|state| state.lifecycle.request_refresh());
    }

    /// Makes a refresh due now because the user asked (see
    /// [`TokenLifecycle::force_refresh`]); returns what [`settled`](Self::settled) compares
    /// with once it has run.
    pub(crate) fn force_refresh(&self) -> (Option<Token>, u64) {
        let before = self.with(|state| {
            let before = (state.lifecycle.token().cloned(), state.saved_sets());
            state.force_refresh();
            before
        });
        // The next caller takes the slow path (and leads the refresh).
        self.fresh.store(None);
        before
    }

    /// Makes the next caller re-read the store (to adopt a set saved elsewhere, such as a new
    /// login).
    pub(crate) fn reload(&self, now: SystemTime) {
        self.lock().reload(now);
        // The hot path would not look: make the next caller take the slow one.
        self.fresh.store(None);
    }

    /// Adopts a document (for example right after a login in this process) when it is not
    /// older than the current set; returns whether it was adopted. Nothing is adopted while a
    /// leader is working.
    pub(crate) fn adopt(&self, now: SystemTime, document: TokenDocument) -> bool {
        self.with(|state| state.adopt(now, document))
    }

    /// The current (persisted) token set.
    pub(crate) fn token(&self) -> Option<Token> {
        self.lock().lifecycle.token().cloned()
    }

    /// The lifecycle's status at `now`.
    pub(crate) fn status(&self, now: SystemTime) -> Status {
        self.lock().status(now)
    }

    /// When the user must have logged in again (see
    /// [`TokenLifecycle::refresh_token_lapses_at`]).
    pub(crate) fn login_needed_by(&self, now: SystemTime) -> Option<SystemTime> {
        self.lock().lifecycle.refresh_token_lapses_at(now)
    }

    /// The last failure, until a success clears it.
    pub(crate) fn last_error(&self) -> Option<Arc<Error>> {
        self.lock().last_error.clone()
    }

    /// After a forced refresh has run (nothing in flight): the new set, or why there is none.
    pub(crate) fn settled(
        &self,
        now: SystemTime,
        before: (Option<Token>, u64),
    ) -> Result<Token, Error> {
        self.lock().settled(now, (before.0.as_ref(), before.1))
    }

    /// Why there is no token now.
    pub(crate) fn failure(&self, now: SystemTime) -> Error {
        let state = self.lock();
        state.failure(now, state.last_error.clone())
    }
}

/// The elected leader's turn, bound to its flight: each call locks the flight's state,
/// delegates to the [`LeaderTurn`] and republishes the snapshot. Dropping it (driven to the
/// end or not) ends the turn and wakes the waiters; dropped before its end (its driver gave
/// up, was cancelled or panicked), it first gives the lifecycle the outcome it awaits
/// ([`LeaderTurn::interrupt`]).
#[derive(Debug)]
#[must_use = "a leader's turn must be driven"]
pub(crate) struct Leader {
    flight: Arc<Flight>,
    turn: LeaderTurn,
}

impl Leader {
    /// The next thing to do at `now`.
    pub(crate) fn poll(&mut self, now: SystemTime) -> StepAction {
        let turn = &mut self.turn;
        self.flight.with(|state| turn.poll(state, now))
    }

    /// See [`LeaderTurn::handle_lock`].
    pub(crate) fn handle_lock(&mut self, now: SystemTime, result: Result<bool, StoreError>) {
        let turn = &mut self.turn;
        self.flight
            .with(|state| turn.handle_lock(state, now, result));
    }

    /// See [`LeaderTurn::handle_load`].
    pub(crate) fn handle_load(
        &mut self,
        now: SystemTime,
        result: Result<Option<TokenDocument>, StoreError>,
    ) {
        let turn = &mut self.turn;
        self.flight
            .with(|state| turn.handle_load(state, now, result));
    }

    /// See [`LeaderTurn::handle_confirm`].
    pub(crate) fn handle_confirm(&mut self, now: SystemTime, result: Result<(), StoreError>) {
        let turn = &mut self.turn;
        self.flight
            .with(|state| turn.handle_confirm(state, now, result));
    }

    /// See [`LeaderTurn::handle_response`].
    pub(crate) fn handle_response(
        &mut self,
        now: SystemTime,
        result: Result<SecretResponse, Error>,
    ) {
        let turn = &mut self.turn;
        self.flight
            .with(|state| turn.handle_response(state, now, result));
    }

    /// See [`LeaderTurn::handle_save`].
    pub(crate) fn handle_save(&mut self, now: SystemTime, result: Result<(), Error>) {
        let turn = &mut self.turn;
        self.flight
            .with(|state| turn.handle_save(state, now, result));
    }

    /// See [`LeaderTurn::handle_keep_raw`].
    pub(crate) fn handle_keep_raw(&mut self, result: std::io::Result<std::path::PathBuf>) {
        self.turn.handle_keep_raw(result);
    }

    /// See [`LeaderTurn::store_failure`].
    pub(crate) fn store_failure(&self) -> Option<Arc<Error>> {
        self.turn.store_failure()
    }

    /// See [`LeaderTurn::sent`].
    #[cfg(test)]
    pub(crate) fn sent(&self) -> Option<&'static str> {
        self.turn.sent()
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let turn = &mut self.turn;
        self.flight.with(|state| turn.interrupt(state));
        self.flight
            .finish(self.turn.now(), self.turn.store_failure().is_some());
    }
}
