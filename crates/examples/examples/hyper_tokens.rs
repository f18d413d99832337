//! The README's async example: a valid access token from the file `pinterest-oauth login` wrote.

use pinterest_oauth_hyper::{AppId, AppSecret, Client, ClientConfig, FileStore, TokenSource};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| std::env::var(name).map_err(|_| format!("set {name}"));
    let app_id = AppId::new(env("PINTEREST_APP_ID")?)?;
    let app_secret = AppSecret::new(env("PINTEREST_APP_SECRET")?);
    let client = Client::new(ClientConfig::new(app_id, app_secret))?;
    // One refresh however many tasks ask; the rotated set is saved before anyone sees it.
    let tokens = TokenSource::new(client, FileStore::new(env("PINTEREST_TOKEN_FILE")?))?;
    let bearer = tokens.access_token().await?;
    println!("a valid token, {} bytes", bearer.secret().len());
    Ok(())
}
