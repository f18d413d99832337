//! docs/fleet.md's first example: one grant shared through Redis by every process that opens it.

use pinterest_oauth_redis::RedisStore;
use pinterest_oauth_ureq::{Client, ClientConfig, TokenSource};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ClientConfig::from_env()?; // PINTEREST_APP_ID, PINTEREST_APP_SECRET, …
    let store = RedisStore::open("redis://10.0.0.5:6379/0", config.app_id(), "default")?;
    let tokens = TokenSource::new(Client::new(config)?, store)?; // or pinterest_oauth_hyper's
    let bearer = tokens.access_token()?; // exactly one process refreshes at a time
    println!("a valid token, {} bytes", bearer.secret().len());
    Ok(())
}
