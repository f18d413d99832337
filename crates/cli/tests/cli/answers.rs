//! Pinterest's answers over many runs: odd but valid answers keep every credential; refusals,
//! rate limits, dead grants and the budget stop automatic requests for every later run.

use std::process::Command;
use std::time::{Duration, Instant};

use fake_pinterest::{FakeConfig, Fault, Route, Times};

use crate::support::*;

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
        // 7: waiting (the request budget), not refused.
        assert_eq!(code(&token), 7, "{}", text(&token.stderr));
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
        assert_eq!(code(&first), 7, "{}", text(&first.stderr));
        // Scripts call `token` before every API request.
        for _ in 0..20 {
            let again = env.run(&["token"]);
            assert_eq!(code(&again), 7);
            assert!(
                text(&again.stderr).contains("rate limited"),
                "{}",
                text(&again.stderr)
            );
        }
        // Even a forced refresh waits for Pinterest's own limit.
        assert_eq!(code(&env.run(&["refresh"])), 7);
        assert_eq!(
            env.fake.stats().token.refresh_token,
            1,
            "20 calls, no more requests"
        );
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
fn a_refresh_the_budget_refuses_never_claims_there_is_no_valid_token() {
    let env = logged_in(FakeConfig::default());
    // Five forced refreshes fill the budget; the sixth is refused while a valid token is stored.
    for _ in 0..5 {
        let refresh = env.run(&["refresh"]);
        assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    }
    let refused = env.run(&["refresh"]);
    assert_eq!(code(&refused), 7, "waiting");
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
fn a_signal_waits_for_the_refresh_in_flight_then_stops() {
    let env = logged_in(FakeConfig::default());
    let first = stored(&env.token_file());
    for (signal, status) in [
        ("-TERM", 143),
        ("-INT", 130),
        ("-QUIT", 131),
        ("-USR1", 138),
    ] {
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

/// Found by an attack: a signal during `revoke` ended the process before what Pinterest
/// revoked was recorded, and `token` then printed a revoked access token for 30 days.
#[test]
fn a_signal_during_revoke_waits_until_the_revocation_is_recorded() {
    let env = logged_in(FakeConfig::default());
    env.fake.push_fault(
        Route::Revoke,
        Fault::AnswerLate(Duration::from_millis(800)),
        Times::Once,
    );
    let before = env.fake.stats();
    let child = env.command(&["revoke", "--access-token"]).spawn().unwrap();
    let deadline = Instant::now() + LIMIT;
    while env.fake.stats().revoke == before.revoke {
        assert!(Instant::now() < deadline, "the revocation never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    let output = finish(child);
    assert_eq!(output.status.code(), Some(143), "{}", text(&output.stderr));
    // The revoked access token is not handed out: the next `token` refreshes.
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    let printed = text(&token.stdout).trim().to_owned();
    assert!(
        env.fake.access_token_valid(&printed),
        "a revoked token was printed"
    );
}
