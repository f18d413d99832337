//! The leader's work, written once as a sans-IO step: lock and load the store, let the core's
//! lifecycle decide, send what it asks, save what it asks, release.

use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_core::http::Request;
use pinterest_oauth_core::{
    Action, Failure, Grant, TokenDocument, parse_token_response, token_request,
};
use pinterest_oauth_store::StoreError;

use crate::flight::Flight;
use crate::{Error, SecretResponse};

/// What the driver of a [`Step`] must do next.
#[derive(Debug)]
#[must_use = "the action must be carried out and its outcome fed back"]
pub enum StepAction {
    /// Take the store's lock: waiting for it when `wait`, else only if it is free. Then
    /// [`Step::handle_lock`].
    Lock {
        /// Whether to wait for another holder (no valid token to hand out meanwhile).
        wait: bool,
    },
    /// Read the stored document, then [`Step::handle_load`].
    Load,
    /// A credential is about to be spent: confirm the store's lock is still held
    /// ([`Storage::confirm`](crate::Storage::confirm)), then [`Step::handle_confirm`]. No
    /// [`Send`](Self::Send) comes before a confirmation.
    Confirm,
    /// Send this request, then [`Step::handle_response`].
    Send(Request<Vec<u8>>),
    /// Save this document under the lock (`critical` when it holds a new token set that must
    /// be kept somewhere if the store refuses it), then [`Step::handle_save`].
    Save {
        /// The document.
        document: TokenDocument,
        /// Whether a failure must keep it elsewhere.
        critical: bool,
    },
    /// Nothing is left: release the lock.
    Done,
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
    Done,
}

/// One leader's work for a token source, as a state machine with no IO: poll it for a
/// [`StepAction`], carry the action out, feed the outcome back with the matching `handle_*`.
///
/// ```text
///   Lock ──▶ Load ──▶ ┬─▶ Save (the attempt) ─▶ Confirm ─▶ Send ─▶ Save (the answer) ─┬─▶ Done
///     │ busy, or       │                          └─ lock lost: nothing sent ─────────┤
///     │                └──────────────────────── nothing due ─────────────────────────┘
///     └─ the store failed ───────────────────────────────────────────────────────────▶ Done
/// ```
///
/// A step is made by [`Flight::next`](crate::Flight::next) for the one caller it elects;
/// dropping it (driven to the end or not) ends the leader's turn and wakes the waiters. A
/// step dropped before the outcome of the request or save it handed out was
/// fed back gives the lifecycle a failure in its place (a set received stays in memory and is
/// saved later), so the source never waits for an answer nobody will feed. Both
/// token sources drive it in a loop of a few lines:
///
/// ```text
/// loop {
///     match step.poll(now()) {
///         StepAction::Lock { wait } => step.handle_lock(now(), storage.lock(wait)),
///         StepAction::Load => step.handle_load(now(), storage.load()),
///         StepAction::Confirm => step.handle_confirm(now(), storage.confirm()),
///         StepAction::Send(request) => step.handle_response(now(), http.execute(request)),
///         StepAction::Save { document, critical } => {
///             step.handle_save(now(), storage.save(&document, critical))
///         }
///         StepAction::Done => break,
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Step {
    flight: Arc<Flight>,
    phase: Phase,
    holding_valid: bool,
    /// The grant to send once the lock is confirmed (built into a request only then).
    pending: Option<Grant>,
    sent: Option<&'static str>,
    saving_critical: bool,
    store_failure: Option<Arc<Error>>,
    /// The latest time the driver gave: what an interrupted step reports its end at.
    now: SystemTime,
}

impl Step {
    pub(crate) fn new(flight: Arc<Flight>, holding_valid: bool, now: SystemTime) -> Step {
        Step {
            flight,
            phase: Phase::Start,
            holding_valid,
            pending: None,
            sent: None,
            saving_critical: false,
            store_failure: None,
            now,
        }
    }

    /// Remembers the driver's latest `now` (never going back).
    fn at(&mut self, now: SystemTime) {
        self.now = self.now.max(now);
    }

    /// The next thing to do at `now`.
    pub fn poll(&mut self, now: SystemTime) -> StepAction {
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
            Phase::Driving => self.drive(now),
            Phase::Confirming => StepAction::Confirm,
            Phase::Confirmed => match self.pending.take() {
                Some(grant) => {
                    self.sent = Some(grant.grant_type());
                    self.phase = Phase::Sending;
                    tracing::debug!(grant = grant.grant_type(), "sending a token request");
                    StepAction::Send(token_request(&self.flight.config, &grant))
                }
                None => {
                    self.phase = Phase::Done;
                    StepAction::Done
                }
            },
            // Polled again without the outcome of the request or the save it handed out: the
            // driver may be done with the step. A late outcome is still taken; dropped without
            // one, the step gives the lifecycle a failure in its place (see `interrupt`).
            Phase::Sending | Phase::Saving => StepAction::Done,
            Phase::Locking | Phase::Done => {
                self.phase = Phase::Done;
                StepAction::Done
            }
        }
    }

    /// The lifecycle's next action, turned into a step action.
    fn drive(&mut self, now: SystemTime) -> StepAction {
        let action = self.flight.with(|lifecycle, _| {
            let action = lifecycle.poll(now);
            let critical = lifecycle.unsaved().is_some();
            (action, critical)
        });
        match action {
            (Some(Action::Send(grant)), _) => {
                self.pending = Some(grant);
                self.phase = Phase::Confirming;
                StepAction::Confirm
            }
            (Some(Action::Persist(document)), critical) => {
                self.phase = Phase::Saving;
                self.saving_critical = critical;
                StepAction::Save { document, critical }
            }
            (_, _) => {
                self.warn_lapse(now);
                self.phase = Phase::Done;
                StepAction::Done
            }
        }
    }

    fn warn_lapse(&self, now: SystemTime) {
        let lapse = self
            .flight
            .with(|lifecycle, _| lifecycle.refresh_token_lapses_at(now));
        if let Some(at) = lapse {
            tracing::warn!(
                expires = %crate::fmt_time(at),
                "Pinterest does not renew this refresh token: log in again before it lapses"
            );
        }
    }

    /// The outcome of [`StepAction::Lock`]: `Ok(true)` taken, `Ok(false)` busy (another
    /// process is at work; this step ends).
    pub fn handle_lock(&mut self, now: SystemTime, result: Result<bool, StoreError>) {
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
            Err(e) => self.store_failed(now, e),
        }
    }

    /// The outcome of [`StepAction::Load`].
    pub fn handle_load(
        &mut self,
        now: SystemTime,
        result: Result<Option<TokenDocument>, StoreError>,
    ) {
        if self.phase != Phase::Loading {
            return;
        }
        self.at(now);
        match result {
            Ok(Some(document)) => {
                let adopted = self.flight.with(|lifecycle, state| {
                    let before = lifecycle.token().cloned();
                    let changed = lifecycle.handle_loaded(now, document);
                    // Another set (a login, another process's refresh) makes the last failure
                    // moot; the same set with its recorded state does not.
                    if changed && lifecycle.token() != before.as_ref() {
                        *state.last_error = None;
                    }
                    changed
                });
                if adopted {
                    tracing::debug!("adopted the stored token document");
                }
                self.phase = Phase::Driving;
            }
            Ok(None) => {
                self.flight
                    .with(|lifecycle, _| lifecycle.handle_cleared(now));
                self.phase = Phase::Driving;
            }
            Err(e) => self.store_failed(now, e),
        }
    }

    fn store_failed(&mut self, now: SystemTime, error: StoreError) {
        tracing::warn!(error = %error, "the token store failed; nothing was sent");
        let error = Arc::new(Error::Store(error));
        self.store_failure = Some(error.clone());
        self.flight.with(|lifecycle, state| {
            let entropy = state.entropy();
            lifecycle.handle_store_failure(now, entropy);
            *state.last_error = Some(error);
        });
        self.phase = Phase::Done;
    }

    /// The outcome of [`StepAction::Confirm`]: `Ok` while the lock is held, and the request
    /// comes next; an error (the lock was lost, see
    /// [`TokenStore::confirm`](pinterest_oauth_store::TokenStore::confirm)) sends nothing and
    /// backs off in this process: the credential is not spent.
    pub fn handle_confirm(&mut self, now: SystemTime, result: Result<(), StoreError>) {
        if self.phase != Phase::Confirming {
            return;
        }
        self.at(now);
        let error = match result {
            Ok(()) => {
                self.phase = Phase::Confirmed;
                return;
            }
            Err(error) => error,
        };
        self.pending = None;
        tracing::warn!(error = %error, "the token request was not sent");
        let error = Arc::new(Error::Store(error));
        self.store_failure = Some(error.clone());
        self.flight.with(|lifecycle, state| {
            let entropy = state.entropy();
            lifecycle.handle_failure(now, Failure::Store, entropy);
            *state.last_error = Some(error);
        });
        self.phase = Phase::Driving;
    }

    /// The outcome of [`StepAction::Send`], as the transport returned it.
    pub fn handle_response(&mut self, now: SystemTime, result: Result<SecretResponse, Error>) {
        if self.phase != Phase::Sending {
            return;
        }
        self.at(now);
        let grant = self.sent.unwrap_or("refresh_token");
        let outcome = result
            .and_then(|response| parse_token_response(now, &response).map_err(Error::Response));
        self.flight.with(|lifecycle, state| match outcome {
            Ok(token) => {
                let ignored: Vec<_> = token.ignored_fields().collect();
                if !ignored.is_empty() {
                    tracing::debug!(?ignored, "answer fields ignored (missing or of the wrong type)");
                }
                if let Some(problem) = token.access_token_problem() {
                    tracing::warn!(%problem, "Pinterest's answer has no usable access token; its refresh token is kept");
                }
                tracing::debug!(grant, "new token set received");
                lifecycle.handle_token(now, token);
                *state.last_error = None;
            }
            Err(error) => {
                let failure = match &error {
                    Error::Response(response) => Failure::of(response),
                    _ => Failure::Transient { retry_after: None },
                };
                // Callers get it (or `last_error` holds it): a log line is for tracing only.
                tracing::info!(grant, error = %error, ?failure, "token request failed");
                let entropy = state.entropy();
                lifecycle.handle_failure(now, failure, entropy);
                *state.last_error = Some(Arc::new(error));
            }
        });
        self.phase = Phase::Driving;
    }

    /// The outcome of [`StepAction::Save`].
    pub fn handle_save(&mut self, now: SystemTime, result: Result<(), Error>) {
        if self.phase != Phase::Saving {
            return;
        }
        self.at(now);
        let critical = self.saving_critical;
        let failed = self.flight.with(|lifecycle, state| match result {
            Ok(()) => {
                lifecycle.confirm_persisted(now);
                None
            }
            Err(error) => {
                if critical {
                    tracing::error!(error = %error, "the new token set could not be saved; it is kept in memory and saving is retried");
                } else {
                    tracing::warn!(error = %error, "the token document could not be saved");
                }
                let entropy = state.entropy();
                lifecycle.persist_failed(now, entropy);
                let error = Arc::new(error);
                *state.last_error = Some(error.clone());
                Some(error)
            }
        });
        if failed.is_some() {
            self.store_failure = failed;
        }
        self.phase = Phase::Driving;
    }

    /// The grant type of the request this step sent, if it sent one.
    pub fn sent(&self) -> Option<&'static str> {
        self.sent
    }

    /// What this step's store failed with, if it did (locking, loading, confirming, saving):
    /// a caller that waited for this step gets it now rather than waiting for the store again.
    /// An earlier step's failure is not reported here.
    pub fn store_failure(&self) -> Option<Arc<Error>> {
        self.store_failure.clone()
    }
}

impl Step {
    /// Ends a step whose outcome the lifecycle still awaits, giving it one: a request not yet
    /// sent fails as the store's (nothing was spent), one that may have been sent as a
    /// transient failure (if its refresh token was spent, the retry meets `invalid_grant` and
    /// stops), a save as failed (a new set stays in memory and is offered again). Each backs
    /// off. Nothing happens in any other phase.
    fn interrupt(&mut self) {
        let now = self.now;
        let (failure, sent) = match self.phase {
            Phase::Confirming | Phase::Confirmed => (Some(Failure::Store), false),
            Phase::Sending => (Some(Failure::Transient { retry_after: None }), true),
            Phase::Saving => (None, false),
            _ => return,
        };
        self.phase = Phase::Done;
        self.pending = None;
        tracing::warn!(
            sent,
            "a token refresh was interrupted before its outcome was known; it is retried after a backoff"
        );
        self.flight.with(|lifecycle, state| {
            let entropy = state.entropy();
            match failure {
                Some(failure) => lifecycle.handle_failure(now, failure, entropy),
                None => lifecycle.persist_failed(now, entropy),
            }
            *state.last_error = Some(Arc::new(Error::Interrupted { sent }));
        });
    }
}

impl Drop for Step {
    /// Ends the leader's turn. A step dropped before its end (its driver gave up, was
    /// cancelled or panicked) first gives the lifecycle the outcome it awaits (see
    /// `interrupt`), so the source is never left waiting for an answer nobody will feed.
    fn drop(&mut self) {
        self.interrupt();
        self.flight.finish(self.now, self.store_failure.is_some());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pinterest_oauth_core::{
        AppId, AppSecret, ClientConfig, LifecycleConfig, TokenLifecycle, http,
    };

    use super::*;
    use crate::flight::Next;

    /// A leader's step for a set whose access token expired an hour ago, driven up to the
    /// confirmation (the lock taken, the set loaded, the attempt recorded).
    fn step_at_confirm(now: SystemTime) -> (Arc<Flight>, Step) {
        let received = now - Duration::from_secs(7200);
        let token = parse_token_response(
            received,
            &http::Response::new(
                r#"{"access_token":"pina_a","expires_in":3600,"scope":"boards:read",
                    "refresh_token":"pinr_a","refresh_token_expires_in":5184000}"#,
            ),
        )
        .unwrap();
        let document = TokenDocument::new(token);
        let lifecycle = TokenLifecycle::user(LifecycleConfig::default(), Some(document.clone()));
        let client = ClientConfig::new(AppId::new("1234567").unwrap(), AppSecret::new("s"));
        let flight = Arc::new(Flight::new(lifecycle, Arc::new(client)));
        let Next::Lead(mut step) = flight.next(now) else {
            panic!("no step")
        };
        assert!(matches!(step.poll(now), StepAction::Lock { wait: true }));
        step.handle_lock(now, Ok(true));
        assert!(matches!(step.poll(now), StepAction::Load));
        step.handle_load(now, Ok(Some(document)));
        let StepAction::Save {
            critical: false, ..
        } = step.poll(now)
        else {
            panic!("the attempt is recorded first")
        };
        step.handle_save(now, Ok(()));
        (flight, step)
    }

    #[test]
    fn nothing_is_sent_before_the_lock_is_confirmed() {
        let now = SystemTime::now();
        let (_flight, mut step) = step_at_confirm(now);
        assert!(matches!(step.poll(now), StepAction::Confirm));
        // Out-of-order answers change nothing: the confirmation is still awaited.
        step.handle_response(now, Err(Error::Store(StoreError::NotLocked)));
        assert!(matches!(step.poll(now), StepAction::Confirm));
        step.handle_confirm(now, Ok(()));
        let StepAction::Send(request) = step.poll(now) else {
            panic!("the request comes once the lock is confirmed")
        };
        assert!(String::from_utf8_lossy(request.body()).contains("grant_type=refresh_token"));
        assert_eq!(step.sent(), Some("refresh_token"));
        assert!(step.store_failure().is_none());
    }

    #[test]
    fn a_lost_lock_sends_nothing_and_is_this_steps_failure() {
        let now = SystemTime::now();
        let (flight, mut step) = step_at_confirm(now);
        assert!(matches!(step.poll(now), StepAction::Confirm));
        step.handle_confirm(
            now,
            Err(StoreError::LockLost {
                location: "lock".into(),
            }),
        );
        loop {
            match step.poll(now) {
                StepAction::Done => break,
                StepAction::Save { .. } => step.handle_save(now, Ok(())),
                other => panic!("after a lost lock: {other:?}"),
            }
        }
        assert_eq!(step.sent(), None);
        assert!(matches!(
            step.store_failure().as_deref(),
            Some(Error::Store(StoreError::LockLost { .. }))
        ));
        drop(step);
        // The process backs off.
        assert!(matches!(
            flight.with(|lifecycle, _| lifecycle.status(now)),
            pinterest_oauth_core::Status::Waiting { .. }
        ));
    }

    fn is_interrupted(flight: &Flight, expect_sent: bool) -> bool {
        matches!(flight.last_error().as_deref(), Some(Error::Interrupted { sent }) if *sent == expect_sent)
    }

    /// Drives a step at the confirmation up to the request handed out.
    fn to_the_send(now: SystemTime, step: &mut Step) {
        assert!(matches!(step.poll(now), StepAction::Confirm));
        step.handle_confirm(now, Ok(()));
        assert!(matches!(step.poll(now), StepAction::Send(_)));
    }

    /// Feeds Pinterest's answer (a rotated set `pinr_b`) to a step that sent its request.
    fn answer(now: SystemTime, step: &mut Step) {
        let body = br#"{"access_token":"pina_b","expires_in":3600,"scope":"boards:read","refresh_token":"pinr_b","refresh_token_expires_in":5184000}"#;
        step.handle_response(
            now,
            Ok(http::Response::new(zeroize::Zeroizing::new(body.to_vec()))),
        );
    }

    /// The next action is the save of the rotated set.
    fn saves_the_rotated_set(now: SystemTime, step: &mut Step) {
        let StepAction::Save {
            document,
            critical: true,
        } = step.poll(now)
        else {
            panic!("the rotated set is saved")
        };
        assert_eq!(document.token().refresh_token().unwrap().secret(), "pinr_b");
    }

    /// The next leader, at `later`, saves the rotated set the last one left in memory.
    fn the_next_leader_saves_the_rotated_set(flight: &Arc<Flight>, later: SystemTime) {
        let Next::Lead(mut step) = flight.next(later) else {
            panic!("no leader")
        };
        assert!(matches!(step.poll(later), StepAction::Lock { wait: true }));
        step.handle_lock(later, Ok(true));
        assert!(matches!(step.poll(later), StepAction::Load));
        step.handle_load(later, Ok(None));
        saves_the_rotated_set(later, &mut step);
    }

    #[test]
    fn a_step_dropped_before_its_end_leaves_a_source_that_leads_again() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(3600);

        // Dropped while the lock is confirmed: nothing was sent; the process backs off.
        let (flight, mut step) = step_at_confirm(now);
        assert!(matches!(step.poll(now), StepAction::Confirm));
        drop(step);
        assert!(is_interrupted(&flight, false));
        assert!(matches!(
            flight.with(|lifecycle, _| lifecycle.status(now)),
            pinterest_oauth_core::Status::Waiting { .. }
        ));
        assert!(
            matches!(flight.next(later), Next::Lead(_)),
            "a leader again"
        );

        // Dropped with the request handed out (it may have been sent).
        let (flight, mut step) = step_at_confirm(now);
        to_the_send(now, &mut step);
        drop(step);
        assert!(is_interrupted(&flight, true));
        assert!(
            matches!(flight.next(later), Next::Lead(_)),
            "a leader again"
        );

        // Dropped while the new set is saved: it stays in memory and is saved by the next leader.
        let (flight, mut step) = step_at_confirm(now);
        to_the_send(now, &mut step);
        answer(now, &mut step);
        assert!(matches!(
            step.poll(now),
            StepAction::Save { critical: true, .. }
        ));
        drop(step);
        assert!(is_interrupted(&flight, false));
        the_next_leader_saves_the_rotated_set(&flight, later);
    }

    #[test]
    fn a_step_polled_again_takes_a_late_outcome_or_gives_one_when_dropped() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(3600);

        // The request handed out, then the step polled again (a driver's timeout arm that
        // loops) and dropped: the lifecycle hears of a transient failure; a leader comes again.
        let (flight, mut step) = step_at_confirm(now);
        to_the_send(now, &mut step);
        assert!(matches!(step.poll(now), StepAction::Done));
        drop(step);
        assert!(is_interrupted(&flight, true));
        assert!(
            matches!(flight.next(later), Next::Lead(_)),
            "a leader again"
        );

        // Polled again, then the answer comes after all: it is taken, and the set is saved.
        let (_flight, mut step) = step_at_confirm(now);
        to_the_send(now, &mut step);
        assert!(matches!(step.poll(now), StepAction::Done));
        answer(now, &mut step);
        saves_the_rotated_set(now, &mut step);

        // The new set's save handed out, then polled again: the set stays and is saved later.
        let (flight, mut step) = step_at_confirm(now);
        to_the_send(now, &mut step);
        answer(now, &mut step);
        assert!(matches!(
            step.poll(now),
            StepAction::Save { critical: true, .. }
        ));
        assert!(matches!(step.poll(now), StepAction::Done));
        drop(step);
        the_next_leader_saves_the_rotated_set(&flight, later);
    }
}
