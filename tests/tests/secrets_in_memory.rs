//! Secrets are wiped before their memory is freed, on the request and response paths of both
//! transports: a scanning allocator ([`wipe_check`]) searches every block the calling thread
//! allocated during a call, as it is freed, for the code, the refresh token sent and any
//! `pina_…`/`pinr_…` token received.
//!
//! The HTTP stacks' own socket buffers are not ours to wipe: a block holding raw HTTP (it starts
//! with the status line) is the stack's read buffer, reported but not failed (hyper frees its
//! read buffer when it grows it; ureq keeps its buffers in the pooled connection until the
//! client is dropped). Every other block holding a secret fails the test. The README and
//! `docs/hardening.md` say the same.

use std::time::Duration;

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{AccessToken, AuthorizationCode, RedirectUri, RefreshToken, Revocation};
use pinterest_oauth_tests::transports::{config_for, settings_for};
use pinterest_oauth_transport::{FromHttpConfig, RetryConfig};
use wipe_check::{Found, Pattern, Scanner};

#[global_allocator]
static ALLOC: Scanner = Scanner;

const REDIRECT: &str = "http://localhost:8085/";

/// The three calls of a grant's life, each watched; then the client dropped, watched.
struct Calls<'a> {
    exchange: &'a dyn Fn(AuthorizationCode) -> (AccessToken, RefreshToken),
    refresh: &'a dyn Fn(&RefreshToken) -> (AccessToken, RefreshToken),
    revoke: &'a dyn Fn(AccessToken),
}

fn run(name: &str, fake: &FakePinterest, calls: Calls<'_>) -> wipe_check::Session {
    let code = fake.issue_code(REDIRECT, &["boards:read", "pins:read"]);
    let session = wipe_check::session(&[
        Pattern::exact(code.as_bytes()),
        Pattern::token(b"pina_", 24),
        Pattern::token(b"pinr_", 24),
    ]);
    let check = |what: &str, found: &Found| {
        assert_eq!(
            found.untracked, 0,
            "{name} {what}: the scan was not conclusive"
        );
        assert!(
            found.blocks <= found.samples.len(),
            "{name} {what}: {found:?}"
        );
        let ours: Vec<&String> = found
            .samples
            .iter()
            .filter(|sample| !is_socket_buffer(sample))
            .collect();
        assert!(
            ours.is_empty(),
            "{name} {what}: {} freed blocks still held a secret: {ours:?}",
            ours.len()
        );
        if found.blocks > 0 {
            eprintln!(
                "{name} {what}: {} socket buffers of the HTTP stack freed with a secret (sizes {:?})",
                found.blocks, found.sizes
            );
        }
    };

    let ((access, refresh), found) =
        session.watch(|| (calls.exchange)(AuthorizationCode::new(code.as_str())));
    check("code exchange", &found);
    drop(access);
    let ((access, refresh), found) = session.watch(|| {
        let next = (calls.refresh)(&refresh);
        drop(refresh);
        next
    });
    check("refresh", &found);
    drop(refresh);
    let ((), found) = session.watch(|| (calls.revoke)(access));
    check("revoke", &found);
    assert_eq!(fake.stats().token.refresh_token, 1);

    session
}

/// Drops the client (and its pooled connection), watched: what the HTTP stack still held.
fn drop_watched(name: &str, session: &wipe_check::Session, drop_client: impl FnOnce()) {
    let ((), found) = session.watch(drop_client);
    assert_eq!(found.untracked, 0);
    eprintln!(
        "{name}: dropping the client freed {} buffers of the HTTP stack holding a secret (sizes {:?})",
        found.blocks, found.sizes
    );
}

/// A socket read buffer: raw HTTP/1.1, the status line first.
fn is_socket_buffer(sample: &str) -> bool {
    sample.starts_with("HTTP/1.1 ")
}

fn fake() -> FakePinterest {
    FakePinterest::start(FakeConfig::default()).expect("the fake starts")
}

fn parts(token: pinterest_oauth_core::Token) -> (AccessToken, RefreshToken) {
    (
        token.access_token().expect("an access token").clone(),
        token.refresh_token().expect("a refresh token").clone(),
    )
}

#[test]
fn ureq_wipes_every_buffer_it_owns() {
    let fake = fake();
    let http = pinterest_oauth_ureq::HttpClient::from_http_config(&settings_for(&fake)).unwrap();
    let client = pinterest_oauth_ureq::Client::with_http(config_for(&fake), http)
        .with_retry(RetryConfig::none());
    let redirect = RedirectUri::new(REDIRECT).unwrap();
    let session = run(
        "ureq",
        &fake,
        Calls {
            exchange: &|code| parts(client.exchange_code(code, &redirect).unwrap()),
            refresh: &|refresh| parts(client.refresh(refresh).unwrap()),
            revoke: &|access| client.revoke(&Revocation::access_token(access)).unwrap(),
        },
    );
    drop_watched("ureq", &session, || drop(client));
}

#[test]
fn hyper_wipes_every_buffer_it_owns() {
    let fake = fake();
    // One thread: hyper's connection task runs on the watched thread too.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = pinterest_oauth_hyper::HttpClient::from_http_config(&settings_for(&fake)).unwrap();
    let client = pinterest_oauth_hyper::Client::with_http(config_for(&fake), http)
        .with_retry(RetryConfig::none());
    let redirect = RedirectUri::new(REDIRECT).unwrap();
    let timeout = Duration::from_secs(20);
    let session = run(
        "hyper",
        &fake,
        Calls {
            exchange: &|code| {
                parts(runtime.block_on(async {
                    tokio::time::timeout(timeout, client.exchange_code(code, &redirect))
                        .await
                        .expect("bounded")
                        .unwrap()
                }))
            },
            refresh: &|refresh| {
                parts(runtime.block_on(async {
                    tokio::time::timeout(timeout, client.refresh(refresh))
                        .await
                        .expect("bounded")
                        .unwrap()
                }))
            },
            revoke: &|access| {
                runtime.block_on(async {
                    tokio::time::timeout(timeout, client.revoke(&Revocation::access_token(access)))
                        .await
                        .expect("bounded")
                        .unwrap()
                })
            },
        },
    );
    drop_watched("hyper", &session, || {
        drop(client);
        // The connection task ends once the pool is gone.
        runtime.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
        drop(runtime);
    });
}

#[test]
fn the_scanner_finds_an_unwiped_secret() {
    let session = wipe_check::session(&[Pattern::token(b"pinr_", 24)]);
    let ((), found) =
        session.watch(|| drop(b"{\"refresh_token\":\"pinr_abcdefghijklmnopqrstuvwxyz\"}".to_vec()));
    assert_eq!(found.blocks, 1);
    let ((), found) = session.watch(|| drop(RefreshToken::new("pinr_abcdefghijklmnopqrstuvwxyz")));
    assert_eq!(found.blocks, 0);
    let ((), found) = session.watch(|| drop(b"pinr_short".to_vec()));
    assert_eq!(found.blocks, 0, "too short to be a token");
}

#[test]
fn the_token_file_is_written_and_read_through_wiped_buffers() {
    use pinterest_oauth_core::{TokenDocument, parse_token_response};
    use pinterest_oauth_store::{FileStore, TokenStore};

    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("token.json"));
    let body = format!(
        r#"{{"access_token":"pina_{0}","token_type":"bearer","expires_in":3600,"refresh_token":"pinr_{0}","refresh_token_expires_in":5184000,"scope":"boards:read"}}"#,
        "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
    );
    let response =
        pinterest_oauth_core::http::Response::new(zeroize::Zeroizing::new(body.into_bytes()));
    let session =
        wipe_check::session(&[Pattern::token(b"pina_", 24), Pattern::token(b"pinr_", 24)]);
    let ((), found) = session.watch(|| {
        let token = parse_token_response(std::time::SystemTime::now(), &response).unwrap();
        let lock = store.lock().unwrap();
        store.save(&lock, &TokenDocument::new(token)).unwrap();
        drop(lock);
        let loaded = store.load().unwrap().expect("saved");
        assert_eq!(loaded.token().refresh_token().unwrap().secret().len(), 37);
    });
    assert_eq!(found.untracked, 0);
    assert_eq!(found.blocks, 0, "{:?}", found.samples);
}

#[test]
fn the_login_listener_wipes_the_request_head_that_holds_the_code() {
    use std::io::{Read, Write};

    use pinterest_oauth_core::{AppId, AppSecret, BaseUrl, ClientConfig, Scope};
    use pinterest_oauth_store::MemoryStore;
    use pinterest_oauth_transport::login::LoginConfig;

    const CODE: &str = "LoginCodeNeverFreedUnwiped0123456789";
    // Nothing listens at the token endpoint: the exchange fails at connect, so no server in
    // this process ever holds the code (every thread is watched).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v5", closed.local_addr().unwrap());
    drop(closed);
    let config = ClientConfig::new(AppId::new("1234567").unwrap(), AppSecret::new("app-secret"))
        .with_base_url(BaseUrl::parse(&base).unwrap());
    let http = pinterest_oauth_ureq::HttpClient::from_http_config(
        &pinterest_oauth_transport::HttpConfig::default()
            .with_connect_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let client =
        pinterest_oauth_ureq::Client::with_http(config, http).with_retry(RetryConfig::none());
    let options = LoginConfig::new(vec![Scope::BoardsRead])
        .with_redirect_uri(RedirectUri::new("http://127.0.0.1:0/cb").unwrap())
        .with_timeout(Duration::from_secs(20));
    let store = MemoryStore::new();

    let session = wipe_check::session(&[Pattern::exact(CODE.as_bytes())]);
    let (result, found) = session.watch_all(|| {
        let result = client.login(&store, &options, |start| {
            let start = start.url().clone();
            let addr = format!("{}:{}", start.host_str().unwrap(), start.port().unwrap());
            std::thread::spawn(move || {
                // The browser opens the start address: a redirect to the consent page, and
                // the cookie the callback must carry.
                let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                write!(
                    stream,
                    "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                    start.path()
                )
                .unwrap();
                let mut head = String::new();
                stream.read_to_string(&mut head).unwrap();
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::trim)
                        .unwrap()
                        .to_owned()
                };
                let consent = url::Url::parse(&header("location:")).unwrap();
                let cookie = header("set-cookie:").split(';').next().unwrap().to_owned();
                let state: String = consent
                    .query_pairs()
                    .find(|(k, _)| k == "state")
                    .map(|(_, v)| v.into_owned())
                    .unwrap();
                // The browser's callback, in a buffer sized once and wiped.
                let mut request = zeroize::Zeroizing::new(Vec::with_capacity(1024));
                request.extend_from_slice(b"GET /cb?code=");
                request.extend_from_slice(CODE.as_bytes());
                request.extend_from_slice(b"&state=");
                request.extend_from_slice(state.as_bytes());
                request.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ");
                request.extend_from_slice(cookie.as_bytes());
                request.extend_from_slice(b"\r\n\r\n");
                let mut stream = std::net::TcpStream::connect(addr).unwrap();
                stream.write_all(&request).unwrap();
                let mut page = [0u8; 4096];
                let _ = stream.read(&mut page);
            });
        });
        // Let the connection's thread finish inside the watch.
        std::thread::sleep(Duration::from_millis(300));
        result
    });
    let err = result.expect_err("nothing answers at the token endpoint");
    assert!(err.to_string().contains("connect"), "{err}");
    assert_eq!(found.untracked, 0);
    assert_eq!(found.blocks, 0, "{:?}", found.samples);
}
