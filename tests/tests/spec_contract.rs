//! The core checked against Pinterest's own OpenAPI description (`PINTEREST_OPENAPI`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    AccessToken, AppId, AppSecret, AuthorizationCode, ClientConfig, Grant, RedirectUri,
    RefreshToken, RefreshTokenGrant, Revocation, Scope, http, parse_token_response, revoke_request,
    token_request,
};
use pinterest_oauth_tests::spec;
use serde_json::{Map, Value, json};

fn config() -> ClientConfig {
    ClientConfig::new(AppId::new("1234").unwrap(), AppSecret::new("secret"))
}

fn form_fields(request: &http::Request<Vec<u8>>) -> BTreeSet<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(request.body()).unwrap();
    let names: BTreeSet<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(names.len(), pairs.len(), "no field is sent twice");
    names
}

/// Every field we send is a property of the grant's schema, and every required one is sent.
fn check_request(
    spec: &Value,
    schema_name: &str,
    sent: &BTreeSet<String>,
    documented_extra: &[&str],
) {
    let schema = spec::schema(spec, schema_name);
    let properties: BTreeSet<String> = spec::properties(spec, schema)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for field in sent {
        assert!(
            properties.contains(field) || documented_extra.contains(&field.as_str()),
            "{schema_name}: we send `{field}`, which the spec does not define (it has {properties:?})"
        );
    }
    for field in spec::required(spec, schema) {
        assert!(
            sent.contains(&field),
            "{schema_name}: required `{field}` is not sent"
        );
    }
}

#[test]
fn grant_forms_match_the_request_schemas() {
    let spec = spec::load();

    // The grant schemas are the discriminator's mapping, keyed by the grant_type we send.
    let mapping = spec::schema(&spec, "OauthAccessTokenRequest")["discriminator"]["mapping"]
        .as_object()
        .expect("OauthAccessTokenRequest has a discriminator mapping")
        .clone();
    let schema_for = |grant_type: &str| {
        mapping[grant_type]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_else(|| panic!("no schema for grant_type {grant_type}"))
            .to_owned()
    };

    // `continuous_refresh` is absent from the 5.23 schema but required by the operation's own
    // description for older apps (and back in the 5.28 schema): check that it really is there.
    let description = spec
        .pointer("/paths/~1oauth~1token/post/description")
        .and_then(Value::as_str)
        .expect("POST /oauth/token has a description");
    assert!(description.contains("continuous_refresh"));

    let code = Grant::authorization_code(
        AuthorizationCode::new("code"),
        RedirectUri::new("http://localhost:8085/").unwrap(),
    );
    let refresh = Grant::refresh_token(RefreshToken::new("pinr.x"));
    let refresh_scoped: Grant = RefreshTokenGrant::new(RefreshToken::new("pinr.x"))
        .with_scopes(vec![Scope::BoardsRead])
        .unwrap()
        .into();
    let client = Grant::client_credentials(vec![Scope::AdsRead]).unwrap();

    for (grant, extra) in [
        (&code, &["continuous_refresh"][..]),
        (&refresh, &[]),
        (&refresh_scoped, &[]),
        (&client, &[]),
    ] {
        let sent = form_fields(&token_request(&config(), grant));
        assert!(sent.contains("grant_type"));
        check_request(&spec, &schema_for(grant.grant_type()), &sent, extra);
    }

    // The grant_type values we send are the spec's enum.
    let enum_values: BTreeSet<&str> = spec::schema(&spec, "OauthAccessTokenRequest")["properties"]
        ["grant_type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: BTreeSet<&str> = [&code, &refresh, &client]
        .iter()
        .map(|g| g.grant_type())
        .collect();
    assert_eq!(ours, enum_values);
}

#[test]
fn revoke_form_matches_the_revocation_schema() {
    let spec = spec::load();
    let schema = spec::schema(&spec, "TokenRevocationRequest");
    let hints: BTreeSet<&str> = schema["properties"]["token_type_hint"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for revoke in [
        Revocation::access_token(AccessToken::new("pina.x")),
        Revocation::refresh_token(RefreshToken::new("pinr.x")),
        Revocation::refresh_token(RefreshToken::new("pinr.x")).without_hint(),
    ] {
        let sent = form_fields(&revoke_request(&config(), &revoke));
        check_request(&spec, "TokenRevocationRequest", &sent, &[]);
        if let Some(hint) = revoke.hint() {
            assert!(hints.contains(hint.as_str()));
        }
    }
}

/// A value of the property's type that is also meaningful for the field.
fn sample(name: &str, property: &Value) -> Value {
    if let Some(first) = property["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match (property["type"].as_str(), name) {
        (Some("string"), "access_token") => json!("pina.spec-access"),
        (Some("string"), "refresh_token") => json!("pinr.spec-refresh"),
        (Some("string"), "scope") => json!("boards:read,pins:read"),
        (Some("string"), "token_type") => json!("bearer"),
        (Some("string"), _) => json!("text"),
        // An hour past what `refresh_token_expires_in` gives (from `now` below): the two agree
        // (within a day), and the server's time wins.
        (Some("integer"), "refresh_token_expires_at") => json!(1_805_187_600u64),
        (Some("integer"), _) => json!(5_184_000u64),
        (Some("boolean"), _) => json!(true),
        (other, _) => panic!("property `{name}` has an unexpected type {other:?}"),
    }
}

#[test]
fn every_token_response_schema_parses() {
    let spec = spec::load();
    let names = spec::schema_names(&spec, "OauthAccessTokenResponse");
    assert!(
        names.len() >= 5,
        "expected the base and four variants, found {names:?}"
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for name in names {
        let schema = spec::schema(&spec, &name);
        let properties = spec::properties(&spec, schema);
        let mut object = Map::new();
        for (field, property) in &properties {
            object.insert(field.clone(), sample(field, property));
        }
        for field in spec::required(&spec, schema) {
            assert!(
                object.contains_key(&field),
                "{name}: required `{field}` has no property"
            );
        }
        let body = Value::Object(object.clone()).to_string();
        let token = parse_token_response(now, &http::Response::new(body))
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(
            token.access_token().unwrap().secret(),
            "pina.spec-access",
            "{name}"
        );
        assert_eq!(token.expires_in(), Duration::from_secs(5_184_000), "{name}");
        assert_eq!(
            token.scopes(),
            [Scope::BoardsRead, Scope::PinsRead],
            "{name}"
        );
        if let Some(rt) = object.get("response_type") {
            assert_eq!(
                token.response_type().unwrap().as_str(),
                rt.as_str().unwrap()
            );
        }
        assert_eq!(
            token.refresh_token().map(|t| t.secret()),
            object.get("refresh_token").map(|_| "pinr.spec-refresh"),
            "{name}"
        );
        if object.contains_key("refresh_token_expires_at") {
            assert_eq!(
                token.refresh_token_expires_at(),
                Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_805_187_600)),
                "{name}: the server's refresh_token_expires_at wins when it agrees"
            );
        } else if object.contains_key("refresh_token_expires_in") {
            assert_eq!(
                token.refresh_token_expires_at(),
                Some(now + Duration::from_secs(5_184_000)),
                "{name}"
            );
        }
    }
}

#[test]
fn the_error_schema_parses_to_an_api_error() {
    let spec = spec::load();
    let schema = spec::schema(&spec, "Error");
    let required = spec::required(&spec, schema);
    assert_eq!(
        required,
        BTreeSet::from(["code".to_owned(), "message".to_owned()])
    );
    let response = http::Response::builder()
        .status(401)
        .body(r#"{"code":283,"message":"The authorization grant is invalid"}"#)
        .unwrap();
    let err = parse_token_response(SystemTime::UNIX_EPOCH, &response).unwrap_err();
    assert!(err.is_invalid_grant());
}

#[test]
fn the_spec_scopes_are_the_scope_enum() {
    let spec = spec::load();
    let ours: BTreeSet<String> = Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(ours.len(), 19);
    for (scheme, flow) in [
        ("pinterest_oauth2", "authorizationCode"),
        ("client_credentials", "clientCredentials"),
    ] {
        let theirs: BTreeSet<String> = spec::scopes(&spec, scheme, flow).into_iter().collect();
        assert_eq!(ours, theirs, "{scheme}/{flow}");
    }
    let flows =
        &spec["components"]["securitySchemes"]["pinterest_oauth2"]["flows"]["authorizationCode"];
    assert_eq!(
        flows["authorizationUrl"],
        pinterest_oauth_core::PINTEREST_CONSENT_URL
    );
    assert_eq!(
        flows["tokenUrl"],
        pinterest_oauth_core::BaseUrl::production()
            .token_endpoint()
            .to_string()
    );
}

/// The fake's answers, read as raw JSON, against the spec's response schemas.
#[test]
fn the_fakes_bodies_match_the_response_schemas() {
    let spec = spec::load();
    let fake = fake_pinterest::FakePinterest::start(fake_pinterest::FakeConfig::default()).unwrap();
    let config = pinterest_oauth_tests::transports::config_for(&fake);
    use pinterest_oauth_transport::{FromHttpConfig, Http, HttpConfig};
    let http = pinterest_oauth_ureq::HttpClient::from_http_config(&HttpConfig::default()).unwrap();
    let send = |grant: &Grant| -> (u16, Value) {
        let response = http.execute(token_request(&config, grant)).unwrap();
        (
            response.status().as_u16(),
            serde_json::from_slice(response.body().as_slice()).unwrap(),
        )
    };

    let redirect = RedirectUri::new("http://localhost:8085/").unwrap();
    let code = fake.issue_code(redirect.as_str(), &["boards:read"]);
    let (_, exchanged) = send(&Grant::authorization_code(
        AuthorizationCode::new(code),
        redirect,
    ));
    let refresh = exchanged["refresh_token"].as_str().unwrap().to_owned();
    let (_, refreshed) = send(&Grant::refresh_token(RefreshToken::new(refresh.clone())));
    let (_, client) = send(&Grant::client_credentials(vec![Scope::AdsRead]).unwrap());

    let mapping =
        spec::schema(&spec, "OauthAccessTokenResponse")["discriminator"]["mapping"].clone();
    for body in [&exchanged, &refreshed, &client] {
        let response_type = body["response_type"].as_str().unwrap();
        let name = mapping[response_type]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let schema = spec::schema(&spec, name);
        let properties: BTreeMap<String, Value> =
            spec::properties(&spec, schema).into_iter().collect();
        for (field, value) in body.as_object().unwrap() {
            let property = properties
                .get(field)
                .unwrap_or_else(|| panic!("{name}: the fake sends `{field}`, not in the schema"));
            let type_ok = match property["type"].as_str() {
                Some("string") => value.is_string(),
                Some("integer") => value.is_u64() || value.is_i64(),
                other => panic!("{name}.{field}: unexpected type {other:?}"),
            };
            assert!(type_ok, "{name}.{field} = {value}");
        }
        for field in spec::required(&spec, schema) {
            assert!(
                body.get(&field).is_some(),
                "{name}: required `{field}` missing"
            );
        }
    }

    // Error bodies are the spec's `Error`: exactly `code` (integer) and `message` (string).
    let (status, error) = send(&Grant::refresh_token(RefreshToken::new(refresh)));
    assert_eq!(status, 401);
    let error_props: BTreeSet<String> = spec::properties(&spec, spec::schema(&spec, "Error"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let sent: BTreeSet<String> = error.as_object().unwrap().keys().cloned().collect();
    assert_eq!(sent, error_props);
    assert!(error["code"].is_i64() && error["message"].is_string());
}

#[test]
fn the_fakes_scopes_are_the_spec_scopes() {
    let spec = spec::load();
    let fake: BTreeSet<String> = fake_pinterest::KNOWN_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let theirs: BTreeSet<String> = spec::scopes(&spec, "pinterest_oauth2", "authorizationCode")
        .into_iter()
        .collect();
    assert_eq!(fake, theirs);
}

/// The vendored spec is byte for byte the copy its source note records (so it can be checked
/// against upstream, and is never edited by hand).
#[test]
fn the_vendored_spec_is_the_recorded_copy() {
    use sha2::Digest as _;
    let file = spec::vendored();
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let note = std::fs::read_to_string(file.with_file_name("SOURCE.md")).unwrap();
    let recorded = note
        .lines()
        .find_map(|line| line.trim().strip_prefix("- sha256 `"))
        .and_then(|rest| rest.split('`').next())
        .expect("SOURCE.md records the sha256 of openapi.json");
    assert_eq!(digest, recorded);
    let licence = std::fs::read_to_string(file.with_file_name("LICENSE-spec")).unwrap();
    assert!(
        licence.contains("Permission is hereby granted"),
        "the MIT licence"
    );
    assert_eq!(spec::load_from(&file)["info"]["version"], "5.23.0");
}
