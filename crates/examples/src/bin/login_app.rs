//! An app that logs its user in with the library's loopback login, then keeps a valid token,
//! against a local fake Pinterest (a stand-in browser approves the consent page).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_ureq::login::LoginConfig;
use pinterest_oauth_ureq::{
    AppId, AppSecret, BaseUrl, Client, ClientConfig, ConsentUrl, FileStore, RedirectUri, Scope,
    TokenSource,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fake = FakePinterest::start(FakeConfig::default())?;
    let config = ClientConfig::new(
        AppId::new(fake.app_id())?,
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url())?)
    .with_consent_url(ConsentUrl::parse(&fake.consent_url())?);
    let client = Client::new(config)?;
    let dir = std::env::temp_dir().join(format!("login-app-{}", std::process::id()));
    let store = FileStore::new(dir.join("token.json"));

    // The redirect URI registered with the app (here with the fake, on a free port: Pinterest
    // matches it byte for byte, port included).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let redirect_uri = format!("http://localhost:{port}/pinterest/callback");
    fake.register_redirect_uri(&redirect_uri);
    let options = LoginConfig::new(vec![Scope::BoardsRead, Scope::PinsRead])
        .with_redirect_uri(RedirectUri::new(redirect_uri)?)
        .with_timeout(Duration::from_secs(30));
    let token = client.login(&store, &options, |start| {
        // A real app opens the browser on the start address here; the stand-in follows it to
        // the consent page and back, cookies kept.
        let url = start.url().to_string();
        std::thread::spawn(move || {
            let _ = fake_pinterest::Browser::new(None).follow(&url);
        });
    })?;
    println!(
        "logged in: scopes {:?}, saved to {}",
        token
            .scopes()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        store.path().display()
    );

    let tokens = TokenSource::new(client, store)?;
    let bearer = tokens.access_token()?;
    println!(
        "a valid token, {} bytes, from the saved set",
        bearer.secret().len()
    );
    println!(
        "the fake counted {} code exchange and no PKCE refusal: {}",
        fake.stats().token.authorization_code,
        fake.stats().pkce_refused == 0
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
