//! The library's loopback login, through the blocking and the async client.

use std::time::Duration;

use fake_pinterest::{ConsentMode, FakeConfig, FakePinterest};
use pinterest_oauth_core::{CallbackError, RedirectUri, Scope};
use pinterest_oauth_store::{FileStore, TokenStore};
use pinterest_oauth_tests::transports::{Kind, client_for, config_for, settings_for};
use pinterest_oauth_transport::login::{Listener, LoginConfig, LoginError, LoginStart};
use pinterest_oauth_transport::{Error, Pkce};

/// A stand-in browser on `fake`: the login's redirect URI is registered with the fake (the
/// app's owner did that), then the start address is followed to the consent page and back to
/// the listener, cookies kept, on a thread of its own.
fn browser(fake: &FakePinterest) -> impl FnOnce(&LoginStart) + '_ {
    move |start| {
        fake.register_redirect_uri(start.redirect_uri().as_str());
        let url = start.url().to_string();
        std::thread::spawn(move || {
            let _ = fake_pinterest::Browser::new(None).follow(&url);
        });
    }
}

fn options() -> LoginConfig {
    LoginConfig::new(vec![Scope::BoardsRead])
        .with_redirect_uri(RedirectUri::new("http://localhost:0/cb").unwrap())
        .with_timeout(Duration::from_secs(20))
}

#[test]
fn the_blocking_login_saves_the_set_before_answering_the_browser() {
    for kind in Kind::ALL {
        let fake = FakePinterest::start(FakeConfig::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("token.json"));
        let client = client_for(kind, &fake);
        let token = client
            .login(&store, &options().with_pkce(Pkce::S256), browser(&fake))
            .unwrap();
        let saved = store.load().unwrap().unwrap();
        assert_eq!(saved.token(), &token, "{kind:?}");
        assert_eq!(fake.stats().token.authorization_code, 1);
        assert_eq!(fake.stats().pkce_refused, 0);
        // A second login replaces the set as the next revision.
        client.login(&store, &options(), browser(&fake)).unwrap();
        assert_eq!(
            store.load().unwrap().unwrap().revision(),
            saved.revision() + 1
        );
    }
}

#[test]
fn the_async_login_works_on_tokio() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("token.json"));
    let client =
        pinterest_oauth_hyper::Client::with_http_config(config_for(&fake), &settings_for(&fake))
            .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = runtime
        .block_on(client.login(&store, &options(), browser(&fake)))
        .unwrap();
    assert_eq!(store.load().unwrap().unwrap().token(), &token);
}

#[test]
fn a_refusal_and_a_timeout_are_typed_and_nothing_is_saved() {
    let fake = FakePinterest::start(FakeConfig {
        consent: ConsentMode::Deny,
        ..FakeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("token.json"));
    let client = client_for(Kind::Ureq, &fake);
    let err = client
        .login(&store, &options(), browser(&fake))
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::Denied { .. })),
        "{err}"
    );
    assert!(err.is_consent_needed());
    let err = client
        .login(
            &store,
            &options().with_timeout(Duration::from_millis(300)),
            |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Login(LoginError::TimedOut { .. })),
        "{err}"
    );
    assert!(store.load().unwrap().is_none());
    assert_eq!(fake.stats().token.authorization_code, 0);
}

#[test]
fn a_store_that_cannot_take_the_set_is_found_out_before_the_consent() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    std::fs::write(&path, b"{ corrupt").unwrap();
    let client = client_for(Kind::Ureq, &fake);
    let mut opened = false;
    let err = client
        .login(&FileStore::new(&path), &options(), |_| opened = true)
        .unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err}");
    assert!(!opened, "the consent page was never opened");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ corrupt");
}

#[test]
fn the_listener_binds_exactly_what_the_redirect_uri_names() {
    let uri = |text: &str| RedirectUri::new(text).unwrap();
    let localhost = Listener::bind(&uri("http://localhost:0/x")).unwrap();
    let addrs = localhost.local_addrs();
    let v6_available = std::net::TcpListener::bind("[::1]:0").is_ok();
    assert_eq!(addrs.len(), if v6_available { 2 } else { 1 }, "{addrs:?}");
    assert!(
        addrs.iter().all(|a| a.port() == addrs[0].port()),
        "one port for both"
    );
    assert!(localhost.redirect_uri().as_str().ends_with("/x"));
    let v4 = Listener::bind(&uri("http://127.0.0.1:0/")).unwrap();
    assert_eq!(v4.local_addrs().len(), 1);
    for remote in [
        "https://localhost/cb",
        "http://10.0.0.1:8085/",
        "http://example.com/",
    ] {
        assert!(
            matches!(
                Listener::bind(&uri(remote)),
                Err(LoginError::NotLoopback { .. })
            ),
            "{remote}"
        );
    }
}

#[test]
fn forty_stalled_connections_never_keep_the_callback_out() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let store = pinterest_oauth_store::MemoryStore::new();
    let client = client_for(Kind::Ureq, &fake);
    let options = LoginConfig::new(vec![Scope::BoardsRead])
        .with_redirect_uri(RedirectUri::new("http://127.0.0.1:0/cb").unwrap())
        .with_timeout(Duration::from_secs(20));
    let token = client.login(&store, &options, |start| {
        fake.register_redirect_uri(start.redirect_uri().as_str());
        let target = start.url();
        let addr = format!("{}:{}", target.host_str().unwrap(), target.port().unwrap());
        let url = start.url().to_string();
        std::thread::spawn(move || {
            use std::io::Write;
            // Forty connections that send one byte and stall, held open meanwhile.
            let stalled: Vec<_> = (0..40)
                .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
                .map(|mut s| {
                    let _ = s.write_all(b"G");
                    s
                })
                .collect();
            std::thread::sleep(Duration::from_millis(100));
            let _ = fake_pinterest::Browser::new(None).follow(&url);
            drop(stalled);
        });
    });
    assert!(token.is_ok(), "{token:?}");
    assert!(store.load().unwrap().is_some());
}

/// A store that takes the lock and the reservation, then refuses the set (a disk that filled
/// up between the two).
struct RefusesSaves(pinterest_oauth_store::MemoryStore);

impl TokenStore for RefusesSaves {
    fn lock(&self) -> Result<pinterest_oauth_store::StoreLock, pinterest_oauth_store::StoreError> {
        self.0.lock()
    }
    fn try_lock(
        &self,
    ) -> Result<Option<pinterest_oauth_store::StoreLock>, pinterest_oauth_store::StoreError> {
        self.0.try_lock()
    }
    fn load(
        &self,
    ) -> Result<Option<pinterest_oauth_core::TokenDocument>, pinterest_oauth_store::StoreError>
    {
        self.0.load()
    }
    fn save(
        &self,
        _: &pinterest_oauth_store::StoreLock,
        _: &pinterest_oauth_core::TokenDocument,
    ) -> Result<(), pinterest_oauth_store::StoreError> {
        Err(pinterest_oauth_store::StoreError::Unavailable {
            what: "the test store".into(),
            source: "no space left".into(),
        })
    }
    fn reserve(
        &self,
        lock: &pinterest_oauth_store::StoreLock,
    ) -> Result<(), pinterest_oauth_store::StoreError> {
        self.0.reserve(lock)
    }
    fn confirm(
        &self,
        lock: &pinterest_oauth_store::StoreLock,
        attempt: &pinterest_oauth_store::Attempt,
    ) -> Result<(), pinterest_oauth_store::StoreError> {
        self.0.confirm(lock, attempt)
    }
    fn clear(
        &self,
        lock: &pinterest_oauth_store::StoreLock,
    ) -> Result<(), pinterest_oauth_store::StoreError> {
        self.0.clear(lock)
    }
    fn identity(&self) -> String {
        self.location()
    }
    fn sealing(&self) -> Option<&pinterest_oauth_store::seal::Sealing> {
        self.0.sealing()
    }
    fn location(&self) -> String {
        "refuses-saves".into()
    }
}

#[test]
fn a_login_whose_save_fails_keeps_the_set_where_it_can_be_restored() {
    let fake = FakePinterest::start(FakeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = RefusesSaves(pinterest_oauth_store::MemoryStore::new());
    let client = client_for(Kind::Ureq, &fake);
    let err = client
        .login(
            &store,
            &options().with_recovery_dir(dir.path()),
            browser(&fake),
        )
        .unwrap_err();
    let Error::Store(pinterest_oauth_store::StoreError::Unsaved {
        kept_in: Some(path),
        ..
    }) = &err
    else {
        panic!("{err}");
    };
    assert!(path.starts_with(dir.path()), "{err}");
    let kept = pinterest_oauth_store::recovery::find(dir.path(), "refuses-saves");
    assert_eq!(kept.len(), 1);
    let refresh = kept[0].1.token().refresh_token().unwrap();
    assert!(
        fake.refresh_token_valid(refresh.secret()),
        "the kept set is the live grant"
    );
    // Restored into a store that takes it.
    let good = pinterest_oauth_store::MemoryStore::new();
    let settled =
        pinterest_oauth_store::recovery::settle(&good, &good.lock().unwrap(), Some(dir.path()));
    assert!(
        settled.unwrap().is_none(),
        "kept for another store location: not this one"
    );
}
