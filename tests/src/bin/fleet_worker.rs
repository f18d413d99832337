//! Test helper: one process of a fleet sharing a grant through Redis.
//!
//! Configured by the environment: `REDIS_URL`, `GRANT`, `APP_ID`, `APP_SECRET`, `API_BASE`,
//! `LEASE_MS` (the store's lease), and
//!
//! - `MODE=tasks`: `TASKS` async tasks (hyper) ask for a token at `START_AT_MS` (Unix ms);
//!   prints `ok <n>` (tokens received) and `failed <n>`;
//! - `MODE=once`: one blocking (ureq) `access_token`; prints `ok` or `error <message>`;
//! - `MODE=rotate`: blocking forced refreshes in a loop, printing `rotated` after each; with
//!   `STOP_AFTER` it exits after that many.
//!
//! `HOOK=<point>:<n>` pauses the process for good at the `n`-th time it reaches `point`,
//! printing `PAUSED <point>` first (the test then kills it): `before-send` (the attempt is
//! recorded, the request not yet sent), `in-window` (Pinterest answered with a new set, not yet
//! stored: the window no client can close), `after-save` (the new set is stored). Each rotation
//! prints `window_us <n>`: how long that window lasted.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pinterest_oauth_core::http::Request;
use pinterest_oauth_core::{
    AppId, AppSecret, BaseUrl, ClientConfig, LifecycleConfig, TokenDocument,
};
use pinterest_oauth_redis::{RedisConfig, RedisStore};
use pinterest_oauth_store::{Attempt, StoreError, StoreLock, TokenStore};
use pinterest_oauth_transport::{
    FromHttpConfig, Http, HttpConfig, SecretResponse, SourceConfig, TransportError,
};

type Failure = Box<dyn std::error::Error>;

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

/// Where and when to pause, and the window being measured.
struct Hooks {
    point: Option<(String, u32)>,
    seen: AtomicU32,
    window: std::sync::Mutex<Option<Instant>>,
    open: AtomicBool,
}

impl Hooks {
    fn from_env() -> Hooks {
        let point = std::env::var("HOOK").ok().and_then(|h| {
            let (name, n) = h.split_once(':')?;
            Some((name.to_owned(), n.parse().ok()?))
        });
        Hooks {
            point,
            seen: AtomicU32::new(0),
            window: std::sync::Mutex::new(None),
            open: AtomicBool::new(false),
        }
    }

    /// Pauses for good if this is the chosen point's n-th visit.
    fn at(&self, name: &str) {
        let Some((point, n)) = &self.point else {
            return;
        };
        if point != name {
            return;
        }
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            println!("PAUSED {name}");
            let _ = std::io::stdout().flush();
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }

    fn open_window(&self) {
        *self.window.lock().unwrap() = Some(Instant::now());
        self.open.store(true, Ordering::SeqCst);
    }

    fn close_window(&self) {
        if self.open.swap(false, Ordering::SeqCst)
            && let Some(opened) = self.window.lock().unwrap().take()
        {
            println!("window_us {}", opened.elapsed().as_micros());
        }
    }
}

/// The ureq stack, with the hooks around a send.
struct HookedHttp {
    inner: pinterest_oauth_ureq::HttpClient,
    hooks: Arc<Hooks>,
}

impl Http for HookedHttp {
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        self.hooks.at("before-send");
        let answer = self.inner.execute(request);
        if answer.as_ref().is_ok_and(|r| r.status().is_success()) {
            self.hooks.open_window();
            self.hooks.at("in-window");
        }
        answer
    }
}

/// The Redis store, with the hooks around a save.
struct HookedStore {
    inner: RedisStore,
    hooks: Arc<Hooks>,
}

impl TokenStore for HookedStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.inner.lock()
    }
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        self.inner.try_lock()
    }
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        self.inner.load()
    }
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        self.inner.save(lock, document)?;
        if self.hooks.open.load(Ordering::SeqCst) {
            self.hooks.close_window();
            self.hooks.at("after-save");
        }
        Ok(())
    }
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner.reserve(lock)
    }
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        self.inner.confirm(lock, attempt)
    }
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner.clear(lock)
    }
    fn identity(&self) -> String {
        self.inner.identity()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        self.inner.sealing()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
}

fn config() -> Result<ClientConfig, Failure> {
    Ok(ClientConfig::new(
        AppId::new(env("APP_ID")?)?,
        AppSecret::new(env("APP_SECRET")?),
    )
    .with_base_url(BaseUrl::parse(&env("API_BASE")?)?))
}

fn store() -> Result<RedisStore, Failure> {
    let lease = env("LEASE_MS")?.parse::<u64>()?;
    let options = RedisConfig::default()
        .with_lease(Duration::from_millis(lease))
        .with_lock_timeout(Duration::from_secs(60))
        .with_poll(Duration::from_millis(50));
    Ok(RedisStore::with_config(
        &env("REDIS_URL")?,
        &AppId::new(env("APP_ID")?)?,
        &env("GRANT")?,
        options,
    )?)
}

fn http_config() -> HttpConfig {
    HttpConfig::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(10))
}

fn tasks() -> Result<(), Failure> {
    let count: usize = env("TASKS")?.parse()?;
    let start_at: u64 = env("START_AT_MS")?.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    let client = pinterest_oauth_hyper::Client::with_http_config(config()?, &http_config())?;
    let source = pinterest_oauth_hyper::TokenSource::new(client, store()?)?;
    let (ok, failed) = runtime.block_on(async move {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let wait = Duration::from_millis(start_at).saturating_sub(now);
        tokio::time::sleep(wait).await;
        let handles: Vec<_> = (0..count)
            .map(|_| {
                let source = source.clone();
                tokio::spawn(async move { source.access_token().await })
            })
            .collect();
        let (mut ok, mut failed) = (0, 0);
        for handle in handles {
            match handle.await {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(e)) => {
                    failed += 1;
                    eprintln!("task failed: {e}");
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("task panicked: {e}");
                }
            }
        }
        (ok, failed)
    });
    println!("ok {ok}");
    println!("failed {failed}");
    Ok(())
}

fn blocking_source(
    hooks: &Arc<Hooks>,
    lifecycle: LifecycleConfig,
) -> Result<pinterest_oauth_transport::blocking::TokenSource<HookedHttp, HookedStore>, Failure> {
    let http = HookedHttp {
        inner: pinterest_oauth_ureq::HttpClient::from_http_config(&http_config())?,
        hooks: hooks.clone(),
    };
    let client = pinterest_oauth_transport::blocking::Client::with_http(config()?, http);
    let store = HookedStore {
        inner: store()?,
        hooks: hooks.clone(),
    };
    let options = SourceConfig::default().with_lifecycle(lifecycle);
    Ok(pinterest_oauth_transport::blocking::TokenSource::with_config(client, store, options)?)
}

/// `ATTEMPT_DEADLINE_MS`, or `default_ms`.
fn attempt_deadline(default_ms: u64) -> Duration {
    let ms = std::env::var("ATTEMPT_DEADLINE_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_ms);
    Duration::from_millis(ms)
}

fn once() -> Result<(), Failure> {
    let hooks = Arc::new(Hooks::from_env());
    // The fake answers at once: a request and its save take well under a second, so a holder
    // killed mid-attempt holds the others back that long (within the tests' lease), not a
    // minute.
    let lifecycle = LifecycleConfig::default().with_attempt_deadline(attempt_deadline(1_000));
    let source = blocking_source(&hooks, lifecycle)?;
    let mut answer = source.access_token();
    // A process that finds another's attempt on record (it was killed mid-attempt) is told to
    // wait until the record runs out: with PATIENT set, it waits (a few seconds at most) and
    // asks again, as a job retried a little later would.
    if std::env::var_os("PATIENT").is_some()
        && let Err(pinterest_oauth_transport::Error::Waiting { until, .. }) = &answer
        && let Ok(wait) = until.duration_since(SystemTime::now())
        && wait < Duration::from_secs(5)
    {
        std::thread::sleep(wait + Duration::from_millis(50));
        answer = source.access_token();
    }
    match answer {
        Ok(_) => println!("ok"),
        Err(e) => println!("error {e}"),
    }
    Ok(())
}

fn rotate() -> Result<(), Failure> {
    let hooks = Arc::new(Hooks::from_env());
    let stop_after: Option<u64> = std::env::var("STOP_AFTER")
        .ok()
        .and_then(|s| s.parse().ok());
    // Forced refreshes back to back: no budget interval to wait out.
    let lifecycle = LifecycleConfig::default()
        .with_min_refresh_interval(Duration::from_millis(1))
        .with_attempt_deadline(attempt_deadline(2_000))
        .with_burst(1_000_000);
    let source = blocking_source(&hooks, lifecycle)?;
    let mut done = 0u64;
    loop {
        match source.refresh_now() {
            Ok(_) => {
                done += 1;
                println!("rotated");
            }
            Err(e) => println!("error {e}"),
        }
        let _ = std::io::stdout().flush();
        if stop_after.is_some_and(|n| done >= n) {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    let result = match std::env::var("MODE").as_deref() {
        Ok("tasks") => tasks(),
        Ok("once") => once(),
        Ok("rotate") => rotate(),
        _ => Err("set MODE to tasks, once or rotate".into()),
    };
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
