//! Drives the sans-IO core with transports of its own, against the local fake Pinterest: every
//! grant and a revocation over reqwest, then over a bare TCP stream.
//!
//! `cargo run -p examples --bin byo_drivers`

use examples::drivers::{self, Failure, reqwest_driver, tcp_driver};
use fake_pinterest::{FakeConfig, FakePinterest};
use pinterest_oauth_core::{AppId, AppSecret, BaseUrl, ClientConfig, RedirectUri};

const REDIRECT: &str = "http://localhost:8085/";

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let fake = FakePinterest::start(FakeConfig::default())?;
    let config = ClientConfig::new(
        AppId::new(fake.app_id())?,
        AppSecret::new(fake.app_secret()),
    )
    .with_base_url(BaseUrl::parse(&fake.api_base_url())?);
    let redirect = RedirectUri::new(REDIRECT)?;

    println!("== reqwest (async, rustls)");
    let client = reqwest_driver::client()?;
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let (_, run) = drivers::every_grant(&config, &code, &redirect, |request| {
        reqwest_driver::send(&client, request)
    })
    .await?;
    run.steps.iter().for_each(|step| println!("  {step}"));

    println!("== a bare TcpStream (HTTP/1.1 by hand)");
    let code = fake.issue_code(REDIRECT, &["boards:read"]);
    let (_, run) = drivers::every_grant(&config, &code, &redirect, |request| async move {
        tokio::task::spawn_blocking(move || tcp_driver::send(request)).await?
    })
    .await?;
    run.steps.iter().for_each(|step| println!("  {step}"));
    Ok(())
}
