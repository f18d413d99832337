//! A virtual day of random answers, persist failures and callers: the lifecycle never sends
//! token requests outside its budget, and never drops the refresh token the server last issued.
//!
//! The driver is as eager as a real one can be: it polls again the moment
//! [`TokenLifecycle::poll_timeout`] says something may be due.

use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    Action, Failure, Grant, LifecycleConfig, Status, StopReason, Token, TokenLifecycle, http,
    parse_token_response,
};
use proptest::prelude::*;

const DAY: Duration = Duration::from_secs(86_400);
const BUDGET: Duration = Duration::from_secs(60);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What the server answers to one request.
#[derive(Debug, Clone)]
enum Answer {
    Token {
        /// `expires_in`, 0 to 2⁴⁰ seconds.
        lifetime: u64,
        /// A new refresh token (continuous refresh), or none (legacy: the old one stays).
        rotate: bool,
        refresh_lifetime: Option<u64>,
        with_scope: bool,
    },
    ServerError {
        retry_after: Option<u64>,
    },
    RateLimited {
        retry_after: Option<u64>,
        reset: Option<u64>,
    },
    Network,
    InvalidGrant,
    Refused,
}

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

/// The server: which refresh token is the valid one.
struct Server {
    valid: String,
    issued: u64,
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

fn respond(server: &mut Server, now: SystemTime, answer: &Answer) -> Result<Token, Failure> {
    let status = |code: u16, headers: &[(&str, String)], body: &str| {
        let mut builder = http::Response::builder().status(code);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let response = builder.body(body.to_owned()).unwrap();
        Err(Failure::of(
            &parse_token_response(now, &response).unwrap_err(),
        ))
    };
    match answer {
        Answer::Token {
            lifetime,
            rotate,
            refresh_lifetime,
            with_scope,
        } => {
            server.issued += 1;
            let mut body = format!(
                r#"{{"access_token":"pina_{}","token_type":"bearer","expires_in":{lifetime}"#,
                server.issued
            );
            if *rotate {
                server.valid = format!("pinr_{}", server.issued);
                body.push_str(&format!(r#","refresh_token":"{}""#, server.valid));
                if let Some(life) = refresh_lifetime {
                    body.push_str(&format!(r#","refresh_token_expires_in":{life}"#));
                }
            }
            if *with_scope {
                body.push_str(r#","scope":"boards:read""#);
            }
            body.push('}');
            Ok(parse_token_response(now, &http::Response::new(body)).unwrap())
        }
        Answer::ServerError { retry_after } => {
            let headers: Vec<_> = retry_after
                .iter()
                .map(|s| ("retry-after", s.to_string()))
                .collect();
            status(503, &headers, r#"{"code":3,"message":"unavailable"}"#)
        }
        Answer::RateLimited { retry_after, reset } => {
            let mut headers: Vec<_> = retry_after
                .iter()
                .map(|s| ("retry-after", s.to_string()))
                .collect();
            headers.extend(reset.iter().map(|s| ("x-ratelimit-reset", s.to_string())));
            status(
                429,
                &headers,
                r#"{"code":8,"message":"Max rate limit exceeded"}"#,
            )
        }
        Answer::Network => Err(Failure::Transient { retry_after: None }),
        Answer::InvalidGrant => status(
            401,
            &[],
            r#"{"code":283,"message":"The authorization grant is invalid"}"#,
        ),
        Answer::Refused => status(401, &[], r#"{"code":2,"message":"Authentication failed."}"#),
    }
}

fn asked(answer: &Answer) -> Duration {
    let secs = match answer {
        Answer::ServerError { retry_after } => retry_after.unwrap_or(0),
        Answer::RateLimited { retry_after, reset } => {
            retry_after.unwrap_or(0).max(reset.unwrap_or(0))
        }
        _ => 0,
    };
    Duration::from_secs(secs).min(MAX_RETRY_AFTER)
}

fn refresh_token_of(token: Option<&Token>) -> Option<String> {
    token?.refresh_token().map(|t| t.secret().to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn a_day_of_random_answers_keeps_the_budget_and_the_grant(
        answers in proptest::collection::vec(answer(), 1..40),
        persists in proptest::collection::vec(any::<bool>(), 1..8),
        steps in proptest::collection::vec(step(), 1..64),
        entropy in any::<u64>(),
    ) {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut server = Server { valid: "pinr_0".into(), issued: 0 };
        let first = parse_token_response(t0, &http::Response::new(
            r#"{"access_token":"pina_0","token_type":"bearer","expires_in":3600,"scope":"boards:read","refresh_token":"pinr_0","refresh_token_expires_in":5184000}"#,
        )).unwrap();
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
                        match respond(&mut server, now, answer) {
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
                    Status::ConsentNeeded | Status::Stopped { reason: StopReason::InvalidClient } | Status::Persisting
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
