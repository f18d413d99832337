//! The commands end to end: login, token, status, refresh, revoke, client credentials, with
//! both transports, each against the fake Pinterest.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fake_pinterest::{FakeConfig, Fault, Route, Times};

use crate::support::*;

/// The whole workflow for one transport.
fn workflow(transport: &'static str) {
    let env = Env::new(transport);
    let (login, browsed) = env.login(&["--scopes", "boards:read,pins:read"]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert_eq!(browsed.status, 200);
    assert!(browsed.page.contains("You can close this tab"));
    // The start address first (--no-browser), then what was saved.
    assert!(
        text(&login.stdout)
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("logged in; tokens saved to")),
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
            assert_eq!(code(&out), 7, "{}", text(&out.stderr));
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
            assert_eq!(code(&out), 7, "{}", text(&out.stderr));
        }
    }
    assert_eq!(fresh, 4, "the budget's ceiling is five requests");
    assert_eq!(env.fake.stats().token.client_credentials, 6);
}

/// Found by an attack: with nothing stored yet, there was no document to keep the budget and
/// Pinterest's wait in, so ten failing runs sent ten requests in a second.
#[test]
fn first_app_token_requests_that_fail_in_a_loop_keep_the_budget_and_pinterests_wait() {
    use fake_pinterest::{Fault, Grant, Route, Times};
    let env = Env::new("ureq");
    env.fake.push_fault(
        Route::Grant(Grant::ClientCredentials),
        Fault::rate_limited(3600),
        Times::Always,
    );
    // The kept token's record holds for `--new` with the same scopes too (nothing sent).
    for (args, expected) in [
        (&["client-credentials", "--scopes", "ads:read"][..], 1),
        (&["client-credentials", "--scopes", "ads:read", "--new"], 0),
        (
            &["client-credentials", "--scopes", "pins:read", "--save"],
            1,
        ),
    ] {
        let before = env.fake.stats().token.client_credentials;
        let mut codes = Vec::new();
        for _ in 0..10 {
            codes.push(code(&env.run(args)));
        }
        assert!(codes.iter().all(|c| *c == 7), "{args:?}: {codes:?}");
        let sent = env.fake.stats().token.client_credentials - before;
        assert_eq!(
            sent, expected,
            "{args:?}: at most one request, then Pinterest's hour is honoured"
        );
    }
    let out = env.run(&["client-credentials", "--scopes", "ads:read"]);
    assert!(
        text(&out.stderr).contains("no request before"),
        "{}",
        text(&out.stderr)
    );
}
