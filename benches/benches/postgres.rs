//! The Postgres store against the local server (`POSTGRES_URL`; without it these benches say
//! they are skipped):
//!
//! - one operation at a time, each beside `ping` (`SELECT 1`, one round trip): `load`, `save`
//!   (the lock held), `lock` + release, `try_lock` + release, and a worker's `claims` of one
//!   grant + release;
//! - refresh throughput: 1, 2 and 4 workers (threads, each with its own connections and pool)
//!   running refresh passes over `PINTEREST_OAUTH_BENCH_GRANTS` (10,000 by default) due grants
//!   against the fake Pinterest, until none is left; and the same passes over the same number
//!   of grants in Redis (`REDIS_URL`), where every worker walks every grant.
//!
//! `cargo bench -p pinterest-oauth-benches --bench postgres`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use divan::{Bencher, black_box};
use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{
    AppId, AppSecret, AuthorizationCode, BaseUrl, ClientConfig, RedirectUri, Token, TokenDocument,
};
use pinterest_oauth_postgres::{PostgresConfig, PostgresGrants};
use pinterest_oauth_redis::RedisGrants;
use pinterest_oauth_store::{GrantName, GrantStore, TokenStore};
use pinterest_oauth_ureq::{Client, PoolConfig, SourceConfig, TokenPool};

fn main() {
    divan::main();
}

const WORKERS: &[usize] = &[1, 2, 4];
const REDIRECT: &str = "http://localhost:8085/";

fn grant_count() -> usize {
    std::env::var("PINTEREST_OAUTH_BENCH_GRANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn skipped(what: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}");
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("POSTGRES_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        skipped("the Postgres benches: no POSTGRES_URL (.ci/postgres-up starts one)");
    }
    url
}

/// An app id no other run uses (rows and keys are per app).
fn fresh_app() -> AppId {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    AppId::new(format!(
        "8{}{}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 1000
    ))
    .unwrap()
}

fn name(i: usize) -> GrantName {
    GrantName::new(format!("customer-{i}")).unwrap()
}

fn grants(url: &str, app: &AppId) -> PostgresGrants {
    PostgresGrants::with_config(url, app, PostgresConfig::default().with_max_connections(16))
        .unwrap()
}

/// A set with an expired access token, from `token` (so the grant is due).
fn expired(token: &Token) -> TokenDocument {
    let mut value: serde_json::Value =
        serde_json::from_slice(&TokenDocument::new(token.clone()).to_bytes()).unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lifetime = value["expires_in"].as_u64().unwrap();
    value["expires_at"] = (now - 60).into();
    value["received_at"] = (now - 60 - lifetime).into();
    TokenDocument::from_bytes(value.to_string().as_bytes()).unwrap()
}

fn put<S: TokenStore>(store: &S, document: &TokenDocument) {
    let lock = store.lock().unwrap();
    store.save(&lock, document).unwrap();
}

#[divan::bench_group(sample_count = 20, sample_size = 50)]
mod one_operation {
    use super::*;

    struct Fixture {
        grants: PostgresGrants,
        store: pinterest_oauth_postgres::PostgresStore,
        document: TokenDocument,
    }

    fn fixture() -> Option<Fixture> {
        let url = postgres_url()?;
        let fake = FakePinterest::start(FakeConfig::default()).unwrap();
        let grants = grants(&url, &fresh_app());
        let store = grants.open(&name(0)).unwrap();
        let document = TokenDocument::new(first_set(&fake));
        put(&store, &document);
        Some(Fixture {
            grants,
            store,
            document,
        })
    }

    #[divan::bench]
    fn ping(bencher: Bencher<'_, '_>) {
        let Some(f) = fixture() else { return };
        bencher.bench(|| f.grants.ping().unwrap());
    }

    #[divan::bench]
    fn load(bencher: Bencher<'_, '_>) {
        let Some(f) = fixture() else { return };
        bencher.bench(|| black_box(f.store.load().unwrap()));
    }

    #[divan::bench]
    fn save(bencher: Bencher<'_, '_>) {
        let Some(f) = fixture() else { return };
        let lock = f.store.lock().unwrap();
        let mut current = f.document.clone();
        bencher.bench_local(|| {
            let next = current.clone().rotating(&current);
            f.store.save(&lock, &next).unwrap();
            current = next;
        });
    }

    #[divan::bench]
    fn lock_and_release(bencher: Bencher<'_, '_>) {
        let Some(f) = fixture() else { return };
        bencher.bench(|| drop(f.store.lock().unwrap()));
    }

    #[divan::bench]
    fn try_lock_and_release(bencher: Bencher<'_, '_>) {
        let Some(f) = fixture() else { return };
        bencher.bench(|| drop(f.store.try_lock().unwrap().unwrap()));
    }

    #[divan::bench]
    fn claim_one_and_release(bencher: Bencher<'_, '_>) {
        let Some(f) = fixture() else { return };
        let lock = f.store.lock().unwrap();
        let due = expired(f.document.token()).rotating(&f.store.load().unwrap().unwrap());
        f.store.save(&lock, &due).unwrap();
        drop(lock);
        let far = SystemTime::now() + Duration::from_secs(3600);
        bencher.bench(|| {
            let mut claims = f.grants.claims().unwrap().unwrap();
            assert_eq!(claims.next(far, 1).unwrap().len(), 1);
        });
    }
}

/// A first set from the fake (a code exchanged).
fn first_set(fake: &FakePinterest) -> Token {
    let config = ClientConfig::new(
        AppId::new(fake.app_id()).unwrap(),
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url()).unwrap());
    let client = Client::new(config).unwrap();
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    client
        .exchange_code(
            AuthorizationCode::new(code),
            &RedirectUri::new(REDIRECT).unwrap(),
        )
        .unwrap()
}

fn client_for(fake: &FakePinterest) -> Client {
    let config = ClientConfig::new(
        AppId::new(fake.app_id()).unwrap(),
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url()).unwrap());
    Client::new(config).unwrap()
}

fn pool_config(dir: &std::path::Path) -> PoolConfig {
    PoolConfig::default()
        .with_spread(Duration::ZERO)
        .with_max_in_memory(1000)
        .with_app_budget(10_000_000, Duration::from_secs(86_400))
        .with_source_config(SourceConfig::default().with_recovery_dir(dir))
}

/// `workers` threads, each a pool over its own `G`, running passes until one refreshes nothing;
/// the grants the workers' reports say were refreshed.
fn run_passes<G: GrantStore + Clone>(fake: &FakePinterest, grants: &[G]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = grants
            .iter()
            .map(|g| {
                let pool =
                    TokenPool::with_config(client_for(fake), g.clone(), pool_config(dir.path()));
                scope.spawn(move || {
                    let mut refreshed = 0;
                    for _ in 0..100 {
                        let report = pool.refresh_due().unwrap();
                        assert!(report.failed.is_empty(), "{:?}", report.failed.first());
                        refreshed += report.refreshed.len();
                        if report.refreshed.is_empty() {
                            break;
                        }
                    }
                    refreshed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// The fake and `n` due grants of its app, in Postgres (one `PostgresGrants` per worker).
fn postgres_due(url: &str, n: usize, workers: usize) -> (FakePinterest, Vec<PostgresGrants>) {
    let fake = FakePinterest::start(FakeConfig {
        app_id: fresh_app().as_str().to_owned(),
        ..FakeConfig::default()
    })
    .unwrap();
    let app = AppId::new(fake.app_id()).unwrap();
    let seeding = grants(url, &app);
    for i in 0..n {
        put(
            &seeding.open(&name(i)).unwrap(),
            &expired(&first_set(&fake)),
        );
    }
    let all = (0..workers).map(|_| grants(url, &app)).collect();
    (fake, all)
}

#[divan::bench(args = WORKERS, sample_count = 1, sample_size = 1)]
fn postgres_refresh_due_grants(bencher: Bencher<'_, '_>, workers: usize) {
    let Some(url) = postgres_url() else { return };
    let n = grant_count();
    bencher
        .with_inputs(|| postgres_due(&url, n, workers))
        .bench_local_values(|(fake, grants)| {
            // Claims: each grant looked at by one worker, refreshed once.
            assert_eq!(run_passes(&fake, &grants), n);
            assert_eq!(fake.stats().token.refresh_token, n as u64);
            assert_eq!(fake.stats().rotated_reuse, 0);
        });
}

/// The fake and `n` due grants of its app in Redis (one `RedisGrants` per worker).
fn redis_due(url: &str, n: usize, workers: usize) -> (FakePinterest, Vec<RedisGrants>) {
    let fake = FakePinterest::start(FakeConfig {
        app_id: fresh_app().as_str().to_owned(),
        ..FakeConfig::default()
    })
    .unwrap();
    let app = AppId::new(fake.app_id()).unwrap();
    let seeding = RedisGrants::open(url, &app).unwrap();
    for i in 0..n {
        put(
            &seeding.open(&name(i)).unwrap(),
            &expired(&first_set(&fake)),
        );
    }
    let all = (0..workers)
        .map(|_| RedisGrants::open(url, &app).unwrap())
        .collect();
    (fake, all)
}

#[divan::bench(args = WORKERS, sample_count = 1, sample_size = 1)]
fn redis_refresh_due_grants(bencher: Bencher<'_, '_>, workers: usize) {
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        skipped("the Redis refresh passes: no REDIS_URL");
        return;
    };
    let n = grant_count();
    bencher
        .with_inputs(|| redis_due(&url, n, workers))
        .bench_local_values(|(fake, grants)| {
            // No claims: every worker walks every grant (and may count another's refresh as
            // its own); the fake counts what was sent.
            run_passes(&fake, &grants);
            assert_eq!(fake.stats().token.refresh_token, n as u64);
            assert_eq!(fake.stats().rotated_reuse, 0);
        });
}
