//! A virtual day of random answers, persist failures and callers: the lifecycle never sends
//! token requests outside its budget, and never drops the refresh token the server last issued.
//!
//! The server is the simulated Pinterest the lifecycle fuzz target uses too (`sim/pinterest.rs`).
//! `PINTEREST_OAUTH_DAY_CASES` sets how many days are tried (a thousand by default).
//!
//! The driver is as eager as a real one can be: it polls again the moment
//! [`TokenLifecycle::poll_timeout`] says something may be due.

use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    Action, Failure, Grant, LifecycleConfig, Status, TokenLifecycle, http, parse_token_response,
};
use proptest::prelude::*;

#[path = "sim/pinterest.rs"]
mod pinterest;
use pinterest::{Answer, Server, asked, refresh_token_of};

const DAY: Duration = Duration::from_secs(86_400);
const BUDGET: Duration = Duration::from_secs(60);

fn lifetime() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        1u64..120,
        (0u32..=40).prop_map(|bits| 1u64 << bits),
        0u64..(1 << 40),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        8 => (lifetime(), any::<bool>(), proptest::option::of(lifetime()), any::<bool>())
            .prop_map(|(lifetime, rotate, refresh_lifetime, with_scope)| Answer::Token {
                lifetime, rotate, refresh_lifetime, with_scope
            }),
        3 => proptest::option::of(0u64..(1 << 20)).prop_map(|retry_after| Answer::ServerError { retry_after }),
        2 => (proptest::option::of(0u64..(1 << 20)), proptest::option::of(0u64..(1 << 12)))
            .prop_map(|(retry_after, reset)| Answer::RateLimited { retry_after, reset }),
        2 => Just(Answer::Network),
        1 => Just(Answer::InvalidGrant),
        1 => Just(Answer::Refused),
        1 => (any::<u16>(), proptest::option::of(0u64..(1 << 20)), proptest::option::of(0u64..(1 << 12)), any::<i64>())
            .prop_map(|(status, retry_after, reset, code)| Answer::Status { status, retry_after, reset, code }),
    ]
}

/// What a caller does between two polls.
#[derive(Debug, Clone)]
enum Caller {
    Nothing,
    /// The API refused the access token.
    RequestRefresh,
    /// The store was re-read (another process might have written it).
    Reload,
}

fn step() -> impl Strategy<Value = (u64, Caller)> {
    (
        prop_oneof![0u64..5, 0u64..300, 0u64..20_000],
        prop_oneof![
            6 => Just(Caller::Nothing),
            2 => Just(Caller::RequestRefresh),
            1 => Just(Caller::Reload),
        ],
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Success,
    /// A failure, with what the server asked to wait (capped as the lifecycle caps it).
    Failed {
        asked: Duration,
    },
    Final,
}

/// How many virtual days: `PINTEREST_OAUTH_DAY_CASES`, else a thousand.
fn day_cases() -> u32 {
    std::env::var("PINTEREST_OAUTH_DAY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    // A thousand days by default (a second or two); `.ci/run` sets ten thousand.
    #![proptest_config(ProptestConfig { cases: day_cases(), ..ProptestConfig::default() })]

    #[test]
    fn a_day_of_random_answers_keeps_the_budget_and_the_grant(
        answers in proptest::collection::vec(answer(), 1..40),
        persists in proptest::collection::vec(any::<bool>(), 1..8),
        steps in proptest::collection::vec(step(), 1..64),
        entropy in any::<u64>(),
    ) {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (mut server, first) = Server::start(t0);
        let mut lifecycle = TokenLifecycle::new(LifecycleConfig::default(), first);
        let mut stored = lifecycle.document();
        let (mut next_answer, mut next_persist, mut next_step) = (0usize, 0usize, 0usize);
        let mut last: Option<(SystemTime, Outcome)> = None;
        let mut sends = 0u32;
        let mut sent_at: Vec<SystemTime> = Vec::new();
        let mut now = t0;

        while now < t0 + DAY {
            // Carry out everything the lifecycle wants now.
            for _ in 0..16 {
                match lifecycle.poll(now) {
                    Some(Action::Send(grant)) => {
                        sends += 1;
                        sent_at.push(now);
                        if sent_at.len() > 5 {
                            let fifth_last = sent_at[sent_at.len() - 6];
                            prop_assert!(now >= fifth_last + Duration::from_secs(300),
                                "six requests within {:?}", now.duration_since(fifth_last));
                        }
                        if let Some((at, outcome)) = last {
                            match outcome {
                                Outcome::Success => prop_assert!(now >= at + BUDGET,
                                    "sent {:?} after a success", now.duration_since(at)),
                                Outcome::Failed { asked } => prop_assert!(now > at && now >= at + asked,
                                    "sent {:?} after a failure that asked {asked:?}", now.duration_since(at)),
                                Outcome::Final => prop_assert!(false, "sent after a final failure"),
                            }
                        }
                        let Grant::RefreshToken(refresh) = grant else { panic!("a user grant") };
                        prop_assert_eq!(refresh.refresh_token().secret(), server.valid.as_str(),
                            "only the valid refresh token is ever spent");
                        let answer = &answers[next_answer % answers.len()];
                        next_answer += 1;
                        match server.respond(now, answer) {
                            Ok(token) => {
                                lifecycle.handle_token(now, token);
                                last = Some((now, Outcome::Success));
                            }
                            Err(failure) => {
                                let outcome = match failure {
                                    Failure::InvalidGrant | Failure::Permanent { .. } => Outcome::Final,
                                    _ => Outcome::Failed { asked: asked(answer) },
                                };
                                lifecycle.handle_failure(now, failure, entropy.rotate_left(sends));
                                last = Some((now, outcome));
                            }
                        }
                    }
                    Some(Action::Persist(doc)) => {
                        if persists[next_persist % persists.len()] {
                            stored = Some(doc);
                            lifecycle.confirm_persisted();
                        } else {
                            lifecycle.persist_failed(now, entropy);
                        }
                        next_persist += 1;
                    }
                    None => break,
                    Some(other) => panic!("{other:?}"),
                }
            }

            // The grant is never lost: the server's valid refresh token is current or unsaved
            // (then the transport keeps it in a recovery file), and the store holds it or an
            // unsaved set is pending.
            let held = refresh_token_of(lifecycle.unsaved().map(|d| d.token()).or(lifecycle.token()));
            prop_assert_eq!(held.as_deref(), Some(server.valid.as_str()));
            let in_store = refresh_token_of(stored.as_ref().map(|d| d.token()));
            prop_assert!(in_store.as_deref() == Some(server.valid.as_str()) || lifecycle.unsaved().is_some());
            // Never an expired or unusable token.
            if let Some(access) = lifecycle.access_token(now) {
                let token = lifecycle.token().unwrap();
                prop_assert_eq!(Some(access), token.access_token());
                prop_assert!(now < token.expires_at());
            }
            // After a final failure nothing moves.
            if matches!(last, Some((_, Outcome::Final))) {
                prop_assert!(matches!(
                    lifecycle.status(now),
                    Status::ConsentNeeded | Status::Stopped { .. } | Status::Persisting
                ), "{:?}", lifecycle.status(now));
            }

            // A caller acts, then time passes: to the next step, or sooner if something is due.
            let (advance, caller) = &steps[next_step % steps.len()];
            next_step += 1;
            match caller {
                Caller::Nothing => {}
                Caller::RequestRefresh => lifecycle.request_refresh(),
                Caller::Reload => {
                    if let Some(doc) = stored.clone() {
                        lifecycle.handle_loaded(now, doc);
                    }
                }
            }
            let mut next = now + Duration::from_secs((*advance).max(1));
            if let Some(due) = lifecycle.poll_timeout() && due > now && due < next {
                next = due;
            }
            now = next;
        }
        // The ceiling bounds the day: five requests in any five minutes.
        prop_assert!(sends <= 86_400 / 60 + 5, "{sends} requests in a day");
    }
}

#[test]
fn a_server_answering_expired_tokens_costs_one_request_a_minute() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let expired = |at, n: u32| {
        parse_token_response(
            at,
            &http::Response::new(format!(
                r#"{{"access_token":"pina_{n}","expires_in":0,"refresh_token":"pinr_{n}"}}"#
            )),
        )
        .unwrap()
    };
    let mut lifecycle = TokenLifecycle::new(LifecycleConfig::default(), expired(t0, 0));
    let mut sends = 0;
    let mut now = t0;
    while now < t0 + Duration::from_secs(3600) {
        while let Some(action) = lifecycle.poll(now) {
            match action {
                Action::Send(_) => {
                    sends += 1;
                    lifecycle.handle_token(now, expired(now, sends));
                }
                Action::Persist(_) => lifecycle.confirm_persisted(),
                other => panic!("{other:?}"),
            }
        }
        now += Duration::from_millis(100);
    }
    assert_eq!(sends, 60, "an hour of expired answers polled every 100 ms");
}
