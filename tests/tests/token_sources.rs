//! Both token sources against the fake: single-flight refresh, failures while the token is
//! valid, rotation persisted before use, consent needed.

use std::sync::mpsc;
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use fake_pinterest::{FakeConfig, FakePinterest, Fault, Grant as FakeGrant, Route, Times};
use pinterest_oauth_core::{ClientCredentialsGrant, HttpSettings, Revocation, Status, Token};
use pinterest_oauth_store::{
    FileStore, MemoryStore, SourceOptions, StoreError, StoreLock, TokenStore,
};
use pinterest_oauth_tests::tokens::{ManualClock, user_token};
use pinterest_oauth_tests::transports::{config_for, settings_for};

const DAY: Duration = Duration::from_secs(86_400);
const REFRESH: Route = Route::Grant(FakeGrant::RefreshToken);

fn fake() -> FakePinterest {
    FakePinterest::start(FakeConfig::default()).unwrap()
}

fn ureq_client(fake: &FakePinterest, settings: &HttpSettings) -> pinterest_oauth_ureq::Client {
    pinterest_oauth_ureq::Client::with_settings(config_for(fake), settings).unwrap()
}

fn hyper_client(fake: &FakePinterest, settings: &HttpSettings) -> pinterest_oauth_hyper::Client {
    pinterest_oauth_hyper::Client::with_settings(config_for(fake), settings).unwrap()
}

/// A runtime for the async tests that need many workers.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Every test source's clock starts at the real time and is moved by hand.
struct Setup {
    fake: FakePinterest,
    clock: ManualClock,
    token: Token,
}

impl Setup {
    fn new() -> Setup {
        let fake = fake();
        let token = user_token(&fake);
        Setup {
            fake,
            clock: ManualClock::starting_now(),
            token,
        }
    }

    /// Puts the clock past the token's expiry (30 days): the next ask must refresh.
    fn expire(&self) {
        self.clock.advance(31 * DAY);
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
    let source = pinterest_oauth_hyper::TokenSource::with_options(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
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
    assert!(before.iter().all(|t| t == s.token.access_token().secret()));
    assert_eq!(s.fake.stats().token.refresh_token, 0);

    s.expire();
    let after = ask_all(10_000);
    assert_eq!(s.fake.stats().token.refresh_token, 1);
    let new = source.token().unwrap();
    assert_ne!(new.access_token(), s.token.access_token());
    assert!(
        after.iter().all(|t| t == new.access_token().secret()),
        "every task got the new token"
    );
    assert_eq!(source.store().saves(), 1);
}

#[test]
fn sixty_four_threads_across_an_expiry_cause_one_refresh() {
    let s = Setup::new();
    s.fake.push_fault(
        REFRESH,
        Fault::Delay(Duration::from_millis(200)),
        Times::Always,
    );
    let source = pinterest_oauth_ureq::TokenSource::with_options(
        ureq_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
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
    assert_eq!(s.fake.stats().token.refresh_token, 1);
    let new = source.token().unwrap();
    assert!(tokens.iter().all(|t| t == new.access_token().secret()));
    assert_ne!(new.refresh_token(), s.token.refresh_token(), "rotated");
}

/// Fails refreshes with `fault` while the token is valid, then after expiry, then recovers.
fn failures_keep_the_valid_token_ureq(fault: Fault, settings: HttpSettings, transient: bool) {
    let s = Setup::new();
    let source = pinterest_oauth_ureq::TokenSource::with_options(
        ureq_client(&s.fake, &settings),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
    let old = s.token.access_token().clone();
    s.fake.push_fault(REFRESH, fault, Times::Always);

    // Due (5 minutes before expiry), still valid: the old token, and a background attempt.
    s.clock.set(s.token.expires_at() - Duration::from_secs(300));
    assert_eq!(source.access_token().unwrap(), old);
    source.wait_idle();
    assert_eq!(s.fake.stats().token.refresh_token, 1);
    let reported = source.last_error().expect("the failure is reported");
    assert_eq!(reported.is_transient(), transient, "{reported}");
    assert!(matches!(source.status(), Status::Backoff { .. }));
    // Within the backoff: the old token again, no new attempt.
    assert_eq!(source.access_token().unwrap(), old);
    assert_eq!(s.fake.stats().token.refresh_token, 1);

    // Expired: the caller gets the typed failure of a fresh attempt.
    s.clock.set(s.token.expires_at() + Duration::from_secs(1));
    let err = source.access_token().unwrap_err();
    assert!(
        matches!(err, pinterest_oauth_ureq::Error::Refresh(_)),
        "{err}"
    );
    assert_eq!(err.is_transient(), transient);
    assert_eq!(s.fake.stats().token.refresh_token, 2);

    // The server recovers: after the backoff, a new token.
    s.fake.clear_faults();
    s.clock.advance(Duration::from_secs(600));
    let new = source.access_token().unwrap();
    assert_ne!(new, old);
    assert!(source.last_error().is_none());
    assert_eq!(s.fake.stats().token.refresh_token, 3);
}

#[test]
fn server_errors_while_valid_ureq() {
    failures_keep_the_valid_token_ureq(Fault::unavailable(), HttpSettings::default(), true);
}

#[test]
fn timeouts_while_valid_ureq() {
    let settings = HttpSettings::default().with_timeout(Duration::from_millis(300));
    failures_keep_the_valid_token_ureq(Fault::NeverAnswer, settings, true);
}

/// The same, through the async source.
fn failures_keep_the_valid_token_hyper(fault: Fault, settings: HttpSettings) {
    let s = Setup::new();
    let rt = runtime();
    let source = pinterest_oauth_hyper::TokenSource::with_options(
        hyper_client(&s.fake, &settings),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
    let old = s.token.access_token().clone();
    s.fake.push_fault(REFRESH, fault, Times::Always);
    rt.block_on(async {
        s.clock.set(s.token.expires_at() - Duration::from_secs(300));
        assert_eq!(source.access_token().await.unwrap(), old);
        source.wait_idle().await;
        assert_eq!(s.fake.stats().token.refresh_token, 1);
        assert!(source.last_error().unwrap().is_transient());
        assert_eq!(source.access_token().await.unwrap(), old);
        assert_eq!(s.fake.stats().token.refresh_token, 1);

        s.clock.set(s.token.expires_at() + Duration::from_secs(1));
        let err = source.access_token().await.unwrap_err();
        assert!(
            matches!(err, pinterest_oauth_hyper::Error::Refresh(_)),
            "{err}"
        );
        assert!(err.is_transient());

        s.fake.clear_faults();
        s.clock.advance(Duration::from_secs(600));
        assert_ne!(source.access_token().await.unwrap(), old);
        assert!(source.last_error().is_none());
    });
}

#[test]
fn server_errors_while_valid_hyper() {
    failures_keep_the_valid_token_hyper(Fault::bad_gateway_html(), HttpSettings::default());
}

#[test]
fn timeouts_while_valid_hyper() {
    let settings = HttpSettings::default().with_timeout(Duration::from_millis(300));
    failures_keep_the_valid_token_hyper(Fault::NeverAnswer, settings);
}

/// A file store whose saves wait for the test's go-ahead.
struct GatedStore {
    inner: FileStore,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl TokenStore for GatedStore {
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.inner.lock()
    }
    fn load(&self) -> Result<Option<Token>, StoreError> {
        self.inner.load()
    }
    fn clear(&self, lock: &StoreLock) -> Result<(), StoreError> {
        self.inner.clear(lock)
    }
    fn save(&self, lock: &StoreLock, token: &Token) -> Result<(), StoreError> {
        self.entered.lock().unwrap().send(()).unwrap();
        self.release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(20))
            .expect("the test releases the save");
        self.inner.save(lock, token)
    }
}

fn gated(
    path: &std::path::Path,
    token: &Token,
) -> (GatedStore, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let inner = FileStore::new(path);
    inner.save(&inner.lock().unwrap(), token).unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let store = GatedStore {
        inner,
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    (store, entered_rx, release_tx)
}

#[test]
fn the_rotated_set_is_on_disk_before_any_caller_sees_it_ureq() {
    let s = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    let (store, entered, release) = gated(&path, &s.token);
    let source = pinterest_oauth_ureq::TokenSource::with_options(
        ureq_client(&s.fake, &settings_for(&s.fake)),
        store,
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
    s.expire();
    let caller = {
        let source = source.clone();
        std::thread::spawn(move || source.access_token())
    };
    entered.recv_timeout(Duration::from_secs(20)).unwrap();
    // Pinterest has rotated: the old refresh token is dead...
    assert_eq!(s.fake.stats().token.refresh_token, 1);
    let old_refresh = s.token.refresh_token().unwrap().clone();
    // ...but nobody has the new set until it is saved.
    assert_eq!(source.status(), Status::Persisting);
    assert_eq!(source.token().as_ref(), Some(&s.token));
    assert_eq!(
        FileStore::new(&path).load().unwrap().as_ref(),
        Some(&s.token)
    );
    assert!(!caller.is_finished());

    release.send(()).unwrap();
    let handed_out = caller.join().unwrap().unwrap();
    let on_disk = FileStore::new(&path).load().unwrap().unwrap();
    assert_eq!(on_disk.access_token(), &handed_out);
    assert_ne!(on_disk.refresh_token(), Some(&old_refresh));
    let stale = ureq_client(&s.fake, &settings_for(&s.fake))
        .refresh(&old_refresh)
        .unwrap_err();
    assert!(
        stale.is_invalid_grant(),
        "the fake rejects the old refresh token: {stale}"
    );
}

#[test]
fn the_rotated_set_is_on_disk_before_any_caller_sees_it_hyper() {
    let s = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    let (store, entered, release) = gated(&path, &s.token);
    let rt = runtime();
    let source = pinterest_oauth_hyper::TokenSource::with_options(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        store,
        SourceOptions::default().clock(s.clock.reader()),
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
        FileStore::new(&path).load().unwrap().as_ref(),
        Some(&s.token)
    );
    assert!(!caller.is_finished());
    release.send(()).unwrap();
    let handed_out = rt.block_on(caller).unwrap().unwrap();
    let on_disk = FileStore::new(&path).load().unwrap().unwrap();
    assert_eq!(on_disk.access_token(), &handed_out);
    let old_refresh = s.token.refresh_token().unwrap();
    let stale = rt
        .block_on(hyper_client(&s.fake, &settings_for(&s.fake)).refresh(old_refresh))
        .unwrap_err();
    assert!(stale.is_invalid_grant());
}

#[test]
fn an_invalid_grant_reaches_every_waiting_caller_and_is_not_retried() {
    let s = Setup::new();
    // The user revoked the app: the refresh token is dead at Pinterest.
    ureq_client(&s.fake, &settings_for(&s.fake))
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

    let blocking = pinterest_oauth_ureq::TokenSource::with_options(
        ureq_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
    let errors: Vec<pinterest_oauth_ureq::Error> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|_| scope.spawn(|| blocking.access_token().unwrap_err()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for err in &errors {
        assert!(
            matches!(
                err,
                pinterest_oauth_ureq::Error::ConsentNeeded { cause: Some(_) }
            ),
            "{err}"
        );
        assert!(err.is_invalid_grant());
    }
    assert_eq!(s.fake.stats().token.refresh_token, 1);
    assert!(blocking.access_token().unwrap_err().is_invalid_grant());
    assert_eq!(s.fake.stats().token.refresh_token, 1, "nothing is retried");
    assert_eq!(blocking.status(), Status::ConsentNeeded);

    let rt = runtime();
    let asynchronous = pinterest_oauth_hyper::TokenSource::with_options(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
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
            assert!(
                matches!(err, pinterest_oauth_hyper::Error::ConsentNeeded { .. }),
                "{err}"
            );
            n += 1;
        }
        n
    });
    assert_eq!(consent_needed, 1000);
    assert_eq!(
        s.fake.stats().token.refresh_token,
        2,
        "one more, for the async source"
    );
}

#[test]
fn an_empty_store_needs_consent_and_client_credentials_need_none() {
    let fake = fake();
    let source = pinterest_oauth_ureq::TokenSource::new(
        ureq_client(&fake, &settings_for(&fake)),
        MemoryStore::new(),
    )
    .unwrap();
    let err = source.access_token().unwrap_err();
    assert!(matches!(
        err,
        pinterest_oauth_ureq::Error::ConsentNeeded { cause: None }
    ));
    assert!(err.to_string().contains("no token is stored"), "{err}");
    assert_eq!(fake.stats().requests, 0);

    let clock = ManualClock::starting_now();
    let app = pinterest_oauth_ureq::TokenSource::with_options(
        ureq_client(&fake, &settings_for(&fake)),
        MemoryStore::new(),
        SourceOptions::default()
            .client_credentials(
                ClientCredentialsGrant::new(vec![pinterest_oauth_core::Scope::AdsRead]).unwrap(),
            )
            .clock(clock.reader()),
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
    assert_eq!(app.store().saves(), 2);
}

#[test]
fn refresh_now_rotates_at_once() {
    let s = Setup::new();
    let source = pinterest_oauth_ureq::TokenSource::new(
        ureq_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
    )
    .unwrap();
    let refreshed = source.refresh_now().unwrap();
    assert_ne!(refreshed.access_token(), s.token.access_token());
    assert_eq!(source.token().as_ref(), Some(&refreshed));
    assert_eq!(s.fake.stats().token.refresh_token, 1);

    let rt = runtime();
    let asynchronous = pinterest_oauth_hyper::TokenSource::new(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(refreshed.clone()),
    )
    .unwrap();
    let again = rt.block_on(asynchronous.refresh_now()).unwrap();
    assert_ne!(again.refresh_token(), refreshed.refresh_token());
    // The token source that still holds the older set learns the truth from the fake.
    let stale = pinterest_oauth_ureq::TokenSource::new(
        ureq_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(refreshed),
    )
    .unwrap();
    assert!(stale.refresh_now().unwrap_err().is_invalid_grant());
}

#[test]
fn a_corrupt_token_file_is_a_typed_error_and_is_left_alone() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    std::fs::write(&path, b"{\"version\":1,\"access_token\":").unwrap();
    let err = pinterest_oauth_ureq::TokenSource::new(
        ureq_client(&fake, &settings_for(&fake)),
        FileStore::new(&path),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            pinterest_oauth_ureq::Error::Store(StoreError::Corrupt { .. })
        ),
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
    let old = s.token.access_token().clone();

    let blocking = pinterest_oauth_ureq::TokenSource::with_options(
        ureq_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(s.token.clone()),
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
    for _ in 0..10 {
        assert_eq!(blocking.access_token().unwrap(), old);
    }
    // Every call returned while the refresh was still in flight.
    assert_eq!(blocking.status(), Status::Refreshing);
    blocking.wait_idle();
    assert_ne!(blocking.access_token().unwrap(), old);
    assert_eq!(s.fake.stats().token.refresh_token, 1);

    let rt = runtime();
    let second = user_token(&s.fake);
    s.clock.set(second.expires_at() - Duration::from_secs(60));
    let asynchronous = pinterest_oauth_hyper::TokenSource::with_options(
        hyper_client(&s.fake, &settings_for(&s.fake)),
        MemoryStore::with_token(second.clone()),
        SourceOptions::default().clock(s.clock.reader()),
    )
    .unwrap();
    rt.block_on(async {
        for _ in 0..10 {
            assert_eq!(
                &asynchronous.access_token().await.unwrap(),
                second.access_token()
            );
        }
        assert_eq!(asynchronous.status(), Status::Refreshing);
        asynchronous.wait_idle().await;
        assert_ne!(
            &asynchronous.access_token().await.unwrap(),
            second.access_token()
        );
    });
    assert_eq!(s.fake.stats().token.refresh_token, 2);
}
