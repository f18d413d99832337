//! A successful token response, with absolute expiry times.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::error::AccessTokenProblem;
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

/// Checks an access token against RFC 6750's `b64token`.
pub(crate) fn check_bearer(token: &str) -> Result<(), AccessTokenProblem> {
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if ok {
        Ok(())
    } else {
        Err(AccessTokenProblem::Malformed)
    }
}

/// The lifetime assumed when a success answer has no usable `expires_in`: one hour. Short
/// enough that a token of unknown lifetime is never trusted for long; the request budget keeps
/// the refreshes it causes rare.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// The longest lifetime believed (ten years): longer ones, and times further out, are clamped
/// to it, so a server's absurd value cannot overflow a clock or a date format.
pub const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);

/// A token set from Pinterest, with expiry times made absolute from the caller's `now`.
///
/// Times are wall-clock (`SystemTime`) because tokens are persisted and outlive the process.
/// `Debug` redacts both tokens. A set may lack a usable access token (see
/// [`access_token_problem`](Self::access_token_problem)) but then has a refresh token: a set
/// always holds at least one credential.
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
/// assert_eq!(token.access_token().unwrap().secret(), "pina.a");
/// assert_eq!(token.token_type(), &TokenType::Bearer);
/// assert_eq!(token.expires_at(), now + Duration::from_secs(2_592_000));
/// assert_eq!(token.scopes(), [Scope::BoardsRead, Scope::PinsRead]);
/// assert_eq!(token.refresh_token_expires_at(), Some(now + Duration::from_secs(5_184_000)));
/// assert!(!token.is_expired(now));
/// # Ok::<(), pinterest_oauth_core::ResponseError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Token {
    pub(crate) access_token: Option<AccessToken>,
    pub(crate) access_problem: Option<AccessTokenProblem>,
    pub(crate) token_type: TokenType,
    pub(crate) received_at: SystemTime,
    pub(crate) expires_in: Duration,
    pub(crate) expires_at: SystemTime,
    pub(crate) scopes: Option<Vec<Scope>>,
    pub(crate) response_type: Option<ResponseType>,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) refresh_token_expires_in: Option<Duration>,
    pub(crate) refresh_token_expires_at: Option<SystemTime>,
    pub(crate) ignored: IgnoredFields,
}

/// Two sets are equal when they hold the same credentials, times and scopes; which answer
/// fields were ignored while parsing is not part of the set.
impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        let Token {
            access_token,
            access_problem,
            token_type,
            received_at,
            expires_in,
            expires_at,
            scopes,
            response_type,
            refresh_token,
            refresh_token_expires_in,
            refresh_token_expires_at,
            ignored: _,
        } = self;
        *access_token == other.access_token
            && *access_problem == other.access_problem
            && *token_type == other.token_type
            && *received_at == other.received_at
            && *expires_in == other.expires_in
            && *expires_at == other.expires_at
            && *scopes == other.scopes
            && *response_type == other.response_type
            && *refresh_token == other.refresh_token
            && *refresh_token_expires_in == other.refresh_token_expires_in
            && *refresh_token_expires_at == other.refresh_token_expires_at
    }
}

impl Eq for Token {}

impl Token {
    /// The access token, unless the answer's was missing or unusable (then see
    /// [`access_token_problem`](Self::access_token_problem)).
    pub fn access_token(&self) -> Option<&AccessToken> {
        self.access_token.as_ref()
    }
    /// Why there is no usable access token, when there is none.
    pub fn access_token_problem(&self) -> Option<AccessTokenProblem> {
        self.access_problem
    }
    /// The access token if it is usable and has not expired at `now`.
    pub fn valid_access_token(&self, now: SystemTime) -> Option<&AccessToken> {
        self.access_token.as_ref().filter(|_| now < self.expires_at)
    }
    /// The token type (Pinterest: bearer).
    pub fn token_type(&self) -> &TokenType {
        &self.token_type
    }
    /// The `now` the response was parsed at, truncated to the second.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }
    /// The lifetime the server granted (`expires_in`), clamped to [`MAX_LIFETIME`];
    /// [`DEFAULT_EXPIRES_IN`] when the answer had none.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }
    /// When the access token expires: `received_at + expires_in`.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
    /// The granted scopes (empty when the server did not say).
    pub fn scopes(&self) -> &[Scope] {
        self.scopes.as_deref().unwrap_or_default()
    }
    /// `false` when the answer omitted `scope` (on a refresh that means "unchanged": the token
    /// lifecycle then keeps the scopes it knew).
    pub fn scopes_known(&self) -> bool {
        self.scopes.is_some()
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
    /// `true` once `now` has reached the access token's expiry, or when there is no usable
    /// access token.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.valid_access_token(now).is_none()
    }
    /// Fields of the answer that were missing or unusable and were ignored or replaced by a
    /// default (their names only, never their values): worth a debug log line.
    pub fn ignored_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ignored.names()
    }
    /// This set, with `requested` as its scopes when the answer omitted `scope` (RFC 6749 §5.1:
    /// then the scopes granted are the ones requested). Scopes the answer named are kept.
    #[must_use]
    pub fn with_requested_scopes(mut self, requested: Option<&[Scope]>) -> Token {
        if self.scopes.is_none()
            && let Some(requested) = requested
        {
            self.scopes = Some(requested.to_vec());
        }
        self
    }

    /// `true` when the answer broke JSON's rules (a member twice, bytes after the object, a
    /// number no `f64` holds) and was read by the lenient second reading: keep its raw body
    /// aside (see [`must_keep_raw_answer`](crate::must_keep_raw_answer)).
    pub fn read_leniently(&self) -> bool {
        self.ignored.lenient
    }
}

/// The names of answer fields that were ignored (no allocation while there are none), and
/// whether the answer needed the lenient reading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IgnoredFields {
    names: Vec<&'static str>,
    pub(crate) lenient: bool,
}

impl IgnoredFields {
    pub(crate) fn add(&mut self, name: &'static str) {
        if !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    /// Notes `name` and gives up its value.
    pub(crate) fn skip<T>(&mut self, name: &'static str) -> Option<T> {
        self.add(name);
        None
    }

    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.names.iter().copied()
    }
}
