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
//!
//! # Driving the core yourself
//!
//! Any HTTP client can carry the core's requests; `crates/examples/src/drivers` in the
//! repository has two complete drivers that CI runs for every grant and a revocation: one over
//! `reqwest` and one over a bare `std::net::TcpStream` (no HTTP library at all).
//!
//! **What you get.** [`token_request`] and [`revoke_request`] give an `http::Request<Vec<u8>>`:
//! `POST` to an absolute URI (`https`, or plain `http` to a loopback host for a local fake),
//! with `Authorization: Basic …` (marked sensitive), `Content-Type:
//! application/x-www-form-urlencoded`, `Accept: application/json`, `User-Agent` and
//! `Content-Length`, and the form body. Send it as given; adding `Host` or connection headers
//! is fine.
//!
//! **What the parsers read.** [`parse_token_response`] and [`parse_revoke_response`] take any
//! `http::Response<B: AsRef<[u8]>>` and read: the status (any 2xx is success, 201 included; 3xx
//! is reported as a redirect that was not followed; every other status is an error read from
//! the body); the body as one JSON object (Pinterest's `{code, message}` and RFC 6749's
//! `{error, error_description}` both); and, for errors only, the headers `Retry-After`,
//! `X-RateLimit-Reset`, `X-Pinterest-Rid` (the request id) and `Content-Type`. Pass `now`, the
//! time the answer arrived: expiry times count from it. [`Failure::of`] classifies an error
//! for the [`TokenLifecycle`]; a network failure is [`Failure::Transient`].
//!
//! **What a transport must do.**
//!
//! - Return every status as data: a 401's body says whether the grant is dead (code 283) or the
//!   app was refused (code 2).
//! - Follow no redirect: it would carry the credentials to another host.
//! - Bound the time (connect, and the whole call) and the body (Pinterest's answers are well
//!   under 1 KiB: refuse a `Content-Length` past the cap before reading, and stop reading at it).
//! - Keep the status and the headers.
//! - Refuse a URI [`check_request_uri`] refuses, before sending a byte.
//! - Wipe what it buffered: the request body holds the code or the refresh token, the answer
//!   both tokens (`zeroize::Zeroizing<Vec<u8>>`).
//!
//! **What it must not do.**
//!
//! - Send an authorization-code exchange twice once a byte of it may have left (Pinterest may
//!   revoke the tokens of a code presented twice); only a failed connect is safe to retry.
//! - Retry a refresh whose answer was lost: the refresh token it spent is already dead.
//! - Log bodies or the `Authorization` header.
//!
//! The shape of a driver, here over a stand-in that answers like Pinterest:
//!
//! ```
//! use pinterest_oauth_core::{
//!     check_request_uri, parse_token_response, token_request, http, AppId, AppSecret,
//!     ClientConfig, Grant, RefreshToken,
//! };
//! use std::time::SystemTime;
//!
//! /// Your HTTP client goes here: send as given, no redirects, capped, any status as data.
//! fn send(request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, Box<dyn std::error::Error>> {
//!     check_request_uri(request.uri())?;
//!     Ok(http::Response::builder().status(200).body(
//!         br#"{"access_token":"pina.new","token_type":"bearer","expires_in":2592000,
//!              "refresh_token":"pinr.rotated","scope":"boards:read"}"#.to_vec(),
//!     )?)
//! }
//!
//! let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("app-secret"));
//! let request = token_request(&config, &Grant::refresh_token(RefreshToken::new("pinr.old")));
//! let answer = send(request)?;
//! let token = parse_token_response(SystemTime::now(), &answer)?;
//! // Pinterest rotated the refresh token: store the new one before anything else.
//! assert_eq!(token.refresh_token().map(|t| t.secret()), Some("pinr.rotated"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The reqwest driver's whole transport (`crates/examples/src/drivers/reqwest_driver.rs`):
//!
//! ```text
//! let client = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .connect_timeout(Duration::from_secs(10))
//!     .timeout(Duration::from_secs(30))
//!     .build()?;
//!
//! async fn send(client: &reqwest::Client, request: http::Request<Vec<u8>>)
//!     -> Result<http::Response<Vec<u8>>, Failure> {
//!     pinterest_oauth_core::check_request_uri(request.uri())?;
//!     let (parts, body) = request.into_parts();
//!     let mut answer = client.request(parts.method, parts.uri.to_string())
//!         .headers(parts.headers).body(body).send().await?;
//!     let mut response = http::Response::builder().status(answer.status());
//!     response.headers_mut().map(|h| h.extend(answer.headers().clone()));
//!     let mut bytes = Vec::new();
//!     while let Some(chunk) = answer.chunk().await? {
//!         if bytes.len() + chunk.len() > MAX_BODY { return Err("too large".into()); }
//!         bytes.extend_from_slice(&chunk);
//!     }
//!     Ok(response.body(bytes)?)
//! }
//! ```
//!
//! To get retries, single-flight token sources and stores on top of your client, implement
//! `Http` (blocking) or `AsyncHttp` (async) from the `pinterest-oauth-transport` crate instead:
//! the same duties, and the rest comes with it.

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

mod account;
mod authorize;
mod config;
pub mod document;
mod endpoint;
mod error;
mod grant;
mod json;
mod lenient;
mod lifecycle;
mod pkce;
mod redact;
mod request;
mod response;
mod retry_after;
mod scope;
mod secret;
mod time;
mod token;

pub use account::{UserAccount, parse_user_account, user_account_request};
pub use authorize::{MIN_STATE_ENTROPY, authorization_url, parse_callback};
pub use config::{
    AppId, ClientConfig, DEFAULT_USER_AGENT, ENV_API_URI, ENV_APP_ID, ENV_APP_SECRET,
    ENV_CONSENT_URL,
};
pub use document::{
    DOCUMENT_VERSION, MAX_REVISION, MAX_UNIX_SECONDS, RefreshState, Stop, StopReason,
    TokenDocument, Wait,
};
pub use endpoint::{
    BaseUrl, ConsentUrl, PINTEREST_CONSENT_URL, PRODUCTION_BASE_URL, RedirectUri, SANDBOX_BASE_URL,
    check_request_uri,
};
pub use error::{
    AccessTokenProblem, ApiError, ApiErrorKind, CallbackError, ConfigError, DocumentError, Error,
    JsonKind, Malformation, MalformedResponse, ResponseError, RetryAfter, UrlProblem, UrlRole,
};
pub use grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, Grant, RefreshTokenGrant, Revocation,
    TokenTypeHint,
};
pub use lenient::{must_keep_raw_answer, refresh_tokens_in};
pub use lifecycle::{Action, Failure, LifecycleConfig, Status, TokenLifecycle};
pub use pkce::{MIN_VERIFIER_ENTROPY, PkceVerifier};
pub use request::{FORM_CONTENT_TYPE, revoke_request, token_request};
pub use response::{
    RATE_LIMIT_RESET_HEADER, REQUEST_ID_HEADER, parse_revoke_response, parse_token_response,
};
pub use scope::{Scope, UnknownScope};
pub use secret::{
    AccessToken, AppSecret, AuthorizationCode, CsrfState, MIN_STATE_LEN, RefreshToken,
};
pub use time::{Rfc3339, rfc3339};
pub use token::{DEFAULT_EXPIRES_IN, MAX_LIFETIME, ResponseType, Token, TokenType};
