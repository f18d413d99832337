//! docs/fleet.md's PostgreSQL example: many grants in rows, workers sharing the refreshes.

use pinterest_oauth_postgres::PostgresGrants;
use pinterest_oauth_ureq::{Client, ClientConfig, GrantName, PoolConfig, TokenPool};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ClientConfig::from_env()?; // PINTEREST_APP_ID, PINTEREST_APP_SECRET, …
    let url = std::env::var("DATABASE_URL")?; // postgres://app@db.internal/app?sslmode=verify-full
    let grants = PostgresGrants::open(&url, config.app_id())?;
    let pool = TokenPool::with_config(Client::new(config)?, grants, PoolConfig::default());
    let bearer = pool.access_token(&GrantName::new("customer-42")?)?;
    println!("a valid token, {} bytes", bearer.secret().len());
    // On every worker machine, from a timer: the workers share each pass.
    let report = pool.refresh_due()?;
    println!(
        "{} refreshed, {} failed",
        report.refreshed.len(),
        report.failed.len()
    );
    Ok(())
}
