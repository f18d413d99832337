//! Helpers shared by the runnable examples: printing requests and tokens with secrets redacted.

use std::time::SystemTime;

use pinterest_oauth_core::{Token, http};

/// Form fields whose values are secrets.
const SECRET_FIELDS: [&str; 3] = ["code", "refresh_token", "token"];

/// A request as text: method, URI, headers (sensitive ones redacted) and the form body with
/// secret fields redacted.
pub fn show_request(request: &http::Request<Vec<u8>>) -> String {
    let mut out = format!("{} {}\n", request.method(), request.uri());
    for (name, value) in request.headers() {
        let value = if value.is_sensitive() {
            "<redacted>"
        } else {
            value.to_str().unwrap_or("<binary>")
        };
        out.push_str(&format!("  {name}: {value}\n"));
    }
    let body = form_urlencoded::parse(request.body())
        .map(|(k, v)| {
            let v = if SECRET_FIELDS.contains(&k.as_ref()) {
                "<redacted>".into()
            } else {
                v
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    out.push_str(&format!("  body: {body}\n"));
    out
}

/// A token as text, secrets redacted, times as RFC 3339.
pub fn show_token(token: &Token) -> String {
    let scopes: Vec<&str> = token.scopes().iter().map(|s| s.as_str()).collect();
    format!(
        "access token <redacted> ({}), expires {}, scopes [{}], refresh token {}, refresh expires {}",
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
    humantime::format_rfc3339_seconds(time).to_string()
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
    }
}
