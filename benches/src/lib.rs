//! What the benchmarks share: Pinterest's canned answers, the app, and the floor (the least
//! work any client must do for one exchange).
//!
//! Run them with `cargo bench -p pinterest-oauth-benches`; `BENCHMARKS.md` has the figures.

use std::time::SystemTime;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The app id of every benchmark.
pub const APP_ID: &str = "1234567";
/// The app secret of every benchmark.
pub const APP_SECRET: &str = "0123456789abcdef0123456789abcdef01234567";
/// The registered redirect URI.
pub const REDIRECT_URI: &str = "http://localhost:8085/";
/// A code as Pinterest's consent page gives it.
pub const CODE: &str = "7f3c9a1e2b4d6f8a0c2e4a6b8d0f1a3c5e7f9b1d";
/// A refresh token as Pinterest issues it.
pub const REFRESH_TOKEN: &str =
    "pinr_AQABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// Pinterest's token endpoint.
pub const TOKEN_URI: &str = "https://api.pinterest.com/v5/oauth/token";

/// Pinterest's answer to a code exchange (the shape of `OauthAccessTokenResponseCode`).
pub const CODE_ANSWER: &[u8] = br#"{"access_token":"pina_AMAZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","refresh_token":"pinr_AQABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","response_type":"authorization_code","expires_in":2592000,"refresh_token_expires_in":5184000,"refresh_token_expires_at":1805000000,"scope":"boards:read,pins:read,user_accounts:read","token_type":"bearer"}"#;

/// Pinterest's answer to a refresh (`OauthAccessTokenResponseRefresh`, continuous refresh).
pub const REFRESH_ANSWER: &[u8] = br#"{"access_token":"pina_AMAZBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB","refresh_token":"pinr_AQABBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB","response_type":"refresh_token","expires_in":2592000,"refresh_token_expires_in":5184000,"refresh_token_expires_at":1805000000,"scope":"boards:read,pins:read,user_accounts:read","token_type":"bearer"}"#;

/// A canned HTTP answer, as every client receives it.
pub fn answer(body: &'static [u8]) -> http::Response<&'static [u8]> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .expect("a valid response")
}

/// A fixed "now" (the benches never read the clock for the core).
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000)
}

/// The floor's token: every field borrowed from the body.
#[derive(Debug, Deserialize)]
pub struct FloorToken<'a> {
    /// `access_token`.
    pub access_token: &'a str,
    /// `refresh_token`.
    #[serde(default)]
    pub refresh_token: Option<&'a str>,
    /// `expires_in`.
    pub expires_in: u64,
    /// `scope`.
    #[serde(default)]
    pub scope: Option<&'a str>,
    /// `token_type`.
    pub token_type: &'a str,
}

#[derive(Serialize)]
struct CodeForm<'a> {
    grant_type: &'static str,
    code: &'a str,
    redirect_uri: &'a str,
    continuous_refresh: bool,
}

#[derive(Serialize)]
struct RefreshForm<'a> {
    grant_type: &'static str,
    refresh_token: &'a str,
}

/// The least work any client must do to build a token request: a serde_urlencoded body, base64
/// credentials and an `http::Request` from the builder (the URI parsed once, ahead).
fn floor_request(uri: &http::Uri, body: String) -> http::Request<Vec<u8>> {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{APP_ID}:{APP_SECRET}"));
    http::Request::builder()
        .method(http::Method::POST)
        .uri(uri.clone())
        .header(http::header::AUTHORIZATION, format!("Basic {credentials}"))
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body.into_bytes())
        .expect("a valid request")
}

/// The floor of a code exchange: build the request, then parse the answer borrowed.
pub fn floor_code_exchange<'a>(
    uri: &http::Uri,
    answer: &http::Response<&'a [u8]>,
) -> (http::Request<Vec<u8>>, FloorToken<'a>) {
    let body = serde_urlencoded::to_string(CodeForm {
        grant_type: "authorization_code",
        code: CODE,
        redirect_uri: REDIRECT_URI,
        continuous_refresh: true,
    })
    .expect("a flat form");
    let request = floor_request(uri, body);
    let token = serde_json::from_slice(answer.body()).expect("the canned answer");
    (request, token)
}

/// The floor of a refresh.
pub fn floor_refresh<'a>(
    uri: &http::Uri,
    answer: &http::Response<&'a [u8]>,
) -> (http::Request<Vec<u8>>, FloorToken<'a>) {
    let body = serde_urlencoded::to_string(RefreshForm {
        grant_type: "refresh_token",
        refresh_token: REFRESH_TOKEN,
    })
    .expect("a flat form");
    let request = floor_request(uri, body);
    let token = serde_json::from_slice(answer.body()).expect("the canned answer");
    (request, token)
}
