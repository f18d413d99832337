//! The README's async example as a cron job runs it, on `#[tokio::main(flavor = "current_thread")]`: one
//! `access_token().await`, then `main` returns (the README's own example runs as `readme_tokio`).

use pinterest_oauth_hyper::{Client, ClientConfig, FileStore, TokenSource};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::new(ClientConfig::from_env()?)?;
    let file = std::env::var("PINTEREST_TOKEN_FILE").map_err(|_| "set PINTEREST_TOKEN_FILE")?;
    let tokens = TokenSource::new(client, FileStore::new(file))?;
    let bearer = tokens.access_token().await?;
    std::hint::black_box(bearer.secret().len());
    Ok(())
}
