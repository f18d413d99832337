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
    let config = env.dir.path().join("config/pinterest-oauth");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("default-grant"), "../../etc\n").unwrap();
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
