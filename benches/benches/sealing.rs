//! Sealed vs plain token documents: what sealing (AES-256-GCM with a synthetic nonce) adds to
//! each save (`write`) and each load (`read`), measured on the bytes a store writes and reads,
//! without the file or the network.
//! `cargo bench -p pinterest-oauth-benches --bench sealing`

use std::time::SystemTime;

use divan::{Bencher, black_box};
use pinterest_oauth_benches::CODE_ANSWER;
use pinterest_oauth_core::{AppId, TokenDocument, http, parse_token_response};
use pinterest_oauth_store::GrantName;
use pinterest_oauth_store::seal::{Keyring, Sealing, TokenKey, read_document, write_document};

fn main() {
    divan::main();
}

fn document() -> TokenDocument {
    let token = parse_token_response(SystemTime::now(), &http::Response::new(CODE_ANSWER)).unwrap();
    TokenDocument::new(token)
}

fn sealing() -> Sealing {
    Sealing::new(
        Keyring::new(vec![TokenKey::generate().unwrap()]).unwrap(),
        &AppId::new("1234567").unwrap(),
        &GrantName::new("alice").unwrap(),
    )
}

#[divan::bench(args = ["plain", "sealed"])]
fn write(bencher: Bencher<'_, '_>, how: &str) {
    let document = document();
    let sealing = (how == "sealed").then(sealing);
    bencher.bench(|| write_document(black_box(&document), sealing.as_ref()).unwrap());
}

#[divan::bench(args = ["plain", "sealed"])]
fn read(bencher: Bencher<'_, '_>, how: &str) {
    let sealing = (how == "sealed").then(sealing);
    let bytes = write_document(&document(), sealing.as_ref()).unwrap();
    bencher.bench(|| {
        read_document(black_box(&bytes), sealing.as_ref())
            .unwrap()
            .unwrap()
    });
}
