//! Grants kept in a real PostgreSQL (`POSTGRES_URL`; CI starts one): `migrate`, every command
//! and `grants` on `--store postgres://…`, sealed rows, and typed failures without secrets.

use serde_json::Value;

use crate::support::*;

/// `POSTGRES_URL`; `None` (after saying so) outside CI when it is not set.
fn postgres_url() -> Option<String> {
    match std::env::var("POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true: POSTGRES_URL is not set (.ci/run starts a PostgreSQL)")
        }
        _ => {
            skipped("no POSTGRES_URL (.ci/postgres-up starts a throwaway PostgreSQL)");
            None
        }
    }
}

#[test]
fn every_command_works_on_grants_kept_in_postgres() {
    let Some(url) = postgres_url() else { return };
    let env = Env::new("ureq");
    let migrated = env.run(&["--store", &url, "migrate"]);
    assert_eq!(code(&migrated), 0, "{}", text(&migrated.stderr));
    assert!(
        text(&migrated.stdout).contains("version 1"),
        "{}",
        text(&migrated.stdout)
    );
    let tag = format!("{}-{}-every", std::process::id(), unix_now());
    let (alice, bob) = (format!("alice-{tag}"), format!("bob-{tag}"));
    for grant in [&alice, &bob] {
        let (login, _) = env.login(&["--store", &url, "--grant", grant]);
        assert_eq!(code(&login), 0, "{}", text(&login.stderr));
        assert!(
            text(&login.stdout).contains("postgres://pinterest@127.0.0.1"),
            "{}",
            text(&login.stdout)
        );
    }
    assert!(
        !env.token_file().exists(),
        "nothing written to a token file"
    );
    let listed = json(&env.run(&["--store", &url, "grants", "--json"]));
    let ours: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["grant"].as_str().unwrap().ends_with(&tag))
        .collect();
    assert_eq!(ours.len(), 2, "{listed}");
    assert_eq!(ours[0]["grant"], alice.as_str());
    assert_eq!(ours[0]["account"], "fake_pinterest_user");
    let shared = ["--store", url.as_str(), "--grant", alice.as_str()];
    let token = env.run(&[&shared[..], &["token"]].concat());
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    assert!(env.fake.access_token_valid(text(&token.stdout).trim()));
    let refreshed = env.run(&[&shared[..], &["refresh"]].concat());
    assert_eq!(code(&refreshed), 0, "{}", text(&refreshed.stderr));
    assert_eq!(env.fake.stats().token.refresh_token, 1);
    let status = json(&env.run(&[&shared[..], &["--json", "status"]].concat()));
    assert!(
        status["token_file"]
            .as_str()
            .unwrap()
            .starts_with("postgres://pinterest@"),
        "{status}"
    );
    assert!(!status.to_string().contains(&password(&url)), "{status}");
    // Revoked: the row is gone, and `token` says a login is needed.
    let revoked = env.run(&[&shared[..], &["revoke"]].concat());
    assert_eq!(code(&revoked), 0, "{}", text(&revoked.stderr));
    let after = env.run(&[&shared[..], &["token"]].concat());
    assert_ne!(code(&after), 0);
    assert_ne!(code(&after), 101, "{}", text(&after.stderr));
    let listed = json(&env.run(&["--store", &url, "grants", "--json"]));
    assert!(!listed.to_string().contains(&alice), "{listed}");
}

#[test]
fn sealed_rows_and_bad_stores_in_postgres() {
    let Some(url) = postgres_url() else { return };
    let env = Env::new("ureq");
    let key = text(&env.run(&["keygen"]).stdout).trim().to_owned();
    let grant = format!("sealed-{}-{}", std::process::id(), unix_now());
    let key_file = env.dir.path().join("token.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let keyed = [
        "--store",
        url.as_str(),
        "--grant",
        grant.as_str(),
        "--token-key-file",
        key_file.to_str().unwrap(),
    ];
    let (login, _) = env.login(&keyed);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let status = json(&env.run(&[&keyed[..], &["--json", "status"]].concat()));
    assert!(status["sealed_under"].is_string(), "{status}");
    let token = env.run(&[&keyed[..], &["token"]].concat());
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    // Without the key: a typed error, exit not 101, nothing printed of the token.
    let out = env.run(&["--store", &url, "--grant", &grant, "token"]);
    assert_ne!(code(&out), 0);
    assert_ne!(code(&out), 101, "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty());

    // A wrong password: refused, the password never shown.
    let wrong = url.replacen("pinterest:", "pinterest:wrongpw", 1);
    let out = env.run(&["--store", &wrong, "token"]);
    assert_ne!(code(&out), 0);
    assert_ne!(code(&out), 101);
    let said = text(&out.stderr);
    assert!(said.contains("password authentication failed"), "{said}");
    assert!(!said.contains(&password(&wrong)), "{said}");
    // Nothing listening.
    let out = env.run(&["--store", "postgres://u:pw@127.0.0.1:1/db", "grants"]);
    assert_ne!(code(&out), 0);
    assert_ne!(code(&out), 101);
    // `migrate` without a Postgres store is a usage error.
    let out = env.run(&["migrate"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
}

fn password(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|user| user.split(':').nth(1))
        .unwrap_or("none")
        .to_owned()
}

#[test]
fn the_password_comes_from_pgpassword_and_one_on_the_command_line_is_warned_about() {
    let Some(url) = postgres_url() else { return };
    let env = Env::new("ureq");
    let secret = password(&url);
    let bare = url.replacen(&format!(":{secret}@"), "@", 1);
    assert_ne!(bare, url);
    let mut command = env.command(&["--store", &bare, "grants"]);
    command.env("PGPASSWORD", &secret);
    let out = finish(command.spawn().unwrap());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("ps"), "{}", text(&out.stderr));
    // Without it: refused by the server, a typed failure.
    let out = env.run(&["--store", &bare, "grants"]);
    assert_ne!(code(&out), 0);
    assert_ne!(code(&out), 101);
    // In the URL on the command line: works, with a warning saying where else to put it.
    let out = env.run(&["--store", &url, "grants"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("PGPASSWORD") && said.contains("ps"), "{said}");
    assert!(!said.contains(&secret), "{said}");
}

#[test]
fn revoke_waits_for_a_refresh_another_process_has_in_flight() {
    let Some(url) = postgres_url() else { return };
    let env = Env::new("ureq");
    let grant = format!("inflight-{}-{}", std::process::id(), unix_now());
    let (login, _) = env.login(&["--store", &url, "--grant", &grant]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    // Another process's refresh is in flight (its mark, on the server's clock).
    let marked = std::process::Command::new("psql")
        .arg(&url)
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg(format!(
            "UPDATE pinterest_oauth_grants SET in_flight_owner = 'another', in_flight_until = now() + interval '1 minute'
             WHERE grant_name = '{grant}'"
        ))
        .output()
        .unwrap();
    assert!(marked.status.success(), "{}", text(&marked.stderr));
    let out = env.run(&["--store", &url, "--grant", &grant, "revoke"]);
    assert_ne!(code(&out), 0);
    assert_ne!(code(&out), 101);
    assert!(
        text(&out.stderr).contains("in flight"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(env.fake.stats().revoke, 0, "nothing was revoked");
    let token = env.run(&["--store", &url, "--grant", &grant, "token"]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
}
