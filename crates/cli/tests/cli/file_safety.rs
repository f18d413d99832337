//! The token file and the recovery directories against a careless user and a hostile one:
//! planted links, FIFOs, readable files, other users' files, kept sets found by any spelling.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_pinterest::{FakeConfig, Fault, Route, Times};

use crate::support::*;

#[test]
fn a_directory_that_cannot_be_written_costs_no_refresh_token() {
    let env = Unprivileged::new();
    let (login, _) = env.env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let first = stored(&env.env.token_file());
    // The directory becomes read-only (a full disk or a quota would do the same).
    env.chmod_dir(0o500);
    let refresh = env.env.run(&["refresh"]);
    assert_eq!(code(&refresh), 6, "{}", text(&refresh.stderr));
    assert_eq!(
        env.env.fake.stats().token.refresh_token,
        0,
        "nothing was sent: the refresh token is not spent"
    );
    // Fixed: the same refresh token works.
    env.chmod_dir(0o700);
    let refresh = env.env.run(&["refresh"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    assert_ne!(
        stored(&env.env.token_file())["refresh_token"],
        first["refresh_token"]
    );
}

#[test]
fn a_planted_lock_symlink_is_refused_and_its_target_never_created_or_locked() {
    let env = logged_in(FakeConfig::default());
    let lock = env.dir.path().join("token.json.lock");
    let _ = std::fs::remove_file(&lock);
    // A link to a file that does not exist yet: following it would create it.
    let planted = env.dir.path().join("planted-by-another-user");
    std::os::unix::fs::symlink(&planted, &lock).unwrap();
    // Commands that take the lock refuse; the others (a valid token needs no lock) run.
    for (args, refused) in [
        (&["refresh"][..], true),
        (&["revoke"], true),
        (&["token"], false),
        (&["status"], false),
    ] {
        let out = env.run(args);
        let err = text(&out.stderr);
        if refused {
            assert_eq!(code(&out), 6, "{args:?}: {err}");
            assert!(err.contains("is not a regular file"), "{args:?}: {err}");
        } else {
            assert_eq!(code(&out), 0, "{args:?}: {err}");
        }
        assert!(!planted.exists(), "{args:?} created the link's target");
    }
    // A link to an existing file: it is neither locked nor changed.
    std::fs::write(&planted, b"someone else's file").unwrap();
    let out = env.run(&["refresh"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&planted).unwrap(), b"someone else's file");
    assert!(std::fs::File::open(&planted).unwrap().try_lock().is_ok());
    assert_eq!(env.fake.stats().token.refresh_token, 0, "nothing was sent");
}

#[test]
fn a_fifo_or_directory_at_the_token_path_is_refused_at_once() {
    let env = Env::new("ureq");
    mkfifo(&env.token_file());
    for args in [&["token"][..], &["status"], &["refresh"], &["revoke"]] {
        // `finish` fails the test if the CLI blocks on the pipe (bounded at 60 s).
        let out = env.run(args);
        assert_eq!(code(&out), 6, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("is not a regular file"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Port 0: refused before listening or not, it never needs a fixed port.
    let login = env.run(&["login", "--no-browser", "--port", "0"]);
    assert_eq!(code(&login), 6, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr).contains("is not a regular file"),
        "{}",
        text(&login.stderr)
    );
    assert_eq!(
        env.fake.stats().token,
        Default::default(),
        "nothing was sent"
    );

    let env = Env::new("ureq");
    std::fs::create_dir(env.token_file()).unwrap();
    let out = env.run(&["token"]);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a regular file"));
}

#[test]
fn a_token_file_others_can_read_is_reported_by_default_and_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = logged_in(FakeConfig::default());
    let file = env.token_file();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["token"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("now 0600"), "{err}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the mode was fixed on load, before any save");
    let again = env.run(&["token"]);
    assert!(!text(&again.stderr).contains("readable"), "warned once");
}

#[test]
fn a_token_file_of_another_user_others_can_read_is_reported_not_touched() {
    use std::os::unix::fs::PermissionsExt;
    if !acts_as_another_user() {
        return;
    }
    // The file belongs to root; the CLI runs as nobody in a directory nobody owns.
    let env = Unprivileged::new();
    let (login, _) = env.env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let file = env.env.token_file();
    std::os::unix::fs::chown(&file, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.env.run(&["token"]);
    let err = text(&out.stderr);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("make it 0600"), "{err}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "another user's file is not ours to change");
}

#[test]
fn a_kept_set_is_found_however_the_token_file_is_named() {
    let env = Unprivileged::new();
    let state = env.env.state_dir();
    let link = env.env.dir.path().join("link");
    std::os::unix::fs::symlink(&env.dir, &link).unwrap();
    let (login, _) = env.env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let first = stored(&env.env.token_file());

    // The answer comes late; meanwhile the directory stops taking files (a full disk would do
    // the same): the rotated set is kept aside, filed under the token file as named here.
    env.env.fake.push_fault(
        Route::Grant(fake_pinterest::Grant::RefreshToken),
        Fault::Delay(Duration::from_millis(800)),
        Times::Once,
    );
    let mut refresh = env.env.command(&["refresh"]);
    refresh.env("XDG_STATE_HOME", &state);
    let child = refresh.spawn().unwrap();
    let deadline = Instant::now() + LIMIT;
    while env.env.fake.stats().token.refresh_token == 0 {
        assert!(Instant::now() < deadline, "the refresh never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    env.chmod_dir(0o500);
    let refused = finish(child);
    env.chmod_dir(0o700);
    assert_eq!(code(&refused), 6, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("kept in"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        stored(&env.env.token_file())["refresh_token"],
        first["refresh_token"]
    );

    // Named another way, from another working directory, through the linked directory: the
    // kept set is found, put back, and the next refresh spends the live refresh token.
    let mut again = env
        .env
        .command(&["--token-file", "./token.json", "refresh"]);
    again.current_dir(&link).env("XDG_STATE_HOME", &state);
    let again = finish(again.spawn().unwrap());
    assert_eq!(code(&again), 0, "{}", text(&again.stderr));
    assert_eq!(
        env.env.fake.stats().rotated_reuse,
        0,
        "no dead refresh token was sent"
    );
    let after = stored(&env.env.token_file());
    assert!(
        env.env
            .fake
            .refresh_token_valid(after["refresh_token"].as_str().unwrap())
    );
}

#[test]
fn a_set_another_user_plants_beside_the_token_file_is_never_used() {
    if !acts_as_another_user() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new("ureq");
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A shared directory every user can write to (sticky, like /tmp).
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.token_dir = shared.clone();
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let victim = stored(&env.token_file());

    // Another user logs in to their own account (later: their set is "newer"), and plants it
    // beside the victim's file, named exactly like the store's own temporary files (six random letters or digits), mode 0600.
    let own = env.dir.path().join("attacker");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(NOBODY), Some(NOBODY)).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    env.token_dir = own.clone();
    env.user = Some(NOBODY);
    let (login, _) = env.login(&[]);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    let planted = shared.join(".token.json.tmp-Plant1");
    let copy = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "cp",
        ])
        .arg(own.join("token.json"))
        .arg(&planted)
        .status()
        .unwrap();
    assert!(copy.success());
    let attacker = stored(&own.join("token.json"));
    assert_ne!(attacker["access_token"], victim["access_token"]);

    env.token_dir = shared;
    env.user = None;
    // The next command that takes the lock (here a refresh) looks at temporary files.
    let refresh = env.run(&["refresh", "--json", "--show-refresh-token"]);
    assert_eq!(code(&refresh), 0, "{}", text(&refresh.stderr));
    let after = stored(&env.token_file());
    assert_ne!(after["refresh_token"], attacker["refresh_token"]);
    assert!(
        env.fake
            .refresh_token_valid(after["refresh_token"].as_str().unwrap()),
        "the victim's own grant, rotated"
    );
    assert!(
        env.fake
            .refresh_token_valid(attacker["refresh_token"].as_str().unwrap()),
        "the attacker's grant was never spent by the victim"
    );
    assert!(planted.exists(), "left where it was");
    assert!(
        text(&refresh.stderr).contains("left alone"),
        "and reported: {}",
        text(&refresh.stderr)
    );
}

#[test]
fn files_and_directories_another_user_owns_are_refused() {
    if !acts_as_another_user() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new("ureq");
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.token_dir = shared.clone();
    let as_nobody =
        |path: &Path| std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();

    // Another user planted a token file (their own grant) where ours would go.
    let planted = br#"{"version":2,"revision":0,"access_token":"pina_attacker_token_0123456789","token_type":"bearer","received_at":1800000000,"expires_in":2592000,"expires_at":4102444800,"scopes":["boards:read"],"response_type":null,"refresh_token":null}"#;
    std::fs::write(env.token_file(), planted).unwrap();
    as_nobody(&env.token_file());
    let token = env.run(&["token"]);
    assert_eq!(code(&token), 6, "{}", text(&token.stderr));
    assert!(
        text(&token.stderr).contains("belongs to another user"),
        "{}",
        text(&token.stderr)
    );
    assert!(!text(&token.stdout).contains("pina_attacker"), "never used");
    assert_eq!(
        std::fs::read(env.token_file()).unwrap(),
        planted,
        "left untouched"
    );
    std::fs::remove_file(env.token_file()).unwrap();

    // Another user planted the lock file (and could hold it for ever).
    std::fs::write(shared.join("token.json.lock"), b"").unwrap();
    as_nobody(&shared.join("token.json.lock"));
    let login = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "5"]);
    assert_eq!(code(&login), 6, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr).contains("belongs to another user"),
        "{}",
        text(&login.stderr)
    );
    assert_eq!(
        env.fake.stats().consent,
        0,
        "refused before the consent page"
    );

    // A directory another user owns (they could move the token file away).
    let theirs = env.dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o777)).unwrap();
    as_nobody(&theirs);
    env.token_dir = theirs;
    let login = env.run(&["login", "--no-browser", "--port", "0", "--timeout", "5"]);
    assert_eq!(code(&login), 6, "{}", text(&login.stderr));
    assert!(
        text(&login.stderr).contains("belongs to another user"),
        "{}",
        text(&login.stderr)
    );
}

#[test]
fn a_fallback_directory_another_user_created_first_is_passed_over() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = Env::new("ureq");
    let (output, _) = env.login(&[]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let before = stored(&env.token_file());
    // The recovery directory cannot be created: a file stands where its parent would be.
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::write(env.state_dir().join("pinterest-oauth"), b"not a directory").unwrap();
    // Another user created this user's fallback in the shared temporary directory first.
    let tmp = env.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let uid = std::fs::metadata(&tmp).unwrap().uid();
    let squatted = tmp.join(format!("pinterest-oauth-recovered-{uid}"));
    std::fs::create_dir(&squatted).unwrap();
    std::fs::set_permissions(&squatted, std::fs::Permissions::from_mode(0o777)).unwrap();
    if running_as_root() {
        std::os::unix::fs::chown(&squatted, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let refresh = |runtime: Option<&Path>| {
        let mut command = env.command(&["refresh"]);
        command.env("TMPDIR", &tmp);
        if let Some(runtime) = runtime {
            command.env("XDG_RUNTIME_DIR", runtime);
        }
        finish(command.spawn().unwrap())
    };

    // Nowhere to keep the new set: nothing is spent, and the error says where it looked.
    let refused = refresh(None);
    assert_ne!(code(&refused), 0);
    let stderr = text(&refused.stderr);
    assert!(stderr.contains(&squatted.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a private directory"), "{stderr}");
    assert_eq!(env.fake.stats().token.refresh_token, 0, "nothing was sent");
    assert_eq!(stored(&env.token_file()), before);
    assert_eq!(std::fs::read_dir(&squatted).unwrap().count(), 0);

    // This user's runtime directory, which nobody else can write to, is used instead.
    let runtime = env.dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let refreshed = refresh(Some(&runtime));
    assert_eq!(code(&refreshed), 0, "{}", text(&refreshed.stderr));
    assert_eq!(env.fake.stats().token.refresh_token, 1);
    assert_ne!(
        stored(&env.token_file())["refresh_token"],
        before["refresh_token"]
    );
    assert!(runtime.join("pinterest-oauth/recovered").is_dir());
    assert_eq!(std::fs::read_dir(&squatted).unwrap().count(), 0);
}
