//! Helpers shared by the runnable examples: printing requests and tokens with secrets redacted,
//! and two drivers of the core over transports of their own ([`drivers`]).

pub mod drivers;

use std::time::SystemTime;

use fake_pinterest::RecordedRequest;
use pinterest_oauth_core::{Token, http};

/// Form fields whose values are secrets.
const SECRET_FIELDS: [&str; 3] = ["code", "refresh_token", "token"];
/// Headers whose values are secrets.
const SECRET_HEADERS: [&str; 1] = ["authorization"];

/// A request built by the core, as text: method, URI, headers (sensitive ones redacted) and the
/// form body with secret fields redacted.
pub fn show_request(request: &http::Request<Vec<u8>>) -> String {
    let headers = request.headers().iter().map(|(name, value)| {
        let shown = if value.is_sensitive() {
            "<redacted>"
        } else {
            value.to_str().unwrap_or("<binary>")
        };
        (name.as_str(), shown)
    });
    render(
        request.method().as_str(),
        &request.uri().to_string(),
        headers,
        request.body(),
    )
}

/// A request as the fake received it, redacted the same way.
pub fn show_recorded(request: &RecordedRequest) -> String {
    let headers = request.headers.iter().map(|(name, value)| {
        let shown = if SECRET_HEADERS.contains(&name.as_str()) {
            "<redacted>"
        } else {
            value.as_str()
        };
        (name.as_str(), shown)
    });
    render(&request.method, &request.target, headers, &request.body)
}

fn render<'a>(
    method: &str,
    target: &str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: &[u8],
) -> String {
    let mut out = format!("  {method} {target}\n");
    for (name, value) in headers {
        out.push_str(&format!("    {name}: {value}\n"));
    }
    let fields = form_urlencoded::parse(body)
        .map(|(name, value)| {
            let value = if SECRET_FIELDS.contains(&name.as_ref()) {
                "<redacted>".into()
            } else {
                value
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("&");
    out.push_str(&format!("    (form, decoded) {fields}\n"));
    out
}

/// A token as text, secrets redacted, times as RFC 3339.
pub fn show_token(token: &Token) -> String {
    let scopes: Vec<&str> = token.scopes().iter().map(|s| s.as_str()).collect();
    format!(
        "access token {} ({}), expires {}, scopes [{}], refresh token {}, refresh expires {}",
        if token.access_token().is_some() {
            "<redacted>"
        } else {
            "none usable"
        },
        token.token_type(),
        rfc3339(token.expires_at()),
        scopes.join(", "),
        if token.refresh_token().is_some() {
            "<redacted>"
        } else {
            "none"
        },
        token.refresh_token_expires_at().map_or("-".into(), rfc3339),
    )
}

/// A wall-clock time as RFC 3339 (UTC, seconds).
pub fn rfc3339(time: SystemTime) -> String {
    pinterest_oauth_core::rfc3339(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinterest_oauth_core::{
        AppId, AppSecret, ClientConfig, Grant, RefreshToken, token_request,
    };

    #[test]
    fn secrets_are_redacted() {
        let config = ClientConfig::new(AppId::new("1").unwrap(), AppSecret::new("appsecret"));
        let request = token_request(
            &config,
            &Grant::refresh_token(RefreshToken::new("pinr.xyz")),
        );
        let shown = show_request(&request);
        assert!(
            shown.contains("grant_type=refresh_token&refresh_token=<redacted>"),
            "{shown}"
        );
        assert!(shown.contains("authorization: <redacted>"), "{shown}");
        assert!(
            !shown.contains("pinr.xyz") && !shown.contains("Basic"),
            "{shown}"
        );

        let recorded = RecordedRequest {
            method: "POST".into(),
            target: "/v5/oauth/token/revoke".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("authorization".into(), "Basic c2VjcmV0".into())],
            body: b"token=pina.abc&token_type_hint=access_token".to_vec(),
        };
        let shown = show_recorded(&recorded);
        assert!(
            !shown.contains("pina.abc") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        assert!(shown.contains("token_type_hint=access_token"), "{shown}");
    }
}
