//! The hot path: `TokenSource::access_token()` on a fresh token, from 1, 2, 8 and 64 threads at
//! once, for the blocking source (ureq) and the async one (hyper), against the two obvious ways
//! to share a token: `Arc<RwLock<String>>` (read, clone) and `ArcSwap<String>` (load, clone).
//!
//! divan reports the time of one call on one thread; calls per second in all are
//! `threads / time`. `cargo bench -p pinterest-oauth-benches --bench hot_path`

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
use pinterest_oauth_transport::FromSettings;

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

#[divan::bench(threads = THREADS)]
fn blocking_source_ureq(bencher: Bencher<'_, '_>) {
    let http = pinterest_oauth_ureq::HttpClient::from_settings(&Default::default()).unwrap();
    let client = pinterest_oauth_ureq::Client::with_http(config(), http);
    let source = pinterest_oauth_ureq::TokenSource::new(client, store()).unwrap();
    source.access_token().unwrap();
    bencher.bench(|| black_box(source.access_token().unwrap()));
}

#[divan::bench(threads = THREADS)]
fn async_source_hyper(bencher: Bencher<'_, '_>) {
    let http = pinterest_oauth_hyper::HttpClient::from_settings(&Default::default()).unwrap();
    let client = pinterest_oauth_hyper::Client::with_http(config(), http);
    let source = pinterest_oauth_hyper::TokenSource::new(client, store()).unwrap();
    // A fresh token is handed out without awaiting anything: one poll, no runtime.
    let once = || {
        let mut future = pin!(source.access_token());
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(token) => token.unwrap(),
            Poll::Pending => panic!("a fresh token is ready at once"),
        }
    };
    once();
    bencher.bench(|| black_box(once()));
}

#[divan::bench(threads = THREADS)]
fn baseline_rwlock(bencher: Bencher<'_, '_>) {
    let shared = Arc::new(RwLock::new(token_text()));
    bencher.bench(|| black_box(shared.read().unwrap().clone()));
}

#[divan::bench(threads = THREADS)]
fn baseline_arc_swap(bencher: Bencher<'_, '_>) {
    let shared = ArcSwap::from_pointee(token_text());
    bencher.bench(|| black_box(shared.load().as_ref().clone()));
}

/// The clock read every call makes (what is left of the hot path's cost).
#[divan::bench]
fn clock_read() -> SystemTime {
    SystemTime::now()
}
