//! The leader's turn, as a state machine with no IO and no lock: lock and load the store, let
//! the core's lifecycle decide, send what it asks, save what it asks, release.

use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::http::Request;
use pinterest_oauth_core::{
    Action, Failure, Grant, TokenDocument, must_keep_raw_answer, parse_token_response,
    token_request,
};
use pinterest_oauth_store::StoreError;

use super::state::FlightState;
use crate::{Error, SecretResponse};

/// What the driver of a [`LeaderTurn`] must do next.
#[derive(Debug)]
#[must_use = "the action must be carried out and its outcome fed back"]
pub(crate) enum StepAction {
    /// Take the store's lock: waiting for it when `wait`, else only if it is free. Then
    /// [`LeaderTurn::handle_lock`].
    Lock {
        /// Whether to wait for another holder (no valid token to hand out meanwhile).
        wait: bool,
    },
    /// Read the stored document, then [`LeaderTurn::handle_load`].
    Load,
    /// A credential is about to be spent: confirm the store's lock is still held and will be
    /// for as long as the request and the save of its answer can take
    /// ([`Storage::confirm`](crate::storage::Storage::confirm)), then
    /// [`LeaderTurn::handle_confirm`]. No [`Send`](Self::Send) comes before a confirmation.
    Confirm(pinterest_oauth_store::Attempt),
    /// Send this request, then [`LeaderTurn::handle_response`].
    Send(Request<Vec<u8>>),
    /// Save this document under the lock (`critical` when it holds a new token set that must
    /// be kept somewhere if the store refuses it), then [`LeaderTurn::handle_save`].
    Save {
        /// The document.
        document: TokenDocument,
        /// Whether a failure must keep it elsewhere.
        critical: bool,
    },
    /// Keep this raw answer aside, mode 0600 (a 2xx not read whole: it may carry a refresh
    /// token the parse did not take), then [`LeaderTurn::handle_keep_raw`].
    KeepRaw(zeroize::Zeroizing<Vec<u8>>),
    /// Nothing is left: release the lock.
    Done,
}

/// What the request about to be sent asks of the store: the lifecycle's attempt deadline and
/// request budget.
fn attempt(state: &FlightState) -> pinterest_oauth_store::Attempt {
    let config = state.lifecycle.config();
    pinterest_oauth_store::Attempt::new(
        config.attempt_deadline(),
        config.burst(),
        config.budget_window(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Locking,
    Loading,
    Driving,
    Confirming,
    Confirmed,
    Sending,
    Saving,
    KeepingRaw,
    Done,
}

/// One leader's turn for a token source: poll it for a [`StepAction`], carry the action out,
/// feed the outcome back with the matching `handle_*`. Every method takes the state it changes
/// (the source's [`FlightState`]) and the time; the turn knows no lock, condvar or waker, so
/// the same code runs under the real sources' mutex and in the simulation.
///
/// ```text
///   Lock ──▶ Load ──▶ ┬─▶ Save (the attempt) ─▶ Confirm ─▶ Send ─▶ Save (the answer) ─┬─▶ Done
///     │ busy, or       │                          └─ lock lost: nothing sent ─────────┤
///     │                └──────────────────────── nothing due ─────────────────────────┘
///     └─ the store failed ───────────────────────────────────────────────────────────▶ Done
/// ```
///
/// A turn is made by [`FlightState::elect`] for the one caller it elects. A turn abandoned
/// before the outcome of the request or save it handed out was fed back must be
/// [`interrupt`](Self::interrupt)ed: the lifecycle then gets a failure in its place (a set
/// received stays in memory and is saved later), so the source never waits for an answer
/// nobody will feed.
#[derive(Debug)]
pub(crate) struct LeaderTurn {
    phase: Phase,
    holding_valid: bool,
    /// The grant to send once the lock is confirmed (built into a request only then).
    pending: Option<Grant>,
    /// The record of the attempt, saved once the lock is confirmed.
    record: Option<TokenDocument>,
    /// The lock was confirmed in this turn before anything of the attempt was written (it is
    /// confirmed again just before the send).
    confirmed: bool,
    /// The grant sent, once it is (its secrets are scrubbed from any error the answer makes).
    sent: Option<Grant>,
    saving_critical: bool,
    store_failure: Option<Arc<Error>>,
    /// A raw answer to keep aside before anything else.
    raw: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// The latest time the driver gave: what an interrupted turn reports its end at.
    now: SystemTime,
}

impl LeaderTurn {
    pub(crate) fn new(holding_valid: bool, now: SystemTime) -> LeaderTurn {
        LeaderTurn {
            phase: Phase::Start,
            holding_valid,
            pending: None,
            record: None,
            confirmed: false,
            sent: None,
            saving_critical: false,
            store_failure: None,
            raw: None,
            now,
        }
    }

    /// Remembers the driver's latest `now` (never going back).
    fn at(&mut self, now: SystemTime) {
        self.now = self.now.max(now);
    }

    /// The latest time the driver gave.
    pub(crate) fn now(&self) -> SystemTime {
        self.now
    }

    /// The next thing to do at `now`.
    pub(crate) fn poll(&mut self, state: &mut FlightState, now: SystemTime) -> StepAction {
        self.at(now);
        match self.phase {
            Phase::Start => {
                self.phase = Phase::Locking;
                // Holding a valid token, never wait for someone else's refresh.
                StepAction::Lock {
                    wait: !self.holding_valid,
                }
            }
            Phase::Loading => StepAction::Load,
            Phase::Driving => self.drive(state, now),
            Phase::Confirming => StepAction::Confirm(attempt(state)),
            Phase::Confirmed => match (self.record.take(), self.pending.take()) {
                (Some(record), _) => {
                    self.phase = Phase::Saving;
                    self.saving_critical = false;
                    StepAction::Save {
                        document: record,
                        critical: false,
                    }
                }
                (None, Some(grant)) => {
                    self.phase = Phase::Sending;
                    tracing::debug!(grant = grant.grant_type(), "sending a token request");
                    let request = token_request(&state.config, &grant);
                    self.sent = Some(grant);
                    StepAction::Send(request)
                }
                (None, None) => {
                    self.phase = Phase::Done;
                    StepAction::Done
                }
            },
            // Polled again without the outcome of the request or the save it handed out: the
            // driver may be done with the turn. A late outcome is still taken; abandoned
            // without one, the turn gives the lifecycle a failure in its place (`interrupt`).
            Phase::Sending | Phase::Saving | Phase::KeepingRaw => StepAction::Done,
            Phase::Locking | Phase::Done => {
                self.phase = Phase::Done;
                StepAction::Done
            }
        }
    }

    /// The lifecycle's next action, turned into a step action.
    fn drive(&mut self, state: &mut FlightState, now: SystemTime) -> StepAction {
        let lifecycle = &mut state.lifecycle;
        let action = lifecycle.poll(now);
        let critical = lifecycle.unsaved().is_some();
        let recording = lifecycle.recording_attempt();
        match action {
            // Confirmed again just before the send: a lock lost while the attempt was being
            // recorded (a pause past a lease) sends nothing.
            Some(Action::Send(grant)) => {
                self.pending = Some(grant);
                self.phase = Phase::Confirming;
                StepAction::Confirm(attempt(&*state))
            }
            // The record of an attempt: the lock is confirmed first, so that nothing of an
            // attempt is written while another process's request may be in flight.
            Some(Action::Persist(document)) if recording && !self.confirmed => {
                self.record = Some(document);
                self.phase = Phase::Confirming;
                StepAction::Confirm(attempt(&*state))
            }
            Some(Action::Persist(document)) => {
                self.phase = Phase::Saving;
                self.saving_critical = critical;
                StepAction::Save { document, critical }
            }
            // Once the set is saved (or its save failed), a raw answer to keep aside.
            _ if self.raw.is_some() => {
                self.phase = Phase::KeepingRaw;
                StepAction::KeepRaw(self.raw.take().unwrap_or_default())
            }
            _ => {
                if let Some(at) = lifecycle.refresh_token_lapses_at(now) {
                    tracing::warn!(
                        expires = %pinterest_oauth_core::rfc3339(at),
                        "Pinterest does not renew this refresh token: log in again before it lapses"
                    );
                }
                self.phase = Phase::Done;
                StepAction::Done
            }
        }
    }

    /// The outcome of [`StepAction::Lock`]: `Ok(true)` taken, `Ok(false)` busy (another
    /// process is at work; this turn ends).
    pub(crate) fn handle_lock(
        &mut self,
        state: &mut FlightState,
        now: SystemTime,
        result: Result<bool, StoreError>,
    ) {
        if self.phase != Phase::Locking {
            return;
        }
        self.at(now);
        match result {
            Ok(true) => self.phase = Phase::Loading,
            Ok(false) => {
                tracing::debug!(
                    "the store is locked by another process at work; using the valid token"
                );
                self.phase = Phase::Done;
            }
            Err(e) => self.store_failed(state, now, e),
        }
    }

    /// The outcome of [`StepAction::Load`].
    pub(crate) fn handle_load(
        &mut self,
        state: &mut FlightState,
        now: SystemTime,
        result: Result<Option<TokenDocument>, StoreError>,
    ) {
        if self.phase != Phase::Loading {
            return;
        }
        self.at(now);
        match result {
            Ok(Some(document)) => {
                let lifecycle = &mut state.lifecycle;
                let before = lifecycle.token().cloned();
                let changed = lifecycle.handle_loaded(now, document);
                // Another set (a login, another process's refresh) makes the last failure
                // moot; the same set with its recorded state does not.
                if changed && lifecycle.token() != before.as_ref() {
                    state.last_error = None;
                }
                if changed {
                    tracing::debug!("adopted the stored token document");
                }
                self.phase = Phase::Driving;
            }
            Ok(None) => {
                state.lifecycle.handle_cleared();
                self.phase = Phase::Driving;
            }
            Err(e) => self.store_failed(state, now, e),
        }
    }

    fn store_failed(&mut self, state: &mut FlightState, now: SystemTime, error: StoreError) {
        tracing::warn!(error = %error, "the token store failed; nothing was sent");
        let error = Arc::new(Error::Store(error));
        self.store_failure = Some(error.clone());
        let entropy = state.entropy();
        state.lifecycle.handle_store_failure(now, entropy);
        state.last_error = Some(error);
        self.phase = Phase::Done;
    }

    /// The outcome of [`StepAction::Confirm`]: `Ok` while the lock is held, and the request
    /// comes next; an error (the lock was lost, or cannot be kept long enough; see
    /// [`TokenStore::confirm`](pinterest_oauth_store::TokenStore::confirm)) sends nothing and
    /// backs off in this process: the credential is not spent.
    pub(crate) fn handle_confirm(
        &mut self,
        state: &mut FlightState,
        now: SystemTime,
        result: Result<(), StoreError>,
    ) {
        if self.phase != Phase::Confirming {
            return;
        }
        self.at(now);
        let error = match result {
            Ok(()) => {
                self.confirmed = true;
                self.phase = Phase::Confirmed;
                return;
            }
            Err(error) => error,
        };
        self.pending = None;
        tracing::warn!(error = %error, "the token request was not sent");
        let error = Arc::new(Error::Store(error));
        self.store_failure = Some(error.clone());
        let entropy = state.entropy();
        match self.record.take() {
            // Nothing was recorded, nothing sent: the lifecycle backs off.
            Some(_) => state.lifecycle.persist_failed(now, entropy),
            None => state.lifecycle.handle_failure(now, Failure::Store, entropy),
        }
        state.last_error = Some(error);
        self.phase = Phase::Driving;
    }

    /// The outcome of [`StepAction::Send`], as the transport returned it.
    pub(crate) fn handle_response(
        &mut self,
        state: &mut FlightState,
        now: SystemTime,
        result: Result<SecretResponse, Error>,
    ) {
        if self.phase != Phase::Sending {
            return;
        }
        self.at(now);
        let grant = self
            .sent
            .as_ref()
            .map_or("refresh_token", Grant::grant_type);
        let outcome = result.and_then(|response| {
            let parsed = parse_token_response(now, &response);
            // A success that was not read whole may carry a refresh token the parse did not
            // take: the raw answer is kept aside too, once the set it gave is saved.
            if response.status().is_success()
                && must_keep_raw_answer(response.body(), parsed.as_ref().ok())
            {
                self.raw = Some(response.body().clone());
            }
            parsed.map_err(|e| {
                // Whatever the server echoes of what was sent, or of the app's secret.
                let mut secrets = self.sent.as_ref().map(Grant::secrets).unwrap_or_default();
                secrets.push(state.config.app_secret().secret());
                Error::Response(e.without_secrets(&secrets))
            })
        });
        match outcome {
            Ok(token) => {
                let ignored: Vec<_> = token.ignored_fields().collect();
                if !ignored.is_empty() {
                    tracing::debug!(
                        ?ignored,
                        "answer fields ignored (missing or of the wrong type)"
                    );
                }
                if let Some(problem) = token.access_token_problem() {
                    tracing::warn!(%problem, "Pinterest's answer has no usable access token; its refresh token is kept");
                }
                tracing::debug!(grant, "new token set received");
                state.lifecycle.handle_token(now, token);
                state.last_error = None;
            }
            Err(error) => {
                let failure = match &error {
                    Error::Response(response) => Failure::of(response),
                    _ => Failure::Transient { retry_after: None },
                };
                // Callers get it (or `last_error` holds it): a log line is for tracing only.
                tracing::info!(grant, error = %error, ?failure, "token request failed");
                let entropy = state.entropy();
                state.lifecycle.handle_failure(now, failure, entropy);
                state.last_error = Some(Arc::new(error));
            }
        }
        self.phase = Phase::Driving;
    }

    /// The outcome of [`StepAction::Save`].
    pub(crate) fn handle_save(
        &mut self,
        state: &mut FlightState,
        now: SystemTime,
        result: Result<(), Error>,
    ) {
        if self.phase != Phase::Saving {
            return;
        }
        self.at(now);
        let critical = self.saving_critical;
        match result {
            Ok(()) => {
                state.lifecycle.confirm_persisted();
                if critical {
                    state.note_saved_set();
                }
            }
            Err(error) => {
                if critical {
                    tracing::error!(error = %error, "the new token set could not be saved; it is kept in memory and saving is retried");
                } else {
                    tracing::warn!(error = %error, "the token document could not be saved");
                }
                let entropy = state.entropy();
                state.lifecycle.persist_failed(now, entropy);
                let error = Arc::new(error);
                state.last_error = Some(error.clone());
                self.store_failure = Some(error);
            }
        }
        self.phase = Phase::Driving;
    }

    /// The outcome of [`StepAction::KeepRaw`]: where the answer is kept, or why it could not
    /// be.
    pub(crate) fn handle_keep_raw(&mut self, result: Result<std::path::PathBuf, std::io::Error>) {
        if self.phase != Phase::KeepingRaw {
            return;
        }
        report_raw_kept(&result);
        self.phase = Phase::Driving;
    }

    /// The grant type of the request this turn sent, if it sent one.
    #[cfg(test)]
    pub(crate) fn sent(&self) -> Option<&'static str> {
        self.sent.as_ref().map(Grant::grant_type)
    }

    /// What this turn's store failed with, if it did (locking, loading, confirming, saving):
    /// a caller that waited for this turn gets it now rather than waiting for the store again.
    /// An earlier turn's failure is not reported here.
    pub(crate) fn store_failure(&self) -> Option<Arc<Error>> {
        self.store_failure.clone()
    }

    /// Ends a turn whose outcome the lifecycle still awaits, giving it one: a request not yet
    /// sent fails as the store's (nothing was spent), one that may have been sent as a
    /// transient failure (if its refresh token was spent, the retry meets `invalid_grant` and
    /// stops), a save as failed (a new set stays in memory and is offered again). Each backs
    /// off. Nothing happens in any other phase.
    pub(crate) fn interrupt(&mut self, state: &mut FlightState) {
        let now = self.now;
        let (failure, sent) = match self.phase {
            // The record not written yet: the lifecycle awaits its save.
            Phase::Confirming | Phase::Confirmed if self.record.is_some() => (None, false),
            Phase::Confirming | Phase::Confirmed => (Some(Failure::Store), false),
            Phase::Sending => (Some(Failure::Transient { retry_after: None }), true),
            // A new set waiting in memory (or a failure already handled) is saved later.
            Phase::Saving | Phase::KeepingRaw => (None, false),
            _ => return,
        };
        self.phase = Phase::Done;
        self.pending = None;
        self.record = None;
        tracing::warn!(
            sent,
            "a token refresh was interrupted before its outcome was known; it is retried after a backoff"
        );
        let entropy = state.entropy();
        match failure {
            Some(failure) => state.lifecycle.handle_failure(now, failure, entropy),
            None => state.lifecycle.persist_failed(now, entropy),
        }
        state.last_error = Some(Arc::new(Error::Interrupted { sent }));
    }
}

/// Says where an answer that could not be read whole was kept (or that it could not be): the
/// one message for the token sources and the one-shot calls.
pub(crate) fn report_raw_kept(result: &Result<std::path::PathBuf, std::io::Error>) {
    match result {
        Ok(path) => tracing::error!(
            kept = %path.display(),
            "Pinterest's answer could not be read whole; it is kept as it came (mode 0600): it may hold a refresh token"
        ),
        Err(error) => tracing::error!(
            %error,
            "Pinterest's answer could not be read whole, and could not be kept aside either"
        ),
    }
}
