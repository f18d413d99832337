//! The hot path: `TokenSource::access_token()` on a fresh token, from 1, 2, 8 and 64 threads at
//! once, for the blocking source (ureq) and the async one (hyper), against the two obvious ways
//! to share a token: `Arc<RwLock<String>>` (read, clone) and `ArcSwap<String>` (load, clone).
//!
//! `latency`: one call, on 1 thread. `throughput`: 64,000 calls shared by 1, 2, 8 or 64
//! threads started together; calls per second in all are `64,000 / time` (a per-thread time
//! would say nothing once 64 threads share 2 cores).
//! `cargo bench -p pinterest-oauth-benches --bench hot_path`

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use divan::{Bencher, black_box};
use pinterest_oauth_benches::{APP_ID, APP_SECRET, CODE_ANSWER, answer};
use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, parse_token_response};
use pinterest_oauth_store::MemoryStore;
use pinterest_oauth_transport::FromHttpConfig;

fn main() {
    divan::main();
}

const THREADS: &[usize] = &[1, 2, 8, 64];

fn config() -> ClientConfig {
    ClientConfig::new(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
}

/// A store holding a token valid for 30 days from now.
fn store() -> MemoryStore {
    MemoryStore::with_token(parse_token_response(SystemTime::now(), &answer(CODE_ANSWER)).unwrap())
}

fn token_text() -> String {
    "pina_AMAZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        .to_owned()
}

/// The four ways to get a token, each as a closure callable from many threads.
struct Contenders {
    blocking: pinterest_oauth_ureq::TokenSource,
    hyper: pinterest_oauth_hyper::TokenSource,
    rwlock: Arc<RwLock<String>>,
    arc_swap: ArcSwap<String>,
}

impl Contenders {
    fn new() -> Contenders {
        let http = pinterest_oauth_ureq::HttpClient::from_http_config(&Default::default()).unwrap();
        let client = pinterest_oauth_ureq::Client::with_http(config(), http);
        let blocking = pinterest_oauth_ureq::TokenSource::new(client, store()).unwrap();
        let http =
            pinterest_oauth_hyper::HttpClient::from_http_config(&Default::default()).unwrap();
        let client = pinterest_oauth_hyper::Client::with_http(config(), http);
        let hyper = pinterest_oauth_hyper::TokenSource::new(client, store()).unwrap();
        let contenders = Contenders {
            blocking,
            hyper,
            rwlock: Arc::new(RwLock::new(token_text())),
            arc_swap: ArcSwap::from_pointee(token_text()),
        };
        contenders.blocking.access_token().unwrap();
        contenders.hyper_once();
        contenders
    }

    /// A fresh token is handed out without awaiting anything: one poll, no runtime.
    fn hyper_once(&self) -> pinterest_oauth_core::AccessToken {
        let mut future = pin!(self.hyper.access_token());
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(token) => token.unwrap(),
            Poll::Pending => panic!("a fresh token is ready at once"),
        }
    }
}

fn contenders() -> &'static Contenders {
    static CONTENDERS: std::sync::OnceLock<Contenders> = std::sync::OnceLock::new();
    CONTENDERS.get_or_init(Contenders::new)
}

mod latency {
    use super::*;

    #[divan::bench]
    fn blocking_source_ureq(bencher: Bencher<'_, '_>) {
        let c = contenders();
        bencher.bench(|| black_box(c.blocking.access_token().unwrap()));
    }

    #[divan::bench]
    fn async_source_hyper(bencher: Bencher<'_, '_>) {
        let c = contenders();
        bencher.bench(|| black_box(c.hyper_once()));
    }

    #[divan::bench]
    fn baseline_rwlock(bencher: Bencher<'_, '_>) {
        let c = contenders();
        bencher.bench(|| black_box(c.rwlock.read().unwrap().clone()));
    }

    #[divan::bench]
    fn baseline_arc_swap(bencher: Bencher<'_, '_>) {
        let c = contenders();
        bencher.bench(|| black_box(c.arc_swap.load().as_ref().clone()));
    }
}

/// 64,000 calls shared by `threads` threads.
fn spread(threads: usize, call: impl Fn() + Sync) {
    let each = 64_000 / threads;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..each {
                    call();
                }
            });
        }
    });
}

mod throughput {
    use super::*;

    #[divan::bench(args = THREADS, sample_count = 30)]
    fn blocking_source_ureq(bencher: Bencher<'_, '_>, threads: usize) {
        let c = contenders();
        bencher.bench(|| {
            spread(threads, || {
                drop(black_box(c.blocking.access_token().unwrap()))
            })
        });
    }

    #[divan::bench(args = THREADS, sample_count = 30)]
    fn async_source_hyper(bencher: Bencher<'_, '_>, threads: usize) {
        let c = contenders();
        bencher.bench(|| spread(threads, || drop(black_box(c.hyper_once()))));
    }

    #[divan::bench(args = THREADS, sample_count = 30)]
    fn baseline_rwlock(bencher: Bencher<'_, '_>, threads: usize) {
        let c = contenders();
        bencher.bench(|| {
            spread(threads, || {
                drop(black_box(c.rwlock.read().unwrap().clone()))
            })
        });
    }

    #[divan::bench(args = THREADS, sample_count = 30)]
    fn baseline_arc_swap(bencher: Bencher<'_, '_>, threads: usize) {
        let c = contenders();
        bencher.bench(|| {
            spread(threads, || {
                drop(black_box(c.arc_swap.load().as_ref().clone()))
            })
        });
    }
}

/// The clock read every call makes (what is left of the hot path's cost).
#[divan::bench]
fn clock_read() -> SystemTime {
    SystemTime::now()
}
