//! The README's async example as a cron job runs it, on `#[tokio::main(flavor = "current_thread")]`: one
//! `access_token().await`, then `main` returns. Only the base URL comes from
//! `PINTEREST_API_URI` (the tests' fake).

use pinterest_oauth_hyper::{
    AppId, AppSecret, BaseUrl, Client, ClientConfig, FileStore, TokenSource,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| std::env::var(name).map_err(|_| format!("set {name}"));
    let app_id = AppId::new(env("PINTEREST_APP_ID")?)?;
    let app_secret = AppSecret::new(env("PINTEREST_APP_SECRET")?);
    let config = ClientConfig::new(app_id, app_secret)
        .with_base_url(BaseUrl::parse(&env("PINTEREST_API_URI")?)?);
    let client = Client::new(config)?;
    let tokens = TokenSource::new(client, FileStore::new(env("PINTEREST_TOKEN_FILE")?))?;
    let bearer = tokens.access_token().await?;
    std::hint::black_box(bearer.secret().len());
    Ok(())
}
