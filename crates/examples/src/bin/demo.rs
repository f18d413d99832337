//! The offline walk-through: build every request the core makes, print it with secrets
//! redacted, parse canned Pinterest responses and print the typed results.

#![allow(clippy::print_stdout)]

use std::time::{Duration, SystemTime};

use examples::{show_request, show_token};
use pinterest_oauth_core::{
    AppId, AppSecret, ClientConfig, CsrfState, Grant, RedirectUri, Revocation, Scope,
    authorization_url, http, parse_callback, parse_revoke_response, parse_token_response,
    revoke_request, token_request,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ClientConfig::new(AppId::new("1234567")?, AppSecret::new("demo-app-secret"));
    let redirect_uri = RedirectUri::new("http://localhost:8085/")?;
    // A fixed instant so the output is the same on every run.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);

    println!("== 1. consent URL (state from 32 bytes of caller entropy)");
    let state = CsrfState::from_entropy(&[0x5a; 32])?;
    let url = authorization_url(
        &config,
        &redirect_uri,
        &[Scope::BoardsRead, Scope::PinsRead],
        &state,
    )?;
    println!("{}\n", url.as_str().replace(state.secret(), "<state>"));

    println!("== 2. callback: state checked in constant time");
    let callback = format!(
        "http://localhost:8085/?code=demo-code&state={}",
        state.secret()
    );
    let code = parse_callback(&callback, &state)?;
    println!("code {code:?}");
    let forged = parse_callback("http://localhost:8085/?code=x&state=forged", &state);
    println!("forged state -> {}\n", forged.unwrap_err());

    println!("== 3. authorization_code exchange");
    let request = token_request(&config, &Grant::authorization_code(code, redirect_uri));
    println!("{}", show_request(&request));
    let token = parse_token_response(now, &canned(200, TOKEN_RESPONSE))?;
    println!("-> {}\n", show_token(&token));

    println!("== 4. refresh (Pinterest rotates the refresh token)");
    let refresh = token.refresh_token().ok_or("no refresh token")?.clone();
    let request = token_request(&config, &Grant::refresh_token(refresh));
    println!("{}", show_request(&request));
    let rotated = parse_token_response(now, &canned(200, REFRESH_RESPONSE))?;
    println!("-> {}", show_token(&rotated));
    println!(
        "   rotated: {}\n",
        rotated.refresh_token() != token.refresh_token()
    );

    println!("== 5. client_credentials");
    let request = token_request(&config, &Grant::client_credentials(vec![Scope::AdsRead])?);
    println!("{}", show_request(&request));
    let app_token = parse_token_response(now, &canned(201, CLIENT_RESPONSE))?;
    println!("-> {}\n", show_token(&app_token));

    println!("== 6. revoke");
    let request = revoke_request(
        &config,
        &Revocation::access_token(app_token.access_token().clone()),
    );
    println!("{}", show_request(&request));
    parse_revoke_response(&canned(200, ""))?;
    println!("-> revoked\n");

    println!("== 7. typed errors");
    for (status, body) in [
        (
            401,
            r#"{"code":283,"message":"The authorization grant is invalid"}"#,
        ),
        (401, r#"{"code":2,"message":"Authentication failed."}"#),
        (429, r#"{"code":8,"message":"Too many requests"}"#),
        (502, "<html><body>Bad Gateway</body></html>"),
        (200, r#"{"access_token":"pina.cut"#),
    ] {
        let err = parse_token_response(now, &canned(status, body)).unwrap_err();
        println!("{status} -> {err}");
        println!(
            "      invalid grant: {}, transient: {}",
            err.is_invalid_grant(),
            err.is_transient()
        );
    }
    Ok(())
}

fn canned(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header(
            "content-type",
            if body.starts_with('<') {
                "text/html"
            } else {
                "application/json"
            },
        )
        .header("x-pinterest-rid", "demo-request-id")
        .header("retry-after", "30")
        .body(body.as_bytes().to_vec())
        .unwrap_or_default()
}

const TOKEN_RESPONSE: &str = r#"{"access_token":"pina.AAAA","token_type":"bearer",
  "expires_in":2592000,"scope":"boards:read,pins:read","refresh_token":"pinr.BBBB",
  "refresh_token_expires_in":5184000,"response_type":"authorization_code"}"#;
const REFRESH_RESPONSE: &str = r#"{"access_token":"pina.CCCC","token_type":"bearer",
  "expires_in":"2592000","scope":"boards:read pins:read","refresh_token":"pinr.DDDD",
  "refresh_token_expires_in":5184000,"refresh_token_expires_at":1785184000,
  "response_type":"refresh_token"}"#;
const CLIENT_RESPONSE: &str = r#"{"access_token":"pina.EEEE","token_type":"bearer",
  "expires_in":2592000,"scope":"ads:read","response_type":"client_credentials"}"#;
