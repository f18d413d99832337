//! Short-lived programs: the README's examples run as a cron job would, again and again, each
//! asking once for a token inside the refresh window and returning from `main`.
//!
//! A refresh that has started must end with its answer stored however the program ends: the
//! first run inside the window refreshes (in the background: its token is still valid), the
//! rotated set is in the file when the process is gone, and no later run spends a refresh
//! token Pinterest already rotated away. A slow answer (the program is long done with its own
//! work when it comes) must be stored all the same.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use fake_pinterest::{FakeConfig, FakePinterest, Fault, Grant, Route, Times};
use pinterest_oauth_store::{FileStore, TokenStore};
use pinterest_oauth_tests::tokens::{expired_at, user_token};

/// How many times each program runs inside the refresh window.
const RUNS: usize = 20;

/// Runs `program` `RUNS` times against a token that is due (it expires in five minutes, inside
/// the ten-minute margin) but valid, with Pinterest slow to answer a refresh.
fn runs_inside_the_refresh_window(program: &str) {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    // The answer comes well after the program is done with its own work.
    fake.push_fault(
        Route::Grant(Grant::RefreshToken),
        Fault::Delay(Duration::from_millis(400)),
        Times::Always,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    let store = FileStore::new(&path);
    let due = expired_at(
        &user_token(&fake),
        SystemTime::now() + Duration::from_secs(300),
    );
    let first_refresh_token = due.token().refresh_token().unwrap().secret().to_owned();
    store.save(&store.lock().unwrap(), &due).unwrap();

    for run in 0..RUNS {
        let started = Instant::now();
        let output = Command::new(program)
            .env("PINTEREST_APP_ID", fake.app_id())
            .env("PINTEREST_APP_SECRET", fake.app_secret())
            .env("PINTEREST_API_URI", fake.api_base_url())
            .env("PINTEREST_TOKEN_FILE", &path)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "run {run} took {:?}",
            started.elapsed()
        );
    }

    let stats = fake.stats();
    assert_eq!(
        stats.token.refresh_token, 1,
        "{RUNS} runs inside the refresh window: one refresh (the first), stored for the others"
    );
    assert_eq!(
        stats.rotated_reuse, 0,
        "no rotated-away refresh token is sent"
    );
    let stored = store.load().unwrap().unwrap();
    let refresh = stored.token().refresh_token().unwrap().secret();
    assert_ne!(refresh, first_refresh_token, "the rotated set is stored");
    assert!(
        fake.refresh_token_valid(refresh),
        "the stored refresh token is the one Pinterest honours"
    );
}

#[test]
fn a_blocking_program_that_returns_from_main_keeps_the_background_refresh() {
    runs_inside_the_refresh_window(env!("CARGO_BIN_EXE_readme_blocking"));
}

#[test]
fn a_tokio_main_program_keeps_the_background_refresh() {
    runs_inside_the_refresh_window(env!("CARGO_BIN_EXE_readme_tokio"));
}

#[test]
fn a_current_thread_tokio_main_program_keeps_the_background_refresh() {
    runs_inside_the_refresh_window(env!("CARGO_BIN_EXE_readme_tokio_current"));
}

/// A fake slow to answer refreshes, and a token file holding a set that is due but valid.
fn due_file(fake: &FakePinterest, dir: &std::path::Path) -> (FileStore, String) {
    fake.push_fault(
        Route::Grant(Grant::RefreshToken),
        Fault::Delay(Duration::from_millis(300)),
        Times::Always,
    );
    let store = FileStore::new(dir.join("token.json"));
    let due = expired_at(
        &user_token(fake),
        SystemTime::now() + Duration::from_secs(300),
    );
    let spent = due.token().refresh_token().unwrap().secret().to_owned();
    store.save(&store.lock().unwrap(), &due).unwrap();
    (store, spent)
}

/// The set in `store` is a rotated one that Pinterest honours, and nothing was reused.
fn rotated_and_stored(fake: &FakePinterest, store: &FileStore, spent: &str) {
    let stored = store.load().unwrap().unwrap();
    let refresh = stored.token().refresh_token().unwrap().secret();
    // What Pinterest saw, and what the store says of the last attempt, if the set is not the
    // rotated one (a failure seen once under heavy load, not reproduced since).
    assert_ne!(
        refresh,
        spent,
        "the rotated set is stored; Pinterest saw {:?}; stored state {:?}",
        fake.stats().token,
        stored.state()
    );
    assert!(fake.refresh_token_valid(refresh));
    assert_eq!(fake.stats().token.refresh_token, 1);
    assert_eq!(fake.stats().rotated_reuse, 0);
}

#[test]
fn dropping_the_last_blocking_handle_keeps_the_background_refresh() {
    use pinterest_oauth_tests::transports::config_for;
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, spent) = due_file(&fake, dir.path());
    let options = pinterest_oauth_ureq::SourceConfig::default()
        .with_recovery_dir(dir.path().join("recovered"));
    let client = pinterest_oauth_ureq::Client::new(config_for(&fake)).unwrap();
    let source =
        pinterest_oauth_ureq::TokenSource::with_config(client, store.clone(), options).unwrap();
    let clone = source.clone();
    clone.access_token().unwrap();
    drop(clone);
    drop(source);
    rotated_and_stored(&fake, &store, &spent);
}

#[test]
fn a_runtime_shut_down_right_after_the_call_keeps_the_background_refresh() {
    use pinterest_oauth_tests::transports::config_for;
    for flavour in ["current_thread", "multi_thread"] {
        let fake = FakePinterest::start(FakeConfig::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (store, spent) = due_file(&fake, dir.path());
        let runtime = match flavour {
            "current_thread" => tokio::runtime::Builder::new_current_thread(),
            _ => tokio::runtime::Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
        .unwrap();
        let options = pinterest_oauth_hyper::SourceConfig::default()
            .with_recovery_dir(dir.path().join("recovered"));
        let client = pinterest_oauth_hyper::Client::new(config_for(&fake)).unwrap();
        let source =
            pinterest_oauth_hyper::TokenSource::with_config(client, store.clone(), options)
                .unwrap();
        // The source outlives the runtime: only the runtime's shutdown ends the program.
        runtime.block_on(async { source.access_token().await.unwrap() });
        drop(runtime);
        rotated_and_stored(&fake, &store, &spent);
        drop(source);
    }
}
