//! The built `pinterest-oauth` binary against the fake Pinterest, the test acting as the browser.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_pinterest::{ConsentMode, FakeConfig, FakePinterest, Fault, Route, Times};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pinterest-oauth");
const LIMIT: Duration = Duration::from_secs(60);

/// A fake, a token file, and the options that point the CLI at them.
struct Env {
    fake: FakePinterest,
    dir: tempfile::TempDir,
    transport: &'static str,
}

impl Env {
    fn new(transport: &'static str) -> Env {
        Env::with(transport, FakeConfig::default())
    }

    fn with(transport: &'static str, config: FakeConfig) -> Env {
        Env {
            fake: FakePinterest::start(config).unwrap(),
            dir: tempfile::tempdir().unwrap(),
            transport,
        }
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("token.json")
    }

    /// The CLI with the fake's credentials and URLs, in a clean environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PINTEREST_APP_ID", self.fake.app_id())
            .env("PINTEREST_APP_SECRET", self.fake.app_secret())
            .env("PINTEREST_API_URI", self.fake.api_base_url())
            .env("PINTEREST_TOKEN_FILE", self.token_file())
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

    /// `login --no-browser`, with the test as the browser. `tamper` may change the callback.
    fn login(&self, extra: &[&str], tamper: impl FnOnce(String) -> String) -> (Output, Browsed) {
        let mut args = vec!["login", "--no-browser", "--port", "0"];
        args.extend_from_slice(extra);
        let mut child = self.command(&args).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let url = loop {
            let line = lines_rx
                .recv_timeout(LIMIT)
                .expect("the CLI prints the consent URL");
            if line.starts_with(&self.fake.consent_url()) {
                break line;
            }
        };
        let browsed = browse(&url, tamper);
        let mut output = finish(child);
        output.stderr = reader.join().unwrap().into_bytes();
        (output, browsed)
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

/// GETs the consent page, then the redirect it gives (after `tamper`), as a browser would.
fn browse(url: &str, tamper: impl FnOnce(String) -> String) -> Browsed {
    let consent = fake_pinterest::visit(url, None).unwrap();
    assert_eq!(consent.status, 302);
    let callback = tamper(consent.location.unwrap());
    let answer = fake_pinterest::visit(&callback, None).unwrap();
    Browsed {
        consent_url: url.to_owned(),
        status: answer.status,
        page: answer.body,
        callback,
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
    let (login, browsed) = env.login(&["--scopes", "boards:read,pins:read"], |c| c);
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

#[test]
fn the_whole_workflow_with_hyper() {
    workflow("hyper");
}

#[test]
fn revoking_one_token_keeps_the_file() {
    let env = Env::new("ureq");
    let (login, _) = env.login(&[], |c| c);
    assert_eq!(code(&login), 0);
    let file = stored(&env.token_file());
    let only = json(&env.run(&["revoke", "--refresh-token", "--json"]));
    assert_eq!(only["revoked"], serde_json::json!(["refresh_token"]));
    assert_eq!(only["token_file_removed"], false);
    assert!(env.token_file().exists());
    assert!(
        env.fake
            .access_token_valid(file["access_token"].as_str().unwrap())
    );
    // Refreshing with the revoked refresh token: consent needed.
    let refresh = env.run(&["refresh"]);
    assert_eq!(code(&refresh), 3, "{}", text(&refresh.stderr));
    let err = text(&refresh.stderr);
    assert!(err.starts_with("error: consent needed"), "{err}");
    assert!(
        err.contains("code 283") && err.contains("request id"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    assert_eq!(
        code(&env.run(&["revoke", "--access-token", "--refresh-token"])),
        2,
        "one or the other"
    );
}

#[test]
fn a_stolen_or_invalid_state_is_refused() {
    let env = Env::new("ureq");
    let (login, browsed) = env.login(&[], |callback| {
        let url = url::Url::parse(&callback).unwrap();
        let mut forged = url.clone();
        forged.query_pairs_mut().clear();
        for (k, v) in url.query_pairs() {
            let v = if k == "state" {
                "stolen-or-guessed".into()
            } else {
                v
            };
            forged.query_pairs_mut().append_pair(&k, &v);
        }
        forged.to_string()
    });
    assert_eq!(browsed.status, 400);
    assert!(browsed.page.contains("state does not match"));
    assert_eq!(code(&login), 3);
    assert!(text(&login.stderr).contains("callback state does not match"));
    assert!(!env.token_file().exists());
    assert_eq!(
        env.fake.stats().token.authorization_code,
        0,
        "the code was never exchanged"
    );
}

#[test]
fn denied_consent_and_a_login_timeout_need_consent() {
    let env = Env::with(
        "hyper",
        FakeConfig {
            consent: ConsentMode::Deny,
            ..FakeConfig::default()
        },
    );
    let (login, browsed) = env.login(&[], |c| c);
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
    let env = Env::new("ureq");
    let (login, _) = env.login(&[], |c| c);
    assert_eq!(code(&login), 0);

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

    // 6: the token file.
    std::fs::write(env.token_file(), b"{ not a token").unwrap();
    for args in [&["token"][..], &["status"], &["refresh"]] {
        let corrupt = env.run(args);
        assert_eq!(code(&corrupt), 6, "{args:?}: {}", text(&corrupt.stderr));
        assert!(text(&corrupt.stderr).contains("left untouched"));
    }
    assert_eq!(std::fs::read(env.token_file()).unwrap(), b"{ not a token");
    // Unreadable (a directory where the file should be, whatever the user's privileges).
    std::fs::remove_file(env.token_file()).unwrap();
    std::fs::create_dir(env.token_file()).unwrap();
    let unreadable = env.run(&["token"]);
    assert_eq!(code(&unreadable), 6, "{}", text(&unreadable.stderr));
    assert!(
        text(&unreadable.stderr).starts_with("error: cannot read"),
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
fn a_fresh_token_is_printed_without_credentials() {
    let env = Env::new("ureq");
    let (login, _) = env.login(&[], |c| c);
    assert_eq!(code(&login), 0);
    let mut command = env.command(&["token"]);
    command
        .env_remove("PINTEREST_APP_ID")
        .env_remove("PINTEREST_APP_SECRET");
    let token = finish(command.spawn().unwrap());
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert_eq!(
        text(&token.stdout).trim(),
        stored(&env.token_file())["access_token"]
    );
}

/// `-vv` over the whole flow: neither logs nor outputs carry a secret, token or code.
#[test]
fn very_verbose_output_never_shows_a_secret() {
    for transport in ["ureq", "hyper"] {
        let env = Env::new(transport);
        let (login, browsed) = env.login(&["-vv"], |c| c);
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
