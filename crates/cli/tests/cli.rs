//! The built `pinterest-oauth` binary against the fake Pinterest, the test acting as the browser.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_pinterest::{ConsentMode, FakeConfig, FakePinterest, Fault, Route, Times};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// The binary under test; `PINTEREST_OAUTH_BIN` points these tests at another build (an older
/// release, to show a test fails there).
fn bin() -> std::ffi::OsString {
    std::env::var_os("PINTEREST_OAUTH_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_pinterest-oauth").into())
}

/// A fake, a token file, and the options that point the CLI at them.
struct Env {
    fake: FakePinterest,
    dir: tempfile::TempDir,
    token_dir: PathBuf,
    transport: &'static str,
    /// Run the CLI as this user id (through `setpriv`).
    user: Option<u32>,
}

impl Env {
    fn new(transport: &'static str) -> Env {
        Env::with(transport, FakeConfig::default())
    }

    fn with(transport: &'static str, config: FakeConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env {
            fake: FakePinterest::start(config).unwrap(),
            token_dir: dir.path().to_path_buf(),
            dir,
            transport,
            user: None,
        }
    }

    fn token_file(&self) -> PathBuf {
        self.token_dir.join("token.json")
    }

    /// `XDG_STATE_HOME` for the CLI: kept sets and answers are under `pinterest-oauth/recovered`.
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The files kept in the recovery directory.
    fn kept_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.state_dir().join("pinterest-oauth/recovered"))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// The CLI with the fake's credentials and URLs, in a clean environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = match self.user {
            Some(uid) => {
                let mut setpriv = Command::new("setpriv");
                setpriv
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .args(["--clear-groups", "--"])
                    .arg(bin());
                setpriv
            }
            None => Command::new(bin()),
        };
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PINTEREST_APP_ID", self.fake.app_id())
            .env("PINTEREST_APP_SECRET", self.fake.app_secret())
            .env("PINTEREST_API_URI", self.fake.api_base_url())
            .env("PINTEREST_TOKEN_FILE", self.token_file())
            // Sets kept aside go here, never into the home directory of whoever runs the tests.
            .env("XDG_STATE_HOME", self.state_dir())
            .args([
                "--consent-url",
                &self.fake.consent_url(),
                "--transport",
                self.transport,
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        finish(self.command(args).spawn().unwrap())
    }

    /// `login --no-browser`, with the test as the browser.
    fn login(&self, extra: &[&str]) -> (Output, Browsed) {
        let pending = self.start_login(extra);
        let browsed = pending.browse();
        (pending.finish(), browsed)
    }
}

/// What the browser saw.
#[derive(Debug)]
struct Browsed {
    consent_url: String,
    callback: String,
    status: u16,
    page: String,
}

/// A browser: in this process, or `curl` with a cookie jar run as another user.
enum Browser {
    Here(fake_pinterest::Browser),
    As { uid: u32, jar: PathBuf },
}

impl Browser {
    /// GETs `url`, cookies kept, no redirect followed.
    fn visit(&mut self, url: &str) -> fake_pinterest::Visit {
        match self {
            Browser::Here(browser) => browser.visit(url).unwrap_or_else(|e| panic!("{url}: {e}")),
            Browser::As { uid, jar } => {
                let output = Command::new("setpriv")
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .args([
                        "--clear-groups",
                        "--",
                        "curl",
                        "-s",
                        "-i",
                        "--max-time",
                        "30",
                    ])
                    .arg("-b")
                    .arg(&*jar)
                    .arg("-c")
                    .arg(&*jar)
                    .arg(url)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let answer = text(&output.stdout);
                let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("{url}: {answer} {}", text(&output.stderr)));
                let location = head.lines().find_map(|l| {
                    l.split_once(':')
                        .filter(|(name, _)| name.eq_ignore_ascii_case("location"))
                        .map(|(_, v)| v.trim().to_owned())
                });
                fake_pinterest::Visit {
                    status,
                    location,
                    body: body.to_owned(),
                }
            }
        }
    }
}

/// Waits for the child (bounded), collecting its output.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the CLI ran longer than {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_end(&mut stdout).unwrap();
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_end(&mut stderr).unwrap();
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)))
}

fn stored(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The whole workflow for one transport.
fn workflow(transport: &'static str) {
    let env = Env::new(transport);
    let (login, browsed) = env.login(&["--scopes", "boards:read,pins:read"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert_eq!(browsed.status, 200);
    assert!(browsed.page.contains("You can close this tab"));
    assert!(
        text(&login.stdout).starts_with("logged in; tokens saved to"),
        "{}",
        text(&login.stdout)
    );
    let file = stored(&env.token_file());
    assert_eq!(
        file["scopes"],
        serde_json::json!(["boards:read", "pins:read"])
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.token_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // token: only the access token on stdout.
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert_eq!(
        text(&token.stdout),
        format!("{}\n", file["access_token"].as_str().unwrap())
    );
    assert!(env.fake.access_token_valid(text(&token.stdout).trim()));

    // status: what is stored, never a secret.
    let status = env.run(&["status"]);
    assert_eq!(code(&status), 0);
    let shown = text(&status.stdout);
    assert!(shown.contains("access token: valid"), "{shown}");
    assert!(shown.contains("boards:read, pins:read"), "{shown}");
    assert!(shown.contains(env.token_file().to_str().unwrap()));
    for secret in [
        file["access_token"].as_str().unwrap(),
        file["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!shown.contains(secret));
    }
    let status = json(&env.run(&["status", "--json"]));
    assert_eq!(status["stored"], true);
    assert_eq!(status["expired"], false);
    assert_eq!(status["has_refresh_token"], true);

    // refresh: rotates and saves; the old refresh token is dead at the fake.
    let refresh = env.run(&["refresh", "--json", "--show-refresh-token"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    let refreshed = json(&refresh);
    let after = stored(&env.token_file());
    assert_eq!(refreshed["access_token"], after["access_token"]);
    assert_eq!(refreshed["refresh_token"], after["refresh_token"]);
    assert_ne!(after["refresh_token"], file["refresh_token"]);
    assert_eq!(refreshed["token_type"], "bearer");
    assert!(refreshed["expires_in"].as_u64().unwrap() > 29 * 86_400);
    assert!(refreshed["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(refreshed["refresh_token_expires_at"].is_string());
    assert_eq!(env.fake.stats().token.refresh_token, 1);
    let without = json(&env.run(&["token", "--json"]));
    assert!(
        without.get("refresh_token").is_none(),
        "only with --show-refresh-token"
    );
    assert_eq!(without["access_token"], after["access_token"]);

    // client-credentials: printed, and saved only with --save.
    let app = env.run(&["client-credentials", "--scopes", "ads:read", "--json"]);
    assert_eq!(code(&app), 0, "{}", text(&app.stderr));
    let app = json(&app);
    assert_eq!(app["scopes"], serde_json::json!(["ads:read"]));
    assert!(app["refresh_token_expires_at"].is_null());
    assert_eq!(
        stored(&env.token_file())["access_token"],
        after["access_token"]
    );

    // revoke: both tokens, and the file goes.
    let revoke = env.run(&["revoke"]);
    assert_eq!(code(&revoke), 0, "{}", text(&revoke.stderr));
    assert!(
        !env.fake
            .access_token_valid(after["access_token"].as_str().unwrap())
    );
    assert!(!env.token_file().exists());
    assert_eq!(env.fake.stats().revoke, 2);
    let gone = env.run(&["token"]);
    assert_eq!(code(&gone), 3, "{}", text(&gone.stderr));

    // client-credentials --save makes a token file `token` serves.
    let saved = env.run(&["client-credentials", "--scopes", "ads:read", "--save"]);
    assert_eq!(code(&saved), 0, "{}", text(&saved.stderr));
    assert_eq!(code(&env.run(&["token"])), 0);
}

#[test]
fn the_whole_workflow_with_ureq() {
    workflow("ureq");
}

#[cfg(feature = "hyper")]
#[test]
fn the_whole_workflow_with_hyper() {
    workflow("hyper");
}

/// Edits the stored document: `edit` gets it as JSON.
fn edit_stored(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut doc = stored(path);
    edit(&mut doc);
    std::fs::write(path, doc.to_string()).unwrap();
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Makes the stored access token expired a minute ago, as if it were the next month: the
/// request budget of earlier refreshes is spent.
fn expire_stored(path: &Path) {
    edit_stored(path, |doc| {
        let now = unix_now();
        doc["expires_at"] = (now - 60).into();
        doc["received_at"] = (now - 60 - doc["expires_in"].as_u64().unwrap()).into();
        if doc["lifecycle"].is_object() && doc["lifecycle"]["stopped"].is_null() {
            doc["lifecycle"]["not_before"] = Value::Null;
            doc["lifecycle"]["requests"] = serde_json::json!([]);
        }
    });
}

/// A logged-in environment.
fn logged_in(config: FakeConfig) -> Env {
    let env = Env::with("ureq", config);
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    env
}

#[test]
fn revoking_the_refresh_token_revokes_the_access_tokens_too() {
    let env = logged_in(FakeConfig::default());
    let file = stored(&env.token_file());
    let only = json(&env.run(&["revoke", "--refresh-token", "--json"]));
    assert_eq!(only["revoked"], serde_json::json!(["refresh_token"]));
    // Pinterest revokes the access tokens issued from a revoked refresh token: nothing usable
    // is left, so nothing is kept.
    let access = file["access_token"].as_str().unwrap();
    assert!(!env.fake.access_token_valid(access));
    assert_eq!(only["token_file_removed"], true);
    assert!(!env.token_file().exists());
    // A refresh needs a login; the dead refresh token is never sent.
    let refresh = env.run(&["refresh"]);
    assert_eq!(code(&refresh), 3, "{}", text(&refresh.stderr));
    let err = text(&refresh.stderr);
    assert!(err.contains("run `pinterest-oauth login`"), "{err}");
    assert_eq!(env.fake.stats().token.refresh_token, 0);
    // Nothing left to revoke is said, not faked.
    let nothing = env.run(&["revoke", "--refresh-token"]);
    assert_ne!(code(&nothing), 0, "{}", text(&nothing.stderr));
    assert!(!text(&nothing.stdout).contains("revoked:"));
    assert_eq!(
        code(&env.run(&["revoke", "--access-token", "--refresh-token"])),
        2,
        "one or the other"
    );
}

#[test]
fn revoking_the_access_token_forgets_it() {
    let env = logged_in(FakeConfig::default());
    let first = stored(&env.token_file());
    let revoke = env.run(&["revoke", "--access-token"]);
    assert_eq!(code(&revoke), 0, "{}", text(&revoke.stderr));
    assert!(
        !env.fake
            .access_token_valid(first["access_token"].as_str().unwrap())
    );
    // The revoked token is never printed again, nor called valid.
    let after = stored(&env.token_file());
    assert!(after["access_token"].is_null(), "{after}");
    let status = env.run(&["status"]);
    assert!(
        !text(&status.stdout).contains("access token: valid"),
        "{}",
        text(&status.stdout)
    );
    // The next `token` refreshes (the refresh token still works) and prints a new one.
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert_ne!(
        text(&token.stdout).trim(),
        first["access_token"].as_str().unwrap()
    );
    assert!(env.fake.access_token_valid(text(&token.stdout).trim()));
    assert_eq!(env.fake.stats().token.refresh_token, 1);
}

#[test]
fn revoke_works_on_what_is_stored_under_the_lock() {
    let env = logged_in(FakeConfig::default());
    let store = pinterest_oauth_store::FileStore::new(env.token_file());
    // Another process is refreshing: it holds the lock and will save a new set.
    let held = pinterest_oauth_store::TokenStore::lock(&store).unwrap();
    let revoke = env.command(&["revoke"]).spawn().unwrap();
    // While the lock is held, revoke sends nothing (it would revoke a set about to go).
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(25));
        assert_eq!(
            env.fake.stats().revoke,
            0,
            "revoke read the file without the lock"
        );
    }
    // The other process's refresh lands: set B.
    let b = {
        let client = pinterest_oauth_ureq::Client::with_http_config(
            pinterest_oauth_tests_config(&env.fake),
            &pinterest_oauth_ureq::HttpConfig::default(),
        )
        .unwrap();
        let a = pinterest_oauth_store::TokenStore::load(&store)
            .unwrap()
            .unwrap();
        let b = client.refresh(a.token().refresh_token().unwrap()).unwrap();
        let doc = pinterest_oauth_core::TokenDocument::new(b.clone()).succeeding(Some(&a));
        pinterest_oauth_store::TokenStore::save(&store, &held, &doc).unwrap();
        b
    };
    drop(held);
    let revoke = finish(revoke);
    assert_eq!(code(&revoke), 0, "{}", text(&revoke.stderr));
    // What was stored when revoke ran is what was revoked: no live token is left unheld.
    assert!(
        !env.fake
            .access_token_valid(b.access_token().unwrap().secret())
    );
    assert!(
        !env.fake
            .refresh_token_valid(b.refresh_token().unwrap().secret())
    );
    assert!(!env.token_file().exists());
}

fn pinterest_oauth_tests_config(fake: &FakePinterest) -> pinterest_oauth_core::ClientConfig {
    pinterest_oauth_core::ClientConfig::new(
        pinterest_oauth_core::AppId::new(fake.app_id()).unwrap(),
        pinterest_oauth_core::AppSecret::new(fake.app_secret()),
    )
    .with_base_url(pinterest_oauth_core::BaseUrl::parse(&fake.api_base_url()).unwrap())
}

#[test]
fn tokens_that_expire_at_once_cost_one_request_not_a_storm() {
    // As `fake-pinterest --access-ttl 0` answers.
    let env = logged_in(FakeConfig {
        access_ttl: Duration::ZERO,
        ..FakeConfig::default()
    });
    let refresh = env.run(&["refresh"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    assert_eq!(
        env.fake.stats().token.refresh_token,
        1,
        "one refresh, one request"
    );
    for _ in 0..5 {
        let token = env.run(&["token"]);
        assert_eq!(code(&token), 4, "{}", text(&token.stderr));
        let err = text(&token.stderr);
        assert!(
            err.contains("no valid access token") && err.contains("request budget"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            text(&token.stdout).is_empty(),
            "an expired token is never printed"
        );
    }
    assert!(
        env.fake.stats().token.refresh_token <= 2,
        "five `token` calls sent at most one more"
    );
}

#[test]
fn a_directory_that_cannot_be_written_costs_no_refresh_token() {
    let env = Unprivileged::new();
    let (login, _) = env.env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let first = stored(&env.env.token_file());
    // The directory becomes read-only (a full disk or a quota would do the same).
    env.chmod_dir(0o500);
    let refresh = env.env.run(&["refresh"]);
    assert_eq!(code(&refresh), 6, "{}", text(&refresh.stderr));
    assert_eq!(
        env.env.fake.stats().token.refresh_token,
        0,
        "nothing was sent: the refresh token is not spent"
    );
    // Fixed: the same refresh token works.
    env.chmod_dir(0o700);
    let refresh = env.env.run(&["refresh"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    assert_ne!(
        stored(&env.env.token_file())["refresh_token"],
        first["refresh_token"]
    );
}

/// An environment whose CLI runs as an unprivileged user when the tests run as root (root
/// ignores file modes), in a directory that user owns.
struct Unprivileged {
    env: Env,
    dir: PathBuf,
}

impl Unprivileged {
    fn new() -> Unprivileged {
        let mut env = Env::new("ureq");
        let dir = env.dir.path().join("private");
        std::fs::create_dir(&dir).unwrap();
        if running_as_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755))
                .unwrap();
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
            std::fs::create_dir(env.state_dir()).unwrap();
            std::os::unix::fs::chown(env.state_dir(), Some(NOBODY), Some(NOBODY)).unwrap();
            env.user = Some(NOBODY);
        }
        env.token_dir = dir.clone();
        Unprivileged { env, dir }
    }

    fn chmod_dir(&self, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// The unprivileged user the CLI runs as when the tests run as root.
const NOBODY: u32 = 65534;

/// Says, where a person running the tests sees it, that the current test checked nothing:
/// straight to the process's stderr, which the harness does not capture for a passing test.
fn skipped(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

/// Whether the tests can act as another local user (they run as root, which can become uid
/// 65534); otherwise says the test is skipped. Under CI, where the tests run as root, never
/// skips.
fn acts_as_another_user() -> bool {
    if running_as_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI runs the tests as root"
    );
    skipped("needs root to act as another local user (uid 65534)");
    false
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn odd_but_valid_answers_keep_every_credential() {
    let env = logged_in(FakeConfig::default());
    let first = stored(&env.token_file());
    env.fake.set_shape(fake_pinterest::AnswerShape {
        created: true,
        omit_scope_on_refresh: true,
        expires_in_as_string: true,
        ..Default::default()
    });
    let refresh = env.run(&["refresh"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    let after = stored(&env.token_file());
    assert_eq!(
        after["scopes"], first["scopes"],
        "an omitted scope keeps the stored scopes"
    );
    let rotated = after["refresh_token"].as_str().unwrap();
    assert_ne!(after["refresh_token"], first["refresh_token"]);
    assert!(
        env.fake.refresh_token_valid(rotated),
        "the rotated token is the one kept"
    );
    // A legacy grant: no refresh token in the answer, the old one stays and is kept.
    env.fake.set_shape(fake_pinterest::AnswerShape {
        legacy_refresh: true,
        space_separated_scope: true,
        ..Default::default()
    });
    assert_eq!(code(&env.run(&["refresh"])), 0);
    assert_eq!(stored(&env.token_file())["refresh_token"], rotated);
}

#[test]
fn a_refresh_token_pinterest_no_longer_renews_is_not_chased_and_is_announced() {
    // A legacy grant whose refresh token lapses in three days: refreshes do not renew it.
    let env = logged_in(FakeConfig {
        refresh_ttl: Duration::from_secs(3 * 86_400),
        shape: fake_pinterest::AnswerShape {
            legacy_refresh: true,
            ..Default::default()
        },
        ..FakeConfig::default()
    });
    assert_eq!(code(&env.run(&["refresh"])), 0);
    for _ in 0..3 {
        let token = env.run(&["token"]);
        assert_eq!(code(&token), 0, "{}", text(&token.stderr));
        let err = text(&token.stderr);
        assert!(
            err.contains("does not renew this refresh token") && err.contains("login"),
            "{err}"
        );
    }
    assert_eq!(
        env.fake.stats().token.refresh_token,
        1,
        "no chasing of the lapse"
    );
}

#[test]
fn refusals_stop_automatic_requests_for_every_later_run() {
    let env = logged_in(FakeConfig::default());
    for (fault, expected) in [
        (
            Fault::status(401, r#"{"code":2,"message":"Authentication failed."}"#),
            "refused the app id or secret",
        ),
        (Fault::forbidden(), "does not permit"),
        (
            Fault::status(400, r#"{"code":1,"message":"Invalid parameters."}"#),
            "refused the request",
        ),
    ] {
        let before = env.fake.stats().token.refresh_token;
        env.fake.push_fault(Route::Token, fault, Times::Always);
        expire_stored(&env.token_file());
        let first = env.run(&["token"]);
        assert_eq!(code(&first), 4, "{}", text(&first.stderr));
        for _ in 0..5 {
            let again = env.run(&["token"]);
            assert_eq!(code(&again), 4);
            let err = text(&again.stderr);
            assert!(
                err.contains("no automatic token requests") && err.contains(expected),
                "{err}"
            );
        }
        assert_eq!(
            env.fake.stats().token.refresh_token,
            before + 1,
            "{expected}: retried"
        );
        // The user forces one once the cause is fixed.
        env.fake.clear_faults();
        let forced = env.run(&["refresh"]);
        assert_eq!(code(&forced), 0, "{}", text(&forced.stderr));
        assert_eq!(code(&env.run(&["token"])), 0);
    }
}

#[test]
fn a_fixed_app_secret_lifts_the_stop_without_forcing() {
    let env = logged_in(FakeConfig::default());
    expire_stored(&env.token_file());
    let wrong = env.run(&["--app-secret", "wrong", "token"]);
    assert_eq!(code(&wrong), 4, "{}", text(&wrong.stderr));
    assert!(
        !text(&wrong.stderr).contains("wrong"),
        "the secret is never shown"
    );
    assert_eq!(code(&env.run(&["--app-secret", "wrong", "token"])), 4);
    assert_eq!(env.fake.stats().token.refresh_token, 1);
    let fixed = env.run(&["token"]);
    assert_eq!(code(&fixed), 0, "{}", text(&fixed.stderr));
    assert_eq!(env.fake.stats().token.refresh_token, 2);
}

#[test]
fn rate_limits_are_honoured_by_every_later_run() {
    let limited = || {
        Fault::respond(
            400,
            &[("x-ratelimit-reset", "3600")],
            r#"{"code":8,"message":"Max rate limit exceeded"}"#,
        )
    };
    for fault in [Fault::rate_limited(3600), limited()] {
        let env = logged_in(FakeConfig::default());
        env.fake.push_fault(Route::Token, fault, Times::Once);
        expire_stored(&env.token_file());
        let first = env.run(&["token"]);
        assert_eq!(code(&first), 4, "{}", text(&first.stderr));
        // Scripts call `token` before every API request.
        for _ in 0..20 {
            let again = env.run(&["token"]);
            assert_eq!(code(&again), 4);
            assert!(
                text(&again.stderr).contains("rate limited"),
                "{}",
                text(&again.stderr)
            );
        }
        // Even a forced refresh waits for Pinterest's own limit.
        assert_eq!(code(&env.run(&["refresh"])), 4);
        assert_eq!(
            env.fake.stats().token.refresh_token,
            1,
            "20 calls, no more requests"
        );
    }
}

#[test]
fn far_future_expiry_times_never_crash_the_cli() {
    let env = logged_in(FakeConfig {
        access_ttl: Duration::from_secs(250_000_000_000),
        ..FakeConfig::default()
    });
    edit_stored(&env.token_file(), |doc| {
        doc["refresh_token_expires_at"] = 300_000_000_000u64.into();
        doc["expires_at"] = u64::MAX.into();
        doc["expires_in"] = u64::MAX.into();
    });
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["token", "--json"],
        &["token"],
    ] {
        let out = env.run(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn login_checks_the_token_file_before_spending_the_consent() {
    for content in [
        &b"{ corrupt"[..],
        br#"{"version":99,"access_token":"pina_x"}"#,
    ] {
        let env = Env::new("ureq");
        std::fs::write(env.token_file(), content).unwrap();
        let login = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "5"]);
        assert_eq!(code(&login), 6, "{}", text(&login.stderr));
        assert!(
            text(&login.stderr).contains("untouched"),
            "{}",
            text(&login.stderr)
        );
        assert!(
            !text(&login.stderr).contains("/oauth/?"),
            "the consent page never opened"
        );
        assert_eq!(env.fake.stats().consent, 0);
        assert_eq!(std::fs::read(env.token_file()).unwrap(), content);
    }
}

#[test]
fn token_never_waits_for_a_busy_lock_while_it_holds_a_valid_token() {
    let env = logged_in(FakeConfig::default());
    // Due (within the refresh margin) but valid.
    edit_stored(&env.token_file(), |doc| {
        let now = unix_now();
        doc["expires_at"] = (now + 120).into();
        doc["received_at"] = (now + 120 - doc["expires_in"].as_u64().unwrap()).into();
    });
    let access = stored(&env.token_file())["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = pinterest_oauth_store::FileStore::new(env.token_file());
    let held = pinterest_oauth_store::TokenStore::lock(&store).unwrap();
    // With the lock held by "another process" for the whole run, `token` must finish (a wait
    // would outlast the test's limit: the lock timeout is two minutes).
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert_eq!(text(&token.stdout).trim(), access);
    drop(held);
    assert_eq!(
        env.fake.stats().token.refresh_token,
        0,
        "the lock holder refreshes, not us"
    );
}

/// A login in progress: the child, its consent URL, and its stderr lines still to come.
struct Pending {
    child: Child,
    /// The login's one-time start address, as printed.
    start_url: String,
    /// The redirect URI it listens on, as printed.
    redirect_uri: String,
    /// Where the start address redirected the browser.
    consent_url: String,
    /// The browser that opened the start address (it holds the login's cookie).
    browser: std::sync::Mutex<Browser>,
    lines: mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<String>,
}

impl Env {
    /// Starts `login`, waits for it to print where it listens and its start address, registers
    /// the redirect URI with the fake (the app's owner did that), and opens the start address
    /// in a browser of its own (which then holds the login's cookie).
    fn start_login(&self, extra: &[&str]) -> Pending {
        self.launch_login(extra, true)
    }

    /// Starts `login`; with `open`, as [`start_login`]; without, nobody has opened the start
    /// address yet.
    fn launch_login(&self, extra: &[&str], open: bool) -> Pending {
        let mut args = vec!["login", "--no-browser"];
        args.extend_from_slice(extra);
        if !extra
            .iter()
            .any(|a| *a == "--port" || *a == "--redirect-uri")
        {
            args.extend(["--port", "0"]);
        }
        let mut child = self.command(&args).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut redirect_uri = None;
        let start_url = loop {
            let line = lines
                .recv_timeout(LIMIT)
                .expect("the CLI prints where it listens and its start address");
            if let Some(rest) = line.split_once("send the browser back to ") {
                redirect_uri = rest.1.split(" (listening").next().map(str::to_owned);
            }
            if line.starts_with("http://") && line.contains("/start/") {
                break line;
            }
        };
        let redirect_uri = redirect_uri.expect("the CLI says where it listens");
        self.fake.register_redirect_uri(&redirect_uri);
        let mut pending = Pending {
            child,
            start_url,
            redirect_uri,
            consent_url: String::new(),
            browser: std::sync::Mutex::new(Browser::Here(fake_pinterest::Browser::new(None))),
            lines,
            reader,
        };
        if open {
            pending.open(self);
        }
        pending
    }
}

impl Pending {
    /// The user's browser opens the start address: it runs as the user the CLI runs as (the
    /// listener serves no other), and ends on the consent page's address.
    fn open(&mut self, env: &Env) {
        let mut browser = match env.user {
            Some(uid) => Browser::As {
                uid,
                // Where that user can write it (the test's own directories may be root's).
                jar: std::env::temp_dir().join(format!(
                    "pinterest-oauth-test-cookies-{}-{}",
                    std::process::id(),
                    env.fake.addr().port()
                )),
            },
            None => Browser::Here(fake_pinterest::Browser::new(None)),
        };
        let started = browser.visit(&self.start_url);
        assert_eq!(started.status, 302, "{}", started.body);
        let consent_url = started.location.expect("the start address redirects");
        assert!(
            consent_url.starts_with(&env.fake.consent_url()),
            "{consent_url}"
        );
        self.consent_url = consent_url;
        self.browser = std::sync::Mutex::new(browser);
    }

    /// The redirect URI the login listens on.
    fn listener(&self) -> url::Url {
        url::Url::parse(&self.redirect_uri).unwrap()
    }

    /// GETs `url` in the browser that started the login (no redirect followed).
    fn visit(&self, url: &str) -> fake_pinterest::Visit {
        self.browser.lock().unwrap().visit(url)
    }

    /// The consent page, then the redirect it gives, in the browser that started the login.
    fn browse(&self) -> Browsed {
        let consent = self.visit(&self.consent_url);
        assert_eq!(consent.status, 302, "{}", consent.body);
        let callback = consent.location.unwrap();
        let answer = self.visit(&callback);
        Browsed {
            consent_url: self.consent_url.clone(),
            status: answer.status,
            page: answer.body,
            callback,
        }
    }

    fn finish(self) -> Output {
        let mut output = finish(self.child);
        drop(self.lines);
        output.stderr = self.reader.join().unwrap().into_bytes();
        output
    }
}

/// GETs `url` as a browser would (no redirects followed).
fn get(url: &str) -> fake_pinterest::Visit {
    fake_pinterest::visit(url, None).unwrap_or_else(|e| panic!("{url}: {e}"))
}

#[test]
fn fifty_forged_callbacks_cannot_end_or_steal_a_login() {
    let env = Env::new("ureq");
    let pending = env.start_login(&[]);
    let listener = pending.listener();
    let origin = format!("http://127.0.0.1:{}", listener.port().unwrap());
    let forged = [
        "/?code=forged&state=wrong-state-of-the-right-length-000000",
        "/?code=forged",
        "/?error=access_denied",
        "/?error=access_denied&error_description=FORGED-DESCRIPTION",
        "/?error=access_denied&state=also-wrong",
        "/?state=",
        "/?state=wrong&state=wrong",
        "/?code=a&code=b",
        "/other/path?code=x",
        "/?",
    ];
    for i in 0..50 {
        let page = get(&format!("{origin}{}", forged[i % forged.len()]));
        assert!(matches!(page.status, 400 | 404), "{i}: {}", page.status);
    }
    // The real browser comes back: the login still listens, and succeeds.
    let page = pending.browse();
    assert_eq!(page.status, 200, "{}", page.page);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("FORGED"),
        "a forger's text is never shown"
    );
    assert_eq!(
        env.fake.stats().token.authorization_code,
        1,
        "exactly one code exchange"
    );
    assert!(env.token_file().exists());
}

#[test]
fn slow_and_idle_connections_neither_stretch_the_timeout_nor_delay_the_callback() {
    use std::io::Write;
    use std::net::TcpStream;
    let env = Env::new("ureq");
    let pending = env.start_login(&["--timeout", "5"]);
    let started = Instant::now();
    let port = pending.listener().port().unwrap();
    // Six idle connections (a browser's preconnects) and one client dripping a byte a second.
    let idle: Vec<TcpStream> = (0..6)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let slowloris = std::thread::spawn(move || {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return 0;
        };
        let mut sent = 0;
        for byte in b"GET /?code=x&state=y HTTP/1.1\r\nHost: x\r\n"
            .iter()
            .cycle()
            .take(60)
        {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(1000));
        }
        sent
    });
    let output = pending.finish();
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 3, "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("no answer from the browser"));
    assert!(
        elapsed < Duration::from_secs(6),
        "a --timeout 5 login ran {elapsed:?}"
    );
    drop(idle);
    let _ = slowloris.join();

    // With six idle connections open, the real callback is still served at once.
    let env = Env::new("ureq");
    let pending = env.start_login(&["--timeout", "4"]);
    let port = pending.listener().port().unwrap();
    let idle: Vec<TcpStream> = (0..6)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    assert_eq!(pending.browse().status, 200);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    drop(idle);
}

#[test]
fn a_squatter_on_either_loopback_address_never_receives_the_code() {
    use std::net::TcpListener;
    for squat in ["[::1]:0", "127.0.0.1:0"] {
        let Ok(squatter) = TcpListener::bind(squat) else {
            continue; // no such address family on this machine: nobody can squat it
        };
        squatter.set_nonblocking(true).unwrap();
        let port = squatter.local_addr().unwrap().port().to_string();
        let env = Env::new("ureq");
        let login = env.run(&["login", "--no-browser", "--port", &port, "--timeout", "5"]);
        assert_eq!(code(&login), 2, "{squat}: {}", text(&login.stderr));
        let err = text(&login.stderr);
        assert!(err.contains("cannot listen on"), "{err}");
        assert!(
            !err.contains("/oauth/?"),
            "{squat}: the consent page never opened"
        );
        assert_eq!(env.fake.stats().consent, 0);
        assert!(
            squatter.accept().is_err(),
            "{squat}: nothing reached the squatter"
        );
    }
}

#[test]
fn absurd_timeouts_are_usage_errors_not_crashes() {
    let env = Env::new("ureq");
    for timeout in ["18446744073709551615", "0", "86401", "-1"] {
        let login = env.run(&["login", "--no-browser", "--timeout", timeout]);
        assert_eq!(code(&login), 2, "{timeout}: {}", text(&login.stderr));
    }
}

#[test]
fn any_registered_loopback_redirect_uri_with_a_path_works() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registered = format!("http://127.0.0.1:{port}/pinterest/callback");
    let env = Env::with(
        "ureq",
        FakeConfig {
            redirect_uris: vec![registered.clone()],
            ..FakeConfig::default()
        },
    );
    let pending = env.start_login(&["--redirect-uri", &registered]);
    assert_eq!(
        pending.listener().as_str(),
        registered,
        "sent byte for byte"
    );
    // Another path is not the callback.
    assert_eq!(get(&format!("http://127.0.0.1:{port}/?code=x")).status, 404);
    let browsed = pending.browse();
    assert_eq!(
        browsed.status, 200,
        "the fake accepts only the registered uri"
    );
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));

    // An https or remote uri cannot be listened on: a clear error points to --no-listen.
    for uri in ["https://app.example/callback", "http://app.example:8085/"] {
        let refused = env.run(&["login", "--no-browser", "--redirect-uri", uri]);
        assert_eq!(code(&refused), 2, "{uri}: {}", text(&refused.stderr));
        assert!(
            text(&refused.stderr).contains("--no-listen"),
            "{}",
            text(&refused.stderr)
        );
    }
}

#[test]
fn the_out_of_band_login_takes_the_pasted_redirect() {
    use std::io::Write;
    let registered = "https://app.example/pinterest/callback";
    let env = Env::with(
        "ureq",
        FakeConfig {
            redirect_uris: vec![registered.into()],
            ..FakeConfig::default()
        },
    );
    let mut command = env.command(&["login", "--no-listen", "--redirect-uri", registered]);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut consent_url = None;
    for line in stderr.lines().map_while(Result::ok) {
        if line.starts_with(&env.fake.consent_url()) {
            consent_url = Some(line);
            break;
        }
    }
    let consent = get(&consent_url.expect("the consent url is printed"));
    let landed = consent.location.unwrap();
    assert!(landed.starts_with(registered), "{landed}");
    writeln!(stdin, "{landed}").unwrap();
    drop(stdin);
    let output = finish(child);
    assert_eq!(code(&output), 0, "{}", text(&output.stdout));
    assert!(env.token_file().exists());
    assert_eq!(env.fake.stats().token.authorization_code, 1);
}

#[test]
fn pkce_sends_a_challenge_and_its_verifier() {
    let env = Env::new("ureq");
    let pending = env.start_login(&[]);
    assert!(
        pending.consent_url.contains("code_challenge="),
        "on by default: {}",
        pending.consent_url
    );
    assert!(pending.consent_url.contains("code_challenge_method=S256"));
    assert_eq!(pending.browse().status, 200);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(
        env.fake.stats().pkce_refused,
        0,
        "the fake checked the verifier"
    );
    let exchange = env
        .fake
        .requests()
        .into_iter()
        .find(|r| String::from_utf8_lossy(&r.body).contains("grant_type=authorization_code"))
        .unwrap();
    assert!(String::from_utf8_lossy(&exchange.body).contains("code_verifier="));
}

#[test]
fn the_app_secret_can_come_from_a_file_or_stdin_and_help_warns_about_ps() {
    use std::io::Write;
    let env = Env::new("ureq");
    let file = env.dir.path().join("secret");
    std::fs::write(&file, format!("{}\n", env.fake.app_secret())).unwrap();
    let from_file = {
        let mut command = env.command(&[
            "client-credentials",
            "--scopes",
            "ads:read",
            "--app-secret-file",
            file.to_str().unwrap(),
        ]);
        command.env_remove("PINTEREST_APP_SECRET");
        finish(command.spawn().unwrap())
    };
    assert_eq!(code(&from_file), 0, "{}", text(&from_file.stderr));
    let from_stdin = {
        let mut command = env.command(&[
            "client-credentials",
            "--scopes",
            "ads:read",
            "--app-secret",
            "-",
        ]);
        command
            .env_remove("PINTEREST_APP_SECRET")
            .stdin(Stdio::piped());
        let mut child = command.spawn().unwrap();
        writeln!(child.stdin.take().unwrap(), "{}", env.fake.app_secret()).unwrap();
        finish(child)
    };
    assert_eq!(code(&from_stdin), 0, "{}", text(&from_stdin.stderr));
    let help = env.run(&["--help"]);
    let help = text(&help.stdout);
    assert!(
        help.contains("ps") && help.contains("--app-secret-file"),
        "{help}"
    );
}

#[test]
fn denied_consent_and_a_login_timeout_need_consent() {
    let env = Env::with(
        "ureq",
        FakeConfig {
            consent: ConsentMode::Deny,
            ..FakeConfig::default()
        },
    );
    let (login, browsed) = env.login(&[]);
    assert_eq!(browsed.status, 400);
    assert_eq!(code(&login), 3);
    assert!(
        text(&login.stderr).contains("access_denied"),
        "{}",
        text(&login.stderr)
    );

    let env = Env::new("ureq");
    let timeout = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "1"]);
    assert_eq!(code(&timeout), 3);
    assert!(text(&timeout.stderr).contains("no answer from the browser"));
}

#[test]
fn exit_codes_for_each_failure_class() {
    let env = logged_in(FakeConfig::default());

    // 2: usage or configuration.
    let no_id = {
        let mut command = env.command(&["refresh"]);
        command.env_remove("PINTEREST_APP_ID");
        finish(command.spawn().unwrap())
    };
    assert_eq!(code(&no_id), 2);
    assert_eq!(
        text(&no_id.stderr),
        "error: missing app id: pass --app-id or set PINTEREST_APP_ID\n"
    );
    let bad_url = env.run(&["--api-base", "http://api.example.com/v5", "refresh"]);
    assert_eq!(code(&bad_url), 2);
    assert!(text(&bad_url.stderr).contains("plain http is allowed only for loopback"));
    let bad_scope = env.run(&["client-credentials", "--scopes", "ads:read,two words"]);
    assert_eq!(code(&bad_scope), 2);
    assert_eq!(code(&env.run(&["no-such-command"])), 2);

    // An unknown scope is only a warning.
    let unknown = env.run(&["client-credentials", "--scopes", "ads:read,videos:read"]);
    assert!(text(&unknown.stderr).contains("warning: unknown scope `videos:read`"));

    // 5: network.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = env.run(&[
        "--api-base",
        &format!("http://127.0.0.1:{port}/v5"),
        "refresh",
    ]);
    assert_eq!(code(&refused), 5, "{}", text(&refused.stderr));
    env.fake.push_fault(
        Route::Token,
        Fault::Endless {
            declared: Some(50 << 20),
        },
        Times::Once,
    );
    let huge = env.run(&["refresh"]);
    assert_eq!(code(&huge), 5, "{}", text(&huge.stderr));
    assert!(text(&huge.stderr).contains("exceeds"));

    // 4: an API error, with Pinterest's code, message and request id on one line.
    env.fake
        .push_fault(Route::Token, Fault::rate_limited(30), Times::Once);
    let limited = env.run(&["refresh"]);
    assert_eq!(code(&limited), 4, "{}", text(&limited.stderr));
    let err = text(&limited.stderr);
    assert!(
        err.contains("rate limited") && err.contains("code 8") && err.contains("request id"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let wrong_secret = env.run(&[
        "--app-secret",
        "wrong",
        "client-credentials",
        "--scopes",
        "ads:read",
    ]);
    assert_eq!(code(&wrong_secret), 4);
    assert!(text(&wrong_secret.stderr).contains("client authentication failed"));
    assert!(!text(&wrong_secret.stderr).contains("wrong"));

    // 6: the token file.
    std::fs::write(env.token_file(), b"{ not a token").unwrap();
    for args in [&["token"][..], &["status"], &["refresh"]] {
        let corrupt = env.run(args);
        assert_eq!(code(&corrupt), 6, "{args:?}: {}", text(&corrupt.stderr));
        assert!(text(&corrupt.stderr).contains("left untouched"));
    }
    assert_eq!(std::fs::read(env.token_file()).unwrap(), b"{ not a token");
    // Not a file (a directory where the file should be, whatever the user's privileges).
    std::fs::remove_file(env.token_file()).unwrap();
    std::fs::create_dir(env.token_file()).unwrap();
    let unreadable = env.run(&["token"]);
    assert_eq!(code(&unreadable), 6, "{}", text(&unreadable.stderr));
    assert!(
        text(&unreadable.stderr).contains("is not a regular file"),
        "{}",
        text(&unreadable.stderr)
    );
    let blocked = env.dir.path().join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let unwritable = env.run(&[
        "client-credentials",
        "--scopes",
        "ads:read",
        "--save",
        "--token-file",
        blocked.join("token.json").to_str().unwrap(),
    ]);
    assert_eq!(code(&unwritable), 6, "{}", text(&unwritable.stderr));
}

#[test]
fn a_valid_token_is_printed_without_credentials() {
    let env = logged_in(FakeConfig::default());
    let without = |env: &Env| {
        let mut command = env.command(&["token"]);
        command
            .env_remove("PINTEREST_APP_ID")
            .env_remove("PINTEREST_APP_SECRET");
        finish(command.spawn().unwrap())
    };
    let token = without(&env);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert_eq!(
        text(&token.stdout).trim(),
        stored(&env.token_file())["access_token"]
    );
    // Due but still valid: printed, with a warning that it could not be refreshed.
    edit_stored(&env.token_file(), |doc| {
        let now = unix_now();
        doc["expires_at"] = (now + 120).into();
        doc["received_at"] = (now + 120 - doc["expires_in"].as_u64().unwrap()).into();
    });
    let due = without(&env);
    assert_eq!(code(&due), 0, "{}", text(&due.stderr));
    assert!(
        text(&due.stderr).contains("warning: the token is due for refresh"),
        "{}",
        text(&due.stderr)
    );
    // Expired: nothing to print without credentials.
    expire_stored(&env.token_file());
    let expired = without(&env);
    assert_eq!(code(&expired), 2, "{}", text(&expired.stderr));
    assert!(text(&expired.stdout).is_empty());
}

/// `-vv` over the whole flow: neither logs nor outputs carry a secret, token or code.
#[test]
fn very_verbose_output_never_shows_a_secret() {
    let transports: &[&'static str] = if cfg!(feature = "hyper") {
        &["ureq", "hyper"]
    } else {
        &["ureq"]
    };
    for &transport in transports {
        let env = Env::new(transport);
        let (login, browsed) = env.login(&["-vv"]);
        assert_eq!(code(&login), 0, "{}", text(&login.stderr));
        let callback = url::Url::parse(&browsed.callback).unwrap();
        let param = |name: &str| {
            callback
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let first = stored(&env.token_file());
        // The consent URL carries the state by necessity: it is the one line allowed to.
        let login_logs: String = text(&login.stderr)
            .lines()
            .filter(|line| !line.starts_with(&browsed.consent_url))
            .map(|line| format!("{line}\n"))
            .collect();
        let mut logs = vec![login_logs, text(&login.stdout)];
        for args in [
            &["-vv", "token", "--json"][..],
            &["-vv", "status"],
            &["-vv", "refresh"],
            &["-vv", "client-credentials", "--scopes", "ads:read"],
        ] {
            let out = env.run(args);
            assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
            logs.push(text(&out.stderr));
            if args[1] != "token" {
                logs.push(text(&out.stdout));
            }
        }
        let second = stored(&env.token_file());
        let revoke = env.run(&["-vv", "revoke"]);
        assert_eq!(code(&revoke), 0);
        logs.push(text(&revoke.stderr));
        logs.push(text(&revoke.stdout));

        let all = logs.join("\n");
        assert!(
            all.contains("DEBUG"),
            "{transport}: -vv logs at debug level:\n{all}"
        );
        let secrets = [
            env.fake.app_secret().to_owned(),
            param("code"),
            param("state"),
            first["access_token"].as_str().unwrap().to_owned(),
            first["refresh_token"].as_str().unwrap().to_owned(),
            second["access_token"].as_str().unwrap().to_owned(),
            second["refresh_token"].as_str().unwrap().to_owned(),
        ];
        for secret in &secrets {
            assert!(
                !all.contains(secret.as_str()),
                "{transport}: a secret leaked into:\n{all}"
            );
        }
    }
}

// ---- A hostile local user and a hostile server (issue 12) ----

/// Makes a FIFO (a named pipe) at `path`.
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_planted_lock_symlink_is_refused_and_its_target_never_created_or_locked() {
    let env = logged_in(FakeConfig::default());
    let lock = env.dir.path().join("token.json.lock");
    let _ = std::fs::remove_file(&lock);
    // A link to a file that does not exist yet: following it would create it.
    let planted = env.dir.path().join("planted-by-another-user");
    std::os::unix::fs::symlink(&planted, &lock).unwrap();
    // Commands that take the lock refuse; the others (a valid token needs no lock) run.
    for (args, refused) in [
        (&["refresh"][..], true),
        (&["revoke"], true),
        (&["token"], false),
        (&["status"], false),
    ] {
        let out = env.run(args);
        let err = text(&out.stderr);
        if refused {
            assert_eq!(code(&out), 6, "{args:?}: {err}");
            assert!(err.contains("is not a regular file"), "{args:?}: {err}");
        } else {
            assert_eq!(code(&out), 0, "{args:?}: {err}");
        }
        assert!(!planted.exists(), "{args:?} created the link's target");
    }
    // A link to an existing file: it is neither locked nor changed.
    std::fs::write(&planted, b"someone else's file").unwrap();
    let out = env.run(&["refresh"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&planted).unwrap(), b"someone else's file");
    assert!(std::fs::File::open(&planted).unwrap().try_lock().is_ok());
    assert_eq!(env.fake.stats().token.refresh_token, 0, "nothing was sent");
}

#[test]
fn a_fifo_or_directory_at_the_token_path_is_refused_at_once() {
    let env = Env::new("ureq");
    mkfifo(&env.token_file());
    for args in [&["token"][..], &["status"], &["refresh"], &["revoke"]] {
        // `finish` fails the test if the CLI blocks on the pipe (bounded at 60 s).
        let out = env.run(args);
        assert_eq!(code(&out), 6, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("is not a regular file"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let login = env.run(&["login", "--no-browser"]);
    assert_eq!(code(&login), 6, "{}", text(&login.stderr));
    assert_eq!(
        env.fake.stats().token,
        Default::default(),
        "nothing was sent"
    );

    let env = Env::new("ureq");
    std::fs::create_dir(env.token_file()).unwrap();
    let out = env.run(&["token"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a regular file"));
}

#[test]
fn a_token_file_others_can_read_is_reported_by_default_and_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = logged_in(FakeConfig::default());
    let file = env.token_file();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["token"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("now 0600"), "{err}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the mode was fixed on load, before any save");
    let again = env.run(&["token"]);
    assert!(!text(&again.stderr).contains("readable"), "warned once");
}

#[test]
fn a_token_file_of_another_user_others_can_read_is_reported_not_touched() {
    use std::os::unix::fs::PermissionsExt;
    if !acts_as_another_user() {
        return;
    }
    // The file belongs to root; the CLI runs as nobody in a directory nobody owns.
    let env = Unprivileged::new();
    let (login, _) = env.env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let file = env.env.token_file();
    std::os::unix::fs::chown(&file, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.env.run(&["token"]);
    let err = text(&out.stderr);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("make it 0600"), "{err}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "another user's file is not ours to change");
}

#[test]
fn unusable_access_tokens_are_never_printed_but_their_refresh_token_is_kept() {
    let odd = [
        // RFC 6750 §2.1 b64token: no spaces, no CR/LF, no control characters.
        (r#""sint consectetur""#, "bearer"),
        (r#""pina_ok\r\nX-Injected: 1""#, "bearer"),
        (r#""pina_\u0007bell""#, "bearer"),
        // RFC 6749 §7.1: a token type the client does not understand is not used.
        (r#""pina_fine""#, "veniam amet"),
        (r#""pina_fine""#, "mac"),
    ];
    for (i, (access, token_type)) in odd.iter().enumerate() {
        let env = logged_in(FakeConfig::default());
        let rotated = format!("pinr_rotated_{i}");
        let body = format!(
            r#"{{"access_token":{access},"token_type":"{token_type}","expires_in":3600,"refresh_token":"{rotated}","refresh_token_expires_in":5184000,"scope":"boards:read"}}"#
        );
        env.fake.push_fault(
            Route::Grant(fake_pinterest::Grant::RefreshToken),
            Fault::respond(200, &[], &body),
            Times::Once,
        );
        let refresh = env.run(&["refresh"]);
        let secret = access.trim_matches('"');
        for out in [&refresh.stdout, &refresh.stderr] {
            assert!(
                !text(out).contains("sint")
                    && !text(out).contains("pina_fine")
                    && !text(out).contains("pina_ok"),
                "{access}: the value was quoted: {}",
                text(out)
            );
        }
        assert_ne!(
            code(&refresh),
            0,
            "{access} / {token_type}: {}",
            text(&refresh.stderr)
        );
        // The rotated refresh token is what the server now honours: it is on disk.
        let file = stored(&env.token_file());
        assert_eq!(file["refresh_token"], rotated.as_str(), "{access}");
        assert!(file["access_token"].is_null(), "{access}: {file}");
        let token = env.run(&["token"]);
        assert_ne!(code(&token), 0, "{access}: {}", text(&token.stdout));
        assert!(!text(&token.stdout).contains(secret.get(..8).unwrap_or(secret)));
        let err = text(&token.stderr);
        assert!(err.contains("access token"), "{err}");
    }
}

// ---- Found by attacking the CLI (issues 8-10) ----

fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v5")
}

#[test]
fn a_network_failure_on_an_expired_token_exits_5_with_its_cause() {
    let env = logged_in(FakeConfig::default());
    expire_stored(&env.token_file());
    let base = closed_port_url();
    for args in [&["token"][..], &["refresh"]] {
        let out = env.run(&[&["--api-base", base.as_str()][..], args].concat());
        let err = text(&out.stderr);
        assert_eq!(code(&out), 5, "{args:?}: {err}");
        assert!(err.contains("could not connect"), "{args:?}: {err}");
    }
}

#[test]
fn a_forced_refresh_waits_for_another_process_lock_then_refreshes() {
    let env = logged_in(FakeConfig::default());
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(env.token_dir.join("token.json.lock"))
        .unwrap();
    held.lock().unwrap();
    let child = env.command(&["refresh"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    held.unlock().unwrap();
    let out = finish(child);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("1970"));
    assert_eq!(env.fake.stats().token.refresh_token, 1);
}

#[test]
fn client_credentials_never_replace_a_users_grant_and_keep_the_budget() {
    let env = logged_in(FakeConfig::default());
    let before = std::fs::read(env.token_file()).unwrap();
    let out = env.run(&["client-credentials", "--scopes", "ads:read", "--save"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("holds a user's grant"));
    assert_eq!(std::fs::read(env.token_file()).unwrap(), before);
    assert_eq!(env.fake.stats().token.client_credentials, 0, "nothing sent");

    // An app token file of its own: every run honours the stored request budget.
    let app = env.dir.path().join("app-token.json");
    let app = app.to_str().unwrap();
    let mut saved = 0;
    for _ in 0..8 {
        let out = env.run(&[
            "--token-file",
            app,
            "client-credentials",
            "--scopes",
            "ads:read",
            "--save",
        ]);
        if code(&out) == 0 {
            saved += 1;
        } else {
            assert_eq!(code(&out), 4, "{}", text(&out.stderr));
        }
    }
    assert_eq!(saved, 5);
    assert_eq!(
        env.fake.stats().token.client_credentials,
        5,
        "the budget's ceiling"
    );
    // A corrupt app token file is found out before anything is sent.
    std::fs::write(app, b"{ corrupt").unwrap();
    let out = env.run(&[
        "--token-file",
        app,
        "client-credentials",
        "--scopes",
        "ads:read",
        "--save",
    ]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert_eq!(env.fake.stats().token.client_credentials, 5);
}

#[test]
fn app_credentials_are_checked_and_a_secret_file_is_read_bounded() {
    let env = logged_in(FakeConfig::default());
    let mut command = env.command(&["refresh"]);
    command.env("PINTEREST_APP_ID", "12\n34");
    let out = finish(command.spawn().unwrap());
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("app id is not"));

    let out = env.run(&["--app-secret-file", "/dev/zero", "refresh"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("longer than 64 KiB"));

    // A file named on the command line wins over the environment.
    let file = env.dir.path().join("secret");
    std::fs::write(&file, format!("{}\n", env.fake.app_secret())).unwrap();
    let mut command = env.command(&["--app-secret-file", file.to_str().unwrap(), "refresh"]);
    command.env("PINTEREST_APP_SECRET", "not-the-secret");
    let out = finish(command.spawn().unwrap());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
}

#[test]
fn a_dead_grant_is_named_as_such_in_later_runs() {
    let env = logged_in(FakeConfig::default());
    env.fake.push_fault(
        Route::Grant(fake_pinterest::Grant::RefreshToken),
        Fault::status(
            401,
            r#"{"code":283,"message":"The authorization grant is invalid"}"#,
        ),
        Times::Once,
    );
    expire_stored(&env.token_file());
    let first = env.run(&["token"]);
    assert_eq!(code(&first), 3, "{}", text(&first.stderr));
    let later = env.run(&["token"]);
    assert_eq!(code(&later), 3, "{}", text(&later.stderr));
    let err = text(&later.stderr);
    assert!(err.contains("the grant was refused"), "{err}");
    assert!(!err.contains("no token is stored"), "{err}");
}

#[test]
fn status_shows_every_wait_including_the_budgets_ceiling() {
    let env = logged_in(FakeConfig::default());
    for _ in 0..5 {
        let out = env.run(&["refresh"]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    }
    let status = json(&env.run(&["--json", "status"]));
    assert_eq!(status["waiting_for"], "budget", "{status}");
    assert!(status["next_request_not_before"].is_string(), "{status}");
}

// ---- A grant shared through Redis (issue 11) ----

/// A Redis to test against: `REDIS_URL`, else a `redis-server` started here (killed on drop).
/// Under `CI=true` a missing Redis fails the test.
#[cfg(feature = "redis")]
struct TestRedis {
    url: String,
    server: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

#[cfg(feature = "redis")]
impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

#[cfg(feature = "redis")]
fn test_redis() -> Option<TestRedis> {
    if let Ok(url) = std::env::var("REDIS_URL")
        && !url.is_empty()
    {
        return Some(TestRedis {
            url,
            server: None,
            _dir: None,
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spawned = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let server = match spawned {
        Ok(server) => server,
        Err(e) if in_ci => panic!("CI=true: no REDIS_URL and no redis-server: {e}"),
        Err(e) => {
            skipped(&format!("no REDIS_URL and no redis-server ({e})"));
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(TestRedis {
        url: format!("redis://127.0.0.1:{port}/0"),
        server: Some(server),
        _dir: Some(dir),
    })
}

#[cfg(feature = "redis")]
#[test]
fn scripts_on_many_machines_share_one_grant_through_redis() {
    use pinterest_oauth_store::TokenStore;
    let Some(redis) = test_redis() else { return };
    let env = Env::new("ureq");
    let grant = format!("cli-{}", std::process::id());
    let shared = ["--store", redis.url.as_str(), "--grant", grant.as_str()];
    let (login, _) = env.login(&shared);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        text(&login.stdout).contains("redis://127.0.0.1"),
        "{}",
        text(&login.stdout)
    );
    assert!(
        !env.token_file().exists(),
        "nothing written to the token file"
    );

    // Three "machines" (their own token files, never used) print the same token.
    let printed: Vec<String> = (0..3)
        .map(|i| {
            let file = env.dir.path().join(format!("machine-{i}.json"));
            let out = env.run(
                &[
                    &shared[..],
                    &["--token-file", file.to_str().unwrap(), "token"],
                ]
                .concat(),
            );
            assert_eq!(code(&out), 0, "{}", text(&out.stderr));
            text(&out.stdout).trim().to_owned()
        })
        .collect();
    assert!(printed.iter().all(|t| t == &printed[0]), "{printed:?}");
    assert_eq!(env.fake.stats().token.refresh_token, 0);

    // Expired in the shared store: the first machine refreshes, the others use its set.
    let store = pinterest_oauth_redis::RedisStore::open(
        &redis.url,
        &pinterest_oauth_core::AppId::new(env.fake.app_id()).unwrap(),
        &grant,
    )
    .unwrap();
    {
        let lock = store.lock().unwrap();
        let stored = store.load().unwrap().unwrap();
        let mut doc: Value = serde_json::from_slice(&stored.to_bytes()).unwrap();
        let now = unix_now();
        doc["expires_at"] = (now - 60).into();
        doc["received_at"] = (now - 60 - doc["expires_in"].as_u64().unwrap()).into();
        doc["revision"] = (stored.revision() + 1).into();
        let edited =
            pinterest_oauth_core::TokenDocument::from_bytes(doc.to_string().as_bytes()).unwrap();
        store.save(&lock, &edited).unwrap();
    }
    let after: Vec<String> = (0..3)
        .map(|_| {
            let out = env.run(&[&shared[..], &["token"]].concat());
            assert_eq!(code(&out), 0, "{}", text(&out.stderr));
            text(&out.stdout).trim().to_owned()
        })
        .collect();
    assert_ne!(after[0], printed[0]);
    assert!(after.iter().all(|t| t == &after[0]), "{after:?}");
    assert_eq!(
        env.fake.stats().token.refresh_token,
        1,
        "one refresh for every machine"
    );

    let status = json(&env.run(&[&shared[..], &["--json", "status"]].concat()));
    assert!(
        status["token_file"]
            .as_str()
            .unwrap()
            .starts_with("redis://"),
        "{status}"
    );
    // Nothing is stored without an app id to key it by.
    let mut command = env.command(&[&shared[..], &["status"]].concat());
    command.env_remove("PINTEREST_APP_ID");
    let out = finish(command.spawn().unwrap());
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
}

#[test]
fn a_kept_set_is_found_however_the_token_file_is_named() {
    let env = Unprivileged::new();
    let state = env.env.state_dir();
    let link = env.env.dir.path().join("link");
    std::os::unix::fs::symlink(&env.dir, &link).unwrap();
    let (login, _) = env.env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let first = stored(&env.env.token_file());

    // The answer comes late; meanwhile the directory stops taking files (a full disk would do
    // the same): the rotated set is kept aside, filed under the token file as named here.
    env.env.fake.push_fault(
        Route::Grant(fake_pinterest::Grant::RefreshToken),
        Fault::Delay(Duration::from_millis(800)),
        Times::Once,
    );
    let mut refresh = env.env.command(&["refresh"]);
    refresh.env("XDG_STATE_HOME", &state);
    let child = refresh.spawn().unwrap();
    let deadline = Instant::now() + LIMIT;
    while env.env.fake.stats().token.refresh_token == 0 {
        assert!(Instant::now() < deadline, "the refresh never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    env.chmod_dir(0o500);
    let refused = finish(child);
    env.chmod_dir(0o700);
    assert_eq!(code(&refused), 6, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("kept in"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        stored(&env.env.token_file())["refresh_token"],
        first["refresh_token"]
    );

    // Named another way, from another working directory, through the linked directory: the
    // kept set is found, put back, and the next refresh spends the live refresh token.
    let mut again = env
        .env
        .command(&["--token-file", "./token.json", "refresh"]);
    again.current_dir(&link).env("XDG_STATE_HOME", &state);
    let again = finish(again.spawn().unwrap());
    assert_eq!(code(&again), 0, "{}", text(&again.stderr));
    assert_eq!(
        env.env.fake.stats().rotated_reuse,
        0,
        "no dead refresh token was sent"
    );
    let after = stored(&env.env.token_file());
    assert!(
        env.env
            .fake
            .refresh_token_valid(after["refresh_token"].as_str().unwrap())
    );
}

#[test]
fn a_set_another_user_plants_beside_the_token_file_is_never_used() {
    if !acts_as_another_user() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new("ureq");
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A shared directory every user can write to (sticky, like /tmp).
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.token_dir = shared.clone();
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let victim = stored(&env.token_file());

    // Another user logs in to their own account (later: their set is "newer"), and plants it
    // beside the victim's file, named like the store's own temporary files, mode 0600.
    let own = env.dir.path().join("attacker");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(NOBODY), Some(NOBODY)).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    env.token_dir = own.clone();
    env.user = Some(NOBODY);
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let planted = shared.join(".token.json.tmp-planted");
    let copy = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "cp",
        ])
        .arg(own.join("token.json"))
        .arg(&planted)
        .status()
        .unwrap();
    assert!(copy.success());
    let attacker = stored(&own.join("token.json"));
    assert_ne!(attacker["access_token"], victim["access_token"]);

    env.token_dir = shared;
    env.user = None;
    // The next command that takes the lock (here a refresh) looks at temporary files.
    let refresh = env.run(&["refresh", "--json", "--show-refresh-token"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    let after = stored(&env.token_file());
    assert_ne!(after["refresh_token"], attacker["refresh_token"]);
    assert!(
        env.fake
            .refresh_token_valid(after["refresh_token"].as_str().unwrap()),
        "the victim's own grant, rotated"
    );
    assert!(
        env.fake
            .refresh_token_valid(attacker["refresh_token"].as_str().unwrap()),
        "the attacker's grant was never spent by the victim"
    );
    assert!(planted.exists(), "left where it was");
    assert!(
        text(&refresh.stderr).contains("left alone"),
        "and reported: {}",
        text(&refresh.stderr)
    );
}

#[test]
fn a_success_that_breaks_json_keeps_its_rotated_refresh_token() {
    use fake_pinterest::Malformed;
    for malformed in [
        Malformed::DuplicateRefreshToken,
        Malformed::TrailingBytes,
        Malformed::HugeNumber,
    ] {
        let env = logged_in(FakeConfig::default());
        let first = stored(&env.token_file());
        env.fake.set_shape(fake_pinterest::AnswerShape {
            malformed: Some(malformed),
            ..Default::default()
        });
        let refresh = env.run(&["refresh"]);
        assert_eq!(
            code(&refresh),
            0,
            "{malformed:?}: {}",
            text(&refresh.stderr)
        );
        let after = stored(&env.token_file());
        assert_ne!(
            after["refresh_token"], first["refresh_token"],
            "{malformed:?}"
        );
        assert!(
            env.fake
                .refresh_token_valid(after["refresh_token"].as_str().unwrap()),
            "{malformed:?}: the rotated refresh token is stored"
        );
        // The answer as it came is kept aside, private, and `status` says where.
        let kept = env.kept_files();
        assert_eq!(kept.len(), 1, "{malformed:?}: {kept:?}");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&kept[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let status = env.run(&["status"]);
        assert!(
            text(&status.stdout).contains(&format!("kept answer: {}", kept[0].display())),
            "{}",
            text(&status.stdout)
        );
        assert_eq!(env.fake.stats().token.refresh_token, 1);
    }
}

#[test]
fn a_refresh_answered_with_the_stored_pair_is_a_success() {
    let env = logged_in(FakeConfig::default());
    env.fake.set_shape(fake_pinterest::AnswerShape {
        repeat_pair: true,
        ..Default::default()
    });
    // Back to back, so that answers land within one second: the set saved is then the very
    // set stored before, times and all.
    for _ in 0..4 {
        let refresh = env.run(&["refresh"]);
        assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
        assert!(
            !text(&refresh.stderr).contains("no valid access token"),
            "{}",
            text(&refresh.stderr)
        );
        assert!(
            text(&refresh.stdout).starts_with("refreshed"),
            "{}",
            text(&refresh.stdout)
        );
    }
    assert_eq!(env.fake.stats().token.refresh_token, 4);
}

#[test]
fn a_refresh_the_budget_refuses_never_claims_there_is_no_valid_token() {
    let env = logged_in(FakeConfig::default());
    // Five forced refreshes fill the budget; the sixth is refused while a valid token is stored.
    for _ in 0..5 {
        let refresh = env.run(&["refresh"]);
        assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    }
    let refused = env.run(&["refresh"]);
    assert_ne!(code(&refused), 0);
    let message = text(&refused.stderr);
    assert!(!message.contains("no valid access token"), "{message}");
    assert!(
        message.contains("the stored access token is valid until"),
        "{message}"
    );
    assert!(message.contains("request budget"), "{message}");
    assert_eq!(env.fake.stats().token.refresh_token, 5);
}

#[test]
fn an_app_token_is_renewed_whatever_optional_fields_its_answer_carries() {
    for shape in [
        fake_pinterest::AnswerShape {
            omit_response_type: true,
            ..Default::default()
        },
        fake_pinterest::AnswerShape {
            refresh_token_on_client_credentials: true,
            ..Default::default()
        },
        fake_pinterest::AnswerShape {
            omit_scope: true,
            ..Default::default()
        },
    ] {
        let env = Env::new("ureq");
        env.fake.set_shape(shape.clone());
        for round in 0..2 {
            let saved = env.run(&["client-credentials", "--scopes", "ads:read", "--save"]);
            assert_eq!(
                code(&saved),
                0,
                "{shape:?} round {round}: {}",
                text(&saved.stderr)
            );
        }
        assert_eq!(env.fake.stats().token.client_credentials, 2, "{shape:?}");
        let file = stored(&env.token_file());
        assert_eq!(file["response_type"], "client_credentials", "{shape:?}");
        assert_eq!(
            file["scopes"],
            serde_json::json!(["ads:read"]),
            "{shape:?}: an omitted scope is what was asked for"
        );
    }
}

#[test]
fn an_omitted_scope_at_login_is_what_was_asked_for() {
    let env = Env::new("ureq");
    env.fake.set_shape(fake_pinterest::AnswerShape {
        omit_scope: true,
        ..Default::default()
    });
    let (login, _) = env.login(&["--scopes", "boards:read,pins:read"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert_eq!(
        stored(&env.token_file())["scopes"],
        serde_json::json!(["boards:read", "pins:read"])
    );
}

#[test]
fn a_revocation_is_recorded_as_it_succeeds_even_when_the_next_fails() {
    let env = logged_in(FakeConfig::default());
    let file = stored(&env.token_file());
    let access = file["access_token"].as_str().unwrap().to_owned();
    // The first revocation (the access token) is slow; the second (the refresh token) fails.
    env.fake.push_fault(
        Route::Revoke,
        Fault::Delay(Duration::from_millis(300)),
        Times::Once,
    );
    let child = env.command(&["revoke"]).spawn().unwrap();
    let deadline = Instant::now() + LIMIT;
    while env.fake.stats().revoke == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(2));
    }
    env.fake
        .push_fault(Route::Revoke, Fault::forbidden(), Times::Once);
    let revoke = finish(child);
    assert_ne!(code(&revoke), 0, "{}", text(&revoke.stderr));
    assert!(
        !env.fake.access_token_valid(&access),
        "Pinterest revoked it"
    );
    let after = stored(&env.token_file());
    assert!(
        after["access_token"].is_null(),
        "the revocation is recorded: {after}"
    );
    // `token` never hands out the revoked access token: it refreshes.
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert_ne!(text(&token.stdout).trim(), access);
    assert!(env.fake.access_token_valid(text(&token.stdout).trim()));
}

#[test]
fn errors_never_repeat_a_secret_the_server_echoes() {
    // A secret that looks like no token (the server-text filter alone would keep it).
    let secret = "hunter2!hunter2";
    let env = logged_in(FakeConfig {
        app_secret: secret.to_owned(),
        ..FakeConfig::default()
    });
    let file = stored(&env.token_file());
    let refresh = file["refresh_token"].as_str().unwrap();
    env.fake.push_fault(
        Route::Token,
        Fault::status(
            400,
            &format!(
                r#"{{"code":1,"message":"client secret {secret} refused for {}","message_detail":"{secret}"}}"#,
                &refresh[5..]
            ),
        ),
        Times::Always,
    );
    for args in [
        &["refresh"][..],
        &["--json", "refresh"][..],
        &["-vv", "refresh"][..],
    ] {
        let out = env.run(args);
        assert_ne!(code(&out), 0);
        let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(shown.contains("refused"), "{shown}");
        assert!(!shown.contains(secret), "{args:?}: {shown}");
        assert!(!shown.contains(&refresh[5..]), "{args:?}: {shown}");
    }
}

/// Runs `curl` as uid 65534 (another local user): the status line and headers, or an empty
/// string when the connection was refused or closed.
fn curl_as_nobody(url: &str) -> String {
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["curl", "-s", "-i", "--max-time", "10", url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    text(&output.stdout)
}

#[test]
fn another_local_user_cannot_hijack_a_login() {
    if !acts_as_another_user() {
        return;
    }
    let env = Env::new("ureq");
    let mut pending = env.launch_login(&[], false);

    // The attacker reads every process's command line: the login's `state` is on none.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline);
            assert!(
                !cmdline.contains("state="),
                "a command line holds a state: {cmdline}"
            );
            assert!(
                !cmdline.contains("/oauth/?"),
                "a command line holds the consent url"
            );
        }
    }
    // Say the start address leaked (a browser launcher's command line): the attacker fetches
    // it first. Its connection is refused: the listener serves only its own user.
    let fetched = curl_as_nobody(&pending.start_url);
    assert!(
        !fetched.contains("302"),
        "the attacker got the consent page: {fetched}"
    );
    assert!(!fetched.contains("set-cookie"), "{fetched}");
    // The attacker consents on its own account for the same app and redirect URI, keeps the
    // code, and sends it to the listener with a state of its choosing.
    let own = fake_pinterest::visit(
        &format!(
            "{}?client_id={}&redirect_uri={}&response_type=code&scope=boards:read&state=attacker",
            env.fake.consent_url(),
            env.fake.app_id(),
            pending.redirect_uri
        ),
        None,
    )
    .unwrap();
    let forged = own.location.expect("the attacker's own consent redirects");
    assert!(forged.contains("code="), "{forged}");
    let sent = curl_as_nobody(&forged);
    assert!(!sent.contains("200 OK"), "{sent}");

    // The user's own browser then opens the start address and consents: the login ends with
    // the user's own grant.
    pending.open(&env);
    let browsed = pending.browse();
    assert_eq!(browsed.status, 200, "{}", browsed.page);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let stored = stored(&env.token_file());
    let exchanges: Vec<String> = env
        .fake
        .requests()
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("grant_type=authorization_code"))
        .collect();
    assert_eq!(exchanges.len(), 1, "only the user's own code was exchanged");
    let attacker_code = url::Url::parse(&forged)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(
        !exchanges[0].contains(&attacker_code),
        "the attacker's code was never sent"
    );
    assert!(
        exchanges[0].contains("code_verifier="),
        "PKCE is on by default"
    );
    assert!(
        env.fake
            .access_token_valid(stored["access_token"].as_str().unwrap())
    );
    assert!(
        text(&output.stderr).contains("another local user"),
        "the refusal is reported: {}",
        text(&output.stderr)
    );
}

#[test]
fn a_start_address_opened_twice_stops_the_login_and_saves_nothing() {
    let env = Env::new("ureq");
    let pending = env.start_login(&[]);
    // A second fetch, from the same user (where no socket table can tell it apart).
    let again = fake_pinterest::visit(&pending.start_url, None).unwrap();
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("opened twice"), "{}", again.body);
    let output = pending.finish();
    assert_ne!(code(&output), 0);
    assert!(
        text(&output.stderr).contains("start address was opened twice"),
        "{}",
        text(&output.stderr)
    );
    assert!(!env.token_file().exists(), "nothing saved");
    assert_eq!(env.fake.stats().token.authorization_code, 0);
}

#[test]
fn only_the_browser_that_opened_the_start_address_can_finish() {
    let env = Env::new("ureq");
    let pending = env.start_login(&["--timeout", "20"]);
    // Another browser (no cookie) comes back with the right state and a real code.
    let consent = fake_pinterest::visit(&pending.consent_url, None).unwrap();
    let callback = consent.location.unwrap();
    let other = fake_pinterest::visit(&callback, None).unwrap();
    assert_eq!(other.status, 400, "{}", other.body);
    assert!(other.body.contains("did not start"), "{}", other.body);
    // The user's own browser finishes it.
    assert_eq!(pending.browse().status, 200);
    let output = pending.finish();
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(env.fake.stats().token.authorization_code, 1);
}

#[test]
fn login_says_where_it_listens_until_when_and_whose_account_it_connected() {
    let env = Env::new("ureq");
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let said = text(&login.stderr);
    assert!(said.contains("listening on 127.0.0.1:"), "{said}");
    assert!(said.contains("press Ctrl-C to cancel"), "{said}");
    assert!(said.contains(" until 20"), "the deadline: {said}");
    let out = text(&login.stdout);
    // The default scopes include user_accounts:read: the fake's account name is reported.
    assert!(out.starts_with("logged in as fake_pinterest_user"), "{out}");
    assert!(
        out.contains("user_accounts:read"),
        "the scopes granted: {out}"
    );
    assert_eq!(env.fake.stats().user_account, 1);

    // Without that scope nothing is asked; when asking fails, the login still succeeds.
    let env = Env::new("ureq");
    let (login, _) = env.login(&["--scopes", "boards:read"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        text(&login.stdout).starts_with("logged in;"),
        "{}",
        text(&login.stdout)
    );
    assert_eq!(env.fake.stats().user_account, 0);
    let env = Env::new("ureq");
    env.fake
        .push_fault(Route::UserAccount, Fault::unavailable(), Times::Always);
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr)
            .contains("warning: the login succeeded, but the account's name could not be read"),
        "{}",
        text(&login.stderr)
    );
}

#[test]
fn a_revocation_pinterest_does_not_permit_says_why() {
    let env = logged_in(FakeConfig::default());
    env.fake
        .push_fault(Route::Revoke, Fault::forbidden(), Times::Once);
    let revoke = env.run(&["revoke", "--access-token"]);
    assert_eq!(code(&revoke), 4, "{}", text(&revoke.stderr));
    assert!(
        text(&revoke.stderr).contains("Pinterest revokes only some kinds of token"),
        "{}",
        text(&revoke.stderr)
    );
    assert!(
        stored(&env.token_file())["access_token"].is_string(),
        "nothing changed"
    );
}

#[test]
fn the_port_help_says_pinterest_accepts_only_registered_ports() {
    let env = Env::new("ureq");
    let help = text(&env.run(&["login", "--help"]).stdout);
    assert!(help.contains("registered"), "{help}");
    assert!(help.contains("--no-pkce"), "{help}");
}

#[test]
fn a_signal_waits_for_the_refresh_in_flight_then_stops() {
    let env = logged_in(FakeConfig::default());
    let first = stored(&env.token_file());
    for (signal, status) in [("-TERM", 143), ("-INT", 130)] {
        let before = env.fake.stats().token.refresh_token;
        env.fake.push_fault(
            Route::Grant(fake_pinterest::Grant::RefreshToken),
            Fault::Delay(Duration::from_millis(800)),
            Times::Once,
        );
        let child = env.command(&["refresh"]).spawn().unwrap();
        let deadline = Instant::now() + LIMIT;
        while env.fake.stats().token.refresh_token == before {
            assert!(Instant::now() < deadline, "the refresh never came");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A cron job's `timeout`, or Ctrl-C, while the request is in flight.
        let sent = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let output = finish(child);
        assert_eq!(
            output.status.code(),
            Some(status),
            "{}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains("once the token request in flight is answered"),
            "{}",
            text(&output.stderr)
        );
        let after = stored(&env.token_file());
        assert_ne!(after["refresh_token"], first["refresh_token"]);
        assert!(
            env.fake
                .refresh_token_valid(after["refresh_token"].as_str().unwrap()),
            "{signal}: the rotated set was stored before stopping"
        );
    }
    assert_eq!(env.fake.stats().rotated_reuse, 0);
    // With nothing in flight, a signal stops at once (a login waiting for its browser, for
    // up to an hour: the signal's status, not the timeout's, shows it did not wait).
    let waiting = env.launch_login(&["--timeout", "3600"], false);
    Command::new("kill")
        .arg("-INT")
        .arg(waiting.child.id().to_string())
        .status()
        .unwrap();
    let output = waiting.finish();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(!text(&output.stderr).contains("in flight"));
}

#[test]
fn files_and_directories_another_user_owns_are_refused() {
    if !acts_as_another_user() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new("ureq");
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.token_dir = shared.clone();
    let as_nobody =
        |path: &Path| std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();

    // Another user planted a token file (their own grant) where ours would go.
    let planted = br#"{"version":2,"revision":0,"access_token":"pina_attacker_token_0123456789","token_type":"bearer","received_at":1800000000,"expires_in":2592000,"expires_at":4102444800,"scopes":["boards:read"],"response_type":null,"refresh_token":null}"#;
    std::fs::write(env.token_file(), planted).unwrap();
    as_nobody(&env.token_file());
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 6, "{}", text(&token.stderr));
    assert!(
        text(&token.stderr).contains("belongs to another user"),
        "{}",
        text(&token.stderr)
    );
    assert!(!text(&token.stdout).contains("pina_attacker"), "never used");
    assert_eq!(
        std::fs::read(env.token_file()).unwrap(),
        planted,
        "left untouched"
    );
    std::fs::remove_file(env.token_file()).unwrap();

    // Another user planted the lock file (and could hold it for ever).
    std::fs::write(shared.join("token.json.lock"), b"").unwrap();
    as_nobody(&shared.join("token.json.lock"));
    let login = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "5"]);
    assert_eq!(code(&login), 6, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr).contains("belongs to another user"),
        "{}",
        text(&login.stderr)
    );
    assert_eq!(
        env.fake.stats().consent,
        0,
        "refused before the consent page"
    );

    // A directory another user owns (they could move the token file away).
    let theirs = env.dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o777)).unwrap();
    as_nobody(&theirs);
    env.token_dir = theirs;
    let login = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "5"]);
    assert_eq!(code(&login), 6, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr).contains("belongs to another user"),
        "{}",
        text(&login.stderr)
    );
}

#[test]
fn a_fallback_directory_another_user_created_first_is_passed_over() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = Env::new("ureq");
    let (output, _) = env.login(&[]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let before = stored(&env.token_file());
    // The recovery directory cannot be created: a file stands where its parent would be.
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::write(env.state_dir().join("pinterest-oauth"), b"not a directory").unwrap();
    // Another user created this user's fallback in the shared temporary directory first.
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let uid = std::fs::metadata(&tmp).unwrap().uid();
    let squatted = tmp.join(format!("pinterest-oauth-recovered-{uid}"));
    std::fs::create_dir(&squatted).unwrap();
    std::fs::set_permissions(&squatted, std::fs::Permissions::from_mode(0o777)).unwrap();
    if running_as_root() {
        std::os::unix::fs::chown(&squatted, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let refresh = |runtime: Option<&Path>| {
        let mut command = env.command(&["refresh"]);
        command.env("TMPDIR", &tmp);
        if let Some(runtime) = runtime {
            command.env("XDG_RUNTIME_DIR", runtime);
        }
        finish(command.spawn().unwrap())
    };

    // Nowhere to keep the new set: nothing is spent, and the error says where it looked.
    let refused = refresh(None);
    assert_ne!(code(&refused), 0);
    let stderr = text(&refused.stderr);
    assert!(stderr.contains(&squatted.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a private directory"), "{stderr}");
    assert_eq!(env.fake.stats().token.refresh_token, 0, "nothing was sent");
    assert_eq!(stored(&env.token_file()), before);
    assert_eq!(std::fs::read_dir(&squatted).unwrap().count(), 0);

    // This user's runtime directory, which nobody else can write to, is used instead.
    let runtime = env.dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let refreshed = refresh(Some(&runtime));
    assert_eq!(code(&refreshed), 0, "{}", text(&refreshed.stderr));
    assert_eq!(env.fake.stats().token.refresh_token, 1);
    assert_ne!(
        stored(&env.token_file())["refresh_token"],
        before["refresh_token"]
    );
    assert!(runtime.join("pinterest-oauth/recovered").is_dir());
    assert_eq!(std::fs::read_dir(&squatted).unwrap().count(), 0);
}

#[test]
fn app_tokens_asked_for_in_a_loop_are_requested_once_and_within_the_budget() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("ureq");
    let run = |extra: &[&str]| {
        let mut args = vec!["client-credentials", "--scopes", "ads:read", "--json"];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let first = run(&[]);
    assert_eq!(code(&first), 0, "{}", text(&first.stderr));
    let token = json(&first)["access_token"].clone();
    for _ in 0..10 {
        let again = run(&[]);
        assert_eq!(code(&again), 0, "{}", text(&again.stderr));
        assert_eq!(json(&again)["access_token"], token, "the kept token again");
    }
    assert_eq!(env.fake.stats().token.client_credentials, 1);
    // Other scopes are another token.
    let other = env.run(&[
        "client-credentials",
        "--scopes",
        "ads:read,user_accounts:read",
    ]);
    assert_eq!(code(&other), 0, "{}", text(&other.stderr));
    assert_eq!(env.fake.stats().token.client_credentials, 2);
    // Kept privately, never in the token file.
    assert!(!env.token_file().exists());
    let kept: Vec<PathBuf> = std::fs::read_dir(env.state_dir().join("pinterest-oauth/app-tokens"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for file in &kept {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    // `--new` asks again, but only within the request budget, across runs.
    let mut fresh = 0;
    for _ in 0..8 {
        let out = run(&["--new"]);
        if code(&out) == 0 {
            fresh += 1;
            assert_ne!(json(&out)["access_token"], token);
        } else {
            assert_eq!(code(&out), 4, "{}", text(&out.stderr));
        }
    }
    assert_eq!(fresh, 4, "the budget's ceiling is five requests");
    assert_eq!(env.fake.stats().token.client_credentials, 6);
}

#[test]
fn output_nobody_reads_is_an_error_never_a_crash() {
    let env = logged_in(FakeConfig::default());
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        writer
    };
    // Stdout a closed pipe (`pinterest-oauth refresh | head -c0`): the rotated set is saved
    // before anything is printed; the failure to print is exit 1, never a panic (101).
    let before = stored(&env.token_file());
    for args in [
        &["refresh"][..],
        &["token"],
        &["status"],
        &["token", "--json"],
    ] {
        let mut command = env.command(args);
        command.stdout(closed());
        let output = finish(command.spawn().unwrap());
        assert_eq!(code(&output), 1, "{args:?}: {}", text(&output.stderr));
        assert!(
            text(&output.stderr).contains("cannot write the output"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    let after = stored(&env.token_file());
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    assert!(
        env.fake
            .refresh_token_valid(after["refresh_token"].as_str().unwrap())
    );
    assert_eq!(env.fake.stats().token.refresh_token, 1);
    // Stderr a closed pipe too: errors and warnings go nowhere, the exit code still says.
    let mut command = env.command(&["--token-file", "/nonexistent/dir/t.json", "token"]);
    command.stdout(closed()).stderr(closed());
    let output = finish(command.spawn().unwrap());
    assert_eq!(code(&output), 3);
    let mut command = env.command(&["status"]);
    command.stderr(closed());
    let output = finish(command.spawn().unwrap());
    assert_eq!(code(&output), 0);
    assert!(
        text(&output.stdout).contains("expires"),
        "{}",
        text(&output.stdout)
    );
}
