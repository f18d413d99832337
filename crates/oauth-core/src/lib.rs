//! Pinterest API v5 OAuth without IO.
//!
//! This crate turns what you want from Pinterest's OAuth endpoints into the exact
//! [`http::Request`] to send, and turns whatever comes back into a typed [`Token`] or a typed
//! [`Error`]. It never opens a socket, reads a clock or draws randomness: you pass `now` and
//! entropy in, and send the request with any HTTP client, blocking or async. The
//! `pinterest-oauth-ureq` and `pinterest-oauth-hyper` crates do that for you.
//!
//! **In scope**: the token endpoint's three grants (`authorization_code`, `refresh_token`,
//! `client_credentials`) and revocation, exactly as Pinterest's OpenAPI 5.23 spec describes them;
//! HTTP Basic client authentication per RFC 6749 §2.3.1; Pinterest's and RFC 6749's error shapes;
//! the consent URL, `state`, and the callback check; secret types that redact and zeroize.
//!
//! **Out of scope**: sockets, TLS, timeouts, clocks, randomness, storage: the caller's (or a
//! transport crate's) business.
//!
//! ```text
//!  caller                         core                              network
//!  ──────                         ────                              ───────
//!  entropy ─────────────▶ CsrfState::from_entropy
//!  config, scopes ──────▶ authorization_url ─────▶ browser ─▶ consent page
//!  callback URL ────────▶ parse_callback ──▶ AuthorizationCode
//!  grant ───────────────▶ token_request ──▶ http::Request ─────────▶ POST /oauth/token
//!  now, http::Response ─▶ parse_token_response ──▶ Token | Error ◀──── response
//! ```
//!
//! # A full exchange
//!
//! ```
//! use pinterest_oauth_core::{
//!     authorization_url, parse_callback, parse_token_response, token_request, http, AppId,
//!     AppSecret, ClientConfig, CsrfState, Grant, RedirectUri, Scope,
//! };
//! use std::time::{Duration, SystemTime};
//!
//! // 1. Configure the app once.
//! let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
//! let redirect_uri = RedirectUri::new("http://localhost:8085/")?;
//!
//! // 2. Send the user to the consent page with a fresh state (entropy from your OS RNG).
//! let state = CsrfState::from_entropy(&[42u8; 32])?;
//! let url = authorization_url(&config, &redirect_uri, &[Scope::BoardsRead], &state, None)?;
//! assert!(url.as_str().starts_with("https://www.pinterest.com/oauth/?client_id=1234567"));
//!
//! // 3. Pinterest redirects back; check the state and take the code.
//! let callback = format!("http://localhost:8085/?code=one-time-code&state={}", state.secret());
//! let code = parse_callback(&callback, &state)?;
//!
//! // 4. Build the exchange request and send it with any HTTP client.
//! let request = token_request(&config, &Grant::authorization_code(code, redirect_uri));
//! assert_eq!(request.uri(), "https://api.pinterest.com/v5/oauth/token");
//! assert_eq!(
//!     request.body(),
//!     b"grant_type=authorization_code&code=one-time-code\
//!       &redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F&continuous_refresh=true"
//! );
//!
//! // 5. Parse what came back, at the time it came back.
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
//! let response = http::Response::builder()
//!     .status(200)
//!     .header("content-type", "application/json")
//!     .body(r#"{"access_token":"pina.AAA","token_type":"bearer","expires_in":2592000,
//!              "scope":"boards:read","refresh_token":"pinr.BBB",
//!              "refresh_token_expires_in":5184000,"response_type":"authorization_code"}"#)?;
//! let token = parse_token_response(now, &response)?;
//! assert_eq!(token.expires_at(), now + Duration::from_secs(2_592_000));
//! assert_eq!(token.refresh_token().map(|t| t.secret()), Some("pinr.BBB"));
//!
//! // 6. Later, refresh with the (rotating) refresh token.
//! let refresh = Grant::refresh_token(token.refresh_token().unwrap().clone());
//! let request = token_request(&config, &refresh);
//! assert_eq!(request.body(), b"grant_type=refresh_token&refresh_token=pinr.BBB");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Secrets ([`AppSecret`], [`AccessToken`], [`RefreshToken`], [`AuthorizationCode`],
//! [`CsrfState`]) print as `<redacted>` in `Debug`, have no `Display`, are read only through
//! `secret()`, compare in constant time and are zeroized on drop. The `Authorization` header is
//! marked sensitive.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]

pub use http;
pub use url::Url;

mod authorize;
mod config;
pub mod document;
mod endpoint;
mod error;
mod grant;
mod json;
mod lifecycle;
mod pkce;
mod redact;
mod request;
mod response;
mod retry_after;
mod scope;
mod secret;
mod token;

pub use authorize::{MIN_STATE_ENTROPY, MIN_STATE_LEN, authorization_url, parse_callback};
pub use config::{AppId, ClientConfig, DEFAULT_USER_AGENT};
pub use document::{DOCUMENT_VERSION, MAX_REVISION, TokenDocument};
pub use endpoint::{
    BaseUrl, ConsentUrl, PINTEREST_CONSENT_URL, PRODUCTION_BASE_URL, RedirectUri, SANDBOX_BASE_URL,
    check_request_uri,
};
pub use error::{
    ApiError, ApiErrorKind, CallbackError, ConfigError, DocumentError, Error, JsonKind,
    Malformation, MalformedResponse, ResponseError, RetryAfter, UrlProblem, UrlRole,
};
pub use grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, Grant, RefreshTokenGrant, Revocation,
    TokenTypeHint,
};
pub use lifecycle::{
    Action, Failure, LifecycleConfig, RefreshState, Status, Stop, StopReason, TokenLifecycle, Wait,
};
pub use pkce::{MIN_VERIFIER_ENTROPY, PkceVerifier};
pub use request::{FORM_CONTENT_TYPE, revoke_request, token_request};
pub use response::{
    RATE_LIMIT_RESET_HEADER, REQUEST_ID_HEADER, parse_revoke_response, parse_token_response,
};
pub use scope::{Scope, UnknownScope};
pub use secret::{AccessToken, AppSecret, AuthorizationCode, CsrfState, RefreshToken};
pub use token::{
    AccessTokenProblem, DEFAULT_EXPIRES_IN, MAX_LIFETIME, ResponseType, Token, TokenType,
};
