//! One-shot calls retry what is safe to send again, within attempts, a deadline and the
//! client's request budget; an authorization code is never sent twice once a byte of it may
//! have reached the server, wherever the connection dies.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fake_pinterest::{Cut, FakeConfig, FakePinterest, Fault, Grant, Route, Times};
use pinterest_oauth_core::http::Request;
use pinterest_oauth_core::{AuthorizationCode, RedirectUri, RefreshToken, Scope};
use pinterest_oauth_tests::transports::{Kind, client, config_for, http, settings_for};
use pinterest_oauth_transport::blocking::Client;
use pinterest_oauth_transport::{
    Http, RetryConfig, SecretResponse, TransportError, TransportErrorKind,
};

const REDIRECT: &str = "http://localhost:8085/";

/// Retries with short backoffs (the test measures counts, never time).
fn fast() -> RetryConfig {
    RetryConfig::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

fn fake() -> FakePinterest {
    FakePinterest::start(FakeConfig::default()).unwrap()
}

fn retrying(kind: Kind, fake: &FakePinterest) -> Client<Box<dyn Http>> {
    client(kind, config_for(fake), &settings_for(fake)).with_retry(fast())
}

fn code(fake: &FakePinterest) -> AuthorizationCode {
    AuthorizationCode::new(fake.issue_code(REDIRECT, &["boards:read"]))
}

fn redirect() -> RedirectUri {
    RedirectUri::new(REDIRECT).unwrap()
}

/// Where a code exchange's connection dies.
#[derive(Debug, Clone)]
enum Stage {
    Cut(Cut),
    Fault(Fault),
}

#[test]
fn a_code_is_never_sent_twice_wherever_the_connection_dies() {
    let stages = [
        ("closed as accepted", Stage::Cut(Cut::OnAccept)),
        ("closed after 20 bytes", Stage::Cut(Cut::AfterBytes(20))),
        ("closed after 200 bytes", Stage::Cut(Cut::AfterBytes(200))),
        (
            "carried out, nothing answered",
            Stage::Fault(Fault::LoseAnswer { sent: 0 }),
        ),
        (
            "carried out, 7 bytes answered",
            Stage::Fault(Fault::LoseAnswer { sent: 7 }),
        ),
        (
            "carried out, the head answered",
            Stage::Fault(Fault::LoseAnswer { sent: 70 }),
        ),
        (
            "carried out, half the body answered",
            Stage::Fault(Fault::LoseAnswer { sent: 200 }),
        ),
        ("answered 503", Stage::Fault(Fault::unavailable())),
        (
            "answered 429 with Retry-After: 1",
            Stage::Fault(Fault::rate_limited(1)),
        ),
        (
            "answered a 502 page",
            Stage::Fault(Fault::bad_gateway_html()),
        ),
    ];
    for kind in Kind::ALL {
        for (name, stage) in &stages {
            let fake = fake();
            let client = retrying(kind, &fake);
            let reached_endpoint = match stage {
                Stage::Cut(cut) => {
                    fake.cut_connections(*cut, 3);
                    false
                }
                Stage::Fault(fault) => {
                    fake.push_fault(
                        Route::Grant(Grant::AuthorizationCode),
                        fault.clone(),
                        Times::Always,
                    );
                    true
                }
            };
            let result = client.exchange_code(code(&fake), &redirect());
            assert!(result.is_err(), "{kind:?} {name}: {result:?}");
            let stats = fake.stats();
            assert_eq!(
                stats.connections, 1,
                "{kind:?} {name}: the exchange was sent again"
            );
            assert_eq!(
                stats.token.authorization_code,
                u64::from(reached_endpoint),
                "{kind:?} {name}"
            );
            assert_eq!(
                stats.cut_connections,
                u64::from(!reached_endpoint),
                "{kind:?} {name}"
            );
        }
    }
}

/// An HTTP stack whose first `failures` calls fail to connect (sending nothing).
struct RefusesFirst {
    inner: Box<dyn Http>,
    failures: u32,
    calls: AtomicU32,
}

impl Http for RefusesFirst {
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(TransportError::of_kind(TransportErrorKind::Connect));
        }
        self.inner.execute(request)
    }
}

#[test]
fn a_failed_connect_is_retried_even_for_a_code() {
    for kind in Kind::ALL {
        let fake = fake();
        let stack = RefusesFirst {
            inner: http(kind, &settings_for(&fake)),
            failures: 2,
            calls: AtomicU32::new(0),
        };
        let client = Client::with_http(config_for(&fake), stack).with_retry(fast());
        let token = client.exchange_code(code(&fake), &redirect());
        assert!(token.is_ok(), "{kind:?}: {token:?}");
        assert_eq!(client.http().calls.load(Ordering::SeqCst), 3);
        assert_eq!(fake.stats().token.authorization_code, 1);
    }
}

fn refresh_token(fake: &FakePinterest, client: &Client<Box<dyn Http>>) -> RefreshToken {
    let token = client.exchange_code(code(fake), &redirect()).unwrap();
    token.refresh_token().unwrap().clone()
}

#[test]
fn refreshes_are_retried_on_503_502_504_and_429_then_succeed() {
    for kind in Kind::ALL {
        for fault in [
            Fault::unavailable(),
            Fault::bad_gateway_html(),
            Fault::status(504, r#"{"code":3,"message":"timeout"}"#),
            Fault::rate_limited(1),
        ] {
            let fake = fake();
            let client = retrying(kind, &fake);
            let refresh = refresh_token(&fake, &client);
            fake.push_fault(
                Route::Grant(Grant::RefreshToken),
                fault.clone(),
                Times::N(2),
            );
            let token = client.refresh(&refresh);
            assert!(token.is_ok(), "{kind:?} {fault:?}: {token:?}");
            assert_eq!(fake.stats().token.refresh_token, 3, "{kind:?} {fault:?}");
        }
    }
}

#[test]
fn what_retrying_cannot_mend_or_may_repeat_is_not_retried() {
    for kind in Kind::ALL {
        let cases = [
            (
                "invalid grant",
                Fault::status(
                    401,
                    r#"{"code":283,"message":"The authorization grant is invalid"}"#,
                ),
            ),
            (
                "refused client",
                Fault::status(401, r#"{"code":2,"message":"Authentication failed."}"#),
            ),
            (
                "bad request",
                Fault::status(400, r#"{"code":1,"message":"Invalid parameters."}"#),
            ),
            ("Retry-After beyond the cap", Fault::rate_limited(3600)),
            (
                "X-RateLimit-Reset beyond the cap",
                Fault::respond(
                    429,
                    &[("x-ratelimit-reset", "60")],
                    r#"{"code":8,"message":"Max rate limit exceeded"}"#,
                ),
            ),
            (
                "answer lost after the refresh was carried out",
                Fault::LoseAnswer { sent: 0 },
            ),
        ];
        for (name, fault) in cases {
            let fake = fake();
            let client = retrying(kind, &fake);
            let refresh = refresh_token(&fake, &client);
            fake.push_fault(Route::Grant(Grant::RefreshToken), fault, Times::Always);
            assert!(client.refresh(&refresh).is_err(), "{kind:?} {name}");
            assert_eq!(
                fake.stats().token.refresh_token,
                1,
                "{kind:?} {name}: retried"
            );
        }
    }
}

#[test]
fn retries_stop_at_the_attempts_the_deadline_and_the_shared_budget() {
    let kind = Kind::Ureq;
    // Attempts: 3 by default.
    let fake = fake();
    let client = retrying(kind, &fake);
    fake.push_fault(Route::Token, Fault::unavailable(), Times::Always);
    assert!(client.client_credentials(&[Scope::AdsRead]).is_err());
    assert_eq!(fake.stats().token.client_credentials, 3);

    // The deadline: no retry would start before it ends.
    let fake_2 = self::fake();
    let client = client_for_deadline(kind, &fake_2, Duration::ZERO);
    fake_2.push_fault(Route::Token, Fault::unavailable(), Times::Always);
    assert!(client.client_credentials(&[Scope::AdsRead]).is_err());
    assert_eq!(fake_2.stats().token.client_credentials, 1);

    // The budget (5 requests in 5 minutes) is shared by every call of a client and its
    // clones: the callers' 3 calls are sent, retries only while the budget has room.
    let fake_3 = self::fake();
    let client = retrying(kind, &fake_3);
    let clone = client.clone();
    fake_3.push_fault(Route::Token, Fault::unavailable(), Times::Always);
    assert!(client.client_credentials(&[Scope::AdsRead]).is_err());
    assert!(clone.client_credentials(&[Scope::AdsRead]).is_err());
    assert!(client.client_credentials(&[Scope::AdsRead]).is_err());
    assert_eq!(fake_3.stats().token.client_credentials, 3 + 2 + 1);
    assert!(client.budget().in_window(std::time::Instant::now()) <= 5);
}

fn client_for_deadline(
    kind: Kind,
    fake: &FakePinterest,
    deadline: Duration,
) -> Client<Box<dyn Http>> {
    client(kind, config_for(fake), &settings_for(fake)).with_retry(fast().with_deadline(deadline))
}
