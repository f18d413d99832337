//! The README's first command: the demo runs to the end, offline, and prints no secret.

use std::process::Command;

#[test]
fn the_demo_completes_and_prints_no_secret() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for step in ["== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6."] {
        assert!(stdout.contains(step), "missing {step}:\n{stdout}");
    }
    assert!(stdout.contains("consent needed: true"), "{stdout}");
    assert!(stdout.contains("fake accepts it after:  false"), "{stdout}");
    // Fake tokens start with pina_/pinr_; the Basic header and the fake's secret never show.
    for secret in [
        "pina_",
        "pinr_",
        "Basic ",
        fake_pinterest::DEFAULT_APP_SECRET,
    ] {
        assert!(!stdout.contains(secret), "{secret} leaked:\n{stdout}");
    }
    assert!(
        !leaks_code(&stdout),
        "an authorization code leaked:\n{stdout}"
    );
}

/// `code=` may appear only as `code=<redacted>`.
fn leaks_code(stdout: &str) -> bool {
    stdout
        .match_indices("code=")
        .any(|(i, _)| !stdout[i..].starts_with("code=<redacted>"))
}

#[test]
fn an_app_logs_in_with_the_library_login() {
    let output = Command::new(env!("CARGO_BIN_EXE_login_app"))
        .output()
        .expect("the app runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("logged in: scopes [\"boards:read\", \"pins:read\"]"),
        "{stdout}"
    );
    assert!(stdout.contains("a valid token"), "{stdout}");
    assert!(
        stdout.contains("1 code exchange and no PKCE refusal: true"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("pina_") && !stdout.contains("pinr_"),
        "{stdout}"
    );
}

#[test]
fn the_readme_shows_the_example_files_verbatim() {
    let readme = include_str!("../../../README.md");
    for file in [
        include_str!("../examples/ureq_tokens.rs"),
        include_str!("../examples/hyper_tokens.rs"),
    ] {
        // The file's own doc comment is not part of the README snippet.
        let example: String = file
            .lines()
            .skip_while(|l| l.starts_with("//!") || l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            readme.contains(&example),
            "README is out of date with:\n{example}"
        );
        assert!(
            example.lines().count() <= 15,
            "a README example is 15 lines at most"
        );
    }
}

/// The example file's body, without its own doc comment.
fn body(file: &str) -> String {
    file.lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn docs_fleet_shows_the_fleet_examples_verbatim_and_the_readme_their_lines() {
    let fleet = include_str!("../../../docs/fleet.md");
    let readme = include_str!("../../../README.md");
    for (file, marker) in [
        (
            include_str!("../examples/fleet_redis.rs"),
            "RedisStore::open(",
        ),
        (
            include_str!("../examples/fleet_postgres.rs"),
            "PostgresGrants::open(",
        ),
    ] {
        let example = body(file);
        assert!(
            fleet.contains(&example),
            "docs/fleet.md is out of date with:\n{example}"
        );
        // The README's shorter fragment: each of its lines is one of the example's.
        let fragment = readme
            .split("```rust\n")
            .skip(1)
            .filter_map(|block| block.split_once("\n```").map(|(code, _)| code))
            .find(|code| code.contains(marker))
            .unwrap_or_else(|| panic!("the README shows {marker}"));
        for line in fragment.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                example.lines().any(|l| l.trim() == line.trim()),
                "README line not in the example: {line}"
            );
        }
        // The app id is given once, in the configuration the store takes it from.
        assert!(!fragment.contains("AppId::new"), "{fragment}");
    }
    for code in fleet.split("```rust\n").skip(1) {
        let code = code.split_once("\n```").map_or(code, |(c, _)| c);
        assert!(
            !code.contains("AppId::new"),
            "docs/fleet.md: the app id twice:\n{code}"
        );
    }
}
