//! `demo`: every command's flow against an embedded fake Pinterest, in a temporary directory.

use crate::say::{note, out, out_raw};
use std::time::{Duration, SystemTime};

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{
    AppId, AppSecret, BaseUrl, ClientConfig, ConsentUrl, RedirectUri, Revocation, Scope,
};
use pinterest_oauth_store::{FileStore, TokenStore};
use pinterest_oauth_transport::blocking::{Client, TokenSource};
use pinterest_oauth_transport::login::LoginConfig;
use pinterest_oauth_transport::{FromHttpConfig, Http, HttpConfig};

use crate::args::Transport;
use crate::error::CliError;
use crate::login::{LoginRequest, Opener, login};
use crate::output::{Stored, token_summary};
use crate::store::CliStore;

/// Runs the demo; prints each step, never a secret.
pub(crate) fn run(transport: Transport) -> Result<(), CliError> {
    let fake = FakePinterest::start(FakeConfig::default())?;
    let dir = tempfile::tempdir().map_err(|source| CliError::Io {
        what: "cannot create a temporary directory",
        source,
    })?;
    let store = FileStore::new(dir.path().join("token.json"));
    let config = ClientConfig::new(
        AppId::new(fake.app_id())?,
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url())?)
    .with_consent_url(ConsentUrl::parse(&fake.consent_url())?);
    let http: Box<dyn Http> = match transport {
        Transport::Ureq => Box::new(pinterest_oauth_ureq::HttpClient::from_http_config(
            &HttpConfig::default(),
        )?),
        #[cfg(feature = "hyper")]
        Transport::Hyper => Box::new(pinterest_oauth_hyper::BlockingHttpClient::from_http_config(
            &HttpConfig::default(),
        )?),
        #[cfg(not(feature = "hyper"))]
        Transport::Hyper => return Err(CliError::HyperNotBuilt),
    };
    let client = Client::with_http(config, http);
    out!(
        "fake Pinterest on {} ({transport:?} transport)",
        fake.origin()
    )?;

    out!("\n$ pinterest-oauth login   (a stand-in browser approves the consent page)")?;
    let cli_store = CliStore::File(store.clone());
    // The fake, as Pinterest, accepts only registered redirect URIs: register one on a free
    // port, as an app's owner registers the URI its login listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map_err(|source| CliError::Io {
            what: "cannot find a free port",
            source,
        })?
        .port();
    let redirect_uri = format!("http://localhost:{port}/");
    fake.register_redirect_uri(&redirect_uri);
    let token = login(LoginRequest {
        client: &client,
        store: &cli_store,
        options: LoginConfig::new(vec![Scope::BoardsRead, Scope::PinsRead])
            .with_redirect_uri(RedirectUri::new(redirect_uri)?)
            .with_timeout(Duration::from_secs(30)),
        opener: Opener::Call(Box::new(|url| {
            std::thread::spawn(move || browse(&url));
        })),
    })?;
    let now = SystemTime::now();
    out!("logged in: {}", token_summary(&token, now))?;

    out!("\n$ pinterest-oauth status")?;
    let stored = store.load()?;
    let status = Stored {
        grant: None,
        sealed_under: None,
        location: store.location(),
        document: stored.as_ref(),
        kept: None,
        raw: &[],
        config: Some(client.config()),
        now,
    };
    out_raw!(status.text())?;

    out!("\n$ pinterest-oauth token")?;
    let source = TokenSource::with_config(
        client.clone(),
        store.clone(),
        pinterest_oauth_transport::SourceConfig::default()
            .with_recovery_dir(dir.path().join("recovered")),
    )?;
    let valid = source.access_token()?;
    out!(
        "<access token, {} characters: redacted here>",
        valid.secret().len()
    )?;

    out!("\n$ pinterest-oauth refresh")?;
    let refreshed = source.refresh_now()?;
    out!(
        "refreshed: {}",
        token_summary(&refreshed, SystemTime::now())
    )?;
    out!(
        "the refresh token rotated: {}",
        refreshed.refresh_token() != token.refresh_token()
    )?;

    out!("\n$ pinterest-oauth client-credentials --scopes ads:read")?;
    let app = client.client_credentials(&[Scope::AdsRead])?;
    out!(
        "app token received: {}",
        token_summary(&app, SystemTime::now())
    )?;

    out!("\n$ pinterest-oauth revoke")?;
    if let Some(access) = refreshed.access_token() {
        client.revoke(&Revocation::access_token(access.clone()))?;
    }
    if let Some(refresh) = refreshed.refresh_token() {
        client.revoke(&Revocation::refresh_token(refresh.clone()))?;
    }
    store.clear(&store.lock()?)?;
    out!(
        "revoked: access_token, refresh_token; the fake now accepts the access token: {}",
        refreshed
            .access_token()
            .is_some_and(|t| fake.access_token_valid(t.secret()))
    )?;

    let stats = fake.stats();
    out!(
        "\nthe fake counted {} code exchange, {} refresh, {} client credentials, {} revokes",
        stats.token.authorization_code,
        stats.token.refresh_token,
        stats.token.client_credentials,
        stats.revoke
    )?;
    Ok(())
}

/// The stand-in browser: opens the login's start address and follows it to the consent page
/// and back to the listener, cookies kept.
fn browse(url: &str) {
    if let Err(e) = fake_pinterest::Browser::new(None).follow(url) {
        note!("demo: {e}");
    }
}
