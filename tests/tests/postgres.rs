//! Grants kept in a real PostgreSQL: compare-and-set under racing writers, a removed grant never
//! re-created, sealed rows, typed errors, migrations raced by processes, one refresh per expiry
//! for eight processes sharing a grant, workers sharing refresh passes (one killed mid-claim),
//! and a server restarted mid-refresh.
//!
//! The server is `POSTGRES_URL` (CI starts one) or a throwaway cluster these tests start; the
//! processes are `pg_worker` (see its docs); the fake Pinterest runs here.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_pinterest::{FakeConfig, FakePinterest, Fault, Route, Times};
use pinterest_oauth_core::{AppId, AuthorizationCode, RedirectUri, TokenDocument};
use pinterest_oauth_postgres::{PostgresConfig, PostgresGrants, SCHEMA_VERSION};
use pinterest_oauth_store::seal::{Keyring, TokenKey};
use pinterest_oauth_store::{GrantName, GrantStore, StoreError, TokenStore};
use pinterest_oauth_tests::child::{all_lines, spawn};
use pinterest_oauth_tests::postgres::{Postgres, postgres, private_postgres, with_database};
use pinterest_oauth_tests::redis::unique_grant;
use pinterest_oauth_tests::tokens::expired_at;
use pinterest_oauth_tests::transports::{Kind, client_for};

const REDIRECT: &str = "http://localhost:8085/";

fn name(n: &str) -> GrantName {
    GrantName::new(n).unwrap()
}

/// An app id of this test's own (rows are per app: tests sharing a server do not meet).
fn app(fake: &FakePinterest) -> AppId {
    AppId::new(fake.app_id()).unwrap()
}

fn fake() -> FakePinterest {
    FakePinterest::start(FakeConfig {
        app_id: unique_grant("app").replace('-', ""),
        ..FakeConfig::default()
    })
    .unwrap()
}

fn open(pg: &Postgres, fake: &FakePinterest) -> PostgresGrants {
    PostgresGrants::with_config(
        pg.url(),
        &app(fake),
        PostgresConfig::default().with_lock_timeout(Duration::from_secs(30)),
    )
    .unwrap()
}

/// A first set from the fake (a code exchanged).
fn first_set(fake: &FakePinterest) -> TokenDocument {
    let client = client_for(Kind::Ureq, fake);
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let token = client
        .exchange_code(
            AuthorizationCode::new(code),
            &RedirectUri::new(REDIRECT).unwrap(),
        )
        .unwrap();
    TokenDocument::new(token)
}

fn put<S: TokenStore>(store: &S, document: &TokenDocument) {
    let lock = store.lock().unwrap();
    store.save(&lock, document).unwrap();
}

#[test]
fn saves_are_compare_and_set_and_racing_writers_lose_no_update() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let grants = open(&pg, &fake);
    let grant = name("raced");
    put(&grants.open(&grant).unwrap(), &first_set(&fake));
    // Eight writers, each with connections of its own, each reading then writing the next
    // revision (a set of its own) under the lock it took afresh: a writer whose read went
    // stale must be refused.
    let sets: Vec<Vec<TokenDocument>> = (0..8)
        .map(|_| (0..25).map(|_| first_set(&fake)).collect())
        .collect();
    // Every round, all eight read before any writes (a barrier): one wins, seven are stale.
    let read_all = std::sync::Barrier::new(8);
    let (saved, refused): (Vec<u64>, Vec<u64>) = std::thread::scope(|scope| {
        let handles: Vec<_> = sets
            .into_iter()
            .map(|sets| {
                let grants = open(&pg, &fake);
                let grant = grant.clone();
                let read_all = &read_all;
                scope.spawn(move || {
                    let store = grants.open(&grant).unwrap();
                    let (mut saved, mut refused) = (Vec::new(), Vec::new());
                    for set in sets {
                        let read = store.load().unwrap().unwrap();
                        read_all.wait();
                        let next = set.rotating(&read);
                        let lock = store.lock().unwrap();
                        match store.save(&lock, &next) {
                            Ok(()) => saved.push(next.revision()),
                            Err(StoreError::Conflict { .. }) => refused.push(next.revision()),
                            Err(e) => panic!("{e}"),
                        }
                        drop(lock);
                        // Every save of this round is made before the next round's reads.
                        read_all.wait();
                    }
                    (saved, refused)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).fold(
            (Vec::new(), Vec::new()),
            |(mut s, mut r), (s2, r2)| {
                s.extend(s2);
                r.extend(r2);
                (s, r)
            },
        )
    });
    let unique: HashSet<u64> = saved.iter().copied().collect();
    assert_eq!(unique.len(), saved.len(), "a revision was written twice");
    let stored = grants.open(&grant).unwrap().load().unwrap().unwrap();
    assert_eq!(
        stored.revision(),
        saved.len() as u64,
        "every accepted save is in the chain: {} saved, {} refused",
        saved.len(),
        refused.len()
    );
    assert_eq!(saved.len(), 25, "one writer wins each round");
    assert_eq!(
        refused.len(),
        175,
        "the seven stale writers of each round are refused"
    );
    // A stale writer holding the lock is refused, and the row is untouched.
    let store = grants.open(&grant).unwrap();
    let stale = stored.clone();
    let lock = store.lock().unwrap();
    assert!(matches!(
        store.save(&lock, &stale.clone().rotating(&first_set(&fake))),
        Err(StoreError::Conflict { .. })
    ));
    drop(lock);
    assert_eq!(store.load().unwrap().unwrap(), stored);
    // Saving without this store's lock is refused.
    assert!(matches!(
        store.save(
            &pinterest_oauth_store::StoreLock::unlocked(),
            &stored.clone().rotating(&stored)
        ),
        Err(StoreError::NotLocked)
    ));
}

#[test]
fn a_held_lock_is_waited_for_up_to_the_lock_timeout_and_released_with_its_holder() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let short = PostgresConfig::default().with_lock_timeout(Duration::from_millis(300));
    let holder = PostgresGrants::with_config(pg.url(), &app(&fake), short.clone()).unwrap();
    let waiter = PostgresGrants::with_config(pg.url(), &app(&fake), short).unwrap();
    let grant = name("contended");
    let held = holder.open(&grant).unwrap().lock().unwrap();
    let store = waiter.open(&grant).unwrap();
    assert!(
        store.try_lock().unwrap().is_none(),
        "another session holds it"
    );
    let started = Instant::now();
    assert!(matches!(store.lock(), Err(StoreError::LockTimeout { .. })));
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Another grant is not held up.
    assert!(
        waiter
            .open(&name("other"))
            .unwrap()
            .try_lock()
            .unwrap()
            .is_some()
    );
    drop(held);
    assert!(
        store.try_lock().unwrap().is_some(),
        "released with its holder"
    );
}

#[test]
fn a_removed_grant_is_never_re_created_by_a_late_save() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let grants = open(&pg, &fake);
    let store = grants.open(&name("leaver")).unwrap();
    let first = first_set(&fake);
    put(&store, &first);
    let lock = store.lock().unwrap();
    // The customer leaves: the service deletes the row with plain SQL.
    psql(
        pg.url(),
        &format!(
            "DELETE FROM pinterest_oauth_grants WHERE app_id = '{}' AND grant_name = 'leaver'",
            fake.app_id()
        ),
    );
    let late = first.clone().rotating(&first);
    assert!(matches!(
        store.save(&lock, &late),
        Err(StoreError::Removed { .. })
    ));
    assert!(matches!(
        store.confirm(
            &lock,
            &pinterest_oauth_store::Attempt::new(
                Duration::from_secs(30),
                5,
                Duration::from_secs(300)
            )
        ),
        Err(StoreError::Removed { .. })
    ));
    drop(lock);
    assert_eq!(store.load().unwrap(), None, "the row stays deleted");
    assert!(grants.grants().unwrap().is_empty());
    // A new login (a first document) does create it again.
    put(&store, &first_set(&fake));
    assert_eq!(grants.grants().unwrap(), vec![name("leaver")]);
}

#[test]
fn sealed_rows_hold_no_token_and_do_not_open_elsewhere() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let key = TokenKey::generate().unwrap();
    let keyring = Keyring::new(vec![key]).unwrap();
    let grants = open(&pg, &fake).with_sealing(keyring.clone());
    let store = grants.open(&name("sealed")).unwrap();
    let document = first_set(&fake);
    put(&store, &document);
    assert_eq!(store.load().unwrap().unwrap(), document);
    let raw = psql(
        pg.url(),
        &format!(
            "SELECT encode(document, 'escape') FROM pinterest_oauth_grants WHERE app_id = '{}'",
            fake.app_id()
        ),
    );
    let refresh = document
        .token()
        .refresh_token()
        .unwrap()
        .secret()
        .to_owned();
    assert!(
        !raw.contains(&refresh) && !raw.contains("access_token"),
        "{raw}"
    );
    assert!(store.sealed_under().unwrap().is_some());
    // Another key: a typed error, nothing overwritten.
    let other =
        open(&pg, &fake).with_sealing(Keyring::new(vec![TokenKey::generate().unwrap()]).unwrap());
    assert!(matches!(
        other.open(&name("sealed")).unwrap().load(),
        Err(StoreError::Sealed { .. })
    ));
    // The row moved to another grant does not open there.
    psql(
        pg.url(),
        &format!(
            "UPDATE pinterest_oauth_grants SET grant_name = 'thief' WHERE app_id = '{}'",
            fake.app_id()
        ),
    );
    assert!(matches!(
        grants.open(&name("thief")).unwrap().load(),
        Err(StoreError::Sealed { .. })
    ));
    let all = grants.load_all(&[name("thief"), name("nobody")]);
    assert!(matches!(all[0], Err(StoreError::Sealed { .. })));
    assert!(matches!(all[1], Ok(None)));
}

#[test]
fn bad_urls_a_wrong_password_and_an_unreachable_server_are_typed_errors_without_secrets() {
    let app = AppId::new("1234567").unwrap();
    let fast = || PostgresConfig::default().with_connect_timeout(Duration::from_millis(500));
    for url in [
        "mysql://u:hunter2@127.0.0.1/db",
        "postgres://u:hunter2@127.0.0.1:notaport/db",
        "postgres://u:hunter2@127.0.0.1/db?sslmode=sometimes",
        "postgres://u:hunter2@127.0.0.1/db?unknown=1",
    ] {
        let err = PostgresGrants::with_config(url, &app, fast()).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidLocation { .. }),
            "{url}: {err}"
        );
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err}");
    }
    // Nothing listens on port 1.
    let err = PostgresGrants::with_config("postgres://u:hunter2@127.0.0.1:1/db", &app, fast())
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err}");
    // A server that accepts and never answers: timed out, said so.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://u:hunter2@127.0.0.1:{}/db?sslmode=disable",
        silent.local_addr().unwrap().port()
    );
    let started = Instant::now();
    let err = PostgresGrants::with_config(&url, &app, fast()).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(silent);
    let Some(pg) = postgres() else { return };
    let wrong = pg.url().replacen("pinterest:", "pinterest:wrong", 1);
    assert_ne!(wrong, pg.url());
    let err = PostgresGrants::open(&wrong, &app).unwrap_err();
    assert!(matches!(err, StoreError::AccessDenied { .. }), "{err}");
    let password = wrong
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    assert!(!format!("{err} {err:?}").contains(&password), "{err}");
    assert!(
        err.to_string().contains("password authentication failed"),
        "{err}"
    );
    let err = PostgresGrants::open(&with_database(pg.url(), "no_such_db"), &app).unwrap_err();
    assert!(matches!(err, StoreError::AccessDenied { .. }), "{err}");
}

/// Runs `sql` with psql; its output.
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .stdin(Stdio::null())
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A `pg_worker` process.
fn worker(fake: &FakePinterest, url: &str, mode: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pg_worker"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MODE", mode)
        .env("POSTGRES_URL", url)
        .env("APP_ID", fake.app_id())
        .env("APP_SECRET", fake.app_secret())
        .env("API_BASE", fake.api_base_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn start_at(after: Duration) -> String {
    (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + after.as_millis())
    .to_string()
}

#[test]
fn migrations_raced_by_eight_processes_apply_once_and_a_newer_schema_is_refused() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let url = pg.new_database("migrate");
    let at = start_at(Duration::from_millis(700));
    let children: Vec<_> = (0..8)
        .map(|_| spawn(worker(&fake, &url, "migrate").env("START_AT_MS", &at)))
        .collect();
    let mut results = Vec::new();
    for (_child, out) in &children {
        results.extend(all_lines(out, Duration::from_secs(60)));
    }
    assert_eq!(results.len(), 8, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.starts_with("migrated ") && r.ends_with(&format!(" {SCHEMA_VERSION}"))),
        "{results:?}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| *r == &format!("migrated 0 {SCHEMA_VERSION}"))
            .count(),
        1,
        "exactly one process applied the migrations: {results:?}"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT string_agg(version::text, ',') FROM pinterest_oauth_schema"
        )
        .trim(),
        "1"
    );
    // A newer schema (a newer pinterest-oauth ran here): refused, nothing changed.
    psql(
        &url,
        "INSERT INTO pinterest_oauth_schema (version) VALUES (99)",
    );
    let err = PostgresGrants::open(&url, &app(&fake)).unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    // A database never migrated, opened with migrations off: refused, saying what to run.
    let bare = pg.new_database("bare");
    let err = PostgresGrants::with_config(
        &bare,
        &app(&fake),
        PostgresConfig::default().with_migrations(false),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: 0, .. }), "{err}");
    assert!(err.to_string().contains("pinterest-oauth migrate"), "{err}");
}

#[test]
fn eight_processes_with_many_tasks_on_one_grant_make_one_refresh_per_expiry() {
    let Some(pg) = postgres() else { return };
    let fake = FakePinterest::start(FakeConfig {
        app_id: unique_grant("app").replace('-', ""),
        access_ttl: Duration::from_secs(4),
        ..FakeConfig::default()
    })
    .unwrap();
    let grants = open(&pg, &fake);
    put(&grants.open(&name("shared")).unwrap(), &first_set(&fake));
    let before = fake.stats().token.refresh_token;
    let at = start_at(Duration::from_millis(1500));
    let run = Duration::from_secs(9);
    let children: Vec<_> = (0..8)
        .map(|_| {
            spawn(
                worker(&fake, pg.url(), "share")
                    .env("GRANT", "shared")
                    .env("TASKS", "8")
                    .env("RUN_MS", run.as_millis().to_string())
                    .env("MARGIN_MS", "1500")
                    .env("START_AT_MS", &at),
            )
        })
        .collect();
    let mut tokens = HashSet::new();
    let mut calls = 0u64;
    for (_child, out) in &children {
        for line in all_lines(out, Duration::from_secs(90)) {
            if let Some(print) = line.strip_prefix("seen ") {
                tokens.insert(print.to_owned());
            } else if let Some(n) = line.strip_prefix("ok ") {
                calls += n.parse::<u64>().unwrap();
            } else {
                assert!(
                    line == "failed 0",
                    "a process failed: {line} ({:?})",
                    fake.stats().token
                );
            }
        }
    }
    let stats = fake.stats();
    let refreshes = stats.token.refresh_token - before;
    // Access tokens live 4 s and are refreshed 1.5 s before expiry: over 9 s, a refresh every
    // 2.5 s at most (four), however many processes and tasks ask.
    assert!(calls > 1000, "the tasks asked only {calls} times");
    assert!(
        (2..=5).contains(&refreshes),
        "{refreshes} refreshes for 8 processes x 8 tasks over {run:?}"
    );
    assert_eq!(
        stats.rotated_reuse, 0,
        "a spent refresh token was sent again"
    );
    // Every refresh's set was handed out (the first set, and one per refresh at most).
    assert!(
        tokens.len() as u64 <= refreshes + 1,
        "{} tokens seen",
        tokens.len()
    );
    let stored = grants
        .open(&name("shared"))
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    assert!(fake.refresh_token_valid(stored.token().refresh_token().unwrap().secret()));
}

/// Seeds `count` grants of the fake's app, each with a set from the fake whose access token
/// has expired (so every one is due).
fn seed_due(fake: &FakePinterest, grants: &PostgresGrants, count: usize) -> Vec<GrantName> {
    let past = SystemTime::now() - Duration::from_secs(60);
    (0..count)
        .map(|i| {
            let grant = name(&format!("customer-{i}"));
            let set = first_set(fake);
            put(
                &grants.open(&grant).unwrap(),
                &expired_at(set.token(), past),
            );
            grant
        })
        .collect()
}

/// Runs `workers` work processes over the app's grants at once; the grants each refreshed,
/// and every line that was not `refreshed` / `done`.
fn run_workers(
    fake: &FakePinterest,
    url: &str,
    workers: usize,
) -> (HashMap<String, usize>, Vec<String>) {
    let at = start_at(Duration::from_millis(1000));
    let children: Vec<_> = (0..workers)
        .map(|_| spawn(worker(fake, url, "work").env("START_AT_MS", &at)))
        .collect();
    let mut refreshed: HashMap<String, usize> = HashMap::new();
    let mut other = Vec::new();
    for (_child, out) in &children {
        for line in all_lines(out, Duration::from_secs(1800)) {
            if let Some(grant) = line.strip_prefix("refreshed ") {
                *refreshed.entry(grant.to_owned()).or_default() += 1;
            } else if !line.starts_with("done ") {
                other.push(line);
            }
        }
    }
    (refreshed, other)
}

fn four_workers_refresh_each_due_grant_exactly_once(count: usize) {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let grants = open(&pg, &fake);
    let seeded = seed_due(&fake, &grants, count);
    let before = fake.stats().token.refresh_token;
    let started = Instant::now();
    let (refreshed, other) = run_workers(&fake, pg.url(), 4);
    let took = started.elapsed();
    assert!(other.is_empty(), "{:?}", &other[..other.len().min(5)]);
    assert_eq!(refreshed.len(), count, "every due grant refreshed");
    assert!(
        refreshed.values().all(|n| *n == 1),
        "a grant refreshed twice"
    );
    let stats = fake.stats();
    assert_eq!(
        stats.token.refresh_token - before,
        count as u64,
        "exactly once each"
    );
    assert_eq!(stats.rotated_reuse, 0);
    for (grant, document) in seeded.iter().zip(grants.load_all(&seeded)) {
        let document = document.unwrap().unwrap();
        assert!(
            fake.access_token_valid(document.token().access_token().unwrap().secret()),
            "{grant}"
        );
    }
    eprintln!("4 workers refreshed {count} due grants in {took:?}");
}

#[test]
fn four_worker_processes_refresh_each_of_many_due_grants_exactly_once() {
    four_workers_refresh_each_due_grant_exactly_once(300);
}

#[test]
#[ignore = "soak: ten thousand due grants and four worker processes (a few minutes); .ci/run runs it"]
fn soak_four_worker_processes_refresh_each_of_ten_thousand_due_grants_exactly_once() {
    four_workers_refresh_each_due_grant_exactly_once(10_000);
}

#[test]
fn a_worker_killed_mid_claim_leaves_its_grants_to_the_others() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let grants = open(&pg, &fake);
    let count = 100;
    seed_due(&fake, &grants, count);
    let before = fake.stats().token.refresh_token;
    // The first worker claims a batch and stops there for good; it is killed (-9).
    let (mut stuck, out) = spawn(worker(&fake, pg.url(), "work").env("HOOK", "claimed"));
    let claimed = out.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(claimed.starts_with("CLAIMED "), "{claimed}");
    let claimed: usize = claimed["CLAIMED ".len()..].parse().unwrap();
    assert!(claimed > 0);
    // While it lives, its claims hold: another worker's pass leaves them alone.
    let (refreshed, other) = run_workers(&fake, pg.url(), 1);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(
        refreshed.len(),
        count - claimed,
        "the live claims were left alone"
    );
    stuck.0.kill().unwrap();
    stuck.0.wait().unwrap();
    // Killed: its claims lapse at once; two workers take its grants over.
    let (taken_over, other) = run_workers(&fake, pg.url(), 2);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(taken_over.len(), claimed, "{taken_over:?}");
    assert!(taken_over.keys().all(|g| !refreshed.contains_key(g)));
    let stats = fake.stats();
    assert_eq!(
        stats.token.refresh_token - before,
        count as u64,
        "each refreshed once"
    );
    assert_eq!(stats.rotated_reuse, 0);
}

#[test]
fn the_server_restarted_mid_refresh_loses_no_grant() {
    let Some(mut pg) = private_postgres() else {
        return;
    };
    let fake = fake();
    let grants = open(&pg, &fake);
    let grant = name("restarted");
    let store = grants.open(&grant).unwrap();
    let first = first_set(&fake);
    put(
        &store,
        &expired_at(first.token(), SystemTime::now() - Duration::from_secs(60)),
    );
    // Pinterest rotates at once and answers 3 s later; meanwhile the database restarts.
    fake.push_fault(
        Route::Token,
        Fault::AnswerLate(Duration::from_secs(3)),
        Times::Once,
    );
    let dir = tempfile::tempdir().unwrap();
    let source = pinterest_oauth_ureq::TokenSource::with_config(
        pinterest_oauth_ureq::Client::with_http_config(
            pinterest_oauth_tests::transports::config_for(&fake),
            &pinterest_oauth_tests::transports::settings_for(&fake),
        )
        .unwrap(),
        store.clone(),
        pinterest_oauth_ureq::SourceConfig::default().with_recovery_dir(dir.path()),
    )
    .unwrap();
    let asking = std::thread::spawn(move || source.access_token().map(|t| t.secret().to_owned()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.stats().token.refresh_token == 0 {
        assert!(Instant::now() < deadline, "no refresh was sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    pg.server().unwrap().restart().unwrap();
    let token = asking.join().unwrap().expect("the new set is handed out");
    assert!(fake.access_token_valid(&token));
    // The new set is in the row (the save went through a new connection once the server was
    // back), and its refresh token is the live one.
    let stored = grants.open(&grant).unwrap().load().unwrap().unwrap();
    assert_eq!(stored.token().access_token().unwrap().secret(), token);
    assert!(fake.refresh_token_valid(stored.token().refresh_token().unwrap().secret()));
    assert_eq!(fake.stats().token.refresh_token, 1);
    assert_eq!(fake.stats().rotated_reuse, 0);
}

#[test]
fn tls_is_verified_against_the_roots_given() {
    use pinterest_oauth_tests::postgres::PgServer;
    let server = match PgServer::start_tls() {
        Ok(server) => server,
        Err(e) if pinterest_oauth_tests::redis::in_ci() => panic!("CI=true: no PostgreSQL: {e}"),
        Err(e) => {
            pinterest_oauth_tests::skipped(&format!("no PostgreSQL to start ({e})"));
            return;
        }
    };
    let app = AppId::new("1234567").unwrap();
    let url = server.url().replace("sslmode=disable", "sslmode=require");
    let ca = rustls::pki_types::CertificateDer::from(server.ca_der().unwrap().to_vec());
    // Its CA given: connected over TLS (the server says so).
    let grants = PostgresGrants::with_config(
        &url,
        &app,
        PostgresConfig::default().with_root_certificates(vec![ca]),
    )
    .unwrap();
    grants.ping().unwrap();
    let ssl = psql(
        &server.url(),
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE s.ssl AND a.application_name = 'pinterest-oauth'",
    );
    assert_ne!(ssl.trim(), "0", "no TLS connection from the store");
    // Not given: the certificate is refused (an unknown issuer), a typed error.
    let err = PostgresGrants::open(&url, &app).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    // libpq's spelling: the CA in a file (`sslrootcert`), `sslmode=verify-full`.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64_lines(server.ca_der().unwrap())
    );
    std::fs::write(&ca_file, pem).unwrap();
    let libpq = server.url().replace(
        "sslmode=disable",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    );
    PostgresGrants::open(&libpq, &app).unwrap().ping().unwrap();
    // sslmode=require against a server without TLS: refused, never sent in the clear.
    let Some(plain) = postgres() else { return };
    let err = PostgresGrants::open(
        &plain.url().replace("sslmode=disable", "sslmode=require"),
        &app,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
}

/// Cuts every connection holding an advisory lock in the database at `url` (a network failure,
/// a server that dropped them), as a server administrator would.
fn cut_lock_connections(url: &str) {
    psql(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
}

fn attempt(burst: u32) -> pinterest_oauth_store::Attempt {
    pinterest_oauth_store::Attempt::new(Duration::from_secs(30), burst, Duration::from_secs(300))
}

#[test]
fn a_request_confirmed_twice_is_counted_once_and_future_stamps_do_not_block_the_budget() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let grants = open(&pg, &fake);
    let store = grants.open(&name("counted")).unwrap();
    put(&store, &first_set(&fake));
    // The transport confirms before recording the attempt and again just before sending.
    let lock = store.lock().unwrap();
    store.confirm(&lock, &attempt(1)).unwrap();
    store.confirm(&lock, &attempt(1)).unwrap();
    drop(lock);
    let counted = psql(
        pg.url(),
        &format!(
            "SELECT cardinality(requests) FROM pinterest_oauth_grants WHERE app_id = '{}'",
            fake.app_id()
        ),
    );
    assert_eq!(counted.trim(), "1");
    // A second request within the window of a budget of one is refused…
    let lock = store.lock().unwrap();
    assert!(matches!(
        store.confirm(&lock, &attempt(1)),
        Err(StoreError::BudgetSpent { .. })
    ));
    // …but stamps far in the future (a server clock stepped back) do not hold it for ever.
    psql(
        pg.url(),
        &format!(
            "UPDATE pinterest_oauth_grants SET requests = ARRAY[now() + interval '30 days', now() + interval '40 days']
             WHERE app_id = '{}'",
            fake.app_id()
        ),
    );
    store.confirm(&lock, &attempt(1)).unwrap();
}

#[test]
fn a_lock_whose_connection_was_cut_neither_clears_the_row_nor_leaves_its_mark() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let url = pg.new_database("cut");
    let grants = PostgresGrants::open(&url, &app(&fake)).unwrap();
    let store = grants.open(&name("cut")).unwrap();
    put(&store, &first_set(&fake));
    let stale = store.lock().unwrap();
    store.confirm(&stale, &attempt(5)).unwrap();
    cut_lock_connections(&url);
    // Another process takes the lock and stores a newer set.
    let other = PostgresGrants::open(&url, &app(&fake))
        .unwrap()
        .open(&name("cut"))
        .unwrap();
    let lock = other.lock().unwrap();
    let current = other.load().unwrap().unwrap();
    let newer = first_set(&fake).rotating(&current);
    other.save(&lock, &newer).unwrap();
    drop(lock);
    // The first process, its lock gone, must not delete the newer set.
    assert!(matches!(
        store.clear(&stale),
        Err(StoreError::LockLost { .. })
    ));
    assert!(matches!(
        store.confirm(&stale, &attempt(5)),
        Err(StoreError::LockLost { .. })
    ));
    assert_eq!(store.load().unwrap().unwrap(), newer);
    // Dropped, it clears its in-flight mark on another connection: nobody waits for it.
    drop(stale);
    let lock = other.lock().unwrap();
    other.confirm(&lock, &attempt(5)).unwrap();
}

#[test]
fn a_lock_taken_in_one_database_is_refused_by_a_store_of_another() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let (a, b) = (pg.new_database("xa"), pg.new_database("xb"));
    let in_a = PostgresGrants::open(&a, &app(&fake))
        .unwrap()
        .open(&name("g"))
        .unwrap();
    let in_b = PostgresGrants::open(&b, &app(&fake))
        .unwrap()
        .open(&name("g"))
        .unwrap();
    let lock_a = in_a.lock().unwrap();
    let document = first_set(&fake);
    assert!(matches!(
        in_b.save(&lock_a, &document),
        Err(StoreError::NotLocked)
    ));
    assert!(matches!(in_b.clear(&lock_a), Err(StoreError::NotLocked)));
    assert!(matches!(
        in_b.confirm(&lock_a, &attempt(5)),
        Err(StoreError::NotLocked)
    ));
    assert_eq!(in_a.load().unwrap(), None);
    assert_eq!(in_b.load().unwrap(), None);
}

#[test]
fn a_server_that_echoes_the_password_has_it_hidden() {
    // A "server" answering the startup message with an error that quotes the password.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut len = [0u8; 4];
        socket.read_exact(&mut len).unwrap();
        let mut rest = vec![0u8; u32::from_be_bytes(len) as usize - 4];
        socket.read_exact(&mut rest).unwrap();
        let mut fields = Vec::new();
        for (code, value) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "XX000"),
            (b'M', "bad thing s3cretpw"),
        ] {
            fields.push(code);
            fields.extend_from_slice(value.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut message = vec![b'E'];
        message.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
        message.extend_from_slice(&fields);
        socket.write_all(&message).unwrap();
    });
    let url = format!("postgres://app:s3cretpw@127.0.0.1:{port}/db?sslmode=disable");
    let err = PostgresGrants::open(&url, &AppId::new("1234567").unwrap()).unwrap_err();
    server.join().unwrap();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("bad thing"), "{shown}");
    assert!(!shown.contains("s3cretpw"), "{shown}");
}

#[test]
fn a_schema_table_edited_by_hand_is_mended_or_refused_never_misread() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let url = pg.new_database("edited");
    let grants = PostgresGrants::open(&url, &app(&fake)).unwrap();
    put(&grants.open(&name("kept")).unwrap(), &first_set(&fake));
    // The version rows deleted: the schema is brought back, the rows untouched.
    psql(&url, "DELETE FROM pinterest_oauth_schema");
    let again = PostgresGrants::open(&url, &app(&fake)).unwrap();
    assert_eq!(again.grants().unwrap(), vec![name("kept")]);
    // A version no release writes: refused, saying it was edited.
    psql(
        &url,
        "INSERT INTO pinterest_oauth_schema (version) VALUES (-5)",
    );
    psql(&url, "DELETE FROM pinterest_oauth_schema WHERE version = 1");
    let err = PostgresGrants::open(&url, &app(&fake)).unwrap_err();
    assert!(matches!(err, StoreError::Schema { found: -5, .. }), "{err}");
    assert!(err.to_string().contains("by hand"), "{err}");
}

/// `bytes` in base64, 64 characters a line (PEM).
fn base64_lines(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.as_bytes()
        .chunks(64)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_late_save_never_overwrites_a_grant_deleted_and_made_again_by_a_login() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let url = pg.new_database("remade");
    let grants = PostgresGrants::open(&url, &app(&fake)).unwrap();
    let store = grants.open(&name("remade")).unwrap();
    let first = first_set(&fake);
    put(&store, &first);
    // A refresh under way: its lock confirmed, then its connection cut.
    let stale = store.lock().unwrap();
    store.confirm(&stale, &attempt(5)).unwrap();
    cut_lock_connections(&url);
    // Meanwhile the grant is revoked (the row deleted) and the user logs in again, several
    // times, so the new row's version passes the old one's.
    let other = PostgresGrants::open(&url, &app(&fake))
        .unwrap()
        .open(&name("remade"))
        .unwrap();
    let lock = other.lock().unwrap();
    other.clear(&lock).unwrap();
    let mut login = first_set(&fake);
    other.save(&lock, &login).unwrap();
    for _ in 0..3 {
        let next = first_set(&fake).succeeding(Some(&login));
        other.save(&lock, &next).unwrap();
        login = next;
    }
    drop(lock);
    // The late answer of the old chain comes back: it must not replace the new login.
    let late = first_set(&fake).rotating(&first);
    assert!(
        matches!(
            store.save(&stale, &late),
            Err(StoreError::Conflict { .. } | StoreError::Removed { .. })
        ),
        "a late save overwrote the new login"
    );
    assert_eq!(store.load().unwrap().unwrap(), login);
    // And without a cut connection, a save that follows the row it saw still goes through.
    let lock = store.lock().unwrap();
    store.confirm(&lock, &attempt(5)).unwrap();
    cut_lock_connections(&url);
    let refreshed = first_set(&fake).rotating(&login);
    store.save(&lock, &refreshed).unwrap();
    assert_eq!(store.load().unwrap().unwrap(), refreshed);
}

#[test]
fn async_pools_on_tokio_share_passes_and_single_flight_through_postgres() {
    let Some(pg) = postgres() else { return };
    let fake = fake();
    let grants = open(&pg, &fake);
    let count = 60;
    let seeded = seed_due(&fake, &grants, count);
    let before = fake.stats().token.refresh_token;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = || {
        pinterest_oauth_hyper::TokenPool::with_config(
            pinterest_oauth_hyper::Client::with_http_config(
                pinterest_oauth_tests::transports::config_for(&fake),
                &pinterest_oauth_tests::transports::settings_for(&fake),
            )
            .unwrap(),
            open(&pg, &fake),
            pinterest_oauth_hyper::PoolConfig::default()
                .with_spread(Duration::ZERO)
                .with_app_budget(10_000, Duration::from_secs(86_400))
                .with_source_config(
                    pinterest_oauth_hyper::SourceConfig::default().with_recovery_dir(dir.path()),
                ),
        )
    };
    let (first, second) = (pool(), pool());
    let refreshed = runtime.block_on(async {
        // Tasks asking for one grant while two async workers run passes over them all.
        let asking: Vec<_> = (0..50)
            .map(|_| {
                let first = first.clone();
                tokio::spawn(async move { first.access_token(&name("customer-0")).await })
            })
            .collect();
        let (a, b) = tokio::join!(first.refresh_due(), second.refresh_due());
        for task in asking {
            task.await.unwrap().unwrap();
        }
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.failed.is_empty() && b.failed.is_empty(), "{a:?} {b:?}");
        // Each grant looked at by one worker (claims), unless the asking tasks got there
        // first.
        let mut refreshed: Vec<GrantName> = a.refreshed.into_iter().chain(b.refreshed).collect();
        refreshed.sort();
        refreshed
    });
    let unique: HashSet<&GrantName> = refreshed.iter().collect();
    assert_eq!(
        unique.len(),
        refreshed.len(),
        "a grant was refreshed by both workers"
    );
    let stats = fake.stats();
    assert_eq!(
        stats.token.refresh_token - before,
        count as u64,
        "each grant once"
    );
    assert_eq!(stats.rotated_reuse, 0);
    for document in grants.load_all(&seeded) {
        let document = document.unwrap().unwrap();
        assert!(fake.access_token_valid(document.token().access_token().unwrap().secret()));
    }
}
