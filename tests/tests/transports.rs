//! Every grant and revoke through both transports against the fake, over plain loopback and
//! TLS, and every failure class the transports promise.

use std::time::{Duration, SystemTime};

use fake_pinterest::{FakeConfig, FakePinterest, Fault, Route, Times};
use pinterest_oauth_core::{
    ApiErrorKind, AppId, AppSecret, AuthorizationCode, BaseUrl, ClientConfig, ConfigError,
    Malformation, RedirectUri, ResponseError, RetryAfter, Revocation, Scope, TokenType,
};
use pinterest_oauth_tests::transports::{Kind, client, client_for, config_for, settings_for};
use pinterest_oauth_transport::{CallError, ErrorKind, HttpConfig, Pkce, TransportErrorKind};

fn fake(tls: bool) -> FakePinterest {
    FakePinterest::start(FakeConfig {
        tls,
        ..FakeConfig::default()
    })
    .expect("the fake starts")
}

fn redirect_uri() -> RedirectUri {
    RedirectUri::new("http://localhost:8085/").unwrap()
}

fn api_error(err: &CallError) -> &pinterest_oauth_core::ApiError {
    match err.response() {
        Some(ResponseError::Api(api)) => api,
        other => panic!("expected an API error, got {other:?} ({err})"),
    }
}

fn malformation(err: &CallError) -> &Malformation {
    match err.response() {
        Some(ResponseError::Malformed(m)) => m.problem(),
        other => panic!("expected a malformed response, got {other:?} ({err})"),
    }
}

/// Whether the lifecycle would send the same request again later (rate limited or transient).
fn retried_later(err: &ResponseError) -> bool {
    matches!(
        pinterest_oauth_core::Failure::of(err),
        pinterest_oauth_core::Failure::Transient { .. }
            | pinterest_oauth_core::Failure::RateLimited { .. }
    )
}

fn transport_kind(err: &CallError) -> TransportErrorKind {
    match err.kind() {
        ErrorKind::Transport(kind) => kind,
        other => panic!("expected a transport error, got {other:?} ({err})"),
    }
}

/// A client-credentials call through `kind` against a fake that answers with `fault` once;
/// the fake (for its counts) and the error. `settings` changes the test settings.
fn fails_with(
    kind: Kind,
    fault: Fault,
    settings: impl FnOnce(HttpConfig) -> HttpConfig,
) -> (FakePinterest, CallError) {
    let fake = fake(false);
    fake.push_fault(Route::Token, fault, Times::Once);
    let client = client(kind, config_for(&fake), &settings(settings_for(&fake)));
    let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
    (fake, err)
}

/// The whole flow: consent, callback, exchange, refresh with rotation, client credentials,
/// revocation; checked against the fake's state and counts.
fn full_flow(kind: Kind, tls: bool) {
    let fake = fake(tls);
    let client = client_for(kind, &fake);

    let consent = client
        .authorization_url(
            &redirect_uri(),
            &[Scope::BoardsRead, Scope::PinsRead],
            // PKCE over TLS, plain code exchange over plain loopback: both are covered.
            if tls { Pkce::S256 } else { Pkce::Off },
        )
        .unwrap();
    let callback = fake.approve(consent.url().as_str()).unwrap();
    let grant = consent.callback(&callback).unwrap();
    let code = grant.code().secret().to_owned();

    let token = client.exchange(grant).unwrap();
    assert_eq!(token.token_type(), &TokenType::Bearer);
    assert_eq!(token.scopes(), [Scope::BoardsRead, Scope::PinsRead]);
    let access = token.access_token().unwrap();
    assert!(access.secret().starts_with("pina_"));
    assert!(fake.access_token_valid(access.secret()));
    let first_refresh = token.refresh_token().unwrap().clone();
    assert!(token.expires_at() > SystemTime::now() + Duration::from_secs(29 * 24 * 3600));
    assert!(token.refresh_token_expires_at().unwrap() > token.expires_at());

    // The code is single-use.
    let reused = client
        .exchange_code(AuthorizationCode::new(code), &redirect_uri())
        .unwrap_err();
    assert_eq!(api_error(&reused).kind(), ApiErrorKind::InvalidGrant);

    // Refresh rotates the refresh token; the old one is then an invalid grant.
    let refreshed = client.refresh(&first_refresh).unwrap();
    let second_refresh = refreshed.refresh_token().unwrap().clone();
    assert_ne!(second_refresh, first_refresh);
    let stale = client.refresh(&first_refresh).unwrap_err();
    assert_eq!(api_error(&stale).kind(), ApiErrorKind::InvalidGrant);
    assert_eq!(api_error(&stale).code(), Some(283));

    let app = client.client_credentials(&[Scope::AdsRead]).unwrap();
    assert!(app.refresh_token().is_none());
    assert_eq!(app.scopes(), [Scope::AdsRead]);

    // Revoked tokens stop working.
    let refreshed_access = refreshed.access_token().unwrap();
    client
        .revoke(&Revocation::access_token(refreshed_access.clone()))
        .unwrap();
    assert!(!fake.access_token_valid(refreshed_access.secret()));
    client
        .revoke(&Revocation::refresh_token(second_refresh.clone()).without_hint())
        .unwrap();
    let revoked = client.refresh(&second_refresh).unwrap_err();
    assert!(revoked.is_consent_needed());

    let stats = fake.stats();
    assert_eq!(stats.token.authorization_code, 2);
    assert_eq!(stats.token.refresh_token, 3);
    assert_eq!(stats.token.client_credentials, 1);
    assert_eq!(stats.revoke, 2);
    assert_eq!(stats.consent, 1);
    assert_eq!(stats.token.invalid, 0);
}

#[test]
fn full_flow_ureq_plain() {
    full_flow(Kind::Ureq, false);
}

#[test]
fn full_flow_ureq_tls() {
    full_flow(Kind::Ureq, true);
}

#[test]
fn full_flow_hyper_plain() {
    full_flow(Kind::Hyper, false);
}

#[test]
fn full_flow_hyper_tls() {
    full_flow(Kind::Hyper, true);
}

#[test]
fn requests_on_the_wire_are_exactly_the_cores() {
    for kind in Kind::ALL {
        let fake = fake(false);
        let client = client_for(kind, &fake);
        client
            .client_credentials(&[Scope::AdsRead, Scope::AdsWrite])
            .unwrap();
        let sent = fake.requests().pop().unwrap();
        assert_eq!(sent.method, "POST");
        assert_eq!(sent.target, "/v5/oauth/token");
        assert_eq!(
            sent.body,
            b"grant_type=client_credentials&scope=ads%3Aread%2Cads%3Awrite"
        );
        let header = |name: &str| -> Vec<&str> {
            sent.headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(
            header("content-type"),
            ["application/x-www-form-urlencoded"],
            "{kind:?}"
        );
        assert_eq!(header("accept"), ["application/json"], "{kind:?}");
        let length = sent.body.len().to_string();
        assert_eq!(header("content-length"), [length.as_str()], "{kind:?}");
        assert_eq!(
            header("user-agent"),
            [pinterest_oauth_core::DEFAULT_USER_AGENT],
            "{kind:?}"
        );
        assert_eq!(header("authorization").len(), 1, "{kind:?}");
        assert!(header("authorization")[0].starts_with("Basic "));
    }
}

#[test]
fn invalid_grant_reaches_the_caller_typed_with_its_request_id() {
    for kind in Kind::ALL {
        let fake = fake(false);
        let client = client_for(kind, &fake);
        let err = client
            .refresh(&pinterest_oauth_core::RefreshToken::new("pinr_unknown"))
            .unwrap_err();
        let api = api_error(&err);
        assert_eq!(api.status(), 401);
        assert_eq!(api.kind(), ApiErrorKind::InvalidGrant);
        assert_eq!(api.message(), Some("The authorization grant is invalid"));
        let rid = api.request_id().expect("x-pinterest-rid is kept");
        assert_eq!(rid.len(), 16, "{kind:?}: {rid}");
        assert!(err.is_consent_needed());
        assert!(!retried_later(err.response().unwrap()));
    }
}

#[test]
fn wrong_app_secret_is_a_client_authentication_error() {
    for kind in Kind::ALL {
        let fake = fake(false);
        let config = ClientConfig::new(AppId::new(fake.app_id()).unwrap(), AppSecret::new("wrong"))
            .with_base_url(BaseUrl::parse(&fake.api_base_url()).unwrap());
        let client = client(kind, config, &settings_for(&fake));
        let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
        let api = api_error(&err);
        assert_eq!(api.kind(), ApiErrorKind::ClientAuthentication, "{kind:?}");
        assert_eq!(api.code(), Some(2));
        assert!(!err.to_string().contains("wrong"), "{err}");
    }
}

#[test]
fn rate_limiting_keeps_retry_after() {
    for kind in Kind::ALL {
        let (fake, err) = fails_with(kind, Fault::rate_limited(42), |s| s);
        let api = api_error(&err);
        assert_eq!(api.kind(), ApiErrorKind::RateLimited);
        assert_eq!(
            api.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(42)))
        );
        assert!(retried_later(err.response().unwrap()));
        // The fault was one-shot: the next call succeeds.
        client_for(kind, &fake)
            .client_credentials(&[Scope::AdsRead])
            .unwrap();
    }
}

#[test]
fn an_html_502_page_is_a_malformed_transient_error() {
    for kind in Kind::ALL {
        let (_fake, err) = fails_with(kind, Fault::bad_gateway_html(), |s| s);
        assert!(matches!(
            malformation(&err),
            Malformation::NotJson { line: 1, column: 1 }
        ));
        assert_eq!(
            err.response().unwrap().status(),
            pinterest_oauth_core::http::StatusCode::BAD_GATEWAY
        );
        assert!(retried_later(err.response().unwrap()));
        assert!(err.to_string().contains("text/html"), "{err}");
        assert!(
            !err.to_string().contains("Bad Gateway</h1>"),
            "the body is not quoted"
        );
    }
}

#[test]
fn a_redirect_is_not_followed() {
    for kind in Kind::ALL {
        let fake = fake(false);
        let elsewhere = format!("{}/v5/oauth/token", fake.origin());
        fake.push_fault(
            Route::Token,
            Fault::Redirect {
                status: pinterest_oauth_core::http::StatusCode::TEMPORARY_REDIRECT,
                location: elsewhere.clone(),
            },
            Times::Once,
        );
        let client = client_for(kind, &fake);
        let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
        assert_eq!(
            malformation(&err),
            &Malformation::UnexpectedRedirect {
                location: Some(elsewhere)
            }
        );
        assert!(!retried_later(err.response().unwrap()));
        assert_eq!(
            fake.stats().token.client_credentials,
            1,
            "{kind:?}: only one request was made"
        );
    }
}

#[test]
fn a_server_that_never_answers_hits_the_timeout() {
    for kind in Kind::ALL {
        let (_fake, err) = fails_with(kind, Fault::NeverAnswer, |s| {
            s.with_timeout(Duration::from_millis(300))
        });
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Timeout,
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn an_answer_that_takes_most_of_the_timeout_is_still_read() {
    // Slower than a quarter of the timeout: every transport waits the whole timeout for the
    // answer (it may carry a rotated refresh token).
    for kind in Kind::ALL {
        let fake = FakePinterest::start(FakeConfig::default()).unwrap();
        let settings = settings_for(&fake).with_timeout(Duration::from_millis(2000));
        let client = client(kind, config_for(&fake), &settings)
            .with_retry(pinterest_oauth_transport::RetryConfig::none());
        let refresh = pinterest_oauth_tests::tokens::user_token(&fake)
            .refresh_token()
            .unwrap()
            .clone();
        fake.push_fault(
            Route::Grant(fake_pinterest::Grant::RefreshToken),
            Fault::Delay(Duration::from_millis(1200)),
            Times::Once,
        );
        let token = client.refresh(&refresh);
        assert!(token.is_ok(), "{kind:?}: {token:?}");
    }
}

#[test]
fn a_dripping_body_hits_the_timeout() {
    for kind in Kind::ALL {
        let (fake, err) = fails_with(kind, Fault::Drip(Duration::from_millis(50)), |s| {
            s.with_timeout(Duration::from_millis(400))
        });
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Timeout,
            "{kind:?}: {err}"
        );
        assert!(fake.stats().fault_body_bytes > 0, "some bytes were dripped");
    }
}

#[test]
fn a_slow_but_timely_drip_still_succeeds() {
    for kind in Kind::ALL {
        let fake = fake(false);
        fake.push_fault(
            Route::Token,
            Fault::Drip(Duration::from_millis(1)),
            Times::Once,
        );
        let client = client_for(kind, &fake);
        let token = client.client_credentials(&[Scope::AdsRead]).unwrap();
        assert_eq!(token.scopes(), [Scope::AdsRead]);
    }
}

#[test]
fn connection_refused() {
    // Bind a port, then free it: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for kind in Kind::ALL {
        let config = ClientConfig::new(AppId::new("1").unwrap(), AppSecret::new("s"))
            .with_base_url(BaseUrl::parse(&format!("http://127.0.0.1:{port}/v5")).unwrap());
        let client = client(kind, config, &HttpConfig::default());
        let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Connect,
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn a_non_loopback_http_base_url_is_refused_before_any_byte() {
    let err = BaseUrl::parse("http://api.pinterest.com/v5").unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InvalidUrl {
            problem: pinterest_oauth_core::UrlProblem::PlainHttpNotLoopback,
            ..
        }
    ));
    // Nor can a client send to one: every request's URI is checked by the layer that builds
    // it, before a byte leaves (`blocking::client::tests` sends one built by hand).
}

#[test]
fn an_oversized_declared_body_is_refused_unread() {
    for kind in Kind::ALL {
        let (fake, err) = fails_with(
            kind,
            Fault::Endless {
                declared: Some(50 << 20),
            },
            |s| s,
        );
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::BodyTooLarge,
            "{kind:?}: {err}"
        );
        // Only what fitted in socket buffers left the server, far from 50 MiB.
        let sent = fake.stats().fault_body_bytes;
        assert!(sent < 16 << 20, "{kind:?}: {sent} bytes sent");
    }
}

#[test]
fn an_endless_chunked_body_is_cut_at_the_cap_while_streaming() {
    for kind in Kind::ALL {
        let (_fake, err) = fails_with(kind, Fault::Endless { declared: None }, |s| {
            s.with_max_body(100_000)
        });
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::BodyTooLarge,
            "{kind:?}: {err}"
        );
        assert!(err.to_string().contains("100000"), "{err}");
    }
}

#[test]
fn a_connection_closed_mid_body_is_a_protocol_error() {
    for kind in Kind::ALL {
        let (_fake, err) = fails_with(
            kind,
            Fault::CloseMidBody {
                status: pinterest_oauth_core::http::StatusCode::OK,
                declared: 400,
                sent: bytes::Bytes::from_static(br#"{"access_token":"pina_cut"#),
            },
            |s| s,
        );
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Protocol,
            "{kind:?}: {err}"
        );
        assert!(!err.to_string().contains("pina_cut"), "{err}");
    }
}

#[test]
fn garbage_instead_of_http_is_a_protocol_error() {
    for kind in Kind::ALL {
        let (_fake, err) = fails_with(
            kind,
            Fault::Garbage(bytes::Bytes::from_static(b"\x00\x01SSH-2.0-nope\r\n\r\n")),
            |s| s,
        );
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Protocol,
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn tls_without_the_fakes_root_certificate_fails_verification() {
    for kind in Kind::ALL {
        let fake = fake(true);
        let client = client(kind, config_for(&fake), &HttpConfig::default());
        let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Tls,
            "{kind:?}: {err}"
        );
        assert_eq!(fake.stats().requests, 0, "no request got through");
    }
}

#[test]
fn ureq_reuses_one_connection_across_calls() {
    let fake = fake(false);
    let client = client_for(Kind::Ureq, &fake);
    for _ in 0..5 {
        client.client_credentials(&[Scope::AdsRead]).unwrap();
    }
    assert_eq!(fake.stats().connections, 1);
}

/// A careless caller: the blocking client over hyper, called and dropped straight from async
/// code (where a runtime may be neither started nor dropped), on both runtime flavours.
#[test]
fn the_blocking_hyper_client_works_and_drops_inside_a_tokio_runtime() {
    for multi_thread in [false, true] {
        let fake = fake(false);
        let runtime = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .unwrap();
        runtime.block_on(async {
            let client = client_for(Kind::Hyper, &fake);
            for _ in 0..2 {
                let token = client.client_credentials(&[Scope::AdsRead]).unwrap();
                assert!(fake.access_token_valid(token.access_token().unwrap().secret()));
            }
            drop(client);
        });
        assert_eq!(fake.stats().token.client_credentials, 2);
    }
}
