//! The fake behaves as `pinterest-wire.md` says, checked with raw HTTP (no client core).

use std::time::Duration;

use base64::Engine as _;
use fake_pinterest::{ConsentMode, FakeConfig, FakePinterest, Fault, Grant, Route, Times};
use serde_json::Value;

struct Raw {
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Raw {
    fn new() -> Raw {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        Raw { agent }
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
        Answer {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    fn get(&self, url: &str, bearer: Option<&str>) -> Answer {
        let mut request = self.agent.get(url);
        if let Some(token) = bearer {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        Raw::answer(request.call().unwrap())
    }

    fn post(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        content_type: &str,
        body: &str,
    ) -> Answer {
        let mut request = self.agent.post(url).header("content-type", content_type);
        if let Some((id, secret)) = basic {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            request = request.header("authorization", &format!("Basic {encoded}"));
        }
        Raw::answer(request.send(body).unwrap())
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

struct Env {
    fake: FakePinterest,
    raw: Raw,
}

impl Env {
    fn new(config: FakeConfig) -> Env {
        Env {
            fake: FakePinterest::start(config).unwrap(),
            raw: Raw::new(),
        }
    }

    fn token(&self, body: &str) -> Answer {
        let url = format!("{}/oauth/token", self.fake.api_base_url());
        let creds = (self.fake.app_id(), self.fake.app_secret());
        self.raw.post(&url, Some(creds), FORM, body)
    }

    fn revoke(&self, body: &str) -> Answer {
        let url = format!("{}/oauth/token/revoke", self.fake.api_base_url());
        let creds = (self.fake.app_id(), self.fake.app_secret());
        self.raw.post(&url, Some(creds), FORM, body)
    }

    fn consent(&self, query: &str) -> Answer {
        self.raw
            .get(&format!("{}?{query}", self.fake.consent_url()), None)
    }

    fn code_for(&self, redirect: &str) -> String {
        self.fake
            .issue_code(redirect, &["boards:read", "pins:read"])
    }

    fn exchange(&self, redirect: &str) -> Value {
        let code = self.code_for(redirect);
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
        ]);
        let answer = self.token(&body);
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

fn assert_error(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["code"], code, "{}", answer.body);
    assert!(json["message"].is_string());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("x-pinterest-rid").map(str::len), Some(16));
}

const REDIRECT: &str = "http://localhost:8085/";

#[test]
fn consent_redirects_back_with_code_and_state() {
    let env = Env::new(FakeConfig::default());
    let q = form(&[
        ("client_id", env.fake.app_id()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "boards:read,pins:read"),
        ("state", "abc+/="),
    ]);
    let answer = env.consent(&q);
    assert_eq!(answer.status, 302);
    // A browser that shows the page before following says what happens, not an error.
    assert!(answer.body.contains("Redirecting"), "{}", answer.body);
    assert!(
        !answer.body.contains("Something went wrong"),
        "{}",
        answer.body
    );
    let location = url::Url::parse(answer.header("location").unwrap()).unwrap();
    assert_eq!(&location[..url::Position::AfterPath], REDIRECT);
    let params: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(params[0].0, "code");
    assert_eq!(params[1], ("state".into(), "abc+/=".into()));
    // The code works once, with the same redirect URI.
    let exchange = |code: &str| {
        env.token(&form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ]))
    };
    assert_eq!(exchange(&params[0].1).status, 200);
    assert_error(&exchange(&params[0].1), 401, 283);
}

#[test]
fn consent_checks_client_redirect_response_type_and_scopes() {
    let env = Env::new(FakeConfig::default());
    let query = |client: &str, redirect: &str, rtype: &str, scope: &str| {
        form(&[
            ("client_id", client),
            ("redirect_uri", redirect),
            ("response_type", rtype),
            ("scope", scope),
            ("state", "s"),
        ])
    };
    let id = env.fake.app_id().to_owned();
    // No redirect to an unverified place: an error page.
    let refused = env.consent(&query("999", REDIRECT, "code", "ads:read"));
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("Something went wrong"),
        "{}",
        refused.body
    );
    assert_eq!(
        env.consent(&query(&id, "https://evil.example/", "code", "ads:read"))
            .status,
        400
    );
    // Errors the app should hear about: a redirect with `error` and the state.
    let error_of = |q: &str| {
        let answer = env.consent(q);
        assert_eq!(answer.status, 302);
        let location = url::Url::parse(answer.header("location").unwrap()).unwrap();
        let params: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        assert!(params.contains(&("state".into(), "s".into())));
        params
            .into_iter()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v)
    };
    assert_eq!(
        error_of(&query(&id, REDIRECT, "token", "ads:read")).as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(
        error_of(&query(&id, REDIRECT, "code", "ads:read,nope:read")).as_deref(),
        Some("invalid_scope")
    );
    assert_eq!(
        error_of(&query(&id, REDIRECT, "code", "")).as_deref(),
        Some("invalid_scope")
    );
    // Any other loopback port is not registered (no RFC 8252 any-port loopback).
    assert_eq!(
        env.consent(&query(&id, "http://127.0.0.1:9/cb", "code", "ads:read"))
            .status,
        400
    );
    assert_eq!(env.fake.stats().consent, 6);
}

#[test]
fn registered_redirect_uris_and_denial() {
    let env = Env::new(FakeConfig {
        redirect_uris: vec!["https://app.example/cb".into()],
        consent: ConsentMode::Deny,
        ..FakeConfig::default()
    });
    let q = |redirect: &str| {
        form(&[
            ("client_id", env.fake.app_id()),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "ads:read"),
        ])
    };
    assert_eq!(
        env.consent(&q(REDIRECT)).status,
        400,
        "loopback is not registered here"
    );
    let answer = env.consent(&q("https://app.example/cb"));
    assert_eq!(answer.status, 302);
    assert!(
        answer
            .header("location")
            .unwrap()
            .contains("error=access_denied")
    );
}

#[test]
fn token_endpoint_checks_client_auth_content_type_and_fields() {
    let env = Env::new(FakeConfig::default());
    let url = format!("{}/oauth/token", env.fake.api_base_url());
    let body = form(&[("grant_type", "client_credentials"), ("scope", "ads:read")]);
    assert_error(&env.raw.post(&url, None, FORM, &body), 401, 2);
    assert_error(
        &env.raw
            .post(&url, Some((env.fake.app_id(), "wrong")), FORM, &body),
        401,
        2,
    );
    let creds = Some((env.fake.app_id(), env.fake.app_secret()));
    assert_error(
        &env.raw.post(&url, creds, "application/json", &body),
        400,
        1,
    );
    assert_eq!(
        env.raw
            .post(
                &url,
                creds,
                "application/x-www-form-urlencoded; charset=utf-8",
                &body
            )
            .status,
        200
    );

    assert_error(&env.token("grant_type=client_credentials"), 400, 1);
    assert_error(
        &env.token("grant_type=client_credentials&scope=nope:read"),
        400,
        1,
    );
    assert_error(&env.token("grant_type=authorization_code&code=x"), 400, 1);
    assert_error(&env.token("grant_type=refresh_token"), 400, 1);
    assert_error(&env.token("grant_type=password"), 400, 1);
    assert_error(&env.token("scope=ads:read"), 400, 1);
    assert_error(
        &env.token("grant_type=client_credentials&scope=ads:read&scope=ads:read"),
        400,
        1,
    );
    let code = env.code_for(REDIRECT);
    let bad_flag = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("continuous_refresh", "yes"),
    ]);
    assert_error(&env.token(&bad_flag), 400, 1);

    let ok = env.token(&body).json();
    assert_eq!(ok["token_type"], "bearer");
    assert_eq!(ok["scope"], "ads:read");
    assert_eq!(ok["response_type"], "client_credentials");
    assert!(ok.get("refresh_token").is_none());
    let stats = env.fake.stats();
    // Counted by the grant_type received, whether or not the request was valid.
    assert_eq!(stats.token.client_credentials, 6);
    // No readable grant_type: wrong content type, unknown grant, none, a repeated field.
    assert_eq!(stats.token.invalid, 4);
}

#[test]
fn codes_are_bound_to_their_redirect_uri_and_expire() {
    let env = Env::new(FakeConfig::default());
    let code = env.code_for(REDIRECT);
    let other = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://localhost:9999/"),
    ]);
    assert_error(&env.token(&other), 401, 283);
    let same = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ]);
    assert_error(&env.token(&same), 401, 283);

    let expired = Env::new(FakeConfig {
        code_ttl: Duration::ZERO,
        ..FakeConfig::default()
    });
    let code = expired.code_for(REDIRECT);
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ]);
    assert_error(&expired.token(&body), 401, 283);
}

#[test]
fn refresh_rotates_and_scopes_only_narrow() {
    let env = Env::new(FakeConfig::default());
    let first = env.exchange(REDIRECT);
    assert_eq!(first["response_type"], "authorization_code");
    assert_eq!(first["expires_in"], 30 * 24 * 3600);
    assert_eq!(first["refresh_token_expires_in"], 60 * 24 * 3600);
    assert!(first["refresh_token_expires_at"].is_u64());
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    assert!(r1.starts_with("pinr_"));

    let widen = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &r1),
        ("scope", "ads:read"),
    ]);
    assert_error(&env.token(&widen), 400, 1);
    let narrow = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &r1),
        ("scope", "pins:read"),
    ]);
    let second = env.token(&narrow).json();
    assert_eq!(second["scope"], "pins:read");
    assert_eq!(second["response_type"], "refresh_token");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_error(
        &env.token(&form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
        ])),
        401,
        283,
    );
    assert_eq!(
        env.token(&form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r2)
        ]))
        .status,
        200
    );
}

#[test]
fn revoked_tokens_stop_working() {
    let env = Env::new(FakeConfig::default());
    let tokens = env.exchange(REDIRECT);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let account = format!("{}/user_account", env.fake.api_base_url());
    assert_eq!(env.raw.get(&account, Some(access)).status, 200);

    assert_error(&env.revoke(""), 400, 1);
    assert_error(
        &env.revoke(&form(&[("token", access), ("token_type_hint", "id_token")])),
        400,
        1,
    );
    let revoked = env.revoke(&form(&[
        ("token", access),
        ("token_type_hint", "access_token"),
    ]));
    assert_eq!((revoked.status, revoked.body.as_str()), (200, ""));
    assert_error(&env.raw.get(&account, Some(access)), 401, 2);

    assert_eq!(env.revoke(&form(&[("token", refresh)])).status, 200);
    assert_error(
        &env.token(&form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
        ])),
        401,
        283,
    );
    // Unknown tokens are accepted, as RFC 7009 says.
    assert_eq!(env.revoke(&form(&[("token", "pina_unknown")])).status, 200);
    assert_eq!(env.fake.stats().revoke, 5);
}

#[test]
fn stats_are_served_as_json() {
    let env = Env::new(FakeConfig::default());
    env.token("grant_type=client_credentials&scope=ads:read");
    env.token("grant_type=refresh_token&refresh_token=x");
    let stats = env
        .raw
        .get(&format!("{}/_fake/stats", env.fake.origin()), None)
        .json();
    assert_eq!(stats["token"]["client_credentials"], 1);
    assert_eq!(stats["token"]["refresh_token"], 1);
    assert_eq!(stats["token"]["authorization_code"], 0);
    assert_eq!(stats["revoke"], 0);
    assert_eq!(stats["requests"], 3);
}

#[test]
fn faults_are_scripted_by_route_and_count() {
    let env = Env::new(FakeConfig::default());
    env.fake.push_fault(
        Route::Grant(Grant::RefreshToken),
        Fault::unavailable(),
        Times::N(2),
    );
    env.fake
        .push_fault(Route::Revoke, Fault::forbidden(), Times::Always);
    let cc = "grant_type=client_credentials&scope=ads:read";
    assert_eq!(env.token(cc).status, 200, "other grants are untouched");
    assert_error(
        &env.token("grant_type=refresh_token&refresh_token=x"),
        503,
        3,
    );
    assert_error(
        &env.token("grant_type=refresh_token&refresh_token=x"),
        503,
        3,
    );
    assert_error(
        &env.token("grant_type=refresh_token&refresh_token=x"),
        401,
        283,
    );
    for _ in 0..3 {
        assert_error(&env.revoke("token=x"), 403, 29);
    }
    env.fake.clear_faults();
    assert_eq!(env.revoke("token=x").status, 200);

    env.fake
        .push_fault(Route::Token, Fault::rate_limited(7), Times::Once);
    let limited = env.token(cc);
    assert_error(&limited, 429, 8);
    assert_eq!(limited.header("retry-after"), Some("7"));
    let html = {
        env.fake
            .push_fault(Route::Any, Fault::bad_gateway_html(), Times::Once);
        env.token(cc)
    };
    assert_eq!(html.status, 502);
    assert_eq!(html.header("content-type"), Some("text/html"));
    // A delay answers properly afterwards (no timing is asserted).
    env.fake.push_fault(
        Route::Token,
        Fault::Delay(Duration::from_millis(20)),
        Times::Once,
    );
    assert_eq!(env.token(cc).status, 200);
    assert_eq!(env.fake.stats().faults, 8);
}

#[test]
fn tls_serves_with_a_certificate_from_its_own_ca() {
    let fake = FakePinterest::start(FakeConfig {
        tls: true,
        ..FakeConfig::default()
    })
    .unwrap();
    assert!(fake.origin().starts_with("https://127.0.0.1:"));
    let pem = fake.ca_certificate_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let ca = ureq::tls::Certificate::from_pem(pem.as_bytes()).unwrap();
    let agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .build()
        .new_agent();
    let stats: Value = agent
        .get(&format!("{}/_fake/stats", fake.origin()))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(stats["requests"], 1);
}

fn refresh_body(token: &str) -> String {
    form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
}

#[test]
fn answers_can_take_every_shape_pinterest_allows() {
    let env = Env::new(FakeConfig::default());
    let first = env.exchange(REDIRECT);
    env.fake.set_shape(
        fake_pinterest::AnswerShape {
            created: true,
            space_separated_scope: true,
            expires_in_as_string: true,
            ..Default::default()
        }
        .with_rate_limit_headers(1000, 998, 60),
    );
    let answer = env.token(&refresh_body(first["refresh_token"].as_str().unwrap()));
    assert_eq!(answer.status, 201);
    assert_eq!(answer.header("x-ratelimit-remaining"), Some("998"));
    assert_eq!(answer.header("x-ratelimit-reset"), Some("60"));
    let second = answer.json();
    assert_eq!(second["scope"], "boards:read pins:read");
    assert_eq!(second["expires_in"], (30 * 24 * 3600).to_string());

    env.fake.set_shape(fake_pinterest::AnswerShape {
        omit_scope_on_refresh: true,
        ..Default::default()
    });
    let third = env
        .token(&refresh_body(second["refresh_token"].as_str().unwrap()))
        .json();
    assert!(third.get("scope").is_none(), "{third}");

    // A legacy grant: no rotation, no refresh token in the answer, the old one still works.
    env.fake.set_shape(fake_pinterest::AnswerShape {
        legacy_refresh: true,
        ..Default::default()
    });
    let legacy = third["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let answer = env.token(&refresh_body(&legacy)).json();
        assert!(answer.get("refresh_token").is_none(), "{answer}");
        assert!(
            answer["access_token"]
                .as_str()
                .unwrap()
                .starts_with("pina_")
        );
    }
    assert!(env.fake.refresh_token_valid(&legacy));
}

#[test]
fn a_rotated_token_dies_at_once_or_after_the_grace_period() {
    let env = Env::new(FakeConfig::default());
    let first = env.exchange(REDIRECT);
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let r2 = env.token(&refresh_body(&r1)).json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!env.fake.refresh_token_valid(&r1));
    assert!(env.fake.refresh_token_valid(&r2));
    assert_error(&env.token(&refresh_body(&r1)), 401, 283);
    assert_eq!(env.fake.stats().rotated_reuse, 1, "the late use is counted");

    let graceful = Env::new(FakeConfig {
        rotation_grace: Duration::from_millis(300),
        ..FakeConfig::default()
    });
    let first = graceful.exchange(REDIRECT);
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    graceful.token(&refresh_body(&r1)).json();
    assert!(
        graceful.fake.refresh_token_valid(&r1),
        "within the grace period"
    );
    assert_eq!(graceful.token(&refresh_body(&r1)).status, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while graceful.fake.refresh_token_valid(&r1) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_error(&graceful.token(&refresh_body(&r1)), 401, 283);
    assert_eq!(graceful.fake.stats().rotated_reuse, 2);
}

#[test]
fn absurd_lifetimes_are_bounded_and_never_poison_the_fake() {
    let env = Env::new(FakeConfig {
        access_ttl: Duration::MAX,
        refresh_ttl: Duration::from_secs(u64::MAX),
        code_ttl: Duration::MAX,
        ..FakeConfig::default()
    });
    // Before the bound, issuing panicked while holding the state lock, and every later request
    // failed with it poisoned.
    for _ in 0..2 {
        let tokens = env.exchange(REDIRECT);
        assert_eq!(tokens["expires_in"], fake_pinterest::MAX_TTL.as_secs());
        assert_eq!(
            env.raw
                .get(&format!("{}/_fake/stats", env.fake.origin()), None)
                .status,
            200
        );
    }
}

#[test]
fn a_pkce_challenge_needs_its_verifier() {
    let env = Env::new(FakeConfig::default());
    // RFC 7636 Appendix B.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let code = |env: &Env| {
        let answer = env.consent(&format!(
            "client_id={}&redirect_uri={}&response_type=code&scope=boards:read&state=s&code_challenge={challenge}&code_challenge_method=S256",
            env.fake.app_id(),
            REDIRECT
        ));
        let location = answer.header("location").unwrap().to_owned();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    };
    let exchange = |code: &str, verifier: Option<&str>| {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier {
            pairs.push(("code_verifier", v));
        }
        env.token(&form(&pairs))
    };
    assert_error(
        &exchange(
            &code(&env),
            Some("wrong-verifier-wrong-verifier-wrong-verifier"),
        ),
        401,
        283,
    );
    assert_error(&exchange(&code(&env), None), 401, 283);
    assert_eq!(env.fake.stats().pkce_refused, 2);
    assert_eq!(exchange(&code(&env), Some(verifier)).status, 200);
}

#[test]
fn connections_can_be_cut_before_the_request_is_read_whole() {
    use std::io::{Read, Write};
    let env = Env::new(FakeConfig::default());
    env.fake.cut_connections(fake_pinterest::Cut::OnAccept, 1);
    env.fake
        .cut_connections(fake_pinterest::Cut::AfterBytes(10), 1);
    let request = b"POST /v5/oauth/token HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n";
    for _ in 0..2 {
        let mut tcp = std::net::TcpStream::connect(env.fake.addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = tcp.write_all(request);
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        assert!(answer.is_empty(), "a cut connection answers nothing");
    }
    let stats = env.fake.stats();
    assert_eq!(
        (stats.connections, stats.cut_connections, stats.cut_bytes),
        (2, 2, 10)
    );
    assert_eq!(
        stats.token.invalid + stats.token.client_credentials,
        0,
        "no request reached an endpoint"
    );
    // The next connection is served.
    let cc = "grant_type=client_credentials&scope=ads:read";
    assert_eq!(env.token(cc).status, 200);
}

#[test]
fn a_lost_answer_spends_the_code_and_sends_only_its_first_bytes() {
    use std::io::{Read, Write};
    let env = Env::new(FakeConfig::default());
    let redirect = REDIRECT;
    let code = env.code_for(redirect);
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", redirect),
    ]);
    env.fake.push_fault(
        Route::Grant(Grant::AuthorizationCode),
        Fault::LoseAnswer { sent: 12 },
        Times::Once,
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        env.fake.app_id(),
        env.fake.app_secret()
    ));
    let request = format!(
        "POST /v5/oauth/token HTTP/1.1\r\nHost: x\r\nauthorization: Basic {basic}\r\ncontent-type: {FORM}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut tcp = std::net::TcpStream::connect(env.fake.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert_eq!(answer, b"HTTP/1.1 200");
    assert_eq!(env.fake.stats().lost_answers, 1);
    // The code was spent: presenting it again is refused.
    assert_error(&env.token(&body), 401, 283);
}

/// The consent query for `redirect`, with PKCE's `challenge` and `method` when given.
fn consent_query(id: &str, redirect: &str, pkce: Option<(&str, &str)>) -> String {
    let mut pairs = vec![
        ("client_id", id),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "boards:read"),
        ("state", "s"),
    ];
    if let Some((challenge, method)) = pkce {
        pairs.push(("code_challenge", challenge));
        if !method.is_empty() {
            pairs.push(("code_challenge_method", method));
        }
    }
    form(&pairs)
}

/// The code a consent redirected back with.
fn code_of(answer: &Answer) -> String {
    assert_eq!(answer.status, 302, "{}", answer.body);
    let location = url::Url::parse(answer.header("location").unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {location}"))
}

#[test]
fn redirect_uris_match_byte_for_byte_port_included() {
    let env = Env::new(FakeConfig::default());
    let id = env.fake.app_id().to_owned();
    for unregistered in [
        "http://localhost:8086/",
        "http://localhost:8085",
        "http://127.0.0.1:8085/",
        "http://localhost:8085/cb",
        "http://LOCALHOST:8085/",
        "https://localhost:8085/",
    ] {
        assert_eq!(
            env.consent(&consent_query(&id, unregistered, None)).status,
            400,
            "{unregistered}"
        );
    }
    // Registered while it runs (as in the app's settings): accepted from then on, exactly.
    env.fake.register_redirect_uri("http://127.0.0.1:9999/cb");
    let code = code_of(&env.consent(&consent_query(&id, "http://127.0.0.1:9999/cb", None)));
    // A client that changes the redirect URI at the exchange is refused.
    let exchange = |redirect: &str, code: &str| {
        env.token(&form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
        ]))
    };
    assert_error(&exchange("http://127.0.0.1:9999/cb/", &code), 401, 283);
    let code = code_of(&env.consent(&consent_query(&id, "http://127.0.0.1:9999/cb", None)));
    assert_eq!(exchange("http://127.0.0.1:9999/cb", &code).status, 200);
    // Several registered with the binary's `--redirect-uri`, by default the quickstart's.
    let binary = std::process::Command::new(env!("CARGO_BIN_EXE_fake-pinterest"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&binary.stdout);
    assert!(help.contains("--redirect-uri"), "{help}");
    assert!(help.contains("http://localhost:8085/"), "{help}");
}

#[test]
fn a_code_issued_with_a_challenge_needs_its_verifier_and_only_s256_by_default() {
    use sha2::Digest as _;
    let env = Env::new(FakeConfig::default());
    let id = env.fake.app_id().to_owned();
    let verifier = "a-verifier-of-at-least-forty-three-characters-0123456789";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    let exchange = |code: &str, verifier: Option<&str>| {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        pairs.extend(verifier.map(|v| ("code_verifier", v)));
        env.token(&form(&pairs))
    };
    let with_challenge =
        || code_of(&env.consent(&consent_query(&id, REDIRECT, Some((&challenge, "S256")))));
    // A client that omits the verifier, or sends another, is refused.
    assert_error(&exchange(&with_challenge(), None), 401, 283);
    assert_error(
        &exchange(
            &with_challenge(),
            Some("another-verifier-of-forty-three-chars-000000"),
        ),
        401,
        283,
    );
    assert_eq!(exchange(&with_challenge(), Some(verifier)).status, 200);
    // A verifier for a code issued without a challenge is not this client's code.
    let plain_code = code_of(&env.consent(&consent_query(&id, REDIRECT, None)));
    assert_error(&exchange(&plain_code, Some(verifier)), 401, 283);
    // `plain` (or no method, which means plain) is refused unless asked for.
    for method in ["plain", ""] {
        let refused = env.consent(&consent_query(&id, REDIRECT, Some((verifier, method))));
        let location = refused.header("location").unwrap();
        assert!(
            location.contains("error=invalid_request"),
            "{method}: {location}"
        );
    }
    let lenient = Env::new(FakeConfig {
        allow_plain_pkce: true,
        ..FakeConfig::default()
    });
    let lenient_id = lenient.fake.app_id().to_owned();
    let code = code_of(&lenient.consent(&consent_query(
        &lenient_id,
        REDIRECT,
        Some((verifier, "plain")),
    )));
    let answer = lenient.token(&form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]));
    assert_eq!(answer.status, 200);
    assert_eq!(env.fake.stats().pkce_refused, 3);
}

#[test]
fn revoking_a_refresh_token_revokes_the_access_tokens_issued_from_it() {
    let env = Env::new(FakeConfig::default());
    let first = env.exchange(REDIRECT);
    let refreshed = env.token(&form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", first["refresh_token"].as_str().unwrap()),
    ]));
    let second = refreshed.json();
    let other = env.exchange(REDIRECT);
    let account = format!("{}/user_account", env.fake.api_base_url());
    for access in [&first, &second] {
        assert_eq!(
            env.raw
                .get(&account, access["access_token"].as_str())
                .status,
            200
        );
    }
    assert_eq!(
        env.revoke(&form(&[(
            "token",
            second["refresh_token"].as_str().unwrap()
        )]))
        .status,
        200
    );
    for access in [&first, &second] {
        assert_error(
            &env.raw.get(&account, access["access_token"].as_str()),
            401,
            2,
        );
    }
    // Another grant's tokens are untouched.
    assert_eq!(
        env.raw.get(&account, other["access_token"].as_str()).status,
        200
    );
}

#[test]
fn answer_variants_the_spec_allows() {
    use fake_pinterest::{AnswerShape, RefreshExpiresAt};
    for (shape, check) in [
        (
            AnswerShape {
                omit_response_type: true,
                ..Default::default()
            },
            &(|v: &Value| v.get("response_type").is_none()) as &dyn Fn(&Value) -> bool,
        ),
        (
            AnswerShape {
                refresh_expires_at: RefreshExpiresAt::Relative,
                ..Default::default()
            },
            &|v: &Value| v["refresh_token_expires_at"] == v["refresh_token_expires_in"],
        ),
        (
            AnswerShape {
                refresh_expires_at: RefreshExpiresAt::Zero,
                ..Default::default()
            },
            &|v: &Value| v["refresh_token_expires_at"] == 0,
        ),
        (
            AnswerShape {
                refresh_expires_at: RefreshExpiresAt::Absent,
                ..Default::default()
            },
            &|v: &Value| {
                v.get("refresh_token_expires_at").is_none()
                    && v["refresh_token_expires_in"].is_u64()
            },
        ),
    ] {
        let env = Env::new(FakeConfig {
            shape: shape.clone(),
            ..FakeConfig::default()
        });
        let answer = env.exchange(REDIRECT);
        assert!(check(&answer), "{shape:?}: {answer}");
    }
}
