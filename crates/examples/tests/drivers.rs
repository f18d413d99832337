//! Both bring-your-own-transport drivers run every grant and a revocation against the fake:
//! the core needs nothing from this project's transports.

use examples::drivers::{self, reqwest_driver, tcp_driver};
use fake_pinterest::{FakeConfig, FakePinterest};
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
