//! Many grants: listing them (`GrantStore::grants`) and one `refresh_due` pass with nothing
//! due (every document read and judged), for 1,000, 10,000 and 100,000 grants in a directory
//! of token files and in Redis (`REDIS_URL`; without it the Redis benches say they are
//! skipped). Each bench makes its grants first and removes them after.
//! `cargo bench -p pinterest-oauth-benches --bench grants_scale`

use std::time::SystemTime;

use divan::{Bencher, black_box};
use pinterest_oauth_benches::{APP_ID, APP_SECRET, CODE_ANSWER, answer};
use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, TokenDocument, parse_token_response};
use pinterest_oauth_redis::RedisGrants;
use pinterest_oauth_store::{FileGrants, GrantStore};
use pinterest_oauth_transport::FromHttpConfig;
use pinterest_oauth_ureq::{Client, HttpClient, PoolConfig, TokenPool};

fn main() {
    divan::main();
}

const SIZES: &[usize] = &[1_000, 10_000, 100_000];

/// A fresh token document (valid 30 days: nothing is due).
fn document_bytes() -> Vec<u8> {
    let token = parse_token_response(SystemTime::now(), &answer(CODE_ANSWER)).unwrap();
    TokenDocument::new(token).to_bytes().to_vec()
}

fn client() -> Client {
    let config = ClientConfig::new(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET));
    Client::with_http(
        config,
        HttpClient::from_http_config(&Default::default()).unwrap(),
    )
}

fn grant(i: usize) -> String {
    format!("customer-{i}")
}

/// `n` grants as token files (written directly: a bench of reading, not of fsync).
fn file_grants(n: usize) -> (tempfile::TempDir, FileGrants) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = document_bytes();
    for i in 0..n {
        std::fs::write(dir.path().join(format!("{}.token.json", grant(i))), &bytes).unwrap();
    }
    let grants = FileGrants::new(dir.path());
    (dir, grants)
}

fn pool<G: GrantStore>(grants: G) -> TokenPool<G> {
    TokenPool::with_config(
        client(),
        grants,
        PoolConfig::default().with_max_in_memory(1000),
    )
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn files_listing(bencher: Bencher<'_, '_>, n: usize) {
    let (_dir, grants) = file_grants(n);
    bencher.bench(|| assert_eq!(black_box(grants.grants().unwrap()).len(), n));
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn files_pass_nothing_due(bencher: Bencher<'_, '_>, n: usize) {
    let (_dir, grants) = file_grants(n);
    let pool = pool(grants);
    bencher.bench(|| {
        let report = pool.refresh_due().unwrap();
        assert_eq!(report.checked, n);
        assert!(report.refreshed.is_empty() && report.failed.is_empty());
    });
}

/// `n` grants in Redis under an app id of this run's own, removed when dropped.
struct RedisFixture {
    connection: redis::Connection,
    app: String,
    grants: RedisGrants,
}

impl RedisFixture {
    fn new(n: usize) -> Option<RedisFixture> {
        let url = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty())?;
        let mut connection = redis::Client::open(url.as_str())
            .ok()?
            .get_connection()
            .ok()?;
        let app = format!("9{}", std::process::id());
        let bytes = document_bytes();
        for batch in (0..n).collect::<Vec<_>>().chunks(1000) {
            let mut pipe = redis::pipe();
            for i in batch {
                let key = format!("{{pinterest-oauth:{app}:{}}}:document", grant(*i));
                pipe.cmd("HSET")
                    .arg(key)
                    .arg("revision")
                    .arg(0)
                    .arg("document")
                    .arg(&bytes)
                    .ignore();
            }
            pipe.query::<()>(&mut connection).unwrap();
        }
        let grants = RedisGrants::open(&url, &AppId::new(app.as_str()).unwrap()).unwrap();
        Some(RedisFixture {
            connection,
            app,
            grants,
        })
    }
}

impl Drop for RedisFixture {
    fn drop(&mut self) {
        let names = self.grants.grants().unwrap_or_default();
        for batch in names.chunks(1000) {
            let mut pipe = redis::pipe();
            for name in batch {
                pipe.cmd("DEL")
                    .arg(format!("{{pinterest-oauth:{}:{name}}}:document", self.app))
                    .ignore();
            }
            let _ = pipe.query::<()>(&mut self.connection);
        }
    }
}

fn skipped() {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED the Redis benches: no REDIS_URL (a redis-server on loopback)"
    );
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn redis_listing(bencher: Bencher<'_, '_>, n: usize) {
    let Some(fixture) = RedisFixture::new(n) else {
        skipped();
        return;
    };
    bencher.bench(|| assert_eq!(black_box(fixture.grants.grants().unwrap()).len(), n));
}

#[divan::bench(args = SIZES, sample_count = 3, sample_size = 1)]
fn redis_pass_nothing_due(bencher: Bencher<'_, '_>, n: usize) {
    let Some(fixture) = RedisFixture::new(n) else {
        skipped();
        return;
    };
    let pool = pool(fixture.grants.clone());
    bencher.bench(|| {
        let report = pool.refresh_due().unwrap();
        assert_eq!(report.checked, n);
        assert!(
            report.refreshed.is_empty() && report.failed.is_empty(),
            "{report:?}"
        );
    });
}
