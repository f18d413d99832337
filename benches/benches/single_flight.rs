//! Single flight at scale: the time for 10,000 concurrent tasks to all get a token across one
//! expiry, and for 8 processes sharing one token file; each must cost exactly one refresh (the
//! count is checked every iteration; the time is reported, never asserted).
//!
//! `cargo bench -p pinterest-oauth-benches --bench single_flight`

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use divan::Bencher;
use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{
    AppId, AppSecret, AuthorizationCode, BaseUrl, ClientConfig, RedirectUri, TokenDocument,
};
use pinterest_oauth_store::{FileStore, MemoryStore, TokenStore};
use pinterest_oauth_transport::{FromHttpConfig, HttpConfig};

/// Set in the environment of this binary run as one of the processes sharing a file.
const CHILD: &str = "PINTEREST_OAUTH_BENCH_CHILD";

fn main() {
    if let Ok(file) = std::env::var(CHILD) {
        return child(Path::new(&file));
    }
    divan::main();
}

const REDIRECT: &str = "http://localhost:8085/";

fn config(fake: &FakePinterest) -> ClientConfig {
    ClientConfig::new(
        AppId::new(fake.app_id()).unwrap(),
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url()).unwrap())
}

/// A fake whose access tokens live two seconds (a set is already expired when the next
/// iteration starts, after a log-in that waits them out).
fn fake() -> FakePinterest {
    FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .unwrap()
}

/// A fresh grant whose access token has expired (its refresh token is valid).
fn expired_grant(fake: &FakePinterest) -> TokenDocument {
    let http = pinterest_oauth_ureq::HttpClient::from_http_config(&HttpConfig::default()).unwrap();
    let client = pinterest_oauth_ureq::Client::with_http(config(fake), http);
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let token = client
        .exchange_code(
            AuthorizationCode::new(code),
            &RedirectUri::new(REDIRECT).unwrap(),
        )
        .unwrap();
    let document = TokenDocument::new(token);
    let wait = document
        .token()
        .expires_at()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    std::thread::sleep(wait + Duration::from_millis(1100));
    document
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn ten_thousand_tasks_across_an_expiry(bencher: Bencher<'_, '_>) {
    let fake = fake();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client =
        pinterest_oauth_hyper::Client::with_http_config(config(&fake), &HttpConfig::default())
            .unwrap();
    bencher
        .with_inputs(|| {
            let store = MemoryStore::with_document(expired_grant(&fake));
            let source = pinterest_oauth_hyper::TokenSource::new(client.clone(), store).unwrap();
            (source, fake.stats().token.refresh_token)
        })
        .bench_values(|(source, before)| {
            runtime.block_on(async {
                let tasks: Vec<_> = (0..10_000)
                    .map(|_| {
                        let source = source.clone();
                        tokio::spawn(async move { source.access_token().await })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap().unwrap();
                }
            });
            assert_eq!(fake.stats().token.refresh_token, before + 1, "one refresh");
        });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn eight_processes_sharing_a_token_file(bencher: Bencher<'_, '_>) {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    let store = FileStore::new(&file);
    let me = std::env::current_exe().unwrap();
    bencher
        .with_inputs(|| {
            let _ = std::fs::remove_file(&file);
            let lock = store.lock().unwrap();
            store.save(&lock, &expired_grant(&fake)).unwrap();
            fake.stats().token.refresh_token
        })
        .bench_values(|before| {
            let children: Vec<_> = (0..8)
                .map(|_| {
                    Command::new(&me)
                        .env(CHILD, &file)
                        .env("APP_ID", fake.app_id())
                        .env("APP_SECRET", fake.app_secret())
                        .env("API_BASE", fake.api_base_url())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for mut child in children {
                assert!(child.wait().unwrap().success());
            }
            assert_eq!(fake.stats().token.refresh_token, before + 1, "one refresh");
        });
}

/// One process sharing the file: asks for a token, exits 0 on success.
fn child(file: &Path) {
    let env = |name: &str| std::env::var(name).unwrap();
    let config = ClientConfig::new(
        AppId::new(env("APP_ID")).unwrap(),
        AppSecret::new(env("APP_SECRET")),
    )
    .with_base_url(BaseUrl::parse(&env("API_BASE")).unwrap());
    let http = pinterest_oauth_ureq::HttpClient::from_http_config(&HttpConfig::default()).unwrap();
    let client = pinterest_oauth_ureq::Client::with_http(config, http);
    let source = pinterest_oauth_ureq::TokenSource::new(client, FileStore::new(file)).unwrap();
    if let Err(e) = source.access_token() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
