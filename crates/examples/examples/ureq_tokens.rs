//! The README's blocking example: a valid access token from the file `pinterest-oauth login` wrote.

use pinterest_oauth_ureq::{Client, ClientConfig, FileStore, TokenSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // PINTEREST_APP_ID, PINTEREST_APP_SECRET, PINTEREST_API_URI…: what the CLI reads.
    let client = Client::new(ClientConfig::from_env()?)?;
    let file = std::env::var("PINTEREST_TOKEN_FILE").map_err(|_| "set PINTEREST_TOKEN_FILE")?;
    // Refreshed when due; the rotated set is saved before the token is handed out.
    let tokens = TokenSource::new(client, FileStore::new(file))?;
    let bearer = tokens.access_token()?;
    println!("a valid token, {} bytes", bearer.secret().len());
    Ok(())
}
