//! What the CLI prints and exits with: one exit code per failure class, never a secret (even
//! one the server echoes), never a crash on odd input or a closed output.

use std::process::Stdio;
use std::time::Duration;

use fake_pinterest::{FakeConfig, Fault, Route, Times};

use crate::support::*;

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
fn absurd_timeouts_are_usage_errors_not_crashes() {
    let env = Env::new("ureq");
    for timeout in ["18446744073709551615", "0", "86401", "-1"] {
        let login = env.run(&["login", "--no-browser", "--timeout", timeout]);
        assert_eq!(code(&login), 2, "{timeout}: {}", text(&login.stderr));
    }
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

    // 7: waiting (Pinterest's rate limit), with Pinterest's code, message and request id on
    // one line.
    env.fake
        .push_fault(Route::Token, Fault::rate_limited(30), Times::Once);
    let limited = env.run(&["refresh"]);
    assert_eq!(code(&limited), 7, "{}", text(&limited.stderr));
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

#[test]
fn a_network_failure_on_an_expired_token_exits_5_with_its_cause() {
    let env = logged_in(FakeConfig::default());
    expire_stored(&env.token_file());
    let base = closed_port_url();
    // This run's request failed on the network: 5, whatever wait it leaves behind.
    for args in [&["token"][..], &["refresh"]] {
        let out = env.run(&[&["--api-base", base.as_str()][..], args].concat());
        let err = text(&out.stderr);
        assert_eq!(code(&out), 5, "{args:?}: {err}");
        assert!(err.contains("could not connect"), "{args:?}: {err}");
    }
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

#[test]
fn exit_statuses_are_documented_and_a_json_failure_is_one_object() {
    let env = logged_in(FakeConfig::default());
    // The table, in --help.
    let help = text(&env.run(&["--help"]).stdout);
    assert!(help.contains("EXIT STATUS:"), "{help}");
    for (code, word) in [
        (0, "success"),
        (1, "output"),
        (2, "usage"),
        (3, "consent"),
        (4, "refused"),
        (5, "network"),
        (6, "store"),
        (7, "waiting"),
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code}  {word}"))),
            "{code} {word} missing: {help}"
        );
    }
    // The README shows the same table, word for word.
    let table: String = help
        .lines()
        .skip_while(|l| !l.starts_with("EXIT STATUS:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        include_str!("../../../../README.md").contains(table.trim_end()),
        "the README's exit status table differs from --help:\n{table}"
    );
    // Waiting (Pinterest's rate limit): 7, and with --json one object on stdout saying when.
    env.fake
        .push_fault(Route::Token, Fault::rate_limited(30), Times::Once);
    let limited = env.run(&["--json", "refresh"]);
    assert_eq!(code(&limited), 7, "{}", text(&limited.stderr));
    let failure = json(&limited);
    assert_eq!(failure["kind"], "waiting", "{failure}");
    assert_eq!(failure["exit_code"], 7);
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("rate limited")
    );
    assert!(
        failure["retry_at"].as_str().unwrap().ends_with('Z'),
        "{failure}"
    );
    assert!(failure["request_id"].is_string(), "{failure}");
    // The next refresh sends nothing and says the same: waiting, with the time.
    let again = json(&env.run(&["--json", "refresh"]));
    assert_eq!(again["kind"], "waiting", "{again}");
    assert!(again["retry_at"].is_string(), "{again}");
    // Options that can never work are usage errors (2), not the store's (6).
    for store in [
        "mysql://u@h/db",
        "postgres://u:pw@127.0.0.1:notaport/db",
        "redis://h:notaport/0",
    ] {
        let out = env.run(&["--json", "--store", store, "status"]);
        assert_eq!(code(&out), 2, "{store}: {}", text(&out.stderr));
        assert_eq!(json(&out)["kind"], "usage");
    }
    let out = env.run(&["--grant", "not a name", "status"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let out = env.run(&["--store", "file:", "status"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("needs a path"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn token_header_and_app_tokens_print_what_curl_takes() {
    let env = logged_in(FakeConfig::default());
    let header = env.run(&["token", "--header"]);
    assert_eq!(code(&header), 0, "{}", text(&header.stderr));
    let line = text(&header.stdout);
    let token = line
        .trim_end()
        .strip_prefix("Authorization: Bearer ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(env.fake.access_token_valid(token));
    assert_eq!(line.lines().count(), 1);
    // --header and --json are two answers to one question.
    assert_eq!(code(&env.run(&["--json", "token", "--header"])), 2);
    // `client-credentials` prints its token on stdout as `token` does; the summary on stderr.
    let app = env.run(&["client-credentials", "--scopes", "ads:read"]);
    assert_eq!(code(&app), 0, "{}", text(&app.stderr));
    let printed = text(&app.stdout);
    assert!(env.fake.access_token_valid(printed.trim()), "{printed}");
    assert!(
        text(&app.stderr).contains("app token"),
        "{}",
        text(&app.stderr)
    );
}

#[test]
fn the_app_secret_is_given_once_and_the_consent_url_may_come_from_the_environment() {
    let env = logged_in(FakeConfig::default());
    expire_stored(&env.token_file());
    let file = env.dir.path().join("secret");
    std::fs::write(&file, format!("{}\n", env.fake.app_secret())).unwrap();
    let both = env.run(&[
        "--app-secret",
        "other",
        "--app-secret-file",
        file.to_str().unwrap(),
        "token",
    ]);
    assert_eq!(code(&both), 2, "{}", text(&both.stderr));
    assert!(
        text(&both.stderr).contains("not both"),
        "{}",
        text(&both.stderr)
    );
    assert_eq!(env.fake.stats().token.refresh_token, 0, "nothing sent");
    // The file with the environment's secret set too: the file, as documented.
    let file_only = env.run(&["--app-secret-file", file.to_str().unwrap(), "token"]);
    assert_eq!(code(&file_only), 0, "{}", text(&file_only.stderr));
    // PINTEREST_CONSENT_URL stands for --consent-url.
    let mut login = std::process::Command::new(bin());
    login
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PINTEREST_APP_ID", env.fake.app_id())
        .env("PINTEREST_APP_SECRET", env.fake.app_secret())
        .env("PINTEREST_API_URI", env.fake.api_base_url())
        .env("PINTEREST_CONSENT_URL", env.fake.consent_url())
        .env("PINTEREST_TOKEN_FILE", env.dir.path().join("other.json"))
        .args(["login", "--no-listen"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = finish(login.spawn().unwrap());
    assert!(
        text(&out.stderr).contains(&env.fake.consent_url()),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn completions_for_every_shell_and_a_man_page_with_the_exit_status() {
    let env = Env::new("ureq");
    // Their output is larger than a pipe holds: written to a file.
    let run = |args: &[&str]| {
        let path = env.dir.path().join("printed");
        let mut command = env.command(args);
        command.stdout(std::fs::File::create(&path).unwrap());
        let out = finish(command.spawn().unwrap());
        (out, std::fs::read_to_string(&path).unwrap())
    };
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef pinterest-oauth"),
        ("fish", "complete -c pinterest-oauth"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (out, script) = run(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}: {}", text(&out.stderr));
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["login", "token", "grants", "migrate"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    assert_eq!(code(&env.run(&["completions", "tcsh"])), 2);
    let (man, page) = run(&["man"]);
    assert_eq!(code(&man), 0, "{}", text(&man.stderr));
    assert!(page.contains(".TH pinterest-oauth 1"), "{page}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
        ".SH \"EXIT STATUS\"",
    ] {
        assert_eq!(page.matches(section).count(), 1, "{section} once");
    }
    assert_eq!(
        page.matches("7  waiting").count(),
        1,
        "the table once: {page}"
    );
    assert!(!page.contains(".SH EXTRA"), "{page}");
    assert!(page.is_ascii(), "groff without preconv reads ASCII only");
}

#[test]
fn scopes_separated_by_spaces_are_refused_saying_commas() {
    let env = Env::new("ureq");
    for args in [
        &["login", "--no-browser", "--scopes", "boards:read pins:read"][..],
        &["client-credentials", "--scopes", "ads:read ads:write"],
    ] {
        let out = env.run(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("separate scopes with commas"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(env.fake.stats().requests, 0, "nothing sent");
}

#[test]
fn messages_say_what_to_fix() {
    let env = logged_in(FakeConfig::default());
    // A token path whose parent is a file.
    let file = env.dir.path().join("afile");
    std::fs::write(&file, "").unwrap();
    let inside = file.join("token.json");
    let out = env.run(&["--token-file", inside.to_str().unwrap(), "token"]);
    assert_ne!(code(&out), 101);
    assert!(
        text(&out.stderr).contains(&format!("{} is not a directory", file.display())),
        "{}",
        text(&out.stderr)
    );
    // `login --no-listen` with stdin closed: nothing was pasted.
    let out = env.run(&["--token-file", "new.json", "login", "--no-listen"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("nothing was pasted"),
        "{}",
        text(&out.stderr)
    );
    // An API base without /v5 (Pinterest answers 404): a hint about the path.
    expire_stored(&env.token_file());
    let base = env.fake.api_base_url();
    let out = env.run(&["--api-base", base.trim_end_matches("/v5"), "refresh"]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("end in /v5"),
        "{}",
        text(&out.stderr)
    );
}

/// Stdout as exactly one JSON value (a second object after it fails the parse).
fn one_json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}): {}",
            text(&output.stdout)
        )
    })
}

#[test]
fn status_fails_without_a_usable_token_and_says_due_for_refresh() {
    // Nothing stored: consent needed, 3, with one JSON object under --json.
    let empty = Env::new("ureq");
    let out = empty.run(&["status"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("no token stored"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("no usable token"),
        "{}",
        text(&out.stderr)
    );
    let out = empty.run(&["--json", "status"]);
    assert_eq!(code(&out), 3);
    let status = one_json(&out);
    assert_eq!(status["state"], "no_token", "{status}");
    assert_eq!(status["usable"], false, "{status}");

    let env = logged_in(FakeConfig::default());
    let out = env.run(&["status"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("state: valid\n"),
        "{}",
        text(&out.stdout)
    );

    // Inside the refresh margin: still usable, and due for refresh.
    edit_stored(&env.token_file(), |doc| {
        let now = unix_now();
        doc["expires_at"] = (now + 60).into();
    });
    let out = env.run(&["status"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("state: due for refresh"),
        "{}",
        text(&out.stdout)
    );
    let status = one_json(&env.run(&["--json", "status"]));
    assert_eq!(
        (&status["state"], &status["usable"]),
        (&"due".into(), &true.into()),
        "{status}"
    );

    // Expired, with a refresh token and the budget free: `token` gets one at once.
    expire_stored(&env.token_file());
    let out = env.run(&["status"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("access token: expired"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("state: due for refresh"),
        "{}",
        text(&out.stdout)
    );

    // Expired with the budget spent: waiting, 7, and when.
    let busy = logged_in(FakeConfig::default());
    for _ in 0..5 {
        assert_eq!(code(&busy.run(&["refresh"])), 0);
    }
    edit_stored(&busy.token_file(), |doc| {
        let now = unix_now();
        doc["expires_at"] = (now - 60).into();
    });
    let out = busy.run(&["status"]);
    assert_eq!(code(&out), 7, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("state: due for refresh, but no token request is allowed before"),
        "{}",
        text(&out.stdout)
    );
    let out = busy.run(&["--json", "status"]);
    assert_eq!(code(&out), 7);
    let status = one_json(&out);
    assert_eq!(
        (&status["state"], &status["usable"]),
        (&"waiting".into(), &false.into()),
        "{status}"
    );
}

#[test]
fn a_stop_recorded_under_another_configuration_is_shown_as_that_ones_only() {
    let env = logged_in(FakeConfig::default());
    expire_stored(&env.token_file());
    // A typo'd secret: Pinterest refuses the app, and the stop is recorded under it.
    let typo = || {
        let mut command = env.command(&["token"]);
        command.env("PINTEREST_APP_SECRET", "a-typo");
        command
    };
    let out = finish(typo().spawn().unwrap());
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert!(stored(&env.token_file())["lifecycle"]["stopped"].is_object());

    // Under the right configuration, the stop is that other configuration's only.
    let out = env.run(&["status"]);
    let shown = text(&out.stdout);
    assert_eq!(code(&out), 0, "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains("applies only to the app configuration it was recorded under"),
        "{shown}"
    );
    assert!(shown.contains("state: due for refresh"), "{shown}");
    let status = one_json(&env.run(&["--json", "status"]));
    assert_eq!(
        status["stopped"]["applies_to_this_configuration"], false,
        "{status}"
    );

    // Under the typo'd one it holds: refused, 4.
    let mut command = env.command(&["status"]);
    command.env("PINTEREST_APP_SECRET", "a-typo");
    let out = finish(command.spawn().unwrap());
    let shown = text(&out.stdout);
    assert_eq!(code(&out), 4, "{shown}");
    assert!(
        shown.contains("automatic refresh: stopped since"),
        "{shown}"
    );

    // Without the secret it cannot be told, and status says what would tell it.
    let mut command = env.command(&["status"]);
    command.env_remove("PINTEREST_APP_SECRET");
    let out = finish(command.spawn().unwrap());
    let shown = text(&out.stdout);
    assert!(shown.contains("give the app id and secret"), "{shown}");
    assert_eq!(code(&out), 4, "{shown}");

    // And the right configuration's `token` is not held up by it.
    let out = env.run(&["token"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
}

#[test]
fn revoking_the_access_token_says_when_token_can_refresh() {
    // Room in the budget: at once.
    let env = logged_in(FakeConfig::default());
    let out = env.run(&["revoke", "--access-token"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the next `token` refreshes at once"),
        "{}",
        text(&out.stdout)
    );
    // The budget spent by earlier refreshes: from when, and why; `token` agrees.
    let busy = logged_in(FakeConfig::default());
    for _ in 0..5 {
        assert_eq!(code(&busy.run(&["refresh"])), 0);
    }
    let out = busy.run(&["--json", "revoke", "--access-token"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let said = one_json(&out);
    assert_eq!(said["next_refresh"], "waiting", "{said}");
    let not_before = said["next_refresh_not_before"].as_str().unwrap().to_owned();
    let token = busy.run(&["token"]);
    assert_eq!(code(&token), 7, "{}", text(&token.stderr));
    assert!(
        text(&token.stderr).contains(&not_before),
        "{}",
        text(&token.stderr)
    );

    let again = logged_in(FakeConfig::default());
    for _ in 0..5 {
        assert_eq!(code(&again.run(&["refresh"])), 0);
    }
    let out = again.run(&["revoke", "--access-token"]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("the next `token` can refresh from 20"),
        "{shown}"
    );
    assert!(shown.contains("(request budget)"), "{shown}");
}

#[test]
fn a_refused_app_secret_is_named_with_where_it_came_from() {
    let env = logged_in(FakeConfig::default());
    let app_id = env.fake.app_id().to_owned();
    expire_stored(&env.token_file());
    let hint_of = |out: &std::process::Output| {
        text(&out.stderr)
            .lines()
            .find_map(|l| l.strip_prefix("hint: ").map(str::to_owned))
            .unwrap_or_else(|| panic!("no hint: {}", text(&out.stderr)))
    };
    // From the environment.
    let mut command = env.command(&["token"]);
    command.env("PINTEREST_APP_SECRET", "a-typo");
    let out = finish(command.spawn().unwrap());
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    let hint = hint_of(&out);
    assert!(
        hint.contains(&format!("refused app id {app_id} with the app secret from the environment (PINTEREST_APP_SECRET)")),
        "{hint}"
    );
    assert!(!text(&out.stderr).contains("a-typo"));
    // On the command line (the recorded stop is this configuration's: it says so again).
    let out = env.run(&["token", "--app-secret", "a-typo"]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert!(
        hint_of(&out).contains("from the command line (--app-secret)"),
        "{}",
        text(&out.stderr)
    );
    // From a file, at a login's code exchange, with --json too.
    let secret_file = env.dir.path().join("secret");
    std::fs::write(&secret_file, "another-typo\n").unwrap();
    let fresh = Env::new("ureq");
    let (out, _) = fresh.login(&["--json", "--app-secret-file", secret_file.to_str().unwrap()]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert!(
        hint_of(&out).contains(&format!(
            "the file {} (--app-secret-file)",
            secret_file.display()
        )),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(one_json(&out)["kind"], "refused");
}

#[test]
fn both_tokens_expired_is_consent_needed_not_due() {
    let env = logged_in(FakeConfig::default());
    edit_stored(&env.token_file(), |doc| {
        let now = unix_now();
        doc["expires_at"] = (now - 120).into();
        doc["refresh_token_expires_at"] = (now - 60).into();
    });
    let out = env.run(&["status"]);
    let shown = text(&out.stdout);
    assert_eq!(code(&out), 3, "{shown}");
    assert!(
        shown.contains("state: consent needed: the refresh token expired at"),
        "{shown}"
    );
    let status = one_json(&env.run(&["--json", "status"]));
    assert_eq!(
        (&status["state"], &status["usable"]),
        (&"consent_needed".into(), &false.into()),
        "{status}"
    );
    // `grants` agrees.
    let mut by_grant = env;
    by_grant.by_grant = true;
    let grants = text(&by_grant.run(&["grants"]).stdout);
    assert!(grants.contains("consent needed"), "{grants}");
}

#[test]
fn status_all_json_is_one_document_even_with_an_unreadable_grant() {
    let mut env = Env::new("ureq");
    env.by_grant = true;
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    std::fs::write(env.token_dir.join("broken.token.json"), "{\"version\":").unwrap();
    let out = env.run(&["--json", "status", "--all"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    let all = one_json(&out);
    let entries = all.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{all}");
    let broken = entries.iter().find(|e| e["grant"] == "broken").unwrap();
    assert_eq!(
        (&broken["state"], &broken["usable"]),
        (&"unreadable".into(), &false.into()),
        "{all}"
    );
    // In text, the readable grant is shown, and no "no grants stored".
    std::fs::remove_file(env.token_dir.join("token.json")).unwrap();
    let out = env.run(&["status", "--all"]);
    assert_eq!(code(&out), 6);
    assert!(
        !text(&out.stdout).contains("no grants stored"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn terminal_escapes_planted_in_a_token_file_are_shown_escaped() {
    let env = logged_in(FakeConfig::default());
    edit_stored(&env.token_file(), |doc| {
        doc["token_type"] = "bearer\u{1b}]0;owned\u{7}\u{202e}\u{2028}".into();
    });
    let out = env.run(&["status"]);
    let shown = text(&out.stdout);
    for hidden in ['\u{1b}', '\u{7}', '\u{202e}', '\u{2028}'] {
        assert!(!shown.contains(hidden), "{shown:?}");
    }
    assert!(
        shown.contains("\\u{1b}]0;owned\\u{7}\\u{202e}\\u{2028}"),
        "{shown}"
    );
}

#[test]
fn help_that_cannot_be_written_is_an_error_too() {
    let env = Env::new("ureq");
    for args in [&["--help"][..], &["--version"], &["status", "--help"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut command = env.command(args);
        command.stdout(full);
        let out = finish(command.spawn().unwrap());
        assert_eq!(code(&out), 1, "{args:?}: {}", text(&out.stderr));
        let out = env.run(args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}
