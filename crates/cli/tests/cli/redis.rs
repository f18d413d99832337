//! Scripts on many machines sharing one grant through a real Redis on loopback (`REDIS_URL`,
//! or a `redis-server` started here): one refresh, the same set everywhere.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A Redis to test against: `REDIS_URL`, else a `redis-server` started here (killed on drop).
/// Under `CI=true` a missing Redis fails the test.
#[cfg(feature = "redis")]
struct TestRedis {
    url: String,
    server: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

#[cfg(feature = "redis")]
impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

#[cfg(feature = "redis")]
fn test_redis() -> Option<TestRedis> {
    if let Ok(url) = std::env::var("REDIS_URL")
        && !url.is_empty()
    {
        return Some(TestRedis {
            url,
            server: None,
            _dir: None,
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spawned = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let server = match spawned {
        Ok(server) => server,
        Err(e) if in_ci => panic!("CI=true: no REDIS_URL and no redis-server: {e}"),
        Err(e) => {
            skipped(&format!("no REDIS_URL and no redis-server ({e})"));
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(TestRedis {
        url: format!("redis://127.0.0.1:{port}/0"),
        server: Some(server),
        _dir: Some(dir),
    })
}

#[cfg(feature = "redis")]
#[test]
fn scripts_on_many_machines_share_one_grant_through_redis() {
    use pinterest_oauth_store::TokenStore;
    let Some(redis) = test_redis() else { return };
    let env = Env::new("ureq");
    let grant = format!("cli-{}", std::process::id());
    let shared = ["--store", redis.url.as_str(), "--grant", grant.as_str()];
    let (login, _) = env.login(&shared);
    assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    assert!(
        text(&login.stdout).contains("redis://127.0.0.1"),
        "{}",
        text(&login.stdout)
    );
    assert!(
        !env.token_file().exists(),
        "nothing written to the token file"
    );

    // Three "machines" (their own token files, never used) print the same token.
    let printed: Vec<String> = (0..3)
        .map(|i| {
            let file = env.dir.path().join(format!("machine-{i}.json"));
            let out = env.run(
                &[
                    &shared[..],
                    &["--token-file", file.to_str().unwrap(), "token"],
                ]
                .concat(),
            );
            assert_eq!(code(&out), 0, "{}", text(&out.stderr));
            text(&out.stdout).trim().to_owned()
        })
        .collect();
    assert!(printed.iter().all(|t| t == &printed[0]), "{printed:?}");
    assert_eq!(env.fake.stats().token.refresh_token, 0);

    // Expired in the shared store: the first machine refreshes, the others use its set.
    let store = pinterest_oauth_redis::RedisStore::open(
        &redis.url,
        &pinterest_oauth_core::AppId::new(env.fake.app_id()).unwrap(),
        &grant,
    )
    .unwrap();
    {
        let lock = store.lock().unwrap();
        let stored = store.load().unwrap().unwrap();
        let mut doc: Value = serde_json::from_slice(&stored.to_bytes()).unwrap();
        let now = unix_now();
        doc["expires_at"] = (now - 60).into();
        doc["received_at"] = (now - 60 - doc["expires_in"].as_u64().unwrap()).into();
        doc["revision"] = (stored.revision() + 1).into();
        let edited =
            pinterest_oauth_core::TokenDocument::from_bytes(doc.to_string().as_bytes()).unwrap();
        store.save(&lock, &edited).unwrap();
    }
    let after: Vec<String> = (0..3)
        .map(|_| {
            let out = env.run(&[&shared[..], &["token"]].concat());
            assert_eq!(code(&out), 0, "{}", text(&out.stderr));
            text(&out.stdout).trim().to_owned()
        })
        .collect();
    assert_ne!(after[0], printed[0]);
    assert!(after.iter().all(|t| t == &after[0]), "{after:?}");
    assert_eq!(
        env.fake.stats().token.refresh_token,
        1,
        "one refresh for every machine"
    );

    let status = json(&env.run(&[&shared[..], &["--json", "status"]].concat()));
    assert!(
        status["token_file"]
            .as_str()
            .unwrap()
            .starts_with("redis://"),
        "{status}"
    );
    // Nothing is stored without an app id to key it by.
    let mut command = env.command(&[&shared[..], &["status"]].concat());
    command.env_remove("PINTEREST_APP_ID");
    let out = finish(command.spawn().unwrap());
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
}

#[cfg(feature = "redis")]
#[test]
fn grants_in_redis_are_listed_chosen_and_checked_like_files() {
    let Some(redis) = test_redis() else { return };
    let env = Env::new("ureq");
    let tag = format!("{}-{}", std::process::id(), unix_now());
    let (alice, bob) = (format!("alice-{tag}"), format!("bob-{tag}"));
    for grant in [&alice, &bob] {
        let (login, _) = env.login(&["--store", redis.url.as_str(), "--grant", grant]);
        assert_eq!(code(&login), 0, "{}", text(&login.stderr));
    }
    let listed = json(&env.run(&["--store", redis.url.as_str(), "grants", "--json"]));
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["grant"].as_str().unwrap())
        .collect();
    // The server may hold other tests' grants of the same app: ours are there, sorted.
    let ours: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.ends_with(&tag))
        .collect();
    assert_eq!(ours, [alice.as_str(), bob.as_str()], "{names:?}");
    let alice_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["grant"] == alice.as_str())
        .unwrap();
    assert_eq!(alice_row["account"], "fake_pinterest_user");
    let token = |grant: &str| {
        let out = env.run(&["--store", redis.url.as_str(), "--grant", grant, "token"]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    assert_ne!(token(&alice), token(&bob));
    let bad = env.run(&["--store", redis.url.as_str(), "--grant=../x", "status"]);
    assert_eq!(code(&bad), 2, "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("grant name"),
        "{}",
        text(&bad.stderr)
    );
    // The one-file option does not name a store of grants.
    let file = env.run(&["--store", "file:/tmp/x.json", "grants"]);
    assert_eq!(code(&file), 2, "{}", text(&file.stderr));
}

/// A Redis that accepts connections and never answers (as one stopped with SIGSTOP, or
/// overloaded, does): the kernel completes the connections, nothing reads them.
#[cfg(feature = "redis")]
#[test]
fn a_paused_redis_says_it_timed_out_and_after_how_long() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/0", silent.local_addr().unwrap());
    let env = Env::new("ureq");
    for args in [&["status"][..], &["token"], &["grants"]] {
        let out = env.run(&[&["--store", url.as_str()][..], args].concat());
        let err = text(&out.stderr);
        assert_eq!(code(&out), 6, "{args:?}: {err}");
        assert!(err.contains("timed out after 2 s"), "{args:?}: {err}");
        assert!(!err.contains("temporarily unavailable"), "{args:?}: {err}");
    }
}
