//! Property tests: whatever the inputs, the body and the Basic header decode back to exactly them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pinterest_oauth_core::{
    AppId, AppSecret, AuthorizationCode, ClientConfig, Grant, RedirectUri, RefreshToken,
    RefreshTokenGrant, Revocation, Scope, http::Request, revoke_request, token_request,
};
use proptest::prelude::*;

/// Arbitrary Unicode, biased towards the characters that break naive encoders.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[:+/%&= ?#a-zA-Z0-9é€😀\\-_.~]{0,40}",
        Just(": + / % & = ".to_owned()),
    ]
}

/// Any app id `AppId::new` takes: printable ASCII without spaces, every character that needs
/// form-encoding included.
fn app_id() -> impl Strategy<Value = String> {
    "[!-~]{1,128}"
}

fn redirect_uri() -> impl Strategy<Value = RedirectUri> {
    ("[a-z]{1,10}", text(), text()).prop_filter_map("valid redirect uri", |(host, path, query)| {
        RedirectUri::new(format!("https://{host}.example/{path}?{query}")).ok()
    })
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        proptest::sample::select(Scope::ALL.to_vec()),
        text().prop_filter_map("well-formed scope name", |s| s.parse::<Scope>().ok()),
    ]
}

fn scopes() -> impl Strategy<Value = Vec<Scope>> {
    proptest::collection::vec(scope(), 1..6)
}

fn config(app_id: &str, secret: &str) -> ClientConfig {
    ClientConfig::new(AppId::new(app_id).unwrap(), AppSecret::new(secret))
}

fn form(request: &Request<Vec<u8>>) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(request.body()).unwrap()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Decodes `Authorization: Basic` back into (id, secret), undoing RFC 6749 §2.3.1.
fn basic_credentials(request: &Request<Vec<u8>>) -> (String, String) {
    let header = request.headers()["authorization"].to_str().unwrap();
    let encoded = header.strip_prefix("Basic ").unwrap();
    let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    let (id, secret) = decoded.split_once(':').unwrap();
    let unescape = |part: &str| {
        let mut parsed = form_urlencoded::parse(format!("x={part}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect::<Vec<_>>();
        assert_eq!(parsed.len(), 1, "an encoded part holds no separator");
        parsed.remove(0)
    };
    (unescape(id), unescape(secret))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn authorization_code_round_trips(
        app_id in app_id(),
        secret in text(),
        code in text(),
        redirect in redirect_uri(),
        continuous in any::<bool>(),
    ) {
        let mut grant = pinterest_oauth_core::AuthorizationCodeGrant::new(
            AuthorizationCode::new(code.clone()),
            redirect.clone(),
        );
        if !continuous {
            grant = grant.without_continuous_refresh();
        }
        let request = token_request(&config(&app_id, &secret), &grant.into());
        let mut expected = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ];
        if continuous {
            expected.push(("continuous_refresh", "true"));
        }
        prop_assert_eq!(form(&request), pairs(&expected));
        prop_assert_eq!(basic_credentials(&request), (app_id, secret));
        prop_assert_eq!(
            request.headers()["content-length"].to_str().unwrap(),
            request.body().len().to_string()
        );
    }

    #[test]
    fn refresh_token_round_trips(
        app_id in app_id(),
        secret in text(),
        refresh in text(),
        scopes in proptest::option::of(scopes()),
    ) {
        let mut grant = RefreshTokenGrant::new(RefreshToken::new(refresh.clone()));
        if let Some(scopes) = &scopes {
            grant = grant.with_scopes(scopes.clone()).unwrap();
        }
        let request = token_request(&config(&app_id, &secret), &grant.into());
        let joined = scopes.as_deref().map(Scope::join);
        let mut expected = vec![("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        if let Some(joined) = &joined {
            expected.push(("scope", joined));
        }
        prop_assert_eq!(form(&request), pairs(&expected));
        if let Some(scopes) = &scopes {
            // Splitting the received list on commas gives back exactly the scopes sent.
            let received = Scope::parse_list(&form(&request)[2].1).unwrap();
            prop_assert_eq!(&received, scopes);
        }
        prop_assert_eq!(basic_credentials(&request), (app_id, secret));
    }

    #[test]
    fn client_credentials_round_trips(app_id in app_id(), secret in text(), scopes in scopes()) {
        let request = token_request(
            &config(&app_id, &secret),
            &Grant::client_credentials(scopes.clone()).unwrap(),
        );
        let joined = Scope::join(&scopes);
        prop_assert_eq!(
            form(&request),
            pairs(&[("grant_type", "client_credentials"), ("scope", &joined)])
        );
        prop_assert_eq!(basic_credentials(&request), (app_id, secret));
    }

    #[test]
    fn revocation_round_trips(app_id in app_id(), secret in text(), token in text(), hint in any::<bool>()) {
        let mut revoke = Revocation::refresh_token(RefreshToken::new(token.clone()));
        if !hint {
            revoke = revoke.without_hint();
        }
        let request = revoke_request(&config(&app_id, &secret), &revoke);
        let mut expected = vec![("token", token.as_str())];
        if hint {
            expected.push(("token_type_hint", "refresh_token"));
        }
        prop_assert_eq!(form(&request), pairs(&expected));
        prop_assert_eq!(basic_credentials(&request), (app_id, secret));
    }
}
