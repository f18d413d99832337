//! A successful token response, with absolute expiry times.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::scope::Scope;
use crate::secret::{AccessToken, RefreshToken};

/// The `token_type` of a token; Pinterest sends `bearer` (compared case-insensitively).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum TokenType {
    /// `bearer`, in any case.
    Bearer,
    /// Anything else, kept as received.
    Other(String),
}

impl TokenType {
    /// Classifies a received value.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::TokenType;
    /// assert_eq!(TokenType::parse("Bearer"), TokenType::Bearer);
    /// ```
    pub fn parse(value: &str) -> TokenType {
        if value.eq_ignore_ascii_case("bearer") {
            TokenType::Bearer
        } else {
            TokenType::Other(value.to_owned())
        }
    }

    /// The value as text (`bearer` for [`TokenType::Bearer`]).
    pub fn as_str(&self) -> &str {
        match self {
            TokenType::Bearer => "bearer",
            TokenType::Other(other) => other,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The read-only `response_type` Pinterest adds to a token response.
///
/// Values this crate does not know are kept in [`ResponseType::Unknown`]; they never fail a
/// response.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ResponseType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`.
    ClientCredentials,
    /// `integration_refresh`.
    IntegrationRefresh,
    /// Anything else, kept as received.
    Unknown(String),
}

impl ResponseType {
    /// Classifies a received value.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::ResponseType;
    /// assert_eq!(ResponseType::parse("refresh_token"), ResponseType::RefreshToken);
    /// assert_eq!(ResponseType::parse("new_kind").as_str(), "new_kind");
    /// ```
    pub fn parse(value: &str) -> ResponseType {
        match value {
            "authorization_code" => ResponseType::AuthorizationCode,
            "refresh_token" => ResponseType::RefreshToken,
            "client_credentials" => ResponseType::ClientCredentials,
            "integration_refresh" => ResponseType::IntegrationRefresh,
            other => ResponseType::Unknown(other.to_owned()),
        }
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseType::AuthorizationCode => "authorization_code",
            ResponseType::RefreshToken => "refresh_token",
            ResponseType::ClientCredentials => "client_credentials",
            ResponseType::IntegrationRefresh => "integration_refresh",
            ResponseType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token set from Pinterest, with expiry times made absolute from the caller's `now`.
///
/// Times are wall-clock (`SystemTime`) because tokens are persisted and outlive the process.
/// `Debug` redacts both tokens.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::{parse_token_response, http, Scope, TokenType};
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let response = http::Response::new(
///     r#"{"access_token":"pina.a","token_type":"bearer","expires_in":2592000,
///         "scope":"boards:read,pins:read","refresh_token":"pinr.r",
///         "refresh_token_expires_in":5184000,"response_type":"authorization_code"}"#,
/// );
/// let token = parse_token_response(now, &response)?;
/// assert_eq!(token.access_token().secret(), "pina.a");
/// assert_eq!(token.token_type(), &TokenType::Bearer);
/// assert_eq!(token.expires_at(), now + Duration::from_secs(2_592_000));
/// assert_eq!(token.scopes(), [Scope::BoardsRead, Scope::PinsRead]);
/// assert_eq!(token.refresh_token_expires_at(), Some(now + Duration::from_secs(5_184_000)));
/// assert!(!token.is_expired(now));
/// # Ok::<(), pinterest_oauth_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub(crate) access_token: AccessToken,
    pub(crate) token_type: TokenType,
    pub(crate) received_at: SystemTime,
    pub(crate) expires_in: Duration,
    pub(crate) expires_at: SystemTime,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) response_type: Option<ResponseType>,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) refresh_token_expires_in: Option<Duration>,
    pub(crate) refresh_token_expires_at: Option<SystemTime>,
}

impl Token {
    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    /// The token type (Pinterest: bearer).
    pub fn token_type(&self) -> &TokenType {
        &self.token_type
    }
    /// The `now` the response was parsed at, truncated to the second.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }
    /// The lifetime the server granted (`expires_in`).
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }
    /// When the access token expires: `received_at + expires_in`.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
    /// The granted scopes (empty when the server did not say).
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
    /// Pinterest's `response_type`, when sent.
    pub fn response_type(&self) -> Option<&ResponseType> {
        self.response_type.as_ref()
    }
    /// The refresh token, when one was issued. After a refresh this is the rotated one: persist
    /// it, the old one no longer works.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    /// The refresh token's lifetime (`refresh_token_expires_in`), when sent.
    pub fn refresh_token_expires_in(&self) -> Option<Duration> {
        self.refresh_token_expires_in
    }
    /// When the refresh token expires: the server's `refresh_token_expires_at` when sent, else
    /// `received_at + refresh_token_expires_in`.
    pub fn refresh_token_expires_at(&self) -> Option<SystemTime> {
        self.refresh_token_expires_at
    }
    /// `true` once `now` has reached the access token's expiry.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}
