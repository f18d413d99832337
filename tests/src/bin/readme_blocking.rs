//! The README's blocking example as a cron job runs it: one `access_token()`, then `main`
//! returns. Only the base URL comes from `PINTEREST_API_URI` (the tests' fake).

use pinterest_oauth_ureq::{
    AppId, AppSecret, BaseUrl, Client, ClientConfig, FileStore, TokenSource,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| std::env::var(name).map_err(|_| format!("set {name}"));
    let app_id = AppId::new(env("PINTEREST_APP_ID")?)?;
    let app_secret = AppSecret::new(env("PINTEREST_APP_SECRET")?);
    let config = ClientConfig::new(app_id, app_secret)
        .with_base_url(BaseUrl::parse(&env("PINTEREST_API_URI")?)?);
    let client = Client::new(config)?;
    let tokens = TokenSource::new(client, FileStore::new(env("PINTEREST_TOKEN_FILE")?))?;
    let bearer = tokens.access_token()?;
    std::hint::black_box(bearer.secret().len());
    Ok(())
}
