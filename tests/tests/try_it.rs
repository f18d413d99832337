//! The README's "Try it without credentials" block, run as it is written: a shell, the built
//! `fake-pinterest` and `pinterest-oauth` on `PATH`, `curl` as the browser, and nothing else of
//! the test's in between. A fresh clone's reader types exactly this.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pinterest_oauth_tests::redis::in_ci;
use pinterest_oauth_tests::skipped;

/// The README block marked `try-it`, as it is.
fn try_it_block() -> String {
    let readme = include_str!("../../README.md");
    let (_, after) = readme
        .split_once("<!-- try-it:")
        .expect("the README marks its try-it block");
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(block, _)| block)
        .expect("a sh block follows the marker");
    block.to_owned()
}

/// Where cargo put this workspace's binaries: the directory above this test's own `deps/`.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps")
        .to_path_buf()
}

/// Whether a process is there (and not a zombie waiting to be reaped).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[cfg(target_os = "linux")]
#[test]
fn the_readme_try_it_block_runs_as_written() {
    let bins = bin_dir();
    let missing: Vec<&str> = ["pinterest-oauth", "fake-pinterest"]
        .into_iter()
        .filter(|name| !bins.join(name).is_file())
        .collect();
    let no_curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map_or(true, |s| !s.success());
    if !missing.is_empty() || no_curl {
        let why = format!(
            "needs {missing:?} in {} (cargo test --workspace builds them){}",
            bins.display(),
            if no_curl { " and curl" } else { "" }
        );
        assert!(!in_ci(), "CI=true: {why}");
        skipped(&why);
        return;
    }
    let block = try_it_block();
    assert!(
        block.contains("fake-pinterest --background") && block.contains("login --no-browser"),
        "{block}"
    );
    let home = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The block as it is, after a trap that stops the fake however the block ends (and says
    // which process it was, for the checks below).
    let script = format!(
        "trap 'echo \"fake pid: ${{FAKE_PINTEREST_PID:-}}\" >&2; kill \"${{FAKE_PINTEREST_PID:-}}\" 2>/dev/null || true' EXIT\n{block}\n"
    );
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("TMPDIR", home.path())
        .current_dir(home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = pinterest_oauth_tests::child::lines(child.stdout.take().unwrap());
    let stderr = pinterest_oauth_tests::child::lines(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the try-it block ran longer than 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = pinterest_oauth_tests::child::all_lines(&stdout, Duration::from_secs(5));
    let err = pinterest_oauth_tests::child::all_lines(&stderr, Duration::from_secs(5));
    let (out, err) = (out.join("\n"), err.join("\n"));
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");

    // login: (its first line, the address, went to curl) who logged in, where the tokens are.
    let lines: Vec<&str> = out.lines().collect();
    assert!(!out.contains("/start/"), "curl took the address: {out}");
    let saved = lines
        .iter()
        .find(|l| l.starts_with("logged in as fake_pinterest_user; tokens saved to "))
        .unwrap_or_else(|| panic!("{out}"));
    // The fake's own token file, under its own directory, never the user's config directory.
    assert!(saved.contains(&*home.path().to_string_lossy()), "{saved}");
    assert!(!home.path().join("config/pinterest-oauth").exists());
    // token: one line, the token itself.
    let token_line = lines
        .iter()
        .position(|l| l.starts_with("logged in as"))
        .and_then(|i| lines.get(i + 1))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        !token_line.is_empty() && !token_line.contains(' '),
        "{token_line}"
    );
    // status: valid.
    assert!(out.contains("state: valid"), "{out}");
    // The fake stopped, and its token file went with it.
    let pid = err
        .lines()
        .find_map(|l| l.strip_prefix("fake pid: "))
        .unwrap_or_else(|| panic!("{err}"))
        .trim()
        .to_owned();
    assert!(!pid.is_empty(), "{err}");
    let stopped = Instant::now() + Duration::from_secs(20);
    while alive(&pid) {
        assert!(Instant::now() < stopped, "the fake (pid {pid}) still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    let token_file = saved
        .trim_start_matches("logged in as fake_pinterest_user; tokens saved to ")
        .split(':')
        .next()
        .unwrap();
    assert!(!Path::new(token_file).exists(), "{token_file}");
}
