//! An app that logs its user in with the library's loopback login, then keeps a valid token,
//! against a local fake Pinterest (a stand-in browser approves the consent page).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_ureq::login::LoginConfig;
use pinterest_oauth_ureq::{
    AppId, AppSecret, BaseUrl, Client, ClientConfig, ConsentUrl, FileStore, Pkce, RedirectUri,
    Scope, TokenSource,
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

    // The registered redirect URI (port 0 here: any free port, for the example).
    let options = LoginConfig::new(vec![Scope::BoardsRead, Scope::PinsRead])
        .with_redirect_uri(RedirectUri::new("http://localhost:0/pinterest/callback")?)
        .with_timeout(Duration::from_secs(30))
        .with_pkce(Pkce::S256);
    let token = client.login(&store, &options, |url| {
        // A real app opens the browser here; the stand-in follows the consent page.
        let url = url.to_string();
        std::thread::spawn(move || {
            if let Ok(consent) = fake_pinterest::visit(&url, None)
                && let Some(callback) = consent.location
            {
                let _ = fake_pinterest::visit(&callback, None);
            }
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
