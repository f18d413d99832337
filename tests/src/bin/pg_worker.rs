//! Test helper: one process using grants kept in PostgreSQL.
//!
//! Configured by the environment: `POSTGRES_URL`, `APP_ID`, `APP_SECRET`, `API_BASE`, and
//!
//! - `MODE=migrate`: applies the migrations; prints `migrated <from> <to>` or `error <message>`;
//! - `MODE=share`: `TASKS` threads share one token source of grant `GRANT` and ask it for a
//!   token as fast as they can for `RUN_MS`, starting at `START_AT_MS` (Unix ms); the source
//!   refreshes `MARGIN_MS` before expiry (and may refresh every second); prints `seen <token fingerprint>` for each new access
//!   token, then `ok <calls>` and `failed <calls>`;
//! - `MODE=work`: a token pool over every grant of the app runs refresh passes (claiming
//!   grants with the other workers) from `START_AT_MS` until a pass finds nothing; prints
//!   `refreshed <grant>` for each, `failed <grant> <error>`, and `done <passes>`. With
//!   `HOOK=claimed` it prints `CLAIMED <n>` after its first claim and pauses for good (the test
//!   kills it).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pinterest_oauth_core::{AppId, AppSecret, BaseUrl, ClientConfig, LifecycleConfig};
use pinterest_oauth_postgres::{PostgresConfig, PostgresGrants, PostgresStore};
use pinterest_oauth_store::{Claims, GrantName, GrantStore, StoreError};
use pinterest_oauth_ureq::{Client, PoolConfig, SourceConfig, TokenPool, TokenSource};

type Failure = Box<dyn std::error::Error>;

fn env(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn client() -> Result<Client, Failure> {
    let config = ClientConfig::new(
        AppId::new(env("APP_ID")?)?,
        AppSecret::new(env("APP_SECRET")?),
    )
    .with_base_url(BaseUrl::parse(&env("API_BASE")?)?);
    Ok(Client::new(config)?)
}

fn grants() -> Result<PostgresGrants, Failure> {
    let config = PostgresConfig::default().with_lock_timeout(Duration::from_secs(60));
    Ok(PostgresGrants::with_config(
        &env("POSTGRES_URL")?,
        &AppId::new(env("APP_ID")?)?,
        config,
    )?)
}

/// Sleeps until `START_AT_MS`, if set.
fn wait_for_start() {
    let Some(at) = std::env::var("START_AT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    std::thread::sleep(Duration::from_millis(at.saturating_sub(now)));
}

fn recovery_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pg-worker-recovered-{}", std::process::id()))
}

fn share() -> Result<(), Failure> {
    let grant = GrantName::new(env("GRANT")?)?;
    let store: PostgresStore = grants()?.open(&grant)?;
    let margin = Duration::from_millis(env("MARGIN_MS")?.parse()?);
    let source = TokenSource::with_config(
        client()?,
        store,
        SourceConfig::default()
            .with_lifecycle(
                LifecycleConfig::default()
                    .with_refresh_margin(margin)
                    .with_min_refresh_interval(Duration::from_secs(1))
                    .with_burst(10),
            )
            .with_recovery_dir(recovery_dir()),
    )?;
    let tasks: usize = env("TASKS")?.parse()?;
    let run = Duration::from_millis(env("RUN_MS")?.parse()?);
    wait_for_start();
    let end = Instant::now() + run;
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (source, seen) = (source.clone(), seen.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed) = (0u64, 0u64);
                while Instant::now() < end {
                    match source.access_token() {
                        Ok(token) => {
                            ok += 1;
                            let print = fingerprint(token.secret());
                            if seen.lock().unwrap().insert(print.clone()) {
                                say(&format!("seen {print}"));
                            }
                        }
                        Err(e) => {
                            failed += 1;
                            say(&format!("error {e}"));
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for handle in handles {
        let (o, f) = handle.join().map_err(|_| "a task panicked")?;
        ok += o;
        failed += f;
    }
    source.wait_idle();
    say(&format!("ok {ok}"));
    say(&format!("failed {failed}"));
    Ok(())
}

/// A short, non-secret name for a token (enough to tell tokens apart).
fn fingerprint(secret: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in secret.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The Postgres grants, pausing for good after the first claim when asked to.
#[derive(Clone, Debug)]
struct Hooked {
    inner: PostgresGrants,
    pause_after_claim: bool,
}

#[derive(Debug)]
struct HookedClaims(Box<dyn Claims>, bool);

impl Claims for HookedClaims {
    fn next(&mut self, by: SystemTime, max: usize) -> Result<Vec<GrantName>, StoreError> {
        let claimed = self.0.next(by, max)?;
        if self.1 && !claimed.is_empty() {
            say(&format!("CLAIMED {}", claimed.len()));
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        Ok(claimed)
    }
}

impl GrantStore for Hooked {
    type Store = PostgresStore;
    fn grants(&self) -> Result<Vec<GrantName>, StoreError> {
        self.inner.grants()
    }
    fn open(&self, grant: &GrantName) -> Result<PostgresStore, StoreError> {
        self.inner.open(grant)
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn load_all(
        &self,
        grants: &[GrantName],
    ) -> Vec<Result<Option<pinterest_oauth_core::TokenDocument>, StoreError>> {
        self.inner.load_all(grants)
    }
    fn claims(&self) -> Result<Option<Box<dyn Claims>>, StoreError> {
        Ok(self
            .inner
            .claims()?
            .map(|c| Box::new(HookedClaims(c, self.pause_after_claim)) as Box<dyn Claims>))
    }
}

fn work() -> Result<(), Failure> {
    let grants = Hooked {
        inner: grants()?,
        pause_after_claim: std::env::var("HOOK").is_ok_and(|h| h == "claimed"),
    };
    let pool = TokenPool::with_config(
        client()?,
        grants,
        PoolConfig::default()
            .with_spread(Duration::ZERO)
            .with_app_budget(1_000_000, Duration::from_secs(86_400))
            .with_source_config(SourceConfig::default().with_recovery_dir(recovery_dir())),
    );
    wait_for_start();
    let mut passes = 0;
    loop {
        let report = pool.refresh_due()?;
        passes += 1;
        for grant in &report.refreshed {
            say(&format!("refreshed {grant}"));
        }
        for (grant, error) in &report.failed {
            say(&format!("failed {grant} {error}"));
        }
        for (grant, _) in &report.waiting {
            say(&format!("waiting {grant}"));
        }
        if report.checked == 0 || passes >= 100 {
            break;
        }
    }
    say(&format!("done {passes}"));
    Ok(())
}

fn main() -> ExitCode {
    let result = match std::env::var("MODE").as_deref() {
        Ok("migrate") => env("POSTGRES_URL").map(|url| {
            wait_for_start();
            match pinterest_oauth_postgres::migrate(&url, PostgresConfig::default()) {
                Ok(m) => say(&format!("migrated {} {}", m.from, m.to)),
                Err(e) => say(&format!("error {e}")),
            }
        }),
        Ok("share") => share(),
        Ok("work") => work(),
        _ => Err("set MODE to migrate, share or work".into()),
    };
    // Left only when it holds a set that could not be saved (worth looking at).
    let _ = std::fs::remove_dir(recovery_dir());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error {e}"));
            ExitCode::FAILURE
        }
    }
}
