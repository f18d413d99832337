//! Many processes share one grant through a real Redis and behave as one token source.
//!
//! The processes are `fleet_worker` (see its docs); the fake Pinterest runs here. Redis is the
//! server of `REDIS_URL` (CI starts one), or one these tests start.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{AppId, AuthorizationCode, RedirectUri, TokenDocument};
use pinterest_oauth_redis::{RedisConfig, RedisStore};
use pinterest_oauth_store::{StoreError, TokenStore};
use pinterest_oauth_tests::child::{Killed, lines};
use pinterest_oauth_tests::redis::{RedisServer, in_ci, redis, unique_grant};
use pinterest_oauth_tests::transports::{Kind, client_for};

const REDIRECT: &str = "http://localhost:8085/";

/// A lease short enough that a killed holder is replaced quickly.
const LEASE: Duration = Duration::from_millis(1500);

fn store(url: &str, fake: &FakePinterest, grant: &str) -> RedisStore {
    let options = RedisConfig::default()
        .with_lease(LEASE)
        .with_lock_timeout(Duration::from_secs(30));
    RedisStore::with_config(url, &AppId::new(fake.app_id()).unwrap(), grant, options).unwrap()
}

/// Logs in (a code exchanged with the fake) and stores the first set.
fn log_in(fake: &FakePinterest, store: &RedisStore) -> TokenDocument {
    let client = client_for(Kind::Ureq, fake);
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let token = client
        .exchange_code(
            AuthorizationCode::new(code),
            &RedirectUri::new(REDIRECT).unwrap(),
        )
        .unwrap();
    let document = TokenDocument::new(token);
    let lock = store.lock().unwrap();
    store.save(&lock, &document).unwrap();
    document
}

/// A `fleet_worker` process for this fake, Redis and grant.
fn worker(fake: &FakePinterest, url: &str, grant: &str, mode: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleet_worker"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MODE", mode)
        .env("REDIS_URL", url)
        .env("GRANT", grant)
        .env("APP_ID", fake.app_id())
        .env("APP_SECRET", fake.app_secret())
        .env("API_BASE", fake.api_base_url())
        .env("LEASE_MS", LEASE.as_millis().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// Waits (bounded) for a line starting with `prefix`; every line read is passed to `seen`.
fn wait_for(
    lines: &mpsc::Receiver<String>,
    prefix: &str,
    limit: Duration,
    mut seen: impl FnMut(&str),
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen(&line);
                if line.starts_with(prefix) {
                    return line;
                }
            }
            Err(_) => panic!("no `{prefix}` line within {limit:?}"),
        }
    }
}

/// The `ok` or `error …` line a `once` worker ends with.
fn wait_for_result(lines: &mpsc::Receiver<String>, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line == "ok" || line.starts_with("error") => return line,
            Ok(_) => {}
            Err(_) => panic!("no result within {limit:?}"),
        }
    }
}

/// What a token source wrapped: the store error behind a refresh failure.
fn store_error(error: &pinterest_oauth_transport::Error) -> &StoreError {
    use pinterest_oauth_transport::Error;
    match error {
        Error::Store(e) => e.cause(),
        Error::Refresh(inner) => store_error(inner),
        other => panic!("not a store error: {other}"),
    }
}

fn finish(child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a worker ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn eight_processes_of_200_tasks_across_an_expiry_cause_one_refresh() {
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .unwrap();
    let grant = unique_grant("eight");
    let store = store(redis.url(), &fake, &grant);
    log_in(&fake, &store);
    // The stored access token has expired when the processes ask: every task needs the refresh.
    std::thread::sleep(Duration::from_millis(2100));
    let start_at =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_millis(1500);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let mut child = Killed(
                worker(&fake, redis.url(), &grant, "tasks")
                    .env("TASKS", "200")
                    .env("START_AT_MS", start_at.as_millis().to_string())
                    .spawn()
                    .unwrap(),
            );
            let out = lines(child.0.stdout.take().unwrap());
            (child, out)
        })
        .collect();
    let mut received = 0;
    for (mut child, out) in workers {
        let ok = wait_for(&out, "ok ", Duration::from_secs(60), |_| {});
        let failed = wait_for(&out, "failed ", Duration::from_secs(5), |_| {});
        received += ok[3..].parse::<u32>().unwrap();
        assert_eq!(failed, "failed 0");
        finish(&mut child.0, Duration::from_secs(10));
    }
    assert_eq!(received, 8 * 200, "every task got a token");
    assert_eq!(
        fake.stats().token.refresh_token,
        1,
        "one refresh for the fleet"
    );
    assert_eq!(fake.stats().rotated_reuse, 0);
}

/// A holder paused for good at `hook`, killed there; then another process asks.
/// Returns what the other process printed and how long it took.
fn kill_holder_at(
    url: &str,
    hook: &str,
    rotation_grace: Duration,
) -> (String, Duration, FakePinterest, RedisStore) {
    let fake = FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        rotation_grace,
        ..FakeConfig::default()
    })
    .unwrap();
    let grant = unique_grant(hook);
    let store = store(url, &fake, &grant);
    log_in(&fake, &store);
    std::thread::sleep(Duration::from_millis(2100));

    let mut holder = Killed(
        worker(&fake, url, &grant, "once")
            .env("HOOK", format!("{hook}:1"))
            .spawn()
            .unwrap(),
    );
    let out = lines(holder.0.stdout.take().unwrap());
    wait_for(&out, "PAUSED", Duration::from_secs(30), |_| {});
    drop(holder);

    let started = Instant::now();
    let mut other = Killed(
        worker(&fake, url, &grant, "once")
            .env("PATIENT", "1")
            .spawn()
            .unwrap(),
    );
    let out = lines(other.0.stdout.take().unwrap());
    let line = wait_for_result(&out, Duration::from_secs(30));
    let took = started.elapsed();
    finish(&mut other.0, Duration::from_secs(10));
    (line, took, fake, store)
}

#[test]
fn a_holder_killed_before_sending_or_after_storing_is_replaced_within_the_lease() {
    let Some(redis) = redis() else { return };
    for hook in ["before-send", "after-save"] {
        let (line, took, fake, store) = kill_holder_at(redis.url(), hook, Duration::ZERO);
        assert_eq!(line, "ok", "{hook}");
        eprintln!("killed at {hook}: another process had a token after {took:?} (lease {LEASE:?})");
        assert!(took < LEASE * 10, "{hook}: {took:?}");
        let stats = fake.stats();
        assert_eq!(
            stats.rotated_reuse, 0,
            "{hook}: a rotated-away refresh token was used"
        );
        assert_eq!(stats.token.refresh_token, 1, "{hook}: one refresh in all");
        let stored = store.load().unwrap().unwrap();
        let refresh = stored.token().refresh_token().unwrap();
        assert!(
            fake.refresh_token_valid(refresh.secret()),
            "{hook}: the grant is alive"
        );
    }
}

#[test]
fn a_holder_killed_inside_the_window_is_counted_and_reported() {
    let Some(redis) = redis() else { return };
    // Pinterest rotates at once: the new set died with the holder, so the grant is lost.
    let (line, _, fake, store) = kill_holder_at(redis.url(), "in-window", Duration::ZERO);
    assert!(line.starts_with("error"), "{line}");
    let stats = fake.stats();
    assert_eq!(
        stats.token.refresh_token, 2,
        "the holder's refresh, then the other's"
    );
    let stored = store.load().unwrap().unwrap();
    assert!(
        stored.state().stop().is_some(),
        "the dead grant is recorded: the fleet stops asking"
    );
    eprintln!("killed inside the window with no rotation grace: grant lost ({line})");

    // With a grace period the old refresh token still works once: the fleet recovers.
    let (line, _, fake, store) = kill_holder_at(redis.url(), "in-window", Duration::from_secs(30));
    assert_eq!(line, "ok");
    assert_eq!(fake.stats().rotated_reuse, 1);
    let stored = store.load().unwrap().unwrap();
    assert!(fake.refresh_token_valid(stored.token().refresh_token().unwrap().secret()));
    eprintln!("killed inside the window with a 30 s rotation grace: grant kept");
}

#[test]
fn rotations_with_workers_killed_outside_the_window_never_lose_the_grant() {
    rotations_with_workers_killed(30);
}

#[test]
#[ignore = "soak: a thousand rotations (about two minutes); .ci/run runs it"]
fn soak_a_thousand_rotations_with_workers_killed_outside_the_window_never_lose_the_grant() {
    rotations_with_workers_killed(1000);
}

/// Rotates the grant `target` times with crews of three workers, each killed at a random
/// safe point (before sending, or after storing), and checks nothing was lost.
fn rotations_with_workers_killed(target: u64) {
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let grant = unique_grant("rotations");
    let store = store(redis.url(), &fake, &grant);
    log_in(&fake, &store);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let (mut kills, mut windows, mut crews) = (0, Vec::new(), 0);
    let started = Instant::now();
    while fake.stats().token.refresh_token < target {
        // A crew rotates about twenty times on average: this many make no progress only if
        // something is stuck.
        crews += 1;
        assert!(crews <= target, "{crews} crews, {:?}", fake.stats().token);
        // Three workers at once; each is killed as soon as it pauses, at a random safe point
        // after a few rotations (a paused worker may hold the lease: the others wait for it).
        let mut crew: Vec<_> = (0..3)
            .map(|_| {
                let hook = ["before-send", "after-save"][next(2) as usize];
                let visits = 1 + next(40);
                let mut child = worker(&fake, redis.url(), &grant, "rotate")
                    .env("HOOK", format!("{hook}:{visits}"))
                    .spawn()
                    .unwrap();
                let out = lines(child.stdout.take().unwrap());
                (Killed(child), out)
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !crew.is_empty() {
            assert!(Instant::now() < deadline, "a worker never paused");
            crew.retain_mut(|(child, out)| {
                while let Ok(line) = out.try_recv() {
                    if let Some(us) = line.strip_prefix("window_us ") {
                        windows.push(us.parse::<u64>().unwrap());
                    }
                    assert!(!line.starts_with("error"), "{line}");
                    if line.starts_with("PAUSED") {
                        child.0.kill().unwrap();
                        child.0.wait().unwrap();
                        kills += 1;
                        return false;
                    }
                }
                true
            });
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let stats = fake.stats();
    assert_eq!(
        stats.rotated_reuse, 0,
        "a rotated-away refresh token was used"
    );
    let stored = store.load().unwrap().unwrap();
    let refresh = stored.token().refresh_token().unwrap();
    assert!(
        fake.refresh_token_valid(refresh.secret()),
        "the grant is alive after {} rotations",
        stats.token.refresh_token
    );
    windows.sort_unstable();
    let at = |q: f64| windows[((windows.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{} rotations, {kills} workers killed, {:?}; window from answer to stored: median {} µs, p99 {} µs, max {} µs",
        stats.token.refresh_token,
        started.elapsed(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// The ureq stack, calling `on_answer` once an answer has arrived (before it is stored).
struct OnAnswer {
    inner: pinterest_oauth_ureq::HttpClient,
    on_answer: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl pinterest_oauth_transport::Http for OnAnswer {
    fn execute(
        &self,
        request: pinterest_oauth_core::http::Request<Vec<u8>>,
    ) -> Result<pinterest_oauth_transport::SecretResponse, pinterest_oauth_transport::TransportError>
    {
        let answer = self.inner.execute(request);
        if let Some(hook) = self.on_answer.lock().unwrap().take() {
            hook();
        }
        answer
    }
}

#[test]
fn a_redis_restart_is_a_typed_error_while_down_and_loses_no_token_set() {
    use pinterest_oauth_tests::transports::{config_for, settings_for};
    use pinterest_oauth_transport::{FromHttpConfig, SourceConfig};
    use std::sync::{Arc, Mutex};

    let server = match RedisServer::start() {
        Ok(server) => Arc::new(Mutex::new(server)),
        Err(e) if in_ci() => panic!("CI=true: redis-server could not start: {e}"),
        Err(e) => {
            return pinterest_oauth_tests::skipped(&format!("no redis-server ({e})"));
        }
    };
    let url = server.lock().unwrap().url();
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let options = RedisConfig::default()
        .with_lease(LEASE)
        .with_io_timeout(Duration::from_millis(300))
        .with_lock_timeout(Duration::from_secs(2));
    let app = AppId::new(fake.app_id()).unwrap();
    let store = RedisStore::with_config(&url, &app, &unique_grant("restart"), options).unwrap();
    log_in(&fake, &store);
    let recovered = tempfile::tempdir().unwrap();
    let http = OnAnswer {
        inner: pinterest_oauth_ureq::HttpClient::from_http_config(&settings_for(&fake)).unwrap(),
        on_answer: Mutex::new(None),
    };
    let client = pinterest_oauth_transport::blocking::Client::with_http(config_for(&fake), http);
    let lifecycle = pinterest_oauth_core::LifecycleConfig::default()
        .with_min_refresh_interval(Duration::from_millis(1))
        .with_backoff_base(Duration::from_millis(50))
        .with_backoff_max(Duration::from_millis(200))
        .with_attempt_deadline(Duration::from_secs(2))
        .with_burst(1000);
    let source = pinterest_oauth_transport::blocking::TokenSource::with_config(
        client,
        store.clone(),
        SourceConfig::default()
            .with_lifecycle(lifecycle)
            .with_recovery_dir(recovered.path()),
    )
    .unwrap();
    source.refresh_now().unwrap();
    let before = source.token().unwrap();

    // Down between two refreshes: the valid token is still served; a refresh is a typed store
    // error and sends nothing.
    server.lock().unwrap().kill();
    let served = source.access_token().unwrap();
    assert_eq!(Some(&served), before.access_token());
    let sent = fake.stats().token.refresh_token;
    let err = source.refresh_now().unwrap_err();
    assert!(
        matches!(store_error(&err), StoreError::Unavailable { .. }),
        "{err}"
    );
    assert_eq!(
        fake.stats().token.refresh_token,
        sent,
        "nothing sent while Redis is down"
    );
    assert!(matches!(store.load(), Err(StoreError::Unavailable { .. })));
    server.lock().unwrap().restart().unwrap();
    let stored = store.load().unwrap().unwrap();
    assert_eq!(
        stored.token().refresh_token(),
        before.refresh_token(),
        "the last set survived"
    );

    // Down inside the window: Pinterest rotated, then Redis died before the set was stored.
    // The set is kept (in memory and in the recovery directory) and stored once Redis is back.
    let killer = server.clone();
    *source.client().http().on_answer.lock().unwrap() =
        Some(Box::new(move || killer.lock().unwrap().kill()));
    let err = source.refresh_now().unwrap_err();
    assert!(
        matches!(store_error(&err), StoreError::Unavailable { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("kept in"), "{err}");
    assert!(
        !fake.refresh_token_valid(before.refresh_token().unwrap().secret()),
        "Pinterest rotated: only the unsaved set holds the grant"
    );
    assert!(
        std::fs::read_dir(recovered.path()).unwrap().count() > 0,
        "the unsaved set is kept on disk too"
    );
    server.lock().unwrap().restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = source.access_token();
        let stored = store.load().ok().flatten();
        if let Some(refresh) = stored.as_ref().and_then(|d| d.token().refresh_token())
            && fake.refresh_token_valid(refresh.secret())
        {
            break;
        }
        assert!(Instant::now() < deadline, "the kept set was never stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fake.stats().rotated_reuse, 0);
}

#[test]
fn a_rate_limit_or_a_dead_grant_seen_by_one_process_stops_the_whole_fleet() {
    use fake_pinterest::{Fault, Grant, Route, Times};
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .unwrap();
    let grant = unique_grant("shared-state");
    log_in(&fake, &store(redis.url(), &fake, &grant));
    std::thread::sleep(Duration::from_millis(2100));
    // Pinterest rate-limits the first process's refresh for half an hour.
    fake.push_fault(
        Route::Grant(Grant::RefreshToken),
        Fault::rate_limited(1800),
        Times::Once,
    );
    let mut first = Killed(worker(&fake, redis.url(), &grant, "once").spawn().unwrap());
    let out = lines(first.0.stdout.take().unwrap());
    let line = wait_for_result(&out, Duration::from_secs(30));
    assert!(line.contains("rate"), "{line}");
    // Every other process, on any machine, honours it: nothing more is sent.
    for _ in 0..3 {
        let mut other = Killed(worker(&fake, redis.url(), &grant, "once").spawn().unwrap());
        let out = lines(other.0.stdout.take().unwrap());
        let line = wait_for_result(&out, Duration::from_secs(30));
        assert!(line.starts_with("error") && line.contains("rate"), "{line}");
    }
    assert_eq!(fake.stats().token.refresh_token, 1);

    // A dead grant, seen once, stops the fleet too.
    let grant = unique_grant("dead-grant");
    log_in(&fake, &store(redis.url(), &fake, &grant));
    std::thread::sleep(Duration::from_millis(2100));
    fake.push_fault(
        Route::Grant(Grant::RefreshToken),
        Fault::status(
            401,
            r#"{"code":283,"message":"The authorization grant is invalid"}"#,
        ),
        Times::Once,
    );
    let before = fake.stats().token.refresh_token;
    for _ in 0..4 {
        let mut one = Killed(worker(&fake, redis.url(), &grant, "once").spawn().unwrap());
        let out = lines(one.0.stdout.take().unwrap());
        let line = wait_for_result(&out, Duration::from_secs(30));
        assert!(line.starts_with("error consent needed"), "{line}");
    }
    assert_eq!(
        fake.stats().token.refresh_token,
        before + 1,
        "asked once, by one process"
    );
}

// ---- Found by attacking the fleet (issue 11) ----

fn redis_cli(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

#[test]
fn a_login_into_an_unreadable_redis_document_is_refused_before_the_code_is_spent() {
    use pinterest_oauth_transport::login::LoginConfig;
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let store = store(redis.url(), &fake, &unique_grant("garbage"));
    let _: () = redis::cmd("HSET")
        .arg(&store.keys().document)
        .arg("revision")
        .arg(3)
        .arg("document")
        .arg("garbage{")
        .query(&mut redis_cli(redis.url()))
        .unwrap();
    let client = client_for(Kind::Ureq, &fake);
    let options = LoginConfig::new(vec![pinterest_oauth_core::Scope::BoardsRead])
        .with_redirect_uri(RedirectUri::new("http://127.0.0.1:0/cb").unwrap())
        .with_timeout(Duration::from_secs(20));
    let mut opened = false;
    let err = client
        .login(&store, &options, |_| opened = true)
        .unwrap_err();
    assert!(
        matches!(store_error(&err), StoreError::Corrupt { .. }),
        "{err}"
    );
    assert!(!opened, "the consent page never opened");
    assert_eq!(fake.stats().token.authorization_code, 0);
}

#[test]
fn a_lock_that_never_runs_out_is_one_typed_store_error_not_consent() {
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .unwrap();
    let grant = unique_grant("stuck-lock");
    let options = RedisConfig::default()
        .with_lease(LEASE)
        .with_lock_timeout(Duration::from_millis(800));
    let store = RedisStore::with_config(
        redis.url(),
        &AppId::new(fake.app_id()).unwrap(),
        &grant,
        options,
    )
    .unwrap();
    log_in(&fake, &store);
    std::thread::sleep(Duration::from_millis(2100));
    // A lock left without a lifetime (by hand, or by a broken client).
    let _: () = redis::cmd("SET")
        .arg(&store.keys().lock)
        .arg("someone-else")
        .query(&mut redis_cli(redis.url()))
        .unwrap();
    let counted = Instrumented::new(store);
    let locks = counted.locks.clone();
    let source = pinterest_oauth_transport::blocking::TokenSource::new(
        client_for(Kind::Ureq, &fake),
        counted,
    )
    .unwrap();
    let err = source.access_token().unwrap_err();
    // Reported at once as what it is: waiting would never end it.
    assert!(
        matches!(store_error(&err), StoreError::LockNeverExpires { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no expiry"), "{err}");
    assert_eq!(
        err.kind(),
        pinterest_oauth_transport::ErrorKind::Store,
        "{err}"
    );
    // One wait for the lock, not one per retry.
    assert_eq!(locks.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(fake.stats().token.refresh_token, 0);
}

/// The Redis store, instrumented: it counts the waits for its lock, and with `loses_lease`
/// (a Redis URL) it hands its lease to another owner right after each save (as if the process
/// had been paused past its lease, and another had taken it).
struct Instrumented {
    store: RedisStore,
    locks: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    loses_lease: Option<String>,
}

impl Instrumented {
    fn new(store: RedisStore) -> Instrumented {
        Instrumented {
            store,
            locks: Default::default(),
            loses_lease: None,
        }
    }
}

impl TokenStore for Instrumented {
    fn lock(&self) -> Result<pinterest_oauth_store::StoreLock, StoreError> {
        self.locks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.store.lock()
    }
    fn try_lock(&self) -> Result<Option<pinterest_oauth_store::StoreLock>, StoreError> {
        self.store.try_lock()
    }
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        self.store.load()
    }
    fn save(
        &self,
        lock: &pinterest_oauth_store::StoreLock,
        document: &TokenDocument,
    ) -> Result<(), StoreError> {
        self.store.save(lock, document)?;
        if let Some(url) = &self.loses_lease {
            let _: () = redis::cmd("SET")
                .arg(&self.store.keys().lock)
                .arg("another-process")
                .query(&mut redis_cli(url))
                .unwrap();
        }
        Ok(())
    }
    fn reserve(&self, lock: &pinterest_oauth_store::StoreLock) -> Result<(), StoreError> {
        self.store.reserve(lock)
    }
    fn confirm(
        &self,
        lock: &pinterest_oauth_store::StoreLock,
        attempt: &pinterest_oauth_store::Attempt,
    ) -> Result<(), StoreError> {
        self.store.confirm(lock, attempt)
    }
    fn clear(&self, lock: &pinterest_oauth_store::StoreLock) -> Result<(), StoreError> {
        self.store.clear(lock)
    }
    fn identity(&self) -> String {
        self.store.identity()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        self.store.sealing()
    }
    fn location(&self) -> String {
        self.store.location()
    }
}

#[test]
fn a_holder_that_lost_its_lease_sends_nothing() {
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .unwrap();
    let store = store(redis.url(), &fake, &unique_grant("fenced"));
    log_in(&fake, &store);
    std::thread::sleep(Duration::from_millis(2100));
    let source = pinterest_oauth_transport::blocking::TokenSource::new(
        client_for(Kind::Ureq, &fake),
        Instrumented {
            loses_lease: Some(redis.url().to_owned()),
            ..Instrumented::new(store)
        },
    )
    .unwrap();
    let err = source.access_token().unwrap_err();
    assert!(
        matches!(store_error(&err), StoreError::LockLost { .. }),
        "{err}"
    );
    assert_eq!(
        fake.stats().token.refresh_token,
        0,
        "the refresh token was not spent"
    );
}

#[test]
fn a_lock_is_confirmed_by_its_own_lease_not_the_latest_one_a_clone_took() {
    use pinterest_oauth_store::TokenStore;
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let first = store(redis.url(), &fake, &unique_grant("clones"));
    let second = first.clone();
    let held = first.lock().unwrap();
    first.confirm(&held, &attempt()).unwrap();
    // The first lease runs out (a pause past its term, renewals cut off), and a clone in the
    // same process takes the next one.
    let _: () = redis::cmd("DEL")
        .arg(&first.keys().lock)
        .query(&mut redis_cli(redis.url()))
        .unwrap();
    let taken = second.try_lock().unwrap().expect("the lease is free");
    let err = first.confirm(&held, &attempt()).unwrap_err();
    assert!(matches!(err, StoreError::LockLost { .. }), "{err}");
    // The first holder's request may still be in flight (it was confirmed, on Redis's clock):
    // the new holder sends nothing until it is over.
    let err = second.confirm(&taken, &attempt()).unwrap_err();
    assert!(matches!(err, StoreError::InFlight { .. }), "{err}");
    drop(held);
    second.confirm(&taken, &attempt()).unwrap();
    // A lock no Redis store of this grant made proves nothing.
    let other = store(redis.url(), &fake, &unique_grant("clones-other"));
    let foreign = other.lock().unwrap();
    assert!(matches!(
        first.confirm(&foreign, &attempt()).unwrap_err(),
        StoreError::NotLocked
    ));
    assert!(matches!(
        first
            .confirm(&pinterest_oauth_store::StoreLock::unlocked(), &attempt())
            .unwrap_err(),
        StoreError::NotLocked
    ));
}

/// An attempt as the lifecycle's defaults describe it.
fn attempt() -> pinterest_oauth_store::Attempt {
    pinterest_oauth_store::Attempt::new(
        std::time::Duration::from_secs(60),
        5,
        std::time::Duration::from_secs(300),
    )
}

#[test]
fn a_lease_lost_while_a_refresh_is_in_flight_lets_no_other_process_spend_the_token() {
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig {
        access_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .unwrap();
    let grant = unique_grant("lost-lease");
    let store = store(redis.url(), &fake, &grant);
    log_in(&fake, &store);
    std::thread::sleep(Duration::from_millis(2100));
    // The holder's refresh takes two seconds to answer (within its HTTP timeout); meanwhile its
    // lease is deleted (an operator, an eviction, a failover).
    fake.push_fault(
        fake_pinterest::Route::Grant(fake_pinterest::Grant::RefreshToken),
        fake_pinterest::Fault::Delay(Duration::from_secs(2)),
        fake_pinterest::Times::Once,
    );
    let realistic = |command: &mut Command| {
        command.env("ATTEMPT_DEADLINE_MS", "60000");
    };
    let mut holder = worker(&fake, redis.url(), &grant, "once");
    realistic(&mut holder);
    let mut holder = Killed(holder.spawn().unwrap());
    let holder_out = lines(holder.0.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.stats().token.refresh_token == 0 {
        assert!(Instant::now() < deadline, "the holder never sent");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _: () = redis::cmd("DEL")
        .arg(&store.keys().lock)
        .query(&mut redis_cli(redis.url()))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    // Another process asks (the lease is free now), and another forces a refresh: neither
    // sends while the holder's request may be in flight.
    let mut asking = worker(&fake, redis.url(), &grant, "once");
    realistic(&mut asking);
    let mut forcing = worker(&fake, redis.url(), &grant, "rotate");
    realistic(&mut forcing);
    forcing.env("STOP_AFTER", "1");
    for mut other in [asking, forcing] {
        let mut child = Killed(other.spawn().unwrap());
        let out = lines(child.0.stdout.take().unwrap());
        let line = wait_for(&out, "", Duration::from_secs(30), |_| {});
        assert!(line.starts_with("error"), "{line}");
        assert_eq!(
            fake.stats().token.refresh_token,
            1,
            "nothing more was sent: {line}"
        );
    }
    assert_eq!(wait_for_result(&holder_out, Duration::from_secs(30)), "ok");
    finish(&mut holder.0, Duration::from_secs(10));
    assert_eq!(fake.stats().rotated_reuse, 0);
    let stored = store.load().unwrap().unwrap();
    assert!(fake.refresh_token_valid(stored.token().refresh_token().unwrap().secret()));
}

#[test]
fn grants_sealed_in_redis_hold_no_token_open_only_with_their_key_and_are_listed() {
    use pinterest_oauth_redis::RedisGrants;
    use pinterest_oauth_store::seal::{Keyring, Sealing, TokenKey};
    use pinterest_oauth_store::{GrantName, GrantStore};
    let Some(redis) = redis() else { return };
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let app = AppId::new(fake.app_id()).unwrap();
    let name = GrantName::new(unique_grant("sealed")).unwrap();
    let key = TokenKey::generate().unwrap();
    let sealing = Sealing::new(Keyring::new(vec![key.clone()]).unwrap(), &app, &name);
    let sealed = store(redis.url(), &fake, name.as_str()).with_sealing(sealing);
    let document = log_in(&fake, &sealed);
    let raw: Vec<u8> = redis::cmd("HGET")
        .arg(&sealed.keys().document)
        .arg("document")
        .query(&mut redis_cli(redis.url()))
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let access = document.token().access_token().unwrap().secret().to_owned();
    assert!(!raw.contains(&access) && !raw.contains("pinr"), "{raw}");
    assert_eq!(sealed.sealed_under().unwrap().as_deref(), Some(key.id()));
    assert_eq!(sealed.load().unwrap(), Some(document.clone()));

    // Without the key: a typed error, and the sealed document is left as it is.
    let plain = store(redis.url(), &fake, name.as_str());
    assert!(matches!(plain.load(), Err(StoreError::Sealed { .. })));
    assert_eq!(sealed.load().unwrap(), Some(document.clone()));

    let grants = RedisGrants::open(redis.url(), &app).unwrap();
    assert!(grants.grants().unwrap().contains(&name));
    // Read many at once (pipelined), as a refresher does: opened with the keys, an error
    // without them, nothing for a grant that holds nothing.
    let missing = pinterest_oauth_store::GrantName::new(unique_grant("none")).unwrap();
    let with_key = grants
        .clone()
        .with_sealing(Keyring::new(vec![key.clone()]).unwrap());
    let read = with_key.load_all(&[name.clone(), missing.clone()]);
    assert_eq!(read[0].as_ref().unwrap().as_ref(), Some(&document));
    assert!(read[1].as_ref().unwrap().is_none());
    let read = grants.load_all(std::slice::from_ref(&name));
    assert!(matches!(read[0], Err(StoreError::Sealed { .. })));
    assert_eq!(
        with_key.open(&name).unwrap().load().unwrap(),
        Some(document)
    );
}
