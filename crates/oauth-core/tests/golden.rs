//! Golden vectors: the exact method, URI, every header and the body bytes of each request.

use pinterest_oauth_core::{
    AccessToken, AppId, AppSecret, AuthorizationCode, AuthorizationCodeGrant, BaseUrl,
    ClientConfig, Grant, RedirectUri, RefreshToken, RefreshTokenGrant, Revocation, Scope,
    http::Request, revoke_request, token_request,
};

fn config() -> ClientConfig {
    ClientConfig::new(
        AppId::new("1234567").unwrap(),
        AppSecret::new("0123456789abcdef0123456789abcdef01234567"),
    )
}

/// `Basic base64("1234567:0123456789abcdef0123456789abcdef01234567")`.
const BASIC: &str = "Basic MTIzNDU2NzowMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3";

fn assert_request(request: &Request<Vec<u8>>, uri: &str, body: &str, user_agent: &str) {
    assert_eq!(request.method(), "POST");
    assert_eq!(request.uri(), uri);
    assert_eq!(
        request.version(),
        pinterest_oauth_core::http::Version::HTTP_11
    );
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("authorization", BASIC),
        ("content-type", "application/x-www-form-urlencoded"),
        ("accept", "application/json"),
        ("user-agent", user_agent),
        ("content-length", &body.len().to_string()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(headers, expected);
    assert!(request.headers()["authorization"].is_sensitive());
    assert_eq!(std::str::from_utf8(request.body()).unwrap(), body);
    assert!(
        !body.contains("0123456789abcdef"),
        "the secret never goes in the body"
    );
}

const UA: &str = concat!("pinterest-oauth/", env!("CARGO_PKG_VERSION"));
const TOKEN_URI: &str = "https://api.pinterest.com/v5/oauth/token";

#[test]
fn authorization_code_grant() {
    let grant = Grant::authorization_code(
        AuthorizationCode::new("a1b2c3/+="),
        RedirectUri::new("https://example.com/cb?x=1&y=2").unwrap(),
    );
    assert_request(
        &token_request(&config(), &grant),
        TOKEN_URI,
        "grant_type=authorization_code&code=a1b2c3%2F%2B%3D\
         &redirect_uri=https%3A%2F%2Fexample.com%2Fcb%3Fx%3D1%26y%3D2&continuous_refresh=true",
        UA,
    );
}

#[test]
fn authorization_code_grant_without_continuous_refresh() {
    let grant = AuthorizationCodeGrant::new(
        AuthorizationCode::new("abc"),
        RedirectUri::new("http://localhost:8085/").unwrap(),
    )
    .without_continuous_refresh();
    assert_request(
        &token_request(&config(), &grant.into()),
        TOKEN_URI,
        "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F",
        UA,
    );
}

#[test]
fn refresh_token_grant() {
    let grant = Grant::refresh_token(RefreshToken::new("pinr.AbC-_x"));
    assert_request(
        &token_request(&config(), &grant),
        TOKEN_URI,
        "grant_type=refresh_token&refresh_token=pinr.AbC-_x",
        UA,
    );
}

#[test]
fn refresh_token_grant_with_scopes() {
    let grant = RefreshTokenGrant::new(RefreshToken::new("pinr.1"))
        .with_scopes(vec![Scope::BoardsRead, Scope::PinsRead])
        .unwrap();
    assert_request(
        &token_request(&config(), &grant.into()),
        TOKEN_URI,
        "grant_type=refresh_token&refresh_token=pinr.1&scope=boards%3Aread%2Cpins%3Aread",
        UA,
    );
}

#[test]
fn client_credentials_grant() {
    let grant = Grant::client_credentials(vec![
        Scope::AdsRead,
        "future:scope".parse().unwrap(),
        Scope::UserAccountsRead,
    ])
    .unwrap();
    assert_request(
        &token_request(&config(), &grant),
        TOKEN_URI,
        "grant_type=client_credentials&scope=ads%3Aread%2Cfuture%3Ascope%2Cuser_accounts%3Aread",
        UA,
    );
}

#[test]
fn revoke_access_token() {
    let revoke = Revocation::access_token(AccessToken::new("pina.abc"));
    assert_request(
        &revoke_request(&config(), &revoke),
        "https://api.pinterest.com/v5/oauth/token/revoke",
        "token=pina.abc&token_type_hint=access_token",
        UA,
    );
}

#[test]
fn revoke_refresh_token_without_hint_on_sandbox_with_custom_agent() {
    let config = config()
        .with_base_url(BaseUrl::sandbox())
        .with_user_agent("my-app/2.0 (+https://example.com)")
        .unwrap();
    let revoke = Revocation::refresh_token(RefreshToken::new("pinr.abc")).without_hint();
    assert_request(
        &revoke_request(&config, &revoke),
        "https://api-sandbox.pinterest.com/v5/oauth/token/revoke",
        "token=pinr.abc",
        "my-app/2.0 (+https://example.com)",
    );
    let revoke = Revocation::refresh_token(RefreshToken::new("pinr.abc"));
    assert_request(
        &revoke_request(&config, &revoke),
        "https://api-sandbox.pinterest.com/v5/oauth/token/revoke",
        "token=pinr.abc&token_type_hint=refresh_token",
        "my-app/2.0 (+https://example.com)",
    );
}

#[test]
fn loopback_base_url() {
    let config = config().with_base_url("http://127.0.0.1:40123/v5".parse().unwrap());
    let grant = Grant::refresh_token(RefreshToken::new("r"));
    assert_request(
        &token_request(&config, &grant),
        "http://127.0.0.1:40123/v5/oauth/token",
        "grant_type=refresh_token&refresh_token=r",
        UA,
    );
}

#[test]
fn authorization_code_grant_with_pkce() {
    // RFC 7636 Appendix B.
    let octets = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    let verifier = pinterest_oauth_core::PkceVerifier::from_entropy(&octets).unwrap();
    assert_eq!(
        verifier.challenge(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let redirect = RedirectUri::new("http://localhost:8085/").unwrap();
    let state = pinterest_oauth_core::CsrfState::from_entropy(&[0u8; 32]).unwrap();
    let url = pinterest_oauth_core::authorization_url(
        &config(),
        &redirect,
        &[Scope::BoardsRead],
        &state,
        Some(&verifier),
    )
    .unwrap();
    assert!(
        url.as_str().ends_with(
            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        ),
        "{url}"
    );
    let grant = AuthorizationCodeGrant::new(AuthorizationCode::new("abc"), redirect)
        .with_pkce_verifier(verifier);
    let request = token_request(&config(), &Grant::from(grant));
    assert_eq!(
        request.body(),
        b"grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2F\
          &continuous_refresh=true&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    );
}
