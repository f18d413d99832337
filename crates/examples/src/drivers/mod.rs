//! Two drivers of the sans-IO core with no help from this project's transports: one over
//! `reqwest` (async, rustls), one over a bare `std::net::TcpStream` speaking HTTP/1.1. Each
//! runs every grant and a revocation against a Pinterest (the fake, in the examples and tests).
//!
//! The core asks little of a transport: send the `http::Request<Vec<u8>>` it built exactly as
//! given (method, URI, headers, body), follow no redirect, bound the time and the body size,
//! and hand back the status, the headers and the whole body.

pub mod reqwest_driver;
pub mod tcp_driver;

use pinterest_oauth_core::{
    AuthorizationCode, AuthorizationCodeGrant, ClientConfig, ClientCredentialsGrant, Grant,
    RedirectUri, RefreshToken, Revocation, Scope, Token, http,
};

/// The largest answer body a driver reads: Pinterest's token answers are well under 1 KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// What one driver did: a line per call, secrets redacted.
#[derive(Debug, Default)]
pub struct Run {
    /// One line per call.
    pub steps: Vec<String>,
}

/// Any failure of a driver's run, as text (the examples print it).
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Runs every grant and a revocation through `send` (a driver): a code exchange, a refresh
/// (the rotated refresh token is what the next call would store), client credentials, and
/// the revocation of the access token.
pub async fn every_grant<F, Fut>(
    config: &ClientConfig,
    code: &str,
    redirect_uri: &RedirectUri,
    send: F,
) -> Result<(Token, Run), Failure>
where
    F: Fn(http::Request<Vec<u8>>) -> Fut,
    Fut: std::future::Future<Output = Result<http::Response<Vec<u8>>, Failure>>,
{
    let mut run = Run::default();
    let now = std::time::SystemTime::now;

    let grant = Grant::AuthorizationCode(AuthorizationCodeGrant::new(
        AuthorizationCode::new(code),
        redirect_uri.clone(),
    ));
    let answer = send(pinterest_oauth_core::token_request(config, &grant)).await?;
    let first = pinterest_oauth_core::parse_token_response(now(), &answer)?;
    run.steps
        .push(format!("code exchange: {}", crate::show_token(&first)));

    let refresh = first.refresh_token().cloned().ok_or("no refresh token")?;
    let answer = send(pinterest_oauth_core::token_request(
        config,
        &Grant::refresh_token(refresh),
    ))
    .await?;
    let rotated = pinterest_oauth_core::parse_token_response(now(), &answer)?;
    let renewed = rotated.refresh_token() != first.refresh_token();
    run.steps.push(format!(
        "refresh: {} (refresh token rotated: {renewed})",
        crate::show_token(&rotated)
    ));

    let grant = Grant::ClientCredentials(ClientCredentialsGrant::new(vec![Scope::AdsRead])?);
    let answer = send(pinterest_oauth_core::token_request(config, &grant)).await?;
    let app = pinterest_oauth_core::parse_token_response(now(), &answer)?;
    run.steps
        .push(format!("client credentials: {}", crate::show_token(&app)));

    let access = app.access_token().cloned().ok_or("no access token")?;
    let answer = send(pinterest_oauth_core::revoke_request(
        config,
        &Revocation::access_token(access),
    ))
    .await?;
    pinterest_oauth_core::parse_revoke_response(&answer)?;
    run.steps
        .push("revoke: the app token is revoked".to_owned());
    Ok((rotated, run))
}

/// A refresh token for tests to check against the fake (the rotated one).
pub fn refresh_secret(token: &Token) -> Option<&str> {
    token.refresh_token().map(RefreshToken::secret)
}
