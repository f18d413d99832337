//! A 50 MiB response is refused at the cap without being read, and the heap stays small.
//!
//! One test in its own binary, under dhat's counting allocator, so the heap figures are this
//! test's alone (the fake runs in-process and is counted too).

use fake_pinterest::{FakeConfig, FakePinterest, Fault, Route, Times};
use pinterest_oauth_core::Scope;
use pinterest_oauth_tests::transports::{Kind, client_for};
use pinterest_oauth_transport::{ErrorKind, TransportErrorKind};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const FIFTY_MIB: u64 = 50 << 20;

#[test]
fn fifty_mib_bodies_are_refused_at_the_cap_with_a_small_heap() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let clients: Vec<_> = Kind::ALL
        .iter()
        .map(|&k| (k, client_for(k, &fake)))
        .collect();
    // Warm up: runtimes, pools and connections exist before measuring.
    for (_, client) in &clients {
        client.client_credentials(&[Scope::AdsRead]).unwrap();
    }
    let before = dhat::HeapStats::get();

    let too_large = ErrorKind::Transport(TransportErrorKind::BodyTooLarge);
    for (kind, client) in &clients {
        // 50 MiB announced in Content-Length: refused before reading.
        fake.push_fault(
            Route::Token,
            Fault::Endless {
                declared: Some(FIFTY_MIB),
            },
            Times::Once,
        );
        let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
        assert_eq!(err.kind(), too_large, "{kind:?}: {err}");
        // No Content-Length, a body that never ends: cut at the cap while streaming.
        fake.push_fault(Route::Token, Fault::Endless { declared: None }, Times::Once);
        let err = client.client_credentials(&[Scope::AdsRead]).unwrap_err();
        assert_eq!(err.kind(), too_large, "{kind:?}: {err}");
    }
    drop(clients);

    let after = dhat::HeapStats::get();
    let sent = fake.stats().fault_body_bytes;
    let peak_growth = after.max_bytes.saturating_sub(before.max_bytes);
    eprintln!(
        "server pushed {sent} body bytes; heap peak {} -> {} bytes (+{peak_growth})",
        before.max_bytes, after.max_bytes
    );
    // The server offered at least 100 MiB in all; far less left it, and the heap peak barely
    // moved: nothing near the body size was ever buffered.
    assert!(sent < FIFTY_MIB / 2, "{sent} bytes left the server");
    assert!(
        peak_growth < 2 << 20,
        "heap peak grew by {peak_growth} bytes"
    );
}
