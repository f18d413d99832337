//! `fake-pinterest` as a standalone binary: options, printed URLs, TLS with `--ca-file`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the child however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn runs_standalone_and_prints_what_clients_need() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
            .args(["--port", "0", "--app-id", "42", "--app-secret", "s3cr3t"])
            .args([
                "--redirect-uri",
                "https://app.example/cb",
                "--access-ttl",
                "60",
            ])
            .args(["--refresh-ttl", "120", "--tls", "--ca-file"])
            .arg(&ca_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    while !printed.iter().any(|l: &String| l.contains("press Ctrl-C")) {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the fake prints its banner");
        printed.push(line);
    }
    let value = |label: &str| -> String {
        printed
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {label} in {printed:?}"))
    };
    assert_eq!(value("app id:"), "42");
    assert_eq!(value("app secret:"), "s3cr3t");
    let base = value("api base url:");
    assert!(
        base.starts_with("https://127.0.0.1:") && base.ends_with("/v5"),
        "{base}"
    );
    let stats_url = value("stats:");

    let pem = std::fs::read(&ca_file).unwrap();
    let ca = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .build()
        .new_agent();
    // Only the registered redirect URI is accepted.
    let consent = value("consent url:");
    let loopback = agent
        .get(&format!("{consent}?client_id=42&redirect_uri=http%3A%2F%2Flocalhost%2F&response_type=code&scope=ads%3Aread"))
        .call()
        .unwrap();
    assert_eq!(loopback.status(), 400);
    let registered = agent
        .get(&format!("{consent}?client_id=42&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=ads%3Aread"))
        .call()
        .unwrap();
    assert_eq!(registered.status(), 302);
    // The configured lifetimes are what the token endpoint grants.
    let token: serde_json::Value = agent
        .post(&format!("{base}/oauth/token"))
        .header("authorization", "Basic NDI6czNjcjN0")
        .header("content-type", "application/x-www-form-urlencoded")
        .send("grant_type=client_credentials&scope=ads%3Aread")
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(token["expires_in"], 60);
    let stats: serde_json::Value = agent
        .get(&stats_url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(stats["consent"], 2);
    assert_eq!(stats["token"]["client_credentials"], 1);
}

/// Runs the fake with `args` as a shell's `$(…)` would (stdin closed, output captured).
fn fake(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Whether a process is still there (not a zombie: `--background`'s process is reparented
/// away from the test, so it is reaped by init once it ends).
#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Stops a process by its id however the test ends (`kill`, SIGTERM).
#[cfg(target_os = "linux")]
struct Kill(u32);

#[cfg(target_os = "linux")]
impl Drop for Kill {
    fn drop(&mut self) {
        terminate(self.0);
    }
}

/// Sends SIGTERM to `pid` (`kill`); whether it was delivered.
#[cfg(target_os = "linux")]
fn terminate(pid: u32) -> bool {
    Command::new("kill")
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits (bounded) until `done`.
#[cfg(target_os = "linux")]
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn background_prints_exports_for_eval_and_stops_when_killed_or_timed_out() {
    // As a shell's `$(…)` runs it: the command ends once the fake listens (its stdout closes).
    let out = fake(&["--background", "--app-id", "77"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let exports: std::collections::HashMap<String, String> = printed
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.trim_matches('\'').to_owned()))
        .collect();
    let pid: u32 = exports["FAKE_PINTEREST_PID"].parse().unwrap();
    let token_file = std::path::PathBuf::from(&exports["PINTEREST_TOKEN_FILE"]);
    let tokens = token_file.parent().unwrap().to_path_buf();
    assert!(!token_file.exists(), "nothing is logged in yet");
    let _guard = Kill(pid);
    assert_eq!(exports["PINTEREST_APP_ID"], "77");
    assert!(exports["PINTEREST_API_URI"].ends_with("/v5"), "{printed}");
    assert!(
        exports["PINTEREST_CONSENT_URL"].ends_with("/oauth/"),
        "{printed}"
    );
    let redirect = url::Url::parse(&exports["PINTEREST_REDIRECT_URI"]).unwrap();
    assert_eq!(redirect.host_str(), Some("localhost"), "{printed}");
    assert_ne!(
        redirect.port(),
        Some(8085),
        "a port free now, never a fixed one"
    );
    assert!(alive(pid), "{printed}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", tokens.display());
    }
    // It serves: the consent page knows the app and the registered redirect URI.
    let consent = format!(
        "{}?client_id=77&redirect_uri={}&response_type=code&scope=boards:read&state=s",
        exports["PINTEREST_CONSENT_URL"],
        url::form_urlencoded::byte_serialize(redirect.as_str().as_bytes()).collect::<String>()
    );
    let visit = fake_pinterest::visit(&consent, None).unwrap();
    assert_eq!(visit.status, 302, "{}", visit.body);
    // Values are quoted for the shell.
    assert!(
        printed.contains("export PINTEREST_APP_ID='77'"),
        "{printed}"
    );

    // `kill` stops it, and its token directory goes with it.
    assert!(terminate(pid));
    eventually("the fake stops on SIGTERM", || !alive(pid));
    assert!(!tokens.exists(), "{}", tokens.display());

    // --exit-after bounds its life.
    let out = fake(&["--background", "--exit-after", "1"]);
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let pid = exported_pid(&printed);
    let _guard = Kill(pid);
    eventually("the fake stops after --exit-after", || !alive(pid));

    // A fake that cannot start says why, and the command fails.
    let out = fake(&["--background", "--access-ttl", "x"]);
    assert!(!out.status.success());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = fake(&["--background", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    // `eval "$(…)"` fails too.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "false\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the fake did not start"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The processes whose environment holds `TMPDIR=<dir>` (root reads every one).
#[cfg(target_os = "linux")]
fn processes_with_tmpdir(dir: &std::path::Path) -> Vec<u32> {
    let needle = format!("TMPDIR={}", dir.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == needle.as_bytes()))
        })
        .filter(|pid| alive(*pid))
        .collect()
}

/// The pid `--background` exported.
#[cfg(target_os = "linux")]
fn exported_pid(printed: &str) -> u32 {
    printed
        .lines()
        .find_map(|l| l.strip_prefix("export FAKE_PINTEREST_PID='"))
        .and_then(|v| v.trim_end_matches('\'').parse().ok())
        .unwrap_or_else(|| panic!("no pid in {printed}"))
}

#[cfg(target_os = "linux")]
#[test]
fn background_leaves_no_fake_and_no_token_directory_behind_when_its_output_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let background = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fake-pinterest"));
        command
            .args(["--background", "--exit-after", "60"])
            .env("TMPDIR", &dir)
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    // A full stdout: the lines cannot be passed on, so the fake stops.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = background().stdout(full).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the fake was stopped"), "{err}");
    // Killed while it starts (as Ctrl-C during `eval "$(…)"` would), at various moments.
    // One that finished first has printed its pid: that fake is the caller's, and stopped here.
    let mut told = Vec::new();
    for delay in 0..8u64 {
        let mut child = background().stdout(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay * 3));
        let _ = child.kill();
        let _ = child.wait();
        let mut printed = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut printed);
        if printed.contains("FAKE_PINTEREST_PID") {
            told.push(Kill(exported_pid(&printed)));
        }
    }
    drop(told);
    eventually("no fake outlives the command that started it", || {
        processes_with_tmpdir(&dir).is_empty()
    });
    eventually("no token directory is left", || {
        std::fs::read_dir(&dir).unwrap().next().is_none()
    });

    // A relative TMPDIR still gives an absolute token file.
    std::fs::create_dir_all(dir.join("rel")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
        .args(["--background", "--exit-after", "5"])
        .env("TMPDIR", "rel")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let _guard = Kill(exported_pid(&printed));
    let token_file = printed
        .lines()
        .find_map(|l| l.strip_prefix("export PINTEREST_TOKEN_FILE='"))
        .map(|v| v.trim_end_matches('\''))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        token_file.starts_with(&*dir.join("rel").to_string_lossy()),
        "{token_file}"
    );

    // With --tls, the CA goes where --ca-file says.
    let ca = dir.join("ca.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
        .args(["--background", "--exit-after", "5", "--tls", "--ca-file"])
        .arg(&ca)
        .env("TMPDIR", &dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let _guard = Kill(exported_pid(&printed));
    assert!(printed.contains("https://127.0.0.1:"), "{printed}");
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    // Options Pinterest would never register are refused, in the background too (2).
    for args in [
        &["--app-id", ""][..],
        &["--redirect-uri", "not a uri"],
        &["--redirect-uri", "http://localhost:8085/#frag"],
    ] {
        for background in [false, true] {
            let out = Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
                .args(args)
                .args(background.then_some("--background"))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(2), "{args:?} {background}: {err}");
            assert!(!err.contains("error: error:"), "{err}");
        }
    }

    // Stdout on /dev/null would lose the pid: refused before any fake starts.
    let out = background()
        .stdout(std::fs::File::create("/dev/null").unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Stopped the moment `eval` returns: the signal is not lost in the gap before the fake
    // waits for it, and the token directory goes every time.
    for _ in 0..10 {
        let out = background().stdout(Stdio::piped()).output().unwrap();
        assert!(terminate(exported_pid(&String::from_utf8_lossy(
            &out.stdout
        ))));
    }
    eventually("every fake stopped", || {
        processes_with_tmpdir(&dir).is_empty()
    });
    eventually("and every token directory went with it", || {
        std::fs::read_dir(&dir).unwrap().flatten().all(|e| {
            !e.file_name()
                .to_string_lossy()
                .starts_with("fake-pinterest-")
        })
    });
}
