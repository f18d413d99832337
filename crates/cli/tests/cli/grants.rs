//! Several accounts: a grant per Pinterest account, side by side in one directory of token
//! files (or in Redis), listed, chosen by default, revoked one by one; names checked the same
//! way for every store.

use fake_pinterest::FakeConfig;

use crate::support::*;

fn by_grant() -> Env {
    let mut env = Env::with("ureq", FakeConfig::default());
    env.by_grant = true;
    env
}

fn login_as(env: &Env, grant: &str) {
    let (login, _) = env.login(&["--grant", grant]);
    assert_eq!(code(&login), 0, "{grant}: {}", text(&login.stderr));
}

fn token_of(env: &Env, args: &[&str]) -> String {
    let out = env.run(&[&["token"][..], args].concat());
    assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[test]
fn several_accounts_live_side_by_side_listed_chosen_and_revoked_one_by_one() {
    let env = by_grant();
    login_as(&env, "alice");
    login_as(&env, "bob@example.com");
    let dir = env.token_dir.clone();
    assert!(dir.join("alice.token.json").is_file());
    assert!(dir.join("bob@example.com.token.json").is_file());
    assert!(
        !dir.join("token.json").exists(),
        "the default grant untouched"
    );

    let alice = token_of(&env, &["--grant", "alice"]);
    let bob = token_of(&env, &["--grant", "bob@example.com"]);
    assert_ne!(alice, bob, "each grant its own token");
    assert!(env.fake.access_token_valid(&alice) && env.fake.access_token_valid(&bob));

    // Without --grant and no default chosen: the `default` grant, which holds nothing.
    let none = env.run(&["token"]);
    assert_eq!(code(&none), 3, "{}", text(&none.stderr));

    let listed = env.run(&["grants"]);
    assert_eq!(code(&listed), 0, "{}", text(&listed.stderr));
    let table = text(&listed.stdout);
    assert!(
        table.contains("alice") && table.contains("bob@example.com"),
        "{table}"
    );
    assert!(table.contains("valid"), "{table}");
    assert!(
        !table.contains(&alice) && !table.contains(&bob),
        "never a token"
    );

    let chosen = env.run(&["grants", "default", "bob@example.com"]);
    assert_eq!(code(&chosen), 0, "{}", text(&chosen.stderr));
    assert_eq!(token_of(&env, &[]), bob, "the default grant is used");
    let listed = json(&env.run(&["grants", "--json"]));
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["grant"], "alice");
    assert_eq!(rows[0]["default"], false);
    assert_eq!(rows[1]["grant"], "bob@example.com");
    assert_eq!(rows[1]["default"], true);
    assert_eq!(rows[1]["state"], "valid");
    // The account each login connected (the fake names every account the same).
    assert_eq!(rows[0]["account"], "fake_pinterest_user");
    assert!(text(&env.run(&["grants"]).stdout).contains("fake_pinterest_user"));

    let all = json(&env.run(&["status", "--all", "--json"]));
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["grant"], "alice");
    assert_eq!(all[0]["stored"], true);
    let one = json(&env.run(&["status", "--json", "--grant", "alice"]));
    assert_eq!(one["grant"], "alice");

    let revoked = env.run(&["revoke", "--grant", "alice"]);
    assert_eq!(code(&revoked), 0, "{}", text(&revoked.stderr));
    assert!(!env.fake.access_token_valid(&alice));
    assert!(
        env.fake.access_token_valid(&bob),
        "only alice's grant revoked"
    );
    let rows = json(&env.run(&["grants", "--json"]));
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["grant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob@example.com"]);
    assert!(
        !env.token_dir.join("alice.token.json.account").exists(),
        "a revoked grant's account name goes with it"
    );
}

#[test]
fn a_grant_with_one_named_token_file_is_refused_not_ignored() {
    // Before: `--grant alice status` with a token file silently showed the file's grant.
    let env = logged_in(FakeConfig::default());
    for args in [&["status"][..], &["token"], &["refresh"], &["revoke"]] {
        let out = env.run(&[args, &["--grant", "alice"]].concat());
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("--token-file"),
            "{}",
            text(&out.stderr)
        );
    }
    let listed = env.run(&["grants"]);
    assert_eq!(code(&listed), 2, "{}", text(&listed.stderr));
    assert_eq!(env.fake.stats().token.refresh_token, 0, "nothing was sent");
}

#[test]
fn bad_grant_names_are_usage_errors_before_anything_is_touched() {
    let env = by_grant();
    for name in [
        "../escape",
        "",
        ".hidden",
        "-x",
        "a b",
        "a/b",
        "{tag}",
        &"x".repeat(65),
    ] {
        let out = env.run(&["status", &format!("--grant={name}")]);
        assert_eq!(code(&out), 2, "{name:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("grant name"),
            "{}",
            text(&out.stderr)
        );
        let out = env.run(&["grants", "default", "--", name]);
        assert_eq!(code(&out), 2, "{name:?}: {}", text(&out.stderr));
    }
    assert!(
        std::fs::read_dir(&env.token_dir).unwrap().next().is_none(),
        "nothing created"
    );
    // A default grant file someone edited by hand to hold a bad name is refused the same way.
    // Beside the token files: each store has its own default.
    let config = env.token_dir.clone();
    std::fs::write(config.join("default-grant"), "../../etc\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            config.join("default-grant"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let out = env.run(&["status"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
}

#[test]
fn an_empty_store_of_grants_says_how_to_add_one() {
    let env = by_grant();
    let out = env.run(&["grants"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("login --grant"),
        "{}",
        text(&out.stdout)
    );
    let out = env.run(&["grants", "default", "carol"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no token is stored for carol"),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&["status"]);
    assert!(
        text(&out.stdout).contains("grant: carol"),
        "{}",
        text(&out.stdout)
    );
}

/// Runs the CLI with `PINTEREST_TOKEN_KEY` set to `keys`.
fn with_keys(env: &Env, keys: &str, args: &[&str]) -> std::process::Output {
    let mut command = env.command(args);
    command.env("PINTEREST_TOKEN_KEY", keys);
    finish(command.spawn().unwrap())
}

#[test]
fn tokens_sealed_at_rest_open_only_with_their_key_and_are_rekeyed_without_a_refresh() {
    let env = by_grant();
    let keygen = env.run(&["keygen"]);
    assert_eq!(code(&keygen), 0, "{}", text(&keygen.stderr));
    let old = text(&keygen.stdout).trim().to_owned();
    assert!(old.starts_with("ptk1:") && old.len() == 69, "{old}");
    assert!(
        !text(&keygen.stderr).contains(&old[5..]),
        "the key only on stdout"
    );

    // Log in (plain), then seal it with `grants rekey`: a plain store migrates.
    login_as(&env, "alice");
    let file = env.token_dir.join("alice.token.json");
    let plain_token = token_of(&env, &["--grant", "alice"]);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&plain_token)
    );
    let rekey = with_keys(&env, &old, &["grants", "rekey"]);
    assert_eq!(code(&rekey), 0, "{}", text(&rekey.stderr));
    let sealed = std::fs::read_to_string(&file).unwrap();
    assert!(
        !sealed.contains(&plain_token) && !sealed.contains("pinr_"),
        "{sealed}"
    );
    let refreshes = env.fake.stats().token.refresh_token;

    // With the key: the same token, no refresh. Without it: a typed error, the file untouched.
    let out = with_keys(&env, &old, &["token", "--grant", "alice"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), plain_token);
    let out = env.run(&["token", "--grant", "alice"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("PINTEREST_TOKEN_KEY"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        sealed,
        "never overwritten"
    );

    // Moved to another grant's place: it does not open there.
    std::fs::copy(&file, env.token_dir.join("mallory.token.json")).unwrap();
    let out = with_keys(&env, &old, &["token", "--grant", "mallory"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("another grant"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(env.token_dir.join("mallory.token.json")).unwrap();

    // Rotation: a new key first seals; the old one still opens until rekey.
    let new = text(&env.run(&["keygen"]).stdout).trim().to_owned();
    let both = format!("{new},{old}");
    let listed = json(&with_keys(&env, &both, &["grants", "--json"]));
    let old_id = listed[0]["sealed_under"].as_str().unwrap().to_owned();
    let rekey = with_keys(&env, &both, &["grants", "rekey"]);
    assert_eq!(code(&rekey), 0, "{}", text(&rekey.stderr));
    assert!(
        text(&rekey.stdout).contains("1 grant"),
        "{}",
        text(&rekey.stdout)
    );
    let listed = json(&with_keys(&env, &new, &["grants", "--json"]));
    assert_ne!(listed[0]["sealed_under"].as_str().unwrap(), old_id);
    assert_eq!(listed[0]["state"], "valid", "opens with the new key alone");
    let out = with_keys(&env, &old, &["token", "--grant", "alice"]);
    assert_eq!(code(&out), 6, "the old key alone no longer opens it");
    assert_eq!(
        env.fake.stats().token.refresh_token,
        refreshes,
        "sealing and rekeying sent nothing"
    );

    // A refresh under the key keeps it sealed.
    let out = with_keys(&env, &new, &["refresh", "--grant", "alice"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        !after.contains("pina_") && !after.contains("pinr_"),
        "{after}"
    );

    // Bad keys are usage errors that never quote the key.
    let out = with_keys(&env, "ptk1:nothex", &["status", "--grant", "alice"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let out = env.run(&["grants", "rekey"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
}

/// Found by an attack on the grants' side files (a shared token directory, another user):
/// links planted where the CLI writes, FIFOs and huge files where it reads, a record that
/// overflows, a default grant someone else wrote, one bad grant stopping the others.
#[test]
fn side_files_planted_by_another_hand_are_never_followed_blocking_or_believed() {
    use std::os::unix::fs::PermissionsExt;
    let env = by_grant();
    login_as(&env, "alice");
    let alice = env.token_dir.join("alice.token.json");
    let before = std::fs::read(&alice).unwrap();
    // A link where carol's account name goes: the write replaces the link, alice is intact.
    std::os::unix::fs::symlink(&alice, env.token_dir.join("carol.token.json.account")).unwrap();
    login_as(&env, "carol");
    assert_eq!(
        std::fs::read(&alice).unwrap(),
        before,
        "written through a link"
    );
    assert!(
        !std::fs::symlink_metadata(env.token_dir.join("carol.token.json.account"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A FIFO as dave's account name: `grants` does not block on it (bounded by `finish`).
    std::fs::copy(&alice, env.token_dir.join("dave.token.json")).unwrap();
    mkfifo(&env.token_dir.join("dave.token.json.account"));
    let listed = env.run(&["grants", "--json"]);
    assert_eq!(code(&listed), 0, "{}", text(&listed.stderr));
    // A record of first requests that would overflow any clock: a wait, never a crash.
    let attempts = env.token_dir.join("app.token.json.attempts");
    std::fs::write(&attempts, r#"{"requests":[18446744073709551615,18446744073709551615,18446744073709551615,18446744073709551615,18446744073709551615],"not_before":18446744073709551615}"#).unwrap();
    std::fs::set_permissions(&attempts, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.run(&[
        "client-credentials",
        "--scopes",
        "ads:read",
        "--save",
        "--grant",
        "app",
    ]);
    assert_eq!(code(&out), 7, "{}", text(&out.stderr));
    // The same record, not a private file of this user's: passed over, not believed.
    std::fs::set_permissions(&attempts, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&[
        "client-credentials",
        "--scopes",
        "ads:read",
        "--save",
        "--grant",
        "app",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    // A default grant file others could have written is refused, not obeyed.
    // Beside the token files: each store has its own default.
    let config = env.token_dir.clone();
    std::fs::write(config.join("default-grant"), "carol\n").unwrap();
    std::fs::set_permissions(
        config.join("default-grant"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = env.run(&["status"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("default grant"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(config.join("default-grant")).unwrap();
    // One corrupt grant stops neither `status --all` nor `grants rekey` for the others.
    std::fs::write(env.token_dir.join("aaa.token.json"), "not json").unwrap();
    let all = env.run(&["status", "--all", "--json"]);
    assert_eq!(code(&all), 6, "{}", text(&all.stderr));
    assert!(
        text(&all.stdout).contains("\"carol\""),
        "{}",
        text(&all.stdout)
    );
    let key = text(&env.run(&["keygen"]).stdout).trim().to_owned();
    let rekey = with_keys(&env, &key, &["grants", "rekey"]);
    assert_eq!(code(&rekey), 6, "{}", text(&rekey.stderr));
    assert!(
        text(&rekey.stderr).contains("aaa: not resealed"),
        "{}",
        text(&rekey.stderr)
    );
    assert!(
        !std::fs::read_to_string(env.token_dir.join("carol.token.json"))
            .unwrap()
            .contains("pinr_")
    );
}

#[test]
fn failing_first_app_token_requests_run_at_once_send_one_request() {
    let env = by_grant();
    let children: Vec<_> = (0..12)
        .map(|_| {
            let mut command = env.command(&[
                "client-credentials",
                "--scopes",
                "ads:read",
                "--save",
                "--grant",
                "app",
            ]);
            command.env("PINTEREST_APP_SECRET", "a-wrong-secret");
            command.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = finish(child);
        assert_ne!(code(&out), 0);
        assert_ne!(code(&out), 101, "{}", text(&out.stderr));
    }
    assert_eq!(
        env.fake.stats().token.client_credentials,
        1,
        "one request, then the others wait for its backoff"
    );
}

#[test]
fn each_store_has_its_own_default_grant() {
    let mut a = logged_in(FakeConfig::default());
    a.by_grant = true;
    // Another token directory, the same user and config directory.
    let b_dir = a.dir.path().join("other-tokens");
    std::fs::create_dir_all(&b_dir).unwrap();
    let in_b = |args: &[&str]| {
        let mut command = a.command(args);
        command.env("PINTEREST_TOKEN_DIR", &b_dir);
        finish(command.spawn().unwrap())
    };
    let out = in_b(&["grants", "default", "business"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(b_dir.join("default-grant").exists());
    // The first directory's default is still `default`, whose token is there.
    let out = a.run(&["status"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("grant: default"),
        "{}",
        text(&out.stdout)
    );
    // And the second's is `business`.
    let out = in_b(&["status"]);
    assert!(
        text(&out.stdout).contains("grant: business"),
        "{}",
        text(&out.stdout)
    );
}
