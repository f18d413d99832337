//! What every test here uses: the built binary, a fake Pinterest with a token file beside it,
//! the test as the browser (or `curl` as another user), and bounded waits.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_pinterest::{FakeConfig, FakePinterest};
use serde_json::Value;

pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// The binary under test; `PINTEREST_OAUTH_BIN` points these tests at another build (an older
/// release, to show a test fails there).
pub(crate) fn bin() -> std::ffi::OsString {
    std::env::var_os("PINTEREST_OAUTH_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_pinterest-oauth").into())
}

/// A fake, a token file, and the options that point the CLI at them.
pub(crate) struct Env {
    pub(crate) fake: FakePinterest,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) token_dir: PathBuf,
    pub(crate) transport: &'static str,
    /// Run the CLI as this user id (through `setpriv`).
    pub(crate) user: Option<u32>,
    /// Name the token directory (`PINTEREST_TOKEN_DIR`, a file per grant) instead of one
    /// token file (`PINTEREST_TOKEN_FILE`).
    pub(crate) by_grant: bool,
}

impl Env {
    pub(crate) fn new(transport: &'static str) -> Env {
        Env::with(transport, FakeConfig::default())
    }

    pub(crate) fn with(transport: &'static str, config: FakeConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env {
            fake: FakePinterest::start(config).unwrap(),
            token_dir: dir.path().to_path_buf(),
            dir,
            transport,
            user: None,
            by_grant: false,
        }
    }

    pub(crate) fn token_file(&self) -> PathBuf {
        self.token_dir.join("token.json")
    }

    /// `XDG_STATE_HOME` for the CLI: kept sets and answers are under `pinterest-oauth/recovered`.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The files kept in the recovery directory.
    pub(crate) fn kept_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.state_dir().join("pinterest-oauth/recovered"))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// The CLI with the fake's credentials and URLs, in a clean environment.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
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
            // The default grant (`grants default`) is recorded here.
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            // Sets kept aside go here, never into the home directory of whoever runs the tests.
            .env("XDG_STATE_HOME", self.state_dir())
            .args([
                "--consent-url",
                &self.fake.consent_url(),
                "--transport",
                self.transport,
            ])
            .args(args)
            .env(
                if self.by_grant {
                    "PINTEREST_TOKEN_DIR"
                } else {
                    "PINTEREST_TOKEN_FILE"
                },
                if self.by_grant {
                    self.token_dir.clone()
                } else {
                    self.token_file()
                },
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        finish(self.command(args).spawn().unwrap())
    }

    /// `login --no-browser`, with the test as the browser.
    pub(crate) fn login(&self, extra: &[&str]) -> (Output, Browsed) {
        let pending = self.start_login(extra);
        let browsed = pending.browse();
        (pending.finish(), browsed)
    }
}

/// What the browser saw.
#[derive(Debug)]
pub(crate) struct Browsed {
    pub(crate) consent_url: String,
    pub(crate) callback: String,
    pub(crate) status: u16,
    pub(crate) page: String,
}

/// A browser: in this process, or `curl` with a cookie jar run as another user.
pub(crate) enum Browser {
    Here(fake_pinterest::Browser),
    As { uid: u32, jar: PathBuf },
}

impl Browser {
    /// GETs `url`, cookies kept, no redirect followed.
    pub(crate) fn visit(&mut self, url: &str) -> fake_pinterest::Visit {
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
pub(crate) fn finish(mut child: Child) -> Output {
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

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

pub(crate) fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)))
}

pub(crate) fn stored(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Edits the stored document: `edit` gets it as JSON.
pub(crate) fn edit_stored(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut doc = stored(path);
    edit(&mut doc);
    std::fs::write(path, doc.to_string()).unwrap();
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Makes the stored access token expired a minute ago, as if it were the next month: the
/// request budget of earlier refreshes is spent.
pub(crate) fn expire_stored(path: &Path) {
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
pub(crate) fn logged_in(config: FakeConfig) -> Env {
    let env = Env::with("ureq", config);
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    env
}

pub(crate) fn pinterest_oauth_tests_config(
    fake: &FakePinterest,
) -> pinterest_oauth_core::ClientConfig {
    pinterest_oauth_core::ClientConfig::new(
        pinterest_oauth_core::AppId::new(fake.app_id()).unwrap(),
        pinterest_oauth_core::AppSecret::new(fake.app_secret()),
    )
    .with_base_url(pinterest_oauth_core::BaseUrl::parse(&fake.api_base_url()).unwrap())
}

/// An environment whose CLI runs as an unprivileged user when the tests run as root (root
/// ignores file modes), in a directory that user owns.
pub(crate) struct Unprivileged {
    pub(crate) env: Env,
    pub(crate) dir: PathBuf,
}

impl Unprivileged {
    pub(crate) fn new() -> Unprivileged {
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

    pub(crate) fn chmod_dir(&self, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// The unprivileged user the CLI runs as when the tests run as root.
pub(crate) const NOBODY: u32 = 65534;

/// Says, where a person running the tests sees it, that the current test checked nothing:
/// straight to the process's stderr, which the harness does not capture for a passing test.
pub(crate) fn skipped(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

/// Whether the tests can act as another local user (they run as root, which can become uid
/// 65534); otherwise says the test is skipped. Under CI, where the tests run as root, never
/// skips.
pub(crate) fn acts_as_another_user() -> bool {
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

pub(crate) fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A login in progress: the child, its consent URL, and its stderr lines still to come.
pub(crate) struct Pending {
    pub(crate) child: Child,
    /// The login's one-time start address, as printed.
    pub(crate) start_url: String,
    /// The redirect URI it listens on, as printed.
    pub(crate) redirect_uri: String,
    /// Where the start address redirected the browser.
    pub(crate) consent_url: String,
    /// The browser that opened the start address (it holds the login's cookie).
    pub(crate) browser: std::sync::Mutex<Browser>,
    pub(crate) lines: mpsc::Receiver<String>,
    pub(crate) reader: std::thread::JoinHandle<String>,
    /// What the CLI printed on stdout.
    pub(crate) out_reader: std::thread::JoinHandle<String>,
}

impl Env {
    /// Starts `login`, waits for it to print where it listens and its start address, registers
    /// the redirect URI with the fake (the app's owner did that), and opens the start address
    /// in a browser of its own (which then holds the login's cookie).
    pub(crate) fn start_login(&self, extra: &[&str]) -> Pending {
        self.launch_login(extra, true)
    }

    /// Starts `login`; with `open`, as [`start_login`]; without, nobody has opened the start
    /// address yet.
    pub(crate) fn launch_login(&self, extra: &[&str], open: bool) -> Pending {
        let mut args = vec!["login", "--no-browser"];
        args.extend_from_slice(extra);
        if !extra
            .iter()
            .any(|a| *a == "--port" || *a == "--redirect-uri")
        {
            args.extend(["--port", "0"]);
        }
        let mut child = self.command(&args).spawn().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        // Both streams' lines, as they come: the start address is on stdout (stderr with
        // --json), where it listens on stderr.
        let read = |stream: Box<dyn std::io::Read + Send>, lines_tx: mpsc::Sender<String>| {
            std::thread::spawn(move || {
                let mut all = String::new();
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = lines_tx.send(line.clone());
                    all.push_str(&line);
                    all.push('\n');
                }
                all
            })
        };
        let reader = read(Box::new(child.stderr.take().unwrap()), lines_tx.clone());
        let out_reader = read(Box::new(child.stdout.take().unwrap()), lines_tx);
        // The two streams' lines may come in either order.
        let (mut redirect_uri, mut start_url) = (None, None);
        while redirect_uri.is_none() || start_url.is_none() {
            let line = lines
                .recv_timeout(LIMIT)
                .expect("the CLI prints where it listens and its start address");
            if let Some(rest) = line.split_once("send the browser back to ") {
                redirect_uri = rest.1.split(" (listening").next().map(str::to_owned);
            }
            if line.starts_with("http://") && line.contains("/start/") {
                start_url = Some(line);
            }
        }
        let (Some(redirect_uri), Some(start_url)) = (redirect_uri, start_url) else {
            unreachable!("both were seen")
        };
        self.fake.register_redirect_uri(&redirect_uri);
        let mut pending = Pending {
            child,
            start_url,
            redirect_uri,
            consent_url: String::new(),
            browser: std::sync::Mutex::new(Browser::Here(fake_pinterest::Browser::new(None))),
            lines,
            reader,
            out_reader,
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
    pub(crate) fn open(&mut self, env: &Env) {
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
    pub(crate) fn listener(&self) -> url::Url {
        url::Url::parse(&self.redirect_uri).unwrap()
    }

    /// GETs `url` in the browser that started the login (no redirect followed).
    pub(crate) fn visit(&self, url: &str) -> fake_pinterest::Visit {
        self.browser.lock().unwrap().visit(url)
    }

    /// The consent page, then the redirect it gives, in the browser that started the login.
    pub(crate) fn browse(&self) -> Browsed {
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

    pub(crate) fn finish(self) -> Output {
        let mut output = finish(self.child);
        drop(self.lines);
        output.stderr = self.reader.join().unwrap().into_bytes();
        output.stdout = self.out_reader.join().unwrap().into_bytes();
        output
    }
}

/// GETs `url` as a browser would (no redirects followed).
pub(crate) fn get(url: &str) -> fake_pinterest::Visit {
    fake_pinterest::visit(url, None).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Makes a FIFO (a named pipe) at `path`.
pub(crate) fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

pub(crate) fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v5")
}

/// Runs `curl` as uid 65534 (another local user): the status line and headers, or an empty
/// string when the connection was refused or closed.
pub(crate) fn curl_as_nobody(url: &str) -> String {
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["curl", "-s", "-i", "--max-time", "10", url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    text(&output.stdout)
}
