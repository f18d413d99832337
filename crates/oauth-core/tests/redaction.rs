//! `Debug` of every public type that holds a secret shows none of the secret's bytes.

use std::time::SystemTime;

use base64::Engine as _;
use pinterest_oauth_core::{
    AccessToken, AppId, AppSecret, AuthorizationCode, AuthorizationCodeGrant, ClientConfig,
    CsrfState, Grant, RedirectUri, RefreshToken, RefreshTokenGrant, Revocation, Scope, http,
    parse_callback, parse_token_response, token_request,
};
use proptest::prelude::*;

fn assert_hidden(rendered: &str, secret: &str) {
    assert!(
        !rendered.contains(secret),
        "secret {secret:?} leaked in {rendered}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn debug_never_shows_a_secret(
        app_secret in "S3CR[A-Za-z0-9]{12,32}",
        access in "pina[A-Za-z0-9]{12,32}",
        refresh in "pinr[A-Za-z0-9]{12,32}",
        code in "C0DE[A-Za-z0-9]{12,32}",
        state_bytes in proptest::collection::vec(any::<u8>(), 32..48),
    ) {
        let config = ClientConfig::new(AppId::new("1234").unwrap(), AppSecret::new(app_secret.clone()));
        let state = CsrfState::from_entropy(&state_bytes).unwrap();
        let state_text = state.secret().to_owned();
        let redirect = RedirectUri::new("http://localhost:8085/").unwrap();
        let code_grant = AuthorizationCodeGrant::new(AuthorizationCode::new(code.clone()), redirect.clone());
        let refresh_grant = RefreshTokenGrant::new(RefreshToken::new(refresh.clone()))
            .with_scopes(vec![Scope::BoardsRead])
            .unwrap();
        let body = format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":60,"scope":"boards:read","refresh_token":"{refresh}"}}"#
        );
        let token = parse_token_response(SystemTime::UNIX_EPOCH, &http::Response::new(body)).unwrap();
        let request = token_request(&config, &Grant::from(code_grant.clone()));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("1234:{app_secret}"));
        let callback_code = parse_callback(&format!("code={code}&state={state_text}"), &state).unwrap();

        let rendered = [
            format!("{:?}", AppSecret::new(app_secret.clone())),
            format!("{:?}", AccessToken::new(access.clone())),
            format!("{:?}", RefreshToken::new(refresh.clone())),
            format!("{:?}", AuthorizationCode::new(code.clone())),
            format!("{state:?}"),
            format!("{config:?}"),
            format!("{code_grant:?}"),
            format!("{:?}", Grant::from(code_grant.clone())),
            format!("{refresh_grant:?}"),
            format!("{:?}", Grant::from(refresh_grant.clone())),
            format!("{:?}", Revocation::access_token(AccessToken::new(access.clone()))),
            format!("{:?}", Revocation::refresh_token(RefreshToken::new(refresh.clone()))),
            format!("{token:?}"),
            format!("{:?}", request.headers()),
            format!("{callback_code:?}"),
        ];
        for text in &rendered {
            for secret in [&app_secret, &access, &refresh, &code, &state_text, &basic] {
                assert_hidden(text, secret);
            }
        }
        prop_assert!(rendered.iter().any(|r| r.contains("<redacted>")));
    }
}

#[test]
fn state_mismatch_error_does_not_show_either_state() {
    let expected = CsrfState::new("expected-state-value-of-32-characters").unwrap();
    let err = parse_callback("code=c&state=forged-state-value", &expected).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert_hidden(&text, "expected-state-value");
        assert_hidden(&text, "forged-state-value");
    }
}
