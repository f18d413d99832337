//! The README's async example: refresh a token (and see that it rotates).

use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, RefreshToken};
use pinterest_oauth_hyper::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| std::env::var(name).map_err(|_| format!("set {name}"));
    let app_id = AppId::new(env("PINTEREST_APP_ID")?)?;
    let app_secret = AppSecret::new(env("PINTEREST_APP_SECRET")?);
    let client = Client::new(ClientConfig::new(app_id, app_secret))?;
    let refresh_token = RefreshToken::new(env("PINTEREST_REFRESH_ACCESS_TOKEN")?);
    let token = client.refresh(&refresh_token).await?;
    println!("access token valid until {:?}", token.expires_at());
    // Pinterest rotated the refresh token: store token.refresh_token() now, the old one is dead.
    Ok(())
}
