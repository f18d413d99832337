//! `pinterest-oauth token` with a fresh token file: wall time per run (divan) and peak resident
//! memory (`/usr/bin/time -v`), against `jq -r .access_token` on the same file as the yardstick
//! (the least any program that reads the file and prints the token does).
//!
//! `cargo bench -p pinterest-oauth-cli --bench cli`

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

use divan::Bencher;
use pinterest_oauth_core::{TokenDocument, http, parse_token_response};
use pinterest_oauth_store::{FileStore, TokenStore};

const CLI: &str = env!("CARGO_BIN_EXE_pinterest-oauth");

fn main() {
    report_peak_memory();
    divan::main();
}

/// A token file holding a set valid for 30 days, made once.
fn token_file() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        let body = r#"{"access_token":"pina_AMAZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_token":"pinr_AQABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","response_type":"authorization_code","expires_in":2592000,"refresh_token_expires_in":5184000,"scope":"boards:read,pins:read","token_type":"bearer"}"#;
        let token = parse_token_response(SystemTime::now(), &http::Response::new(body)).unwrap();
        let store = FileStore::new(&path);
        store.save(&store.lock().unwrap(), &TokenDocument::new(token)).unwrap();
        (dir, path)
    });
    path
}

fn cli_token() -> Command {
    let mut command = Command::new(CLI);
    command
        .arg("token")
        .env_clear()
        .env("PINTEREST_TOKEN_FILE", token_file());
    command
}

fn jq() -> Command {
    let mut command = Command::new("jq");
    command.args(["-r", ".access_token"]).arg(token_file());
    command
}

fn checked(output: std::io::Result<Output>) -> Output {
    let output = output.expect("the program runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.starts_with(b"pina_"));
    output
}

#[divan::bench]
fn pinterest_oauth_token(bencher: Bencher<'_, '_>) {
    bencher.bench(|| checked(cli_token().output()));
}

/// As scripts run it: the app's credentials in the environment (the token source is built).
#[divan::bench]
fn pinterest_oauth_token_with_app_credentials(bencher: Bencher<'_, '_>) {
    bencher.bench(|| {
        checked(
            cli_token()
                .env("PINTEREST_APP_ID", "1234567")
                .env(
                    "PINTEREST_APP_SECRET",
                    "0123456789abcdef0123456789abcdef01234567",
                )
                .output(),
        )
    });
}

#[divan::bench]
fn jq_access_token(bencher: Bencher<'_, '_>) {
    if jq().output().is_err() {
        eprintln!("jq is not installed: no yardstick");
        return;
    }
    bencher.bench(|| checked(jq().output()));
}

/// The median peak resident set size of 9 runs, from `/usr/bin/time -v`, in KiB.
fn peak_kib(command: &Command) -> Option<u64> {
    let mut peaks: Vec<u64> = (0..9)
        .filter_map(|_| {
            let mut timed = Command::new("/usr/bin/time");
            timed
                .arg("-v")
                .arg(command.get_program())
                .args(command.get_args());
            timed.env_clear();
            for (name, value) in command.get_envs() {
                if let Some(value) = value {
                    timed.env(name, value);
                }
            }
            let output = timed.output().ok()?;
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("Maximum resident set size (kbytes): ")
                })
                .and_then(|kib| kib.trim().parse().ok())
        })
        .collect();
    peaks.sort_unstable();
    peaks.get(peaks.len() / 2).copied()
}

fn report_peak_memory() {
    let mut with_credentials = cli_token();
    with_credentials.env("PINTEREST_APP_ID", "1234567").env(
        "PINTEREST_APP_SECRET",
        "0123456789abcdef0123456789abcdef01234567",
    );
    if let Some(kib) = peak_kib(&with_credentials) {
        println!("peak RSS (median of 9): pinterest-oauth token with app credentials {kib} KiB");
    }
    match (peak_kib(&cli_token()), peak_kib(&jq())) {
        (Some(cli), Some(jq)) => println!(
            "peak RSS (median of 9): pinterest-oauth token {cli} KiB, jq {jq} KiB ({:.2}x)",
            cli as f64 / jq as f64
        ),
        (Some(cli), None) => println!("peak RSS (median of 9): pinterest-oauth token {cli} KiB"),
        _ => println!("peak RSS: /usr/bin/time is not installed"),
    }
}
