//! The async client: one method per call Pinterest's token endpoints offer.

use std::time::SystemTime;

use pinterest_oauth_core::{
    AuthorizationCode, ClientConfig, Grant, RedirectUri, RefreshToken, Revocation, Scope, Token,
    parse_revoke_response, parse_token_response, revoke_request, token_request,
};

use crate::{Error, HttpClient, Settings, execute};

/// An async Pinterest OAuth client: the core's requests sent over hyper.
///
/// Cheap to clone; clones share one connection pool across tasks. Its futures are `Send` and
/// run on multi-thread and current-thread tokio runtimes alike.
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::{AppId, AppSecret, ClientConfig, RefreshToken};
/// use pinterest_oauth_hyper::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
/// let client = Client::new(config)?;
/// let token = client.refresh(&RefreshToken::new("pinr.…")).await?;
/// // Pinterest rotated the refresh token: persist token.refresh_token() now.
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    config: ClientConfig,
    http: HttpClient,
}

impl Client {
    /// A client with default [`Settings`].
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        Client::with_settings(config, &Settings::default())
    }

    /// A client with these settings.
    pub fn with_settings(config: ClientConfig, settings: &Settings) -> Result<Client, Error> {
        Ok(Client::from_parts(config, HttpClient::new(settings)?))
    }

    /// A client sharing an existing HTTP client (and its pool).
    pub fn from_parts(config: ClientConfig, http: HttpClient) -> Client {
        Client { config, http }
    }

    /// The app configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Exchanges the code from the consent redirect (with `continuous_refresh=true`).
    pub async fn exchange_code(
        &self,
        code: AuthorizationCode,
        redirect_uri: &RedirectUri,
    ) -> Result<Token, Error> {
        self.request_token(&Grant::authorization_code(code, redirect_uri.clone()))
            .await
    }

    /// Refreshes. Pinterest rotates the refresh token: persist the returned one.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Token, Error> {
        self.request_token(&Grant::refresh_token(refresh_token.clone()))
            .await
    }

    /// A token for the app itself.
    pub async fn client_credentials(&self, scopes: &[Scope]) -> Result<Token, Error> {
        self.request_token(&Grant::client_credentials(scopes.to_vec())?)
            .await
    }

    /// Revokes a token.
    pub async fn revoke(&self, revocation: &Revocation) -> Result<(), Error> {
        let response = execute(&self.http, revoke_request(&self.config, revocation)).await?;
        Ok(parse_revoke_response(&response)?)
    }

    /// Sends any grant and parses the token, timed at the moment the answer arrived.
    pub async fn request_token(&self, grant: &Grant) -> Result<Token, Error> {
        let response = execute(&self.http, token_request(&self.config, grant)).await?;
        Ok(parse_token_response(SystemTime::now(), &response)?)
    }
}
