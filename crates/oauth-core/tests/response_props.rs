//! Property tests for the response parsers: no input makes them panic, every valid token object
//! parses to the matching `Token`, and no error ever quotes a token.

use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    AccessTokenProblem, MAX_LIFETIME, Malformation, ResponseError, ResponseType, Scope,
    TokenDocument, TokenType,
    http::{self, HeaderName, HeaderValue, Response, StatusCode},
    parse_revoke_response, parse_token_response,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn status() -> impl Strategy<Value = StatusCode> {
    prop_oneof![
        (100u16..1000).prop_map(|s| StatusCode::from_u16(s).unwrap()),
        proptest::sample::select(vec![200u16, 201, 204, 400, 401, 403, 429, 500, 502, 503])
            .prop_map(|s| StatusCode::from_u16(s).unwrap()),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(HeaderName, HeaderValue)>> {
    let name = proptest::sample::select(vec![
        "x-pinterest-rid",
        "retry-after",
        "content-type",
        "content-length",
        "x-other",
    ]);
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[0-9]{0,25}".prop_map(String::into_bytes),
        Just(b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec()),
        any::<String>().prop_map(String::into_bytes),
    ];
    proptest::collection::vec(
        (name, value).prop_filter_map("valid header value", |(n, v)| {
            HeaderValue::from_bytes(&v)
                .ok()
                .map(|v| (HeaderName::from_static(n), v))
        }),
        0..5,
    )
}

/// Mostly-JSON bodies: valid objects with wrong types, truncations, and random bytes.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[0-9]{1,25}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "response_type",
            "refresh_token",
            "refresh_token_expires_in",
            "refresh_token_expires_at",
            "code",
            "message",
            "message_detail",
            "error",
            "error_description",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (json_value(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let mut bytes = v.to_string().into_bytes();
            let at = cut.index(bytes.len() + 1);
            bytes.truncate(at);
            bytes
        }),
    ]
}

fn response(
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    response
}

/// What a generated valid token response should parse to.
#[derive(Debug, Clone)]
struct Expected {
    access_token: String,
    token_type: String,
    expires_in: u64,
    expires_in_as_string: bool,
    scopes: Vec<Scope>,
    scope_separator: &'static str,
    response_type: Option<String>,
    refresh_token: Option<String>,
    refresh_expires_in: Option<u64>,
    refresh_expires_at: Option<u64>,
    extra: Vec<(String, Value)>,
    status: u16,
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        proptest::sample::select(Scope::ALL.to_vec()),
        "[a-z_]{1,12}:[a-z_]{1,12}".prop_map(|s| s.parse().unwrap()),
    ]
}

fn expected_token() -> impl Strategy<Value = Expected> {
    (
        (
            "pina[A-Za-z0-9._\\-]{1,64}|\\PC{1,40}",
            prop_oneof!["[bB][eE][aA][rR][eE][rR]", "[a-z]{1,10}"],
            0u64..=10_000_000_000,
            any::<bool>(),
            proptest::collection::vec(scope(), 0..6),
            proptest::sample::select(vec![",", " ", ", ", "\t"]),
        ),
        (
            proptest::option::of(prop_oneof![
                Just("authorization_code".to_owned()),
                Just("refresh_token".to_owned()),
                Just("client_credentials".to_owned()),
                Just("integration_refresh".to_owned()),
                "[a-z_]{1,20}",
            ]),
            proptest::option::of("pinr[A-Za-z0-9._\\-]{1,64}"),
            proptest::option::of(0u64..=100_000_000),
            proptest::option::of(0u64..=5_000_000_000),
            proptest::collection::vec(("x_[a-z]{1,8}", json_value()), 0..4),
            proptest::sample::select(vec![200u16, 201, 202, 299]),
        ),
    )
        .prop_map(
            |(
                (access_token, token_type, expires_in, expires_in_as_string, scopes, sep),
                (
                    response_type,
                    refresh_token,
                    refresh_expires_in,
                    refresh_expires_at,
                    extra,
                    status,
                ),
            )| Expected {
                access_token,
                token_type,
                expires_in,
                expires_in_as_string,
                scopes,
                scope_separator: sep,
                response_type,
                refresh_token,
                refresh_expires_in,
                refresh_expires_at,
                extra,
                status,
            },
        )
}

impl Expected {
    fn body(&self) -> Vec<u8> {
        let mut object = Map::new();
        for (k, v) in &self.extra {
            object.insert(k.clone(), v.clone());
        }
        object.insert("access_token".into(), json!(self.access_token));
        object.insert("token_type".into(), json!(self.token_type));
        object.insert(
            "expires_in".into(),
            if self.expires_in_as_string {
                json!(self.expires_in.to_string())
            } else {
                json!(self.expires_in)
            },
        );
        let scope: Vec<&str> = self.scopes.iter().map(Scope::as_str).collect();
        object.insert("scope".into(), json!(scope.join(self.scope_separator)));
        if let Some(v) = &self.response_type {
            object.insert("response_type".into(), json!(v));
        }
        if let Some(v) = &self.refresh_token {
            object.insert("refresh_token".into(), json!(v));
        }
        if let Some(v) = self.refresh_expires_in {
            object.insert("refresh_token_expires_in".into(), json!(v));
        }
        if let Some(v) = self.refresh_expires_at {
            object.insert("refresh_token_expires_at".into(), json!(v));
        }
        Value::Object(object).to_string().into_bytes()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parsers_never_panic(status in status(), headers in headers(), body in body(), secs in any::<u64>()) {
        let response = response(status, headers, body);
        let now = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)).unwrap_or(SystemTime::UNIX_EPOCH);
        let token = parse_token_response(now, &response);
        let revoke = parse_revoke_response(&response);
        // Both results render without panicking, and errors carry the response's status.
        for err in [token.err(), revoke.err()].into_iter().flatten() {
            let _ = (err.to_string(), format!("{err:?}"), pinterest_oauth_core::Failure::of(&err), err.retry_after());
            prop_assert_eq!(err.status(), status);
        }
    }

    #[test]
    fn valid_token_objects_parse_to_the_matching_token(
        expected in expected_token(),
        now_secs in 0u64..4_000_000_000,
        now_nanos in 0u32..1_000_000_000,
    ) {
        // Times are kept to the second, as Pinterest counts them.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        let arrived = now + Duration::from_nanos(u64::from(now_nanos));
        let mut response = Response::new(expected.body());
        *response.status_mut() = StatusCode::from_u16(expected.status).unwrap();
        let bearer = expected.token_type.eq_ignore_ascii_case("bearer");
        let b64token = {
            let body = expected.access_token.trim_end_matches('=');
            !body.is_empty()
                && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        };
        let problem = match (b64token, bearer) {
            (false, _) => Some(AccessTokenProblem::Malformed),
            (true, false) => Some(AccessTokenProblem::UnsupportedType),
            (true, true) => None,
        };
        let token = match parse_token_response(arrived, &response) {
            Ok(token) => token,
            Err(ResponseError::Malformed(m)) => {
                // Only a set with nothing to keep is refused.
                prop_assert!(expected.refresh_token.is_none());
                prop_assert_eq!(m.problem(), &Malformation::UnusableAccessToken(problem.unwrap()));
                return Ok(());
            }
            Err(other) => panic!("{other}"),
        };
        // Storage round-trips it exactly.
        let document = TokenDocument::new(token.clone());
        let read_back = TokenDocument::from_bytes(&document.to_bytes()).unwrap();
        prop_assert_eq!(read_back.token(), &token);

        prop_assert_eq!(token.access_token_problem(), problem);
        match problem {
            None => prop_assert_eq!(token.access_token().map(|t| t.secret()), Some(expected.access_token.as_str())),
            Some(_) => prop_assert_eq!(token.access_token(), None),
        }
        prop_assert_eq!(token.token_type(), &TokenType::parse(&expected.token_type));
        prop_assert_eq!(matches!(token.token_type(), TokenType::Bearer), bearer);
        prop_assert_eq!(token.received_at(), now);
        let lifetime = Duration::from_secs(expected.expires_in).min(MAX_LIFETIME);
        prop_assert_eq!(token.expires_in(), lifetime);
        prop_assert_eq!(token.expires_at(), now + lifetime);
        prop_assert_eq!(token.scopes(), expected.scopes.as_slice());
        prop_assert_eq!(
            token.response_type().map(ResponseType::as_str),
            expected.response_type.as_deref()
        );
        prop_assert_eq!(
            token.refresh_token().map(|t| t.secret()),
            expected.refresh_token.as_deref()
        );
        prop_assert_eq!(
            token.refresh_token_expires_in(),
            expected.refresh_expires_in.map(Duration::from_secs)
        );
        // The two fields cross-checked: the lifetime wins when they disagree by more than a
        // day; a time alone already past is a lifetime if it can be one, else unknown.
        let horizon = now + MAX_LIFETIME;
        let from_in = expected.refresh_expires_in.map(|d| now + Duration::from_secs(d));
        let expected_refresh_at = match (expected.refresh_expires_at, from_in) {
            (Some(at), Some(from_in)) => {
                let absolute = (SystemTime::UNIX_EPOCH + Duration::from_secs(at)).min(horizon);
                let apart = absolute.duration_since(from_in).or_else(|_| from_in.duration_since(absolute)).unwrap();
                Some(if apart > Duration::from_secs(86_400) { from_in } else { absolute })
            }
            (Some(at), None) => {
                let absolute = (SystemTime::UNIX_EPOCH + Duration::from_secs(at)).min(horizon);
                if absolute > now {
                    Some(absolute)
                } else if at > 0 && Duration::from_secs(at) <= MAX_LIFETIME.min(Duration::from_secs(10 * 365 * 86_400)) {
                    Some(now + Duration::from_secs(at))
                } else {
                    None
                }
            }
            (None, from_in) => from_in,
        };
        prop_assert_eq!(token.refresh_token_expires_at(), expected_refresh_at);
    }

    #[test]
    fn errors_never_quote_tokens(
        access in "pina[A-Za-z0-9]{8,40}",
        refresh in "pinr[A-Za-z0-9]{8,40}",
        bad in prop_oneof![
            Just(json!("soon")),
            Just(json!(-5)),
            Just(json!([1])),
            Just(json!({"a": 1})),
            Just(json!(true)),
        ],
        field in proptest::sample::select(vec!["expires_in", "scope", "refresh_token_expires_at", "token_type"]),
        status in proptest::sample::select(vec![200u16, 201]),
    ) {
        let mut object = Map::new();
        object.insert("access_token".into(), json!(access));
        object.insert("refresh_token".into(), json!(refresh));
        object.insert("expires_in".into(), json!(60));
        object.insert("unknown".into(), json!(access));
        object.insert(field.to_owned(), bad);
        let body = Value::Object(object).to_string();
        for body in [body.clone(), body[..body.len() / 2].to_owned()] {
            let mut response = http::Response::new(body.into_bytes());
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            let parsed = parse_token_response(SystemTime::UNIX_EPOCH, &response);
            if let Ok(token) = &parsed {
                // A 2xx carrying tokens keeps them, whatever the odd field.
                prop_assert_eq!(token.refresh_token().map(|t| t.secret()), Some(refresh.as_str()));
            }
            if let Err(err) = parsed {
                prop_assert!(matches!(err, ResponseError::Malformed(_)));
                for rendered in [err.to_string(), format!("{err:?}")] {
                    prop_assert!(!rendered.contains(&access), "{}", rendered);
                    prop_assert!(!rendered.contains(&refresh), "{}", rendered);
                }
            }
        }
    }
}
