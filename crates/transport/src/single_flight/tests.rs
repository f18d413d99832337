//! The leader's turn through its guard: the order of actions, and turns abandoned half-way.

use std::sync::Arc;
use std::time::SystemTime;

use pinterest_oauth_store::StoreError;

use super::{Flight, Leader, Next, StepAction};
use crate::Error;
use std::time::Duration;

use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, LifecycleConfig, TokenLifecycle, http};

use pinterest_oauth_core::{TokenDocument, parse_token_response};

/// A leader's step for a set whose access token expired an hour ago, driven up to the
/// confirmation (the lock taken, the set loaded; the attempt is recorded once confirmed).
fn step_at_confirm(now: SystemTime) -> (Arc<Flight>, Leader) {
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
    (flight, step)
}

/// After the confirmation: the attempt is recorded, then the request comes.
fn records_the_attempt(now: SystemTime, step: &mut Leader) {
    let StepAction::Save {
        critical: false,
        document,
    } = step.poll(now)
    else {
        panic!("the attempt is recorded once the lock is confirmed")
    };
    assert_eq!(
        document.state().requests().len(),
        1,
        "the request is counted"
    );
    step.handle_save(now, Ok(()));
}

#[test]
fn nothing_is_sent_before_the_lock_is_confirmed() {
    let now = SystemTime::now();
    let (_flight, mut step) = step_at_confirm(now);
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
    // Out-of-order answers change nothing: the confirmation is still awaited.
    step.handle_response(now, Err(Error::Store(StoreError::NotLocked)));
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
    step.handle_confirm(now, Ok(()));
    records_the_attempt(now, &mut step);
    // Confirmed again just before the send.
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
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
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
    step.handle_confirm(
        now,
        Err(StoreError::LockLost {
            location: "lock".into(),
        }),
    );
    assert!(
        matches!(step.poll(now), StepAction::Done),
        "after a lost lock nothing is recorded and nothing sent"
    );
    assert_eq!(step.sent(), None);
    assert!(matches!(
        step.store_failure().as_deref(),
        Some(Error::Store(StoreError::LockLost { .. }))
    ));
    drop(step);
    // The process backs off.
    assert!(matches!(
        flight.with(|state| state.lifecycle.status(now)),
        pinterest_oauth_core::Status::Waiting { .. }
    ));
}

fn is_interrupted(flight: &Flight, expect_sent: bool) -> bool {
    matches!(flight.last_error().as_deref(), Some(Error::Interrupted { sent }) if *sent == expect_sent)
}

/// Drives a step at the confirmation up to the request handed out.
fn to_the_send(now: SystemTime, step: &mut Leader) {
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
    step.handle_confirm(now, Ok(()));
    records_the_attempt(now, step);
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
    step.handle_confirm(now, Ok(()));
    assert!(matches!(step.poll(now), StepAction::Send(_)));
}

/// Feeds Pinterest's answer (a rotated set `pinr_b`) to a step that sent its request.
fn answer(now: SystemTime, step: &mut Leader) {
    let body = br#"{"access_token":"pina_b","expires_in":3600,"scope":"boards:read","refresh_token":"pinr_b","refresh_token_expires_in":5184000}"#;
    step.handle_response(
        now,
        Ok(http::Response::new(zeroize::Zeroizing::new(body.to_vec()))),
    );
}

/// The next action is the save of the rotated set.
fn saves_the_rotated_set(now: SystemTime, step: &mut Leader) {
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
    assert!(matches!(step.poll(now), StepAction::Confirm(_)));
    drop(step);
    assert!(is_interrupted(&flight, false));
    assert!(matches!(
        flight.with(|state| state.lifecycle.status(now)),
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
