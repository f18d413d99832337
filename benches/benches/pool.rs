//! The token pool's hot path and memory: `TokenPool::access_token(grant)` for a grant in memory
//! against `TokenSource::access_token` (one thread), the pool over one grant against the pool
//! over 1,000 grants with 64 threads (64,000 calls in all), and what one grant in memory
//! allocates (divan's allocation counter: bytes per grant, the token strings included).
//! `cargo bench -p pinterest-oauth-benches --bench pool`

use std::time::SystemTime;

use divan::{AllocProfiler, Bencher, black_box};
use pinterest_oauth_benches::{APP_ID, APP_SECRET, CODE_ANSWER, answer};
use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, parse_token_response};
use pinterest_oauth_store::{GrantName, GrantStore, MemoryStore, StoreError, TokenStore as _};
use pinterest_oauth_transport::FromHttpConfig;
use pinterest_oauth_ureq::{Client, HttpClient, PoolConfig, TokenPool, TokenSource};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

/// Grants in memory, each holding a token valid for 30 days.
#[derive(Debug)]
struct MemoryGrants;

impl GrantStore for MemoryGrants {
    type Store = MemoryStore;
    fn grants(&self) -> Result<Vec<GrantName>, StoreError> {
        Ok(Vec::new())
    }
    fn open(&self, _grant: &GrantName) -> Result<MemoryStore, StoreError> {
        Ok(MemoryStore::with_token(
            parse_token_response(SystemTime::now(), &answer(CODE_ANSWER)).unwrap(),
        ))
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

fn client() -> Client {
    let config = ClientConfig::new(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET));
    Client::with_http(
        config,
        HttpClient::from_http_config(&Default::default()).unwrap(),
    )
}

fn grant(i: usize) -> GrantName {
    GrantName::new(format!("customer-{i}")).unwrap()
}

fn pool(grants: usize) -> TokenPool<MemoryGrants> {
    let pool = TokenPool::with_config(client(), MemoryGrants, PoolConfig::default());
    for i in 0..grants {
        pool.access_token(&grant(i)).unwrap();
    }
    pool
}

mod latency {
    use super::*;

    #[divan::bench]
    fn token_source(bencher: Bencher<'_, '_>) {
        let source = TokenSource::new(client(), MemoryGrants.open(&grant(0)).unwrap()).unwrap();
        bencher.bench(|| black_box(source.access_token().unwrap()));
    }

    #[divan::bench]
    fn pool_grant_in_memory(bencher: Bencher<'_, '_>) {
        let pool = pool(1);
        let name = grant(0);
        bencher.bench(|| black_box(pool.access_token(&name).unwrap()));
    }
}

/// 64,000 calls by 64 threads, over `grants` grants in memory.
#[divan::bench(args = [1, 1000], sample_count = 20)]
fn sixty_four_threads(bencher: Bencher<'_, '_>, grants: usize) {
    let pool = pool(grants);
    let names: Vec<GrantName> = (0..grants).map(grant).collect();
    bencher.bench(|| {
        std::thread::scope(|scope| {
            for t in 0..64 {
                let (pool, names) = (&pool, &names);
                scope.spawn(move || {
                    for i in 0..1000 {
                        let name = &names[(t * 1000 + i) % names.len()];
                        drop(black_box(pool.access_token(name).unwrap()));
                    }
                });
            }
        });
    });
}

/// One more grant brought into memory (its source made, its store loaded): what it allocates,
/// with grants in memory stores (each holding its document) and in token files (as a
/// service's grants are).
#[divan::bench(sample_count = 200, sample_size = 1)]
fn one_grant_into_memory(bencher: Bencher<'_, '_>) {
    let pool = pool(0);
    let mut next = 0;
    bencher.bench_local(|| {
        next += 1;
        pool.access_token(&grant(next)).unwrap()
    });
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn one_file_grant_into_memory(bencher: Bencher<'_, '_>) {
    use pinterest_oauth_store::FileGrants;
    let dir = tempfile::tempdir().unwrap();
    let bytes = MemoryGrants
        .open(&grant(0))
        .unwrap()
        .load()
        .unwrap()
        .unwrap()
        .to_bytes();
    for i in 0..=200 {
        std::fs::write(dir.path().join(format!("{}.token.json", grant(i))), &*bytes).unwrap();
    }
    let pool = TokenPool::with_config(
        client(),
        FileGrants::new(dir.path()),
        PoolConfig::default().with_source_config(
            pinterest_oauth_ureq::SourceConfig::default()
                .with_recovery_dir(dir.path().join("kept")),
        ),
    );
    let mut next = 0;
    bencher.bench_local(|| {
        next += 1;
        pool.access_token(&grant(next)).unwrap()
    });
}
