//! The token lifecycle driven by any sequence of answers, store outcomes, callers, stray calls
//! and time steps. Never panics; never more than the budget's ceiling of requests in its
//! window (forced ones included); nothing after an invalid grant; only the refresh token the
//! server last issued is spent; and that token is always held (current or unsaved).
#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::http::Response;
use pinterest_oauth_core::{
    Action, Failure, Grant, LifecycleConfig, Token, TokenDocument, TokenLifecycle,
    parse_token_response,
};

/// What the server answers to one request.
#[derive(Arbitrary, Debug, Clone)]
enum Answer {
    Token {
        lifetime: u32,
        rotate: bool,
        refresh_lifetime: Option<u32>,
        legacy_scope: bool,
    },
    Status {
        status: u16,
        retry_after: Option<u32>,
        reset: Option<u16>,
        code: i16,
    },
    Network,
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
        answer: Answer,
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

struct Server {
    valid: String,
    issued: u64,
}

fn parse(
    now: SystemTime,
    status: u16,
    headers: &[(&'static str, String)],
    body: String,
) -> Result<Token, Failure> {
    let mut response = Response::new(body);
    *response.status_mut() = pinterest_oauth_core::http::StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    parse_token_response(now, &response).map_err(|e| Failure::of(&e))
}

fn answer(server: &mut Server, now: SystemTime, answer: &Answer) -> Result<Token, Failure> {
    match answer {
        Answer::Token {
            lifetime,
            rotate,
            refresh_lifetime,
            legacy_scope,
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
            if *legacy_scope {
                body.push_str(r#","scope":"boards:read user_accounts:read""#);
            }
            body.push('}');
            parse(now, 200, &[], body)
        }
        Answer::Status {
            status,
            retry_after,
            reset,
            code,
        } => {
            let status = 400 + status % 200;
            let mut headers = Vec::new();
            if let Some(r) = retry_after {
                headers.push(("retry-after", r.to_string()));
            }
            if let Some(r) = reset {
                headers.push(("x-ratelimit-reset", r.to_string()));
            }
            let body = format!(r#"{{"code":{code},"message":"no"}}"#);
            parse(now, status, &headers, body)
        }
        Answer::Network => Err(Failure::Transient { retry_after: None }),
    }
}

fn refresh_token(token: Option<&Token>) -> Option<String> {
    token?.refresh_token().map(|t| t.secret().to_owned())
}

fuzz_target!(|ops: Vec<Op>| {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let config = LifecycleConfig::default();
    let mut server = Server {
        valid: "pinr_0".into(),
        issued: 0,
    };
    let first = parse(
        t0,
        200,
        &[],
        r#"{"access_token":"pina_0","token_type":"bearer","expires_in":3600,"refresh_token":"pinr_0","refresh_token_expires_in":5184000}"#.into(),
    )
    .unwrap();
    let mut lifecycle = TokenLifecycle::new(config.clone(), first);
    let mut stored: Option<TokenDocument> = lifecycle.document();
    let mut now = t0;
    let mut sent: Vec<SystemTime> = Vec::new();
    let mut invalid_grant = false;

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
                            match answer(&mut server, now, reply) {
                                Ok(token) => lifecycle.handle_token(now, token),
                                Err(failure) => {
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
                        let token = parse(
                            now,
                            200,
                            &[],
                            r#"{"access_token":"pina_x","expires_in":60,"refresh_token":"pinr_x"}"#
                                .into(),
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
        let held = refresh_token(lifecycle.unsaved().map(|d| d.token()).or(lifecycle.token()));
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
