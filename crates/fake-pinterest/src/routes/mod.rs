//! The fake's endpoints, and how faults replace them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::ConsentMode;
use crate::body::FakeBody;
use crate::fault::{self, Grant, Target};
use crate::server::{Connection, Shared};
use crate::state::{Malformed, RefreshExpiresAt};

mod misbehave;
use crate::state::{IssuedCode, RecordedRequest, RefreshStatus};
use crate::wire::{self, KNOWN_SCOPES, field, invalid_grant, invalid_parameters};

/// Largest request body read.
const MAX_REQUEST_BODY: usize = 64 * 1024;
/// What endless bodies repeat.
const ENDLESS_CHUNK: usize = 64 * 1024;

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    connection: Arc<Connection>,
    request: Request<Incoming>,
) -> Result<Response<FakeBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(finish(wire::error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                wire::code::INVALID_PARAMETERS,
                "Request body too large.",
            )));
        }
    };
    let target = target_of(&parts.method, parts.uri.path(), &parts.headers, &body);
    let fault = {
        let mut state = shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.stats.requests += 1;
        state.record(RecordedRequest {
            method: parts.method.to_string(),
            target: parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            version: format!("{:?}", parts.version),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
        });
        match target {
            Target::Token(grant) => state.stats.token.count(grant),
            Target::Revoke => state.stats.revoke += 1,
            Target::Consent => state.stats.consent += 1,
            Target::UserAccount => state.stats.user_account += 1,
            Target::Other => {}
        }
        let fault = match target {
            Target::Other => None,
            _ => fault::take(&mut state.scripts, target),
        };
        if fault.is_some() {
            state.stats.faults += 1;
        }
        fault
    };
    let call = Call {
        shared: &shared,
        connection: &connection,
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        body: &body,
        target,
    };
    let response = match fault {
        Some(fault) => call.misbehave(fault).await,
        None => call.answer(),
    };
    Ok(finish(response))
}

/// Adds the request id every Pinterest response carries.
fn finish(mut response: Response<FakeBody>) -> Response<FakeBody> {
    if let Ok(rid) = HeaderValue::from_str(&wire::request_id()) {
        response.headers_mut().insert(wire::REQUEST_ID, rid);
    }
    response
}

fn target_of(method: &Method, path: &str, headers: &http::HeaderMap, body: &[u8]) -> Target {
    match path {
        "/v5/oauth/token" if method == Method::POST => {
            let form = is_form(headers)
                .then(|| wire::form_fields(body).ok())
                .flatten();
            let grant = form
                .as_deref()
                .and_then(|f| field(f, "grant_type"))
                .and_then(Grant::parse);
            Target::Token(grant)
        }
        "/v5/oauth/token/revoke" if method == Method::POST => Target::Revoke,
        "/v5/user_account" => Target::UserAccount,
        "/oauth/" | "/oauth" => Target::Consent,
        _ => Target::Other,
    }
}

fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

struct Call<'a> {
    shared: &'a Arc<Shared>,
    connection: &'a Arc<Connection>,
    method: &'a Method,
    uri: &'a http::Uri,
    headers: &'a http::HeaderMap,
    body: &'a Bytes,
    target: Target,
}

impl Call<'_> {
    /// The proper answer.
    fn answer(&self) -> Response<FakeBody> {
        match (self.target, self.uri.path()) {
            (Target::Token(_), _) => self.token(),
            (Target::Revoke, _) => self.revoke(),
            (Target::UserAccount, _) => self.user_account(),
            (Target::Consent, _) => self.consent(),
            (Target::Other, "/_fake/stats") => {
                let stats = self.shared.stats();
                wire::json_response(StatusCode::OK, &json!(stats))
            }
            (Target::Other, "/v5/oauth/token" | "/v5/oauth/token/revoke") => {
                let mut r = wire::error_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    wire::code::INVALID_PARAMETERS,
                    "Method not allowed.",
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                r
            }
            _ => wire::error_response(StatusCode::NOT_FOUND, 404, "Not found."),
        }
    }

    fn form(&self) -> Result<Vec<(String, String)>, &'static str> {
        if !is_form(self.headers) {
            return Err("Content-Type must be application/x-www-form-urlencoded");
        }
        wire::form_fields(self.body)
    }

    fn client_authenticated(&self) -> bool {
        let config = &self.shared.config;
        wire::basic_credentials(self.headers.get(header::AUTHORIZATION))
            .is_some_and(|(id, secret)| id == config.app_id && secret == config.app_secret)
    }

    fn token(&self) -> Response<FakeBody> {
        if !self.client_authenticated() {
            return wire::authentication_failed();
        }
        let fields = match self.form() {
            Ok(fields) => fields,
            Err(problem) => return invalid_parameters(problem),
        };
        match field(&fields, "grant_type") {
            Some("authorization_code") => self.authorization_code(&fields),
            Some("refresh_token") => self.refresh_token(&fields),
            Some("client_credentials") => self.client_credentials(&fields),
            Some(_) => invalid_parameters("unsupported grant_type"),
            None => invalid_parameters("grant_type is required"),
        }
    }

    fn authorization_code(&self, fields: &[(String, String)]) -> Response<FakeBody> {
        let (Some(code), Some(redirect_uri)) =
            (field(fields, "code"), field(fields, "redirect_uri"))
        else {
            return invalid_parameters("code and redirect_uri are required");
        };
        if !matches!(
            field(fields, "continuous_refresh"),
            None | Some("true" | "false")
        ) {
            return invalid_parameters("continuous_refresh must be true or false");
        }
        let config = &self.shared.config;
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Single use: a code is gone after its first exchange attempt.
        let Some(issued) = state.codes.remove(code) else {
            return invalid_grant();
        };
        if issued.expires <= Instant::now() || issued.redirect_uri != redirect_uri {
            return invalid_grant();
        }
        // A code issued with a challenge is exchanged only with its verifier; a verifier for a
        // code issued without one is refused too (it is not this client's code).
        let verifier = field(fields, "code_verifier");
        let pkce_ok = match &issued.challenge {
            Some((challenge, method)) => wire::pkce_matches(challenge, method, verifier),
            None => verifier.is_none(),
        };
        if !pkce_ok {
            state.stats.pkce_refused += 1;
            return invalid_grant();
        }
        if !state.redirect_uris.iter().any(|r| r == redirect_uri) {
            return invalid_grant();
        }
        let tokens = state.issue(&issued.scopes, config.access_ttl, Some(config.refresh_ttl));
        let shape = state.shape.clone();
        drop(state);
        token_response(
            &tokens,
            config,
            Some(&issued.scopes),
            Grant::AuthorizationCode,
            &shape,
        )
    }

    fn refresh_token(&self, fields: &[(String, String)]) -> Response<FakeBody> {
        let Some(refresh_token) = field(fields, "refresh_token") else {
            return invalid_parameters("refresh_token is required");
        };
        let config = &self.shared.config;
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(state.refresh.get(refresh_token), Some(g) if matches!(g.status, RefreshStatus::Rotated(_)))
        {
            state.stats.rotated_reuse += 1;
        }
        if !state.refresh_usable(refresh_token, config.rotation_grace) {
            return invalid_grant();
        }
        let shape = state.shape.clone();
        let Some(grant) = state.refresh.get_mut(refresh_token) else {
            return invalid_grant();
        };
        let scopes = match field(fields, "scope") {
            None => grant.scopes.clone(),
            Some(requested) => {
                let requested = wire::split_scopes(requested);
                if requested.is_empty() || requested.iter().any(|s| !grant.scopes.contains(s)) {
                    return invalid_parameters("scope must be a subset of the granted scopes");
                }
                requested
            }
        };
        if shape.repeat_pair {
            // The pair it was asked with, again: nothing rotates.
            let tokens = crate::state::Issued {
                access_token: grant.access_token.clone(),
                refresh_token: Some(refresh_token.to_owned()),
                refresh_expires_at: Some(grant.expires),
            };
            drop(state);
            let shown = (!shape.omit_scope_on_refresh).then_some(scopes.as_slice());
            return token_response(&tokens, config, shown, Grant::RefreshToken, &shape);
        }
        if shape.legacy_refresh {
            // A legacy grant: the refresh token stays, and the answer carries none.
            let tokens = state.issue_from(refresh_token, &scopes, config.access_ttl, None);
            drop(state);
            let shown = (!shape.omit_scope_on_refresh).then_some(scopes.as_slice());
            return token_response(&tokens, config, shown, Grant::RefreshToken, &shape);
        }
        // Continuous refresh: the refresh token rotates, the old one stops working (after the
        // grace period, if one is set).
        if grant.status == RefreshStatus::Active {
            grant.status = RefreshStatus::Rotated(SystemTime::now());
        }
        let tokens = state.issue_from(
            refresh_token,
            &scopes,
            config.access_ttl,
            Some(config.refresh_ttl),
        );
        drop(state);
        let shown = (!shape.omit_scope_on_refresh).then_some(scopes.as_slice());
        token_response(&tokens, config, shown, Grant::RefreshToken, &shape)
    }

    fn client_credentials(&self, fields: &[(String, String)]) -> Response<FakeBody> {
        let Some(scope) = field(fields, "scope") else {
            return invalid_parameters("scope is required");
        };
        let scopes = wire::split_scopes(scope);
        if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return invalid_parameters("scope must list known scopes");
        }
        let config = &self.shared.config;
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let shape = state.shape.clone();
        let refresh_ttl = shape
            .refresh_token_on_client_credentials
            .then_some(config.refresh_ttl);
        let tokens = state.issue(&scopes, config.access_ttl, refresh_ttl);
        drop(state);
        token_response(
            &tokens,
            config,
            Some(&scopes),
            Grant::ClientCredentials,
            &shape,
        )
    }

    fn revoke(&self) -> Response<FakeBody> {
        if !self.client_authenticated() {
            return wire::authentication_failed();
        }
        let fields = match self.form() {
            Ok(fields) => fields,
            Err(problem) => return invalid_parameters(problem),
        };
        let Some(token) = field(&fields, "token") else {
            return invalid_parameters("token is required");
        };
        if !matches!(
            field(&fields, "token_type_hint"),
            None | Some("access_token" | "refresh_token")
        ) {
            return invalid_parameters("token_type_hint must be access_token or refresh_token");
        }
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .revoke(token);
        let mut response = Response::new(FakeBody::empty());
        *response.status_mut() = StatusCode::OK;
        response
    }

    fn user_account(&self) -> Response<FakeBody> {
        let bearer = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let valid = bearer.is_some_and(|token| {
            self.shared
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .access_valid(token)
        });
        if self.method != Method::GET {
            return wire::error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                wire::code::INVALID_PARAMETERS,
                "Method not allowed.",
            );
        }
        if !valid {
            return wire::authentication_failed();
        }
        wire::json_response(
            StatusCode::OK,
            &json!({"account_type": "BUSINESS", "username": "fake_pinterest_user"}),
        )
    }

    fn consent(&self) -> Response<FakeBody> {
        let query: Vec<(String, String)> =
            form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let param = |name| field(&query, name);
        let config = &self.shared.config;
        if param("client_id") != Some(config.app_id.as_str()) {
            return html(StatusCode::BAD_REQUEST, "Unknown or missing client_id.");
        }
        let Some(redirect_uri) = param("redirect_uri") else {
            return html(StatusCode::BAD_REQUEST, "Missing redirect_uri.");
        };
        // Byte for byte, port included: no any-port loopback (Pinterest does not do RFC 8252's).
        let allowed = self
            .shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .redirect_uris
            .iter()
            .any(|r| r == redirect_uri);
        let Ok(mut target) = url::Url::parse(redirect_uri) else {
            return html(StatusCode::BAD_REQUEST, "Invalid redirect_uri.");
        };
        if !allowed {
            return html(
                StatusCode::BAD_REQUEST,
                "redirect_uri is not registered for this app.",
            );
        }
        let state = param("state");
        let mut reply = |pairs: &[(&str, &str)]| {
            {
                let mut query = target.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
                if let Some(state) = state {
                    query.append_pair("state", state);
                }
            }
            redirect(target.as_str())
        };
        if param("response_type") != Some("code") {
            return reply(&[("error", "unsupported_response_type")]);
        }
        let scopes = wire::split_scopes(param("scope").unwrap_or(""));
        if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return reply(&[("error", "invalid_scope")]);
        }
        // PKCE (RFC 7636): S256; `plain` (what an omitted method means) only when allowed.
        let challenge = match (param("code_challenge"), param("code_challenge_method")) {
            (None, None) => None,
            (Some(challenge), Some("S256")) => Some((challenge.to_owned(), "S256".to_owned())),
            (Some(challenge), Some("plain") | None) if config.allow_plain_pkce => {
                Some((challenge.to_owned(), "plain".to_owned()))
            }
            _ => return reply(&[("error", "invalid_request")]),
        };
        if config.consent == ConsentMode::Deny {
            return reply(&[
                ("error", "access_denied"),
                ("error_description", "The user denied access."),
            ]);
        }
        let code = wire::random_token("", 24);
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .codes
            .insert(
                code.clone(),
                IssuedCode {
                    redirect_uri: redirect_uri.to_owned(),
                    scopes,
                    expires: crate::state::after_instant(config.code_ttl),
                    challenge,
                },
            );
        reply(&[("code", &code)])
    }
}

fn token_response(
    tokens: &crate::state::Issued,
    config: &crate::FakeConfig,
    scopes: Option<&[String]>,
    grant: Grant,
    shape: &crate::AnswerShape,
) -> Response<FakeBody> {
    let expires_in = config.access_ttl.min(crate::MAX_TTL).as_secs();
    let mut body = json!({
        "access_token": tokens.access_token,
        "token_type": "bearer",
        "expires_in": if shape.expires_in_as_string { json!(expires_in.to_string()) } else { json!(expires_in) },
    });
    if !shape.omit_response_type {
        body["response_type"] = json!(grant.as_str());
    }
    if let Some(scopes) = scopes.filter(|_| !shape.omit_scope) {
        let separator = if shape.space_separated_scope {
            " "
        } else {
            ","
        };
        body["scope"] = json!(scopes.join(separator));
    }
    if let (Some(refresh), Some(at)) = (&tokens.refresh_token, tokens.refresh_expires_at) {
        body["refresh_token"] = json!(refresh);
        let lifetime = config.refresh_ttl.min(crate::MAX_TTL).as_secs();
        body["refresh_token_expires_in"] = json!(lifetime);
        match shape.refresh_expires_at {
            RefreshExpiresAt::Absolute => {
                body["refresh_token_expires_at"] =
                    json!(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
            }
            RefreshExpiresAt::Relative => body["refresh_token_expires_at"] = json!(lifetime),
            RefreshExpiresAt::Zero => body["refresh_token_expires_at"] = json!(0),
            RefreshExpiresAt::Absent => {}
        }
    }
    let status = if shape.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = match shape.malformed {
        None => wire::json_response(status, &body),
        Some(malformed) => {
            let mut text = body.to_string();
            match malformed {
                Malformed::DuplicateRefreshToken => {
                    text.insert_str(1, r#""refresh_token":"pinr_decoy","#);
                }
                Malformed::TrailingBytes => text.push_str("\n<!-- served by the edge -->"),
                Malformed::HugeNumber => {
                    let at = format!(r#""expires_in":{expires_in}"#);
                    text = text.replacen(&at, r#""expires_in":1e400"#, 1);
                }
            }
            let mut response = wire::json_response(status, &body);
            *response.body_mut() = FakeBody::full(text);
            response
        }
    };
    for (name, value) in &shape.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A page: an error's (its status) says "Something went wrong", a redirect's says where to.
fn html(status: StatusCode, message: &str) -> Response<FakeBody> {
    let headline = if status.is_redirection() {
        "Redirecting"
    } else {
        "Something went wrong"
    };
    let body = format!(
        "<!doctype html><html><head><title>Pinterest (fake)</title></head>\
         <body><h1>{headline}</h1><p>{message}</p></body></html>"
    );
    let mut response = Response::new(FakeBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn redirect(location: &str) -> Response<FakeBody> {
    let mut response = html(StatusCode::FOUND, "Redirecting back to the app.");
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
