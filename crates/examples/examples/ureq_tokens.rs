//! The README's blocking example: a valid access token from the file `pinterest-oauth login` wrote.

use pinterest_oauth_ureq::{AppId, AppSecret, Client, ClientConfig, FileStore, TokenSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| std::env::var(name).map_err(|_| format!("set {name}"));
    let app_id = AppId::new(env("PINTEREST_APP_ID")?)?;
    let app_secret = AppSecret::new(env("PINTEREST_APP_SECRET")?);
    let client = Client::new(ClientConfig::new(app_id, app_secret))?;
    // Refreshed when due; the rotated set is saved before the token is handed out.
    let tokens = TokenSource::new(client, FileStore::new(env("PINTEREST_TOKEN_FILE")?))?;
    let bearer = tokens.access_token()?;
    println!("a valid token, {} bytes", bearer.secret().len());
    Ok(())
}
