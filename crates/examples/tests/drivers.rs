//! Both bring-your-own-transport drivers run every grant and a revocation against the fake:
//! the core needs nothing from this project's transports.

use examples::drivers::{self, reqwest_driver, tcp_driver};
use fake_pinterest::{FakeConfig, FakePinterest, Fault, Grant as FakeGrant, Route, Times};
use pinterest_oauth_core::{AppId, AppSecret, BaseUrl, ClientConfig, RedirectUri};

const REDIRECT: &str = "http://localhost:8085/";

fn setup() -> (FakePinterest, ClientConfig, RedirectUri) {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let config = ClientConfig::new(
        AppId::new(fake.app_id()).unwrap(),
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url()).unwrap());
    (fake, config, RedirectUri::new(REDIRECT).unwrap())
}

fn check(fake: &FakePinterest, rotated: &pinterest_oauth_core::Token, steps: usize) {
    let stats = fake.stats();
    assert_eq!(stats.token.authorization_code, 1);
    assert_eq!(stats.token.refresh_token, 1);
    assert_eq!(stats.token.client_credentials, 1);
    assert_eq!(stats.revoke, 1);
    assert_eq!(steps, 4);
    let refresh = drivers::refresh_secret(rotated).unwrap();
    assert!(
        fake.refresh_token_valid(refresh),
        "the rotated refresh token is live"
    );
    assert!(fake.access_token_valid(rotated.access_token().unwrap().secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_and_a_revocation_over_reqwest() {
    let (fake, config, redirect) = setup();
    let client = reqwest_driver::client().unwrap();
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let (rotated, run) = drivers::every_grant(&config, &code, &redirect, |request| {
        reqwest_driver::send(&client, request)
    })
    .await
    .unwrap();
    check(&fake, &rotated, run.steps.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_and_a_revocation_over_a_bare_tcp_stream() {
    let (fake, config, redirect) = setup();
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let (rotated, run) = drivers::every_grant(&config, &code, &redirect, |request| async move {
        tokio::task::spawn_blocking(move || tcp_driver::send(request))
            .await
            .unwrap()
    })
    .await
    .unwrap();
    check(&fake, &rotated, run.steps.len());
}

#[test]
fn the_bare_driver_refuses_what_it_cannot_do_safely() {
    let request = pinterest_oauth_core::http::Request::builder()
        .uri("http://api.example.com/v5/oauth/token")
        .body(Vec::new())
        .unwrap();
    assert!(
        tcp_driver::send(request).is_err(),
        "plain http off loopback"
    );
}

/// What each driver makes of a server that misbehaves: an endless chunked body, a declared
/// 10 MiB body, a redirect. Neither reads past the cap, neither follows the redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_drivers_cap_bodies_and_never_follow_a_redirect() {
    use pinterest_oauth_core::{ClientCredentialsGrant, Grant, Scope, http};
    let (fake, config, _) = setup();
    let route = Route::Grant(FakeGrant::ClientCredentials);
    let request = || {
        let grant =
            Grant::ClientCredentials(ClientCredentialsGrant::new(vec![Scope::AdsRead]).unwrap());
        pinterest_oauth_core::token_request(&config, &grant)
    };
    let client = reqwest_driver::client().unwrap();
    let over_tcp = |request| async move {
        tokio::task::spawn_blocking(move || tcp_driver::send(request))
            .await
            .unwrap()
    };
    let faults = [
        Fault::Endless { declared: None },
        Fault::Endless {
            declared: Some(10 << 20),
        },
    ];
    for fault in faults {
        fake.push_fault(route, fault.clone(), Times::Once);
        let err = reqwest_driver::send(&client, request()).await.unwrap_err();
        assert!(
            err.to_string().contains("body cap"),
            "reqwest, {fault:?}: {err}"
        );
        fake.push_fault(route, fault.clone(), Times::Once);
        let err = over_tcp(request()).await.unwrap_err();
        assert!(
            err.to_string().contains("body cap") || err.to_string().contains("chunked"),
            "tcp, {fault:?}: {err}"
        );
    }
    let redirect = Fault::Redirect {
        status: http::StatusCode::FOUND,
        location: format!("{}/oauth/token", fake.api_base_url()),
    };
    fake.push_fault(route, redirect.clone(), Times::Once);
    let answer = reqwest_driver::send(&client, request()).await.unwrap();
    assert_eq!(answer.status(), http::StatusCode::FOUND, "returned as data");
    fake.push_fault(route, redirect, Times::Once);
    let answer = over_tcp(request()).await.unwrap();
    assert_eq!(answer.status(), http::StatusCode::FOUND, "returned as data");
    assert!(
        pinterest_oauth_core::parse_token_response(std::time::SystemTime::now(), &answer).is_err()
    );
    // Six requests sent, six counted: a redirect followed would have been a seventh (answered
    // normally, the fault being spent).
    assert_eq!(
        fake.stats().token.client_credentials,
        6,
        "nothing was followed"
    );
}
