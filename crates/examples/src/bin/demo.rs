//! The whole flow against a local fake Pinterest, with no credentials and no network:
//! consent URL, browser redirect, state check, code exchange (ureq), refresh with rotation
//! (hyper), client credentials, revocation. Secrets are redacted in everything printed.

#![allow(clippy::print_stdout)]

use examples::{show_recorded, show_token};
use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_ureq::{
    AppId, AppSecret, BaseUrl, ClientConfig, ConsentUrl, Pkce, RedirectUri, Revocation, Scope,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let fake = FakePinterest::start(FakeConfig::default())?;
    println!(
        "fake Pinterest on {} (app id {})\n",
        fake.origin(),
        fake.app_id()
    );
    let config = ClientConfig::new(
        AppId::new(fake.app_id())?,
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url())?)
    .with_consent_url(ConsentUrl::parse(&fake.consent_url())?);
    let redirect_uri = RedirectUri::new("http://localhost:8085/")?;
    let last_request = || {
        fake.requests()
            .last()
            .map(show_recorded)
            .unwrap_or_default()
    };

    println!("== 1. consent URL, with a state from 32 bytes of OS entropy");
    let blocking = pinterest_oauth_ureq::Client::new(config.clone())?;
    let scopes = [Scope::BoardsRead, Scope::PinsRead];
    let consent = blocking.authorization_url(&redirect_uri, &scopes, Pkce::Off)?;
    let state = consent.state().secret();
    println!("  {}\n", consent.url().as_str().replace(state, "<state>"));

    println!("== 2. the browser follows it; Pinterest redirects back");
    let callback = fake.approve(consent.url().as_str())?;
    let grant = consent.callback(&callback)?;
    println!(
        "  callback carried {:?}; state matched (constant-time)",
        grant.code()
    );
    let forged = callback.replace(state, "forged-state");
    println!(
        "  the same callback with a forged state -> {}\n",
        consent.callback(&forged).unwrap_err()
    );

    println!("== 3. exchange the code (blocking, ureq)");
    let token = blocking.exchange(grant)?;
    print!("{}", last_request());
    println!("  -> {}\n", show_token(&token));

    println!("== 4. refresh (async, hyper): Pinterest rotates the refresh token");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let asynchronous = pinterest_oauth_hyper::Client::new(config.clone())?;
    let old_refresh = token.refresh_token().ok_or("no refresh token")?.clone();
    let refreshed = runtime.block_on(asynchronous.refresh(&old_refresh))?;
    print!("{}", last_request());
    println!("  -> {}", show_token(&refreshed));
    let stale = runtime
        .block_on(asynchronous.refresh(&old_refresh))
        .unwrap_err();
    println!("  the old refresh token now -> {stale}");
    println!("  consent needed: {}\n", stale.is_consent_needed());

    println!("== 5. client credentials");
    let app_token = blocking.client_credentials(&[Scope::AdsRead])?;
    print!("{}", last_request());
    println!("  -> {}\n", show_token(&app_token));

    println!("== 6. revoke the access token");
    let access = refreshed.access_token().ok_or("no access token")?.clone();
    println!(
        "  fake accepts it before: {}",
        fake.access_token_valid(access.secret())
    );
    runtime.block_on(asynchronous.revoke(&Revocation::access_token(access.clone())))?;
    print!("{}", last_request());
    println!(
        "  fake accepts it after:  {}\n",
        fake.access_token_valid(access.secret())
    );

    let stats = fake.stats();
    println!(
        "fake counted: {} code exchange, {} refreshes, {} client credentials, {} revoke, {} connections",
        stats.token.authorization_code,
        stats.token.refresh_token,
        stats.token.client_credentials,
        stats.revoke,
        stats.connections
    );
    Ok(())
}
