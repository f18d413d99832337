//! Both token sources against the fake: single-flight refresh, failures while the token is
//! valid, rotation persisted before use, consent needed; the blocking source over both HTTP
//! stacks through one code path, the async one for what only it does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use fake_pinterest::{FakeConfig, FakePinterest, Fault, Grant as FakeGrant, Route, Times};
use pinterest_oauth_core::{
    AppId, AppSecret, BaseUrl, ClientConfig, ClientCredentialsGrant, Revocation, Status,
    StopReason, Token, TokenDocument, Wait,
};
use pinterest_oauth_store::{Attempt, FileStore, MemoryStore, StoreError, StoreLock, TokenStore};
use pinterest_oauth_tests::tokens::{ManualClock, user_token};
use pinterest_oauth_tests::transports::{Kind, client, client_for, config_for, settings_for};
use pinterest_oauth_transport::blocking::TokenSource;
use pinterest_oauth_transport::{
    Error, ErrorKind, Http, HttpConfig, SourceConfig, TransportErrorKind,
};

const DAY: Duration = Duration::from_secs(86_400);
const REFRESH: Route = Route::Grant(FakeGrant::RefreshToken);

type Source<S> = TokenSource<Box<dyn Http>, S>;

fn fake() -> FakePinterest {
    FakePinterest::start(FakeConfig::default()).unwrap()
}

fn hyper_client(fake: &FakePinterest, settings: &HttpConfig) -> pinterest_oauth_hyper::Client {
    pinterest_oauth_hyper::Client::with_http_config(config_for(fake), settings).unwrap()
}

/// A runtime for the async tests that need many workers.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Every test source's clock starts at the real time and is moved by hand; sets that cannot
/// be saved are kept in a directory of the test's own.
struct Setup {
    fake: FakePinterest,
    clock: ManualClock,
    token: Token,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let fake = fake();
        let token = user_token(&fake);
        Setup {
            fake,
            clock: ManualClock::starting_now(),
            token,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn options(&self) -> SourceConfig {
        SourceConfig::default()
            .with_clock(self.clock.reader())
            .with_recovery_dir(self.dir.path().join("recovered"))
    }

    /// A blocking source over `kind` for the stored set.
    fn source<S: TokenStore>(&self, kind: Kind, store: S) -> Source<S> {
        TokenSource::with_config(client_for(kind, &self.fake), store, self.options()).unwrap()
    }

    /// Puts the clock past the token's expiry (30 days): the next ask must refresh.
    fn expire(&self) {
        self.clock.advance(31 * DAY);
    }

    fn refreshes(&self) -> u64 {
        self.fake.stats().token.refresh_token
    }
}

#[test]
fn ten_thousand_tasks_across_an_expiry_cause_one_refresh() {
    let s = Setup::new();
    s.fake.push_fault(
        REFRESH,
        Fault::Delay(Duration::from_millis(200)),
        Times::Always,
    );
    let rt = runtime();
    let source = pinterest_oauth_hyper::TokenSource::with_config(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        s.options(),
    )
    .unwrap();

    let ask_all = |n: usize| -> Vec<String> {
        rt.block_on(async {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let source = source.clone();
                    tokio::spawn(async move { source.access_token().await })
                })
                .collect();
            let mut tokens = Vec::with_capacity(n);
            for task in tasks {
                tokens.push(task.await.unwrap().unwrap().secret().to_owned());
            }
            tokens
        })
    };
    let before = ask_all(10_000);
    let old = s.token.access_token().unwrap().secret();
    assert!(before.iter().all(|t| t == old));
    assert_eq!(s.refreshes(), 0);

    s.expire();
    let after = ask_all(10_000);
    assert_eq!(s.refreshes(), 1);
    let new = source.token().unwrap();
    assert_ne!(new.access_token(), s.token.access_token());
    let new_access = new.access_token().unwrap().secret();
    assert!(
        after.iter().all(|t| t == new_access),
        "every task got the new token"
    );
    assert_eq!(
        source.store().saves(),
        2,
        "the attempt's record, then the new set"
    );
}

#[test]
fn sixty_four_threads_across_an_expiry_cause_one_refresh() {
    for kind in Kind::ALL {
        let s = Setup::new();
        s.fake.push_fault(
            REFRESH,
            Fault::Delay(Duration::from_millis(200)),
            Times::Always,
        );
        let source = s.source(kind, MemoryStore::with_token(s.token.clone()));
        s.expire();
        let start = Barrier::new(64);
        let tokens: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        source.access_token().unwrap().secret().to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(s.refreshes(), 1, "{kind:?}");
        let new = source.token().unwrap();
        assert!(
            tokens
                .iter()
                .all(|t| t == new.access_token().unwrap().secret())
        );
        assert_ne!(new.refresh_token(), s.token.refresh_token(), "rotated");
    }
}

#[test]
fn failures_keep_the_valid_token_then_surface_typed() {
    let cases = [
        (Fault::unavailable(), HttpConfig::default(), ErrorKind::Api),
        (
            Fault::bad_gateway_html(),
            HttpConfig::default(),
            ErrorKind::Api,
        ),
        (
            Fault::NeverAnswer,
            HttpConfig::default().with_timeout(Duration::from_millis(300)),
            ErrorKind::Transport(TransportErrorKind::Timeout),
        ),
    ];
    for kind in Kind::ALL {
        for (fault, settings, expected) in cases.clone() {
            let s = Setup::new();
            let source = TokenSource::with_config(
                client(kind, config_for(&s.fake), &settings),
                MemoryStore::with_token(s.token.clone()),
                s.options(),
            )
            .unwrap();
            let old = s.token.access_token().unwrap().clone();
            s.fake.push_fault(REFRESH, fault, Times::Always);

            // Due (5 minutes before expiry), still valid: the old token, and a background attempt.
            s.clock.set(s.token.expires_at() - Duration::from_secs(300));
            assert_eq!(source.access_token().unwrap(), old);
            source.wait_idle();
            assert_eq!(s.refreshes(), 1);
            let reported = source.last_error().expect("the failure is reported");
            assert_eq!(reported.kind(), expected, "{kind:?}: {reported}");
            assert!(matches!(
                source.status(),
                Status::Waiting {
                    why: Wait::Backoff,
                    ..
                }
            ));
            // Within the backoff: the old token again, no new attempt.
            assert_eq!(source.access_token().unwrap(), old);
            assert_eq!(s.refreshes(), 1);

            // Expired: the caller gets the typed failure of a fresh attempt, and when to retry.
            s.clock.set(s.token.expires_at() + Duration::from_secs(1));
            let err = source.access_token().unwrap_err();
            assert!(
                matches!(err, Error::Waiting { cause: Some(_), .. }),
                "{kind:?}: {err}"
            );
            assert_eq!(err.kind(), expected);
            assert_eq!(s.refreshes(), 2);
            // Asking again within the backoff sends nothing.
            assert!(source.access_token().is_err());
            assert_eq!(s.refreshes(), 2);

            // The server recovers: after the backoff, a new token.
            s.fake.clear_faults();
            s.clock.advance(Duration::from_secs(600));
            let new = source.access_token().unwrap();
            assert_ne!(new, old);
            assert!(source.last_error().is_none());
            assert_eq!(s.refreshes(), 3);
        }
    }
}

#[test]
fn failures_keep_the_valid_token_async() {
    let s = Setup::new();
    let rt = runtime();
    let settings = HttpConfig::default().with_timeout(Duration::from_millis(300));
    let source = pinterest_oauth_hyper::TokenSource::with_config(
        hyper_client(&s.fake, &settings),
        MemoryStore::with_token(s.token.clone()),
        s.options(),
    )
    .unwrap();
    let old = s.token.access_token().unwrap().clone();
    s.fake
        .push_fault(REFRESH, Fault::NeverAnswer, Times::Always);
    rt.block_on(async {
        s.clock.set(s.token.expires_at() - Duration::from_secs(300));
        assert_eq!(source.access_token().await.unwrap(), old);
        source.wait_idle().await;
        assert_eq!(s.refreshes(), 1);
        let reported = source.last_error().unwrap();
        assert_eq!(
            reported.kind(),
            ErrorKind::Transport(TransportErrorKind::Timeout)
        );
        assert_eq!(source.access_token().await.unwrap(), old);

        s.clock.set(s.token.expires_at() + Duration::from_secs(1));
        let err = source.access_token().await.unwrap_err();
        assert!(
            matches!(err, Error::Waiting { cause: Some(_), .. }),
            "{err}"
        );

        s.fake.clear_faults();
        s.clock.advance(Duration::from_secs(600));
        assert_ne!(source.access_token().await.unwrap(), old);
        assert!(source.last_error().is_none());
    });
}

/// What runs before a save: it may refuse the save, or make it wait.
type SaveHook = Box<dyn Fn(&FileStore, &TokenDocument) -> Result<(), StoreError> + Send + Sync>;

/// What runs before a lock or a lock confirmation: it may refuse (or panic).
type Hook = Box<dyn Fn() -> Result<(), StoreError> + Send + Sync>;

/// A file store with hooks run before each save, each wait for the lock and each lock
/// confirmation (they may refuse, or wait), that counts how its lock is asked for.
struct HookStore {
    inner: FileStore,
    before_save: SaveHook,
    before_lock: Hook,
    before_confirm: Hook,
    waits: AtomicUsize,
    tries: AtomicUsize,
}

impl HookStore {
    fn new(
        inner: FileStore,
        before_save: impl Fn(&FileStore, &TokenDocument) -> Result<(), StoreError>
        + Send
        + Sync
        + 'static,
    ) -> HookStore {
        HookStore {
            inner,
            before_save: Box::new(before_save),
            before_lock: Box::new(|| Ok(())),
            before_confirm: Box::new(|| Ok(())),
            waits: AtomicUsize::new(0),
            tries: AtomicUsize::new(0),
        }
    }

    /// Runs `hook` before each wait for the lock.
    fn before_lock(
        mut self,
        hook: impl Fn() -> Result<(), StoreError> + Send + Sync + 'static,
    ) -> HookStore {
        self.before_lock = Box::new(hook);
        self
    }

    /// Runs `hook` before each lock confirmation.
    fn before_confirm(
        mut self,
        hook: impl Fn() -> Result<(), StoreError> + Send + Sync + 'static,
    ) -> HookStore {
        self.before_confirm = Box::new(hook);
        self
    }
}

impl TokenStore for HookStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.waits.fetch_add(1, Ordering::SeqCst);
        (self.before_lock)()?;
        self.inner.lock()
    }
    fn try_lock(&self) -> Result<Option<StoreLock>, StoreError> {
        self.tries.fetch_add(1, Ordering::SeqCst);
        self.inner.try_lock()
    }
    fn load(&self) -> Result<Option<TokenDocument>, StoreError> {
        self.inner.load()
    }
    fn save(&self, lock: &StoreLock, document: &TokenDocument) -> Result<(), StoreError> {
        (self.before_save)(&self.inner, document)?;
        self.inner.save(lock, document)
    }
    fn reserve(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner.reserve(lock)
    }
    fn confirm(&self, lock: &StoreLock, attempt: &Attempt) -> Result<(), StoreError> {
        (self.before_confirm)()?;
        self.inner.confirm(lock, attempt)
    }
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner.clear(lock)
    }
    fn identity(&self) -> String {
        self.inner.identity()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        self.inner.sealing()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
}

/// `true` when `document` holds a set other than the stored one (not the record of an attempt).
fn is_new_set(inner: &FileStore, document: &TokenDocument) -> bool {
    inner
        .load()
        .ok()
        .flatten()
        .is_some_and(|stored| stored.token() != document.token())
}

/// A file store (holding `token`) whose saves of a new set wait for the test's go-ahead.
fn gated(
    path: &std::path::Path,
    token: &Token,
) -> (HookStore, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let inner = stored_file(path, token);
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered, release) = (Mutex::new(entered_tx), Mutex::new(release_rx));
    let store = HookStore::new(inner, move |inner, document| {
        if is_new_set(inner, document) {
            entered.lock().unwrap().send(()).unwrap();
            release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(20))
                .expect("the test releases the save");
        }
        Ok(())
    });
    (store, entered_rx, release_tx)
}

/// A file store at `path` holding `token`.
fn stored_file(path: &std::path::Path, token: &Token) -> FileStore {
    let store = FileStore::new(path);
    store
        .save(&store.lock().unwrap(), &TokenDocument::new(token.clone()))
        .unwrap();
    store
}

fn disk_full(inner: &FileStore) -> StoreError {
    StoreError::Io {
        action: "write",
        path: inner.path().to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::StorageFull),
    }
}

/// `true` the first time it is called, `false` after: a fault that strikes once.
fn once() -> impl Fn() -> bool + Send + Sync + 'static {
    let left = AtomicUsize::new(1);
    move || {
        left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[test]
fn the_rotated_set_is_on_disk_before_any_caller_sees_it() {
    for kind in Kind::ALL {
        let s = Setup::new();
        let path = s.dir.path().join("token.json");
        let (store, entered, release) = gated(&path, &s.token);
        let source = s.source(kind, store);
        s.expire();
        let caller = {
            let source = source.clone();
            std::thread::spawn(move || source.access_token())
        };
        entered.recv_timeout(Duration::from_secs(20)).unwrap();
        // Pinterest has rotated: the old refresh token is dead...
        assert_eq!(s.refreshes(), 1);
        let old_refresh = s.token.refresh_token().unwrap().clone();
        // ...but nobody has the new set until it is saved.
        assert_eq!(source.status(), Status::Persisting);
        assert_eq!(source.token().as_ref(), Some(&s.token));
        let on_disk = FileStore::new(&path).load().unwrap().unwrap();
        assert_eq!(on_disk.token(), &s.token);
        assert!(!caller.is_finished());

        release.send(()).unwrap();
        let handed_out = caller.join().unwrap().unwrap();
        let on_disk = FileStore::new(&path).load().unwrap().unwrap();
        assert_eq!(on_disk.token().access_token(), Some(&handed_out));
        assert_ne!(on_disk.token().refresh_token(), Some(&old_refresh));
        let stale = client_for(kind, &s.fake).refresh(&old_refresh).unwrap_err();
        assert!(
            stale.is_consent_needed(),
            "the fake rejects the old refresh token: {stale}"
        );
    }
}

#[test]
fn the_rotated_set_is_on_disk_before_any_task_sees_it() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let (store, entered, release) = gated(&path, &s.token);
    let rt = runtime();
    let source = pinterest_oauth_hyper::TokenSource::with_config(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        store,
        s.options(),
    )
    .unwrap();
    s.expire();
    let caller = {
        let source = source.clone();
        rt.spawn(async move { source.access_token().await })
    };
    entered.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(source.status(), Status::Persisting);
    assert_eq!(
        FileStore::new(&path).load().unwrap().unwrap().token(),
        &s.token
    );
    assert!(!caller.is_finished());
    release.send(()).unwrap();
    let handed_out = rt.block_on(caller).unwrap().unwrap();
    let on_disk = FileStore::new(&path).load().unwrap().unwrap();
    assert_eq!(on_disk.token().access_token(), Some(&handed_out));
}

#[test]
fn nothing_is_sent_when_the_store_cannot_take_a_document() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let refusing = HookStore::new(stored_file(&path, &s.token), |inner, _| {
        Err(disk_full(inner))
    });
    let source = s.source(Kind::Ureq, refusing);
    s.expire();
    let err = source.access_token().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert_eq!(s.refreshes(), 0, "the refresh token was not spent");
    // The disk is fixed: the same refresh token works.
    let fixed = s.source(Kind::Ureq, FileStore::new(&path));
    assert!(fixed.access_token().is_ok());
    assert_eq!(s.refreshes(), 1);
}

#[test]
fn a_new_set_the_store_refuses_is_kept_and_restored_on_the_next_run() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let refusing = HookStore::new(stored_file(&path, &s.token), |inner, document| {
        if is_new_set(inner, document) {
            return Err(disk_full(inner));
        }
        Ok(())
    });
    let source = s.source(Kind::Ureq, refusing);
    s.expire();
    let err = source.access_token().unwrap_err();
    assert_eq!(s.refreshes(), 1, "Pinterest rotated");
    let kept = match source.last_error().as_deref() {
        Some(Error::Store(StoreError::Unsaved {
            kept_in: Some(path),
            ..
        })) => path.clone(),
        other => panic!("{other:?} ({err})"),
    };
    assert!(
        err.to_string().contains(&kept.display().to_string()),
        "the error says where: {err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let rotated = TokenDocument::from_bytes(&std::fs::read(&kept).unwrap()).unwrap();
    let rotated_refresh = rotated.token().refresh_token().unwrap().secret().to_owned();
    assert!(
        s.fake.refresh_token_valid(&rotated_refresh),
        "the kept set holds the live grant"
    );
    drop(source);

    // The next run (the disk fixed) finds it, stores it, and uses it: nothing was lost.
    let next = s.source(Kind::Ureq, FileStore::new(&path));
    let access = next.access_token().unwrap();
    assert_eq!(Some(&access), rotated.token().access_token());
    assert_eq!(s.refreshes(), 1, "no request: the kept set was fresh");
    let on_disk = FileStore::new(&path).load().unwrap().unwrap();
    assert_eq!(
        on_disk.token().refresh_token().unwrap().secret(),
        rotated_refresh
    );
    assert!(!kept.exists(), "the recovery file is gone once stored");
}

#[test]
fn an_invalid_grant_reaches_every_waiting_caller_and_is_not_retried() {
    let s = Setup::new();
    // The user revoked the app: the refresh token is dead at Pinterest.
    client_for(Kind::Ureq, &s.fake)
        .revoke(&Revocation::refresh_token(
            s.token.refresh_token().unwrap().clone(),
        ))
        .unwrap();
    s.fake.push_fault(
        REFRESH,
        Fault::Delay(Duration::from_millis(200)),
        Times::Once,
    );
    s.expire();

    let blocking = s.source(Kind::Ureq, MemoryStore::with_token(s.token.clone()));
    let errors: Vec<Error> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|_| scope.spawn(|| blocking.access_token().unwrap_err()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for err in &errors {
        assert!(
            matches!(err, Error::ConsentNeeded { cause: Some(_), .. }),
            "{err}"
        );
        assert!(err.is_consent_needed());
    }
    assert_eq!(s.refreshes(), 1);
    s.clock.advance(DAY);
    assert!(blocking.access_token().unwrap_err().is_consent_needed());
    assert!(blocking.refresh_now().unwrap_err().is_consent_needed());
    assert_eq!(s.refreshes(), 1, "nothing is retried, not even when forced");
    assert_eq!(blocking.status(), Status::ConsentNeeded);

    let rt = runtime();
    let asynchronous = pinterest_oauth_hyper::TokenSource::with_config(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        s.options(),
    )
    .unwrap();
    let consent_needed = rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let source = asynchronous.clone();
                tokio::spawn(async move { source.access_token().await })
            })
            .collect();
        let mut n = 0;
        for task in tasks {
            let err = task.await.unwrap().unwrap_err();
            assert!(matches!(err, Error::ConsentNeeded { .. }), "{err}");
            n += 1;
        }
        n
    });
    assert_eq!(consent_needed, 1000);
    assert_eq!(s.refreshes(), 2, "one more, for the async source");
}

#[test]
fn a_source_that_needs_consent_picks_up_a_later_login() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let store = FileStore::new(&path);
    let source = s.source(Kind::Ureq, store.clone());
    assert!(source.access_token().unwrap_err().is_consent_needed());
    // The user logs in in another process: the set lands in the shared file.
    let lock = store.lock().unwrap();
    store
        .save(&lock, &TokenDocument::new(s.token.clone()))
        .unwrap();
    drop(lock);
    // Within a second the source looks again by itself; `reload` makes it look at once.
    source.reload();
    assert_eq!(
        source.access_token().unwrap(),
        *s.token.access_token().unwrap()
    );
    // Or adopt a set this process saved.
    let other = Setup::new();
    let app = s.source(Kind::Ureq, MemoryStore::new());
    assert!(app.adopt(TokenDocument::new(other.token.clone())));
    assert_eq!(
        app.access_token().unwrap(),
        *other.token.access_token().unwrap()
    );
    assert_eq!(s.refreshes(), 0);
}

#[test]
fn a_refusal_stops_every_source_sharing_the_grant_until_the_configuration_is_fixed() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let store = stored_file(&path, &s.token);
    let wrong = ClientConfig::new(
        AppId::new(s.fake.app_id()).unwrap(),
        AppSecret::new("rotated-away"),
    )
    .with_base_url(BaseUrl::parse(&s.fake.api_base_url()).unwrap());
    let broken = TokenSource::with_config(
        client(Kind::Ureq, wrong.clone(), &settings_for(&s.fake)),
        store.clone(),
        s.options(),
    )
    .unwrap();
    s.expire();
    let err = broken.access_token().unwrap_err();
    assert!(
        matches!(&err, Error::Stopped { stop, .. } if stop.reason() == StopReason::InvalidClient),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Api);
    for _ in 0..10 {
        s.clock.advance(DAY);
        assert!(broken.access_token().is_err());
    }
    assert_eq!(
        s.fake.stats().token.refresh_token,
        1,
        "never retried automatically"
    );
    // Another process with the same wrong configuration honours the stop.
    let same = TokenSource::with_config(
        client(Kind::Hyper, wrong, &settings_for(&s.fake)),
        store.clone(),
        s.options(),
    )
    .unwrap();
    assert!(matches!(
        same.access_token().unwrap_err(),
        Error::Stopped { .. }
    ));
    assert_eq!(s.fake.stats().token.refresh_token, 1);
    // The configuration is fixed: the stop no longer applies.
    let fixed = s.source(Kind::Ureq, store);
    assert!(fixed.access_token().is_ok());
    assert_eq!(s.fake.stats().token.refresh_token, 2);
}

#[test]
fn a_rate_limit_seen_by_one_source_holds_for_every_source_sharing_the_file() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let store = stored_file(&path, &s.token);
    s.fake
        .push_fault(REFRESH, Fault::rate_limited(1800), Times::Once);
    let first = s.source(Kind::Ureq, store.clone());
    s.expire();
    let err = first.access_token().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Waiting {
                why: Wait::RateLimited,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(s.refreshes(), 1);
    for kind in Kind::ALL {
        // Scripts call `token` before every API request: none of them may ask again.
        for _ in 0..10 {
            let later = s.source(kind, store.clone());
            let err = later.access_token().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Waiting {
                        why: Wait::RateLimited,
                        ..
                    }
                ),
                "{err}"
            );
        }
    }
    assert_eq!(s.refreshes(), 1);
    // Stored deadlines are whole seconds rounded up: never a moment early.
    s.clock.advance(Duration::from_secs(1801));
    assert!(s.source(Kind::Ureq, store).access_token().is_ok());
    assert_eq!(s.refreshes(), 2);
}

#[test]
fn an_empty_store_needs_consent_and_client_credentials_need_none() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let source = TokenSource::with_config(
        client_for(Kind::Ureq, &fake),
        MemoryStore::new(),
        SourceConfig::default().with_recovery_dir(dir.path()),
    )
    .unwrap();
    let err = source.access_token().unwrap_err();
    assert!(matches!(err, Error::ConsentNeeded { cause: None, .. }));
    assert!(err.to_string().contains("no token is stored"), "{err}");
    assert_eq!(fake.stats().requests, 0);

    let clock = ManualClock::starting_now();
    let app = TokenSource::with_config(
        client_for(Kind::Hyper, &fake),
        MemoryStore::new(),
        SourceConfig::default()
            .with_client_credentials(
                ClientCredentialsGrant::new(vec![pinterest_oauth_core::Scope::AdsRead]).unwrap(),
            )
            .with_clock(clock.reader())
            .with_recovery_dir(dir.path()),
    )
    .unwrap();
    let first = app.access_token().unwrap();
    assert_eq!(app.access_token().unwrap(), first);
    assert_eq!(fake.stats().token.client_credentials, 1);
    clock.advance(31 * DAY);
    assert_ne!(
        app.access_token().unwrap(),
        first,
        "asked again after expiry"
    );
    assert_eq!(fake.stats().token.client_credentials, 2);
    assert_eq!(
        app.store().saves(),
        3,
        "the first set; then a record and the next set"
    );
}

#[test]
fn refresh_now_rotates_at_once() {
    let s = Setup::new();
    let source = s.source(Kind::Ureq, MemoryStore::with_token(s.token.clone()));
    let refreshed = source.refresh_now().unwrap();
    assert_ne!(refreshed.access_token(), s.token.access_token());
    assert_eq!(source.token().as_ref(), Some(&refreshed));
    assert_eq!(s.refreshes(), 1);

    let rt = runtime();
    let asynchronous = pinterest_oauth_hyper::TokenSource::with_config(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(refreshed.clone()),
        s.options(),
    )
    .unwrap();
    let again = rt.block_on(asynchronous.refresh_now()).unwrap();
    assert_ne!(again.refresh_token(), refreshed.refresh_token());
    // The token source that still holds the older set learns the truth from the fake.
    let stale = s.source(Kind::Hyper, MemoryStore::with_token(refreshed));
    assert!(stale.refresh_now().unwrap_err().is_consent_needed());
}

#[test]
fn a_corrupt_token_file_is_a_typed_error_and_is_left_alone() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    std::fs::write(&path, b"{\"version\":1,\"access_token\":").unwrap();
    let err = TokenSource::new(client_for(Kind::Ureq, &fake), FileStore::new(&path)).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Corrupt { .. })),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"version\":1,\"access_token\":"
    );
}

#[test]
fn a_proactive_refresh_never_blocks_callers_holding_a_valid_token() {
    let s = Setup::new();
    // The refresh takes a while; callers must not wait for it.
    s.fake.push_fault(
        REFRESH,
        Fault::Delay(Duration::from_millis(500)),
        Times::Always,
    );
    s.clock.set(s.token.expires_at() - Duration::from_secs(60));
    let old = s.token.access_token().unwrap().clone();

    let blocking = s.source(Kind::Ureq, MemoryStore::with_token(s.token.clone()));
    for _ in 0..10 {
        assert_eq!(blocking.access_token().unwrap(), old);
    }
    // Every call returned while the refresh was still in flight.
    assert_eq!(blocking.status(), Status::Refreshing);
    blocking.wait_idle();
    assert_ne!(blocking.access_token().unwrap(), old);
    assert_eq!(s.refreshes(), 1);

    let rt = runtime();
    let second = user_token(&s.fake);
    s.clock.set(second.expires_at() - Duration::from_secs(60));
    let asynchronous = pinterest_oauth_hyper::TokenSource::with_config(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(second.clone()),
        s.options(),
    )
    .unwrap();
    rt.block_on(async {
        for _ in 0..10 {
            assert_eq!(
                Some(&asynchronous.access_token().await.unwrap()),
                second.access_token()
            );
        }
        assert_eq!(asynchronous.status(), Status::Refreshing);
        asynchronous.wait_idle().await;
        assert_ne!(
            Some(&asynchronous.access_token().await.unwrap()),
            second.access_token()
        );
    });
    assert_eq!(s.refreshes(), 2);
}

#[test]
fn a_holder_of_a_valid_token_never_waits_for_another_process_lock() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let store = stored_file(&path, &s.token);
    s.clock.set(s.token.expires_at() - Duration::from_secs(60));
    // Another process holds the lock (and may be refreshing).
    let held = store.lock().unwrap();
    let counting = Arc::new(HookStore::new(store.clone(), |_, _| Ok(())));
    let source = s.source(Kind::Ureq, counting.clone());
    assert_eq!(
        source.access_token().unwrap(),
        *s.token.access_token().unwrap()
    );
    source.wait_idle();
    assert_eq!(
        counting.tries.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "it looked once"
    );
    assert_eq!(
        counting.waits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "it never waited"
    );
    assert_eq!(s.refreshes(), 0, "the other process is at it");
    drop(held);
}

// ---- Found by attacking the fleet (issue 11) ----

#[test]
fn a_process_that_saw_its_grant_refused_adopts_a_set_saved_elsewhere() {
    let s = Setup::new();
    let store = FileStore::new(s.dir.path().join("token.json"));
    {
        let lock = store.lock().unwrap();
        store
            .save(&lock, &TokenDocument::new(s.token.clone()))
            .unwrap();
    }
    let source = s.source(Kind::Ureq, store.clone());
    let first = source.access_token().unwrap();
    // This process's refresh is refused (its refresh token was rotated away by another).
    s.fake.push_fault(
        REFRESH,
        Fault::status(
            401,
            r#"{"code":283,"message":"The authorization grant is invalid"}"#,
        ),
        Times::Once,
    );
    assert!(source.refresh_now().is_err());
    // Meanwhile another process stored a newer set (a login, or its own refresh).
    let newer = user_token(&s.fake);
    {
        let lock = store.lock().unwrap();
        let stored = store.load().unwrap();
        store
            .save(
                &lock,
                &TokenDocument::new(newer.clone()).succeeding(stored.as_ref()),
            )
            .unwrap();
    }
    // The refused process re-reads the store (at most a second later; the still-valid old
    // token is handed out meanwhile) and hands the new set out.
    s.clock.advance(Duration::from_secs(2));
    let _ = source.access_token();
    source.wait_idle();
    let now = source.access_token().unwrap();
    assert_ne!(now, first);
    assert_eq!(Some(&now), newer.access_token());
}

#[test]
fn a_set_kept_aside_is_put_back_by_the_next_source_even_with_a_valid_token() {
    let s = Setup::new();
    let store = FileStore::new(s.dir.path().join("token.json"));
    let stored = TokenDocument::new(s.token.clone());
    {
        let lock = store.lock().unwrap();
        store.save(&lock, &stored).unwrap();
    }
    // An earlier run refreshed, but its store refused the set: it was kept aside.
    let rotated = TokenDocument::new(user_token(&s.fake)).rotating(&stored);
    pinterest_oauth_store::recovery::keep(
        &s.dir.path().join("recovered"),
        &store.identity(),
        &rotated,
    )
    .unwrap();
    let source = s.source(Kind::Ureq, store.clone());
    assert_eq!(
        store.load().unwrap().unwrap().token().refresh_token(),
        rotated.token().refresh_token(),
        "put back when the source started"
    );
    assert_eq!(
        Some(&source.access_token().unwrap()),
        rotated.token().access_token()
    );
}

#[test]
fn a_document_at_the_last_revision_spends_nothing_and_says_why() {
    let s = Setup::new();
    let store = FileStore::new(s.dir.path().join("token.json"));
    let mut text: serde_json::Value =
        serde_json::from_slice(&TokenDocument::new(s.token.clone()).to_bytes()).unwrap();
    text["revision"] = pinterest_oauth_core::MAX_REVISION.into();
    let last = TokenDocument::from_bytes(text.to_string().as_bytes()).unwrap();
    store.save(&store.lock().unwrap(), &last).unwrap();
    let source = s.source(Kind::Ureq, store.clone());
    s.expire();
    let err = source.access_token().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert!(
        err.to_string().contains("revision is out of range"),
        "{err}"
    );
    assert_eq!(
        s.refreshes(),
        0,
        "nothing sent: the set could not have been stored"
    );
    // Never written past what can be read back.
    let past = last.without_access_token();
    assert!(store.save(&store.lock().unwrap(), &past).is_err());
    assert!(store.load().is_ok());
}

#[test]
fn a_store_that_recovers_is_not_blamed_for_a_wait_it_did_not_cause() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let first = once();
    let store = HookStore::new(stored_file(&path, &s.token), move |inner, _| {
        if first() {
            Err(disk_full(inner))
        } else {
            Ok(())
        }
    });
    let source = s.source(Kind::Ureq, store);
    s.expire();
    // The record of the attempt is refused: nothing is sent, and the caller hears why.
    let err = source.access_token().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert_eq!(s.refreshes(), 0);
    // The store works again, but this process backs off: the caller is told to wait, not
    // that the store failed (which it no longer does).
    let err = source.access_token().unwrap_err();
    assert!(matches!(err, Error::Waiting { .. }), "{err:?}");
    assert_eq!(s.refreshes(), 0);
}

#[test]
fn a_refresh_whose_leader_panicked_before_sending_is_retried_not_wedged() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    // The store's first lock confirmation panics (a bug in a wrapper, a store client that
    // panics): when it does, nothing has been sent.
    let first = once();
    let store =
        HookStore::new(stored_file(&path, &s.token), |_, _| Ok(())).before_confirm(move || {
            if first() {
                panic!("the store's confirmation panicked (on purpose, in a test)");
            }
            Ok(())
        });
    let source = s.source(Kind::Ureq, store);
    s.expire();
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.access_token()));
    assert!(first.is_err(), "the leader's thread panicked");
    assert_eq!(s.refreshes(), 0, "nothing was sent");
    // The refresh token is unspent: the source backs off, says why, and is not stuck waiting
    // for an answer nobody will feed it (nor does it tell the user to log in again).
    let err = source.access_token().unwrap_err();
    assert!(
        matches!(&err, Error::Waiting { cause: Some(cause), .. }
            if matches!(**cause, Error::Interrupted { sent: false })),
        "{err:?}"
    );
    assert!(!err.is_consent_needed(), "{err}");
    s.clock.advance(Duration::from_secs(3600));
    let access = source.access_token().unwrap();
    assert_ne!(Some(&access), s.token.access_token());
    assert_eq!(s.refreshes(), 1);
}

#[test]
fn a_set_put_in_place_by_another_process_ends_this_ones_save_retries() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    let first = once();
    let refusing = HookStore::new(stored_file(&path, &s.token), move |inner, document| {
        if is_new_set(inner, document) && first() {
            return Err(disk_full(inner));
        }
        Ok(())
    });
    let first = s.source(Kind::Ureq, refusing);
    s.expire();
    let err = first.access_token().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store(StoreError::Unsaved { .. }) | Error::Refresh(_)
        ),
        "{err:?}"
    );
    assert_eq!(s.refreshes(), 1, "Pinterest rotated");
    // Another process starts meanwhile and puts the kept set in place (at a revision the first
    // process's own retry can never match).
    let second = s.source(Kind::Ureq, FileStore::new(&path));
    let rotated = second.token().unwrap();
    assert_ne!(rotated.refresh_token(), s.token.refresh_token());
    // The first process's retry finds its set stored: it uses it, saves nothing more, asks
    // nothing.
    s.clock.advance(Duration::from_secs(600));
    let access = first.access_token().unwrap();
    assert_eq!(Some(&access), rotated.access_token());
    assert_ne!(first.status(), Status::Persisting);
    first.wait_idle();
    assert_eq!(s.refreshes(), 1);
    let kept = std::fs::read_dir(s.dir.path().join("recovered"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(kept, 0, "nothing is left kept aside");
}

#[test]
fn callers_that_waited_for_a_lock_that_ran_out_are_told_not_made_to_wait_again() {
    let s = Setup::new();
    let path = s.dir.path().join("token.json");
    // The lock is held elsewhere for good: each wait for it runs out (quickly here).
    let inner = stored_file(&path, &s.token);
    let location = inner.location();
    let store = Arc::new(HookStore::new(inner, |_, _| Ok(())).before_lock(move || {
        std::thread::sleep(Duration::from_millis(200));
        Err(StoreError::LockTimeout {
            location: location.clone(),
            waited: Duration::from_millis(200),
        })
    }));
    let source = s.source(Kind::Ureq, store.clone());
    s.expire();
    // The clock stands still: whenever a thread arrives, it is within the moment after the
    // failure in which nobody waits for the store again.
    let start = Arc::new(Barrier::new(8));
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let source = source.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                source.access_token().map(|_| ()).unwrap_err()
            })
        })
        .collect();
    for caller in callers {
        let err = caller.join().unwrap();
        assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    }
    assert_eq!(
        store.waits.load(Ordering::SeqCst),
        1,
        "one wait for the lock, not one per caller"
    );
    assert_eq!(s.refreshes(), 0);
    // A second later, a caller waits for the store once more (it may be free by then).
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(source.access_token().unwrap_err().kind(), ErrorKind::Store);
    assert_eq!(store.waits.load(Ordering::SeqCst), 2);
}
