//! The async transport on real runtimes: Send futures, both runtime flavours, one pool shared by
//! many tasks, HTTP/2 by ALPN.

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{RefreshToken, Revocation, Scope};
use pinterest_oauth_hyper::Client;
use pinterest_oauth_tests::transports::{config_for, settings_for};

fn assert_send<T: Send>(_: &T) {}

fn fake(tls: bool) -> FakePinterest {
    FakePinterest::start(FakeConfig {
        tls,
        ..FakeConfig::default()
    })
    .unwrap()
}

fn client(fake: &FakePinterest) -> Client {
    Client::with_http_config(config_for(fake), &settings_for(fake)).unwrap()
}

#[test]
fn every_future_is_send() {
    let fake = fake(false);
    let client = client(&fake);
    let refresh = RefreshToken::new("pinr_x");
    let redirect = pinterest_oauth_core::RedirectUri::new("http://localhost:8085/").unwrap();
    let revocation = Revocation::refresh_token(refresh.clone());
    // Built, checked, never polled.
    assert_send(&client.refresh(&refresh));
    assert_send(
        &client.exchange_code(pinterest_oauth_core::AuthorizationCode::new("c"), &redirect),
    );
    assert_send(&client.client_credentials(&[Scope::AdsRead]));
    assert_send(&client.revoke(&revocation));
    let request = pinterest_oauth_core::token_request(
        client.config(),
        &pinterest_oauth_core::Grant::refresh_token(refresh.clone()),
    );
    assert_send(&pinterest_oauth_transport::AsyncHttp::execute(
        client.http(),
        request,
    ));
    let source = pinterest_oauth_hyper::TokenSource::new(
        client.clone(),
        pinterest_oauth_hyper::MemoryStore::new(),
    )
    .unwrap();
    assert_send(&source.access_token());
    assert_send(&source.refresh_now());
}

#[test]
fn works_on_a_current_thread_runtime() {
    let fake = fake(true);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = client(&fake);
    let token = runtime
        .block_on(client.client_credentials(&[Scope::AdsRead]))
        .unwrap();
    assert_eq!(token.scopes(), [Scope::AdsRead]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_share_one_pool() {
    let fake = fake(false);
    let client = client(&fake);
    // One task after another, each on its own spawned task: one kept-alive connection.
    for _ in 0..10 {
        let client = client.clone();
        tokio::spawn(async move { client.client_credentials(&[Scope::AdsRead]).await })
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(fake.stats().connections, 1);
    assert_eq!(fake.stats().token.client_credentials, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_by_alpn_multiplexes_concurrent_tasks_over_one_connection() {
    let fake = fake(true);
    let client = client(&fake);
    client.client_credentials(&[Scope::AdsRead]).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.client_credentials(&[Scope::AdsRead]).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 21);
    assert!(
        requests.iter().all(|r| r.version == "HTTP/2.0"),
        "{:?}",
        requests[0].version
    );
    assert_eq!(fake.stats().connections, 1);
}

#[test]
fn ureq_speaks_http1_over_tls() {
    let fake = fake(true);
    let client =
        pinterest_oauth_ureq::Client::with_http_config(config_for(&fake), &settings_for(&fake))
            .unwrap();
    client.client_credentials(&[Scope::AdsRead]).unwrap();
    assert_eq!(fake.requests()[0].version, "HTTP/1.1");
}
