//! The file store: round trip, permissions, refusal to overwrite what it cannot read, the lock.

use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{Token, http, parse_token_response};
use pinterest_oauth_store::{FileStore, MemoryStore, StoreError, TokenStore};

fn token(access: &str) -> Token {
    let body = format!(
        r#"{{"access_token":"{access}","token_type":"bearer","expires_in":2592000,
            "scope":"boards:read","refresh_token":"pinr_{access}","refresh_token_expires_in":5184000}}"#
    );
    parse_token_response(SystemTime::now(), &http::Response::new(body)).unwrap()
}

fn save(store: &impl TokenStore, token: &Token) -> Result<(), StoreError> {
    store.save(&store.lock()?, token)
}

#[test]
fn saves_and_loads_the_same_set() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("nested/dir/token.json"));
    assert_eq!(store.load().unwrap(), None);
    let first = token("pina_one");
    save(&store, &first).unwrap();
    assert_eq!(store.load().unwrap(), Some(first));
    let second = token("pina_two");
    save(&store, &second).unwrap();
    assert_eq!(store.load().unwrap(), Some(second));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("nested/dir"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "token and lock file only: {names:?}");
    store.clear(&store.lock().unwrap()).unwrap();
    assert_eq!(store.load().unwrap(), None);
    store.clear(&store.lock().unwrap()).unwrap();
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("config/token.json"));
    save(&store, &token("pina_x")).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(mode(store.lock_path()), 0o600);
    assert_eq!(mode(&dir.path().join("config")), 0o700);
    // A save replaces a file someone made readable with a private one.
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    save(&store, &token("pina_y")).unwrap();
    assert_eq!(mode(store.path()), 0o600);
}

#[test]
fn a_corrupt_file_is_reported_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("token.json"));
    for garbage in [
        &b""[..],
        b"not json",
        b"{\"version\":1}",
        b"{\"version\":7,\"x\":1}",
    ] {
        std::fs::write(store.path(), garbage).unwrap();
        assert!(
            matches!(store.load(), Err(StoreError::Corrupt { .. })),
            "{garbage:?}"
        );
        let err = save(&store, &token("pina_new")).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert_eq!(std::fs::read(store.path()).unwrap(), garbage);
    }
}

#[test]
fn an_unreadable_file_is_reported_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("token.json"));
    // A directory where the file should be cannot be read (whatever the user's privileges).
    std::fs::create_dir(store.path()).unwrap();
    assert!(matches!(
        store.load(),
        Err(StoreError::Io { action: "read", .. })
    ));
    assert!(matches!(
        save(&store, &token("pina_x")),
        Err(StoreError::Io { .. })
    ));
    assert!(store.path().is_dir());
}

#[test]
fn the_lock_excludes_a_second_holder_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    let store = FileStore::new(&path);
    let held = store.lock().unwrap();
    // A second holder (its own open file, as another process would have) times out.
    let impatient = FileStore::new(&path).with_lock_timeout(Duration::from_millis(50));
    assert!(matches!(
        impatient.lock(),
        Err(StoreError::LockTimeout { .. })
    ));
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let lock = FileStore::new(&path).lock();
        tx.send(lock.is_ok()).unwrap();
    });
    drop(held);
    assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    waiter.join().unwrap();
}

#[test]
fn stale_temporary_files_are_removed_by_the_next_save() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("token.json"));
    std::fs::write(dir.path().join(".token.json.tmp-leftover"), b"half").unwrap();
    std::fs::write(dir.path().join("unrelated.txt"), b"keep").unwrap();
    save(&store, &token("pina_x")).unwrap();
    assert!(!dir.path().join(".token.json.tmp-leftover").exists());
    assert!(dir.path().join("unrelated.txt").exists());
}

#[test]
fn the_memory_store_counts_saves() {
    let store = MemoryStore::new();
    let last = token("pina_y");
    save(&store, &token("pina_x")).unwrap();
    save(&store, &last).unwrap();
    assert_eq!(store.saves(), 2);
    assert_eq!(store.load().unwrap(), Some(last));
}
