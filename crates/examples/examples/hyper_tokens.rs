//! The README's async example: a valid access token from the file `pinterest-oauth login` wrote.

use pinterest_oauth_hyper::{Client, ClientConfig, FileStore, TokenSource};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // PINTEREST_APP_ID, PINTEREST_APP_SECRET, PINTEREST_API_URI…: what the CLI reads.
    let client = Client::new(ClientConfig::from_env()?)?;
    let file = std::env::var("PINTEREST_TOKEN_FILE").map_err(|_| "set PINTEREST_TOKEN_FILE")?;
    // One refresh however many tasks ask; the rotated set is saved before anyone sees it.
    let tokens = TokenSource::new(client, FileStore::new(file))?;
    let bearer = tokens.access_token().await?;
    println!("a valid token, {} bytes", bearer.secret().len());
    Ok(())
}
