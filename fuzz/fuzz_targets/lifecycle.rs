//! The token lifecycle driven by any sequence of answers, store outcomes, callers, stray calls
//! and time steps. Never panics; never more than the budget's ceiling of requests in its
//! window (forced ones included); nothing after an invalid grant; only the refresh token the
//! server last issued is spent; that token is always held (current or unsaved); and nothing,
//! not even a forced refresh, is sent before a 429's wait is over. The server is the simulated
//! Pinterest the day-long property test uses too.
#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::{
    Action, Failure, Grant, LifecycleConfig, TokenDocument, TokenLifecycle, parse_token_response,
};

/// The simulated Pinterest the day-long property test uses too.
#[path = "../../crates/oauth-core/tests/sim/pinterest.rs"]
mod pinterest;
use pinterest::{Answer, Server, asked, refresh_token_of};

/// What the server answers to one request (see [`pinterest::Answer`]).
#[derive(Arbitrary, Debug, Clone)]
enum FuzzAnswer {
    Token {
        lifetime: u32,
        rotate: bool,
        refresh_lifetime: Option<u32>,
        with_scope: bool,
    },
    ServerError {
        retry_after: Option<u32>,
    },
    RateLimited {
        retry_after: Option<u32>,
        reset: Option<u16>,
    },
    Status {
        status: u16,
        retry_after: Option<u32>,
        reset: Option<u16>,
        code: i16,
    },
    Network,
    InvalidGrant,
    Refused,
}

impl From<&FuzzAnswer> for Answer {
    fn from(answer: &FuzzAnswer) -> Answer {
        let wide = |v: Option<u32>| v.map(u64::from);
        match *answer {
            FuzzAnswer::Token {
                lifetime,
                rotate,
                refresh_lifetime,
                with_scope,
            } => Answer::Token {
                lifetime: lifetime.into(),
                rotate,
                refresh_lifetime: wide(refresh_lifetime),
                with_scope,
            },
            FuzzAnswer::ServerError { retry_after } => Answer::ServerError {
                retry_after: wide(retry_after),
            },
            FuzzAnswer::RateLimited { retry_after, reset } => Answer::RateLimited {
                retry_after: wide(retry_after),
                reset: reset.map(u64::from),
            },
            FuzzAnswer::Status {
                status,
                retry_after,
                reset,
                code,
            } => Answer::Status {
                status,
                retry_after: wide(retry_after),
                reset: reset.map(u64::from),
                code: code.into(),
            },
            FuzzAnswer::Network => Answer::Network,
            FuzzAnswer::InvalidGrant => Answer::InvalidGrant,
            FuzzAnswer::Refused => Answer::Refused,
        }
    }
}

/// One step of the driver.
#[derive(Arbitrary, Debug)]
enum Op {
    /// Time passes (seconds, or up to the next deadline when `0`).
    Advance(u16),
    /// A long pause.
    Sleep(u32),
    /// Carry out what the lifecycle wants now: answers to sends, store outcomes to persists.
    Poll {
        answer: FuzzAnswer,
        persisted: bool,
        entropy: u64,
    },
    RequestRefresh,
    ForceRefresh,
    /// Another process's copy of the store is read back.
    Reload,
    /// The store could not be locked.
    StoreFailure(u64),
    /// Calls nobody asked for: they must change nothing.
    StrayToken,
    StrayFailure,
    StrayConfirm,
    StrayPersistFailed,
}

fuzz_target!(|ops: Vec<Op>| {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let config = LifecycleConfig::default();
    let (mut server, first) = Server::start(t0);
    let mut lifecycle = TokenLifecycle::new(config.clone(), first);
    let mut stored: Option<TokenDocument> = lifecycle.document();
    let mut now = t0;
    let mut sent: Vec<SystemTime> = Vec::new();
    let mut invalid_grant = false;
    let mut rate_limited_until: Option<SystemTime> = None;

    for op in ops.iter().take(512) {
        match op {
            Op::Advance(0) => {
                if let Some(due) = lifecycle.poll_timeout().filter(|d| *d > now) {
                    now = due.min(now + Duration::from_secs(86_400));
                }
            }
            Op::Advance(s) => now += Duration::from_secs(u64::from(*s)),
            Op::Sleep(s) => now += Duration::from_secs(u64::from(*s)),
            Op::Poll {
                answer: reply,
                persisted,
                entropy,
            } => {
                for _ in 0..8 {
                    match lifecycle.poll(now) {
                        Some(Action::Send(grant)) => {
                            assert!(!invalid_grant, "a request after an invalid grant");
                            sent.push(now);
                            // Pinterest's rate limit binds even a forced refresh.
                            if let Some(until) = rate_limited_until {
                                assert!(now >= until, "sent before a 429's wait was over");
                            }
                            let window = config.budget_window();
                            let recent = sent
                                .iter()
                                .filter(|t| now.duration_since(**t).is_ok_and(|d| d < window))
                                .count();
                            assert!(
                                recent <= config.burst() as usize,
                                "{recent} requests within {window:?}"
                            );
                            let Grant::RefreshToken(refresh) = grant else {
                                panic!("a user grant")
                            };
                            assert_eq!(
                                refresh.refresh_token().secret(),
                                server.valid,
                                "only the valid refresh token is spent"
                            );
                            let reply = Answer::from(reply);
                            match server.respond(now, &reply) {
                                Ok(token) => lifecycle.handle_token(now, token),
                                Err(failure) => {
                                    if matches!(failure, Failure::RateLimited { .. }) {
                                        rate_limited_until = Some(now + asked(&reply));
                                    }
                                    invalid_grant |= failure == Failure::InvalidGrant;
                                    lifecycle.handle_failure(now, failure, *entropy);
                                }
                            }
                        }
                        Some(Action::Persist(document)) => {
                            if *persisted {
                                stored = Some(document);
                                lifecycle.confirm_persisted();
                            } else {
                                lifecycle.persist_failed(now, *entropy);
                            }
                        }
                        Some(other) => panic!("{other:?}"),
                        None => break,
                    }
                }
            }
            Op::RequestRefresh => lifecycle.request_refresh(),
            Op::ForceRefresh => lifecycle.force_refresh(),
            Op::Reload => {
                if let Some(document) = stored.clone() {
                    lifecycle.handle_loaded(now, document);
                }
            }
            Op::StoreFailure(entropy) => lifecycle.handle_store_failure(now, *entropy),
            stray => {
                let before = (lifecycle.document(), lifecycle.unsaved().cloned());
                match stray {
                    Op::StrayToken => {
                        let token = parse_token_response(
                            now,
                            &pinterest_oauth_core::http::Response::new(
                                r#"{"access_token":"pina_x","expires_in":60,"refresh_token":"pinr_x"}"#,
                            ),
                        )
                        .unwrap();
                        lifecycle.handle_token(now, token);
                    }
                    Op::StrayFailure => lifecycle.handle_failure(now, Failure::InvalidGrant, 0),
                    Op::StrayConfirm => lifecycle.confirm_persisted(),
                    _ => lifecycle.persist_failed(now, 0),
                }
                // A stray call may only settle a persist the driver left announced (never here:
                // every announced persist is answered at once).
                assert_eq!(
                    before,
                    (lifecycle.document(), lifecycle.unsaved().cloned()),
                    "{stray:?} changed the lifecycle"
                );
            }
        }
        // The grant is never lost: the server's valid refresh token is held, current or unsaved.
        let held = refresh_token_of(lifecycle.unsaved().map(|d| d.token()).or(lifecycle.token()));
        assert_eq!(
            held.as_deref(),
            Some(server.valid.as_str()),
            "the valid refresh token was dropped"
        );
        let _ = (
            lifecycle.status(now),
            lifecycle.refresh_due_at(),
            lifecycle.refresh_token_lapses_at(now),
        );
    }
});
