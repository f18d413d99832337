//! Test helper: saves two token sets alternately, forever, until killed.
//!
//! `store_writer <token-file>` prints `ready` once the first save is done.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use pinterest_oauth_core::TokenDocument;
use pinterest_oauth_store::{FileStore, TokenStore};
use pinterest_oauth_tests::crash::{set_a, set_b};

fn main() -> ExitCode {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: store_writer <token-file>");
        return ExitCode::from(2);
    };
    let store = FileStore::new(file);
    let (a, b) = (set_a(), set_b());
    let mut first = true;
    loop {
        for token in [&a, &b] {
            let saved = store.lock().and_then(|lock| {
                let previous = store.load()?;
                let next = TokenDocument::new(token.clone()).succeeding(previous.as_ref());
                store.save(&lock, &next)
            });
            if let Err(e) = saved {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
            if first {
                println!("ready");
                let _ = std::io::stdout().flush();
                first = false;
            }
        }
    }
}
