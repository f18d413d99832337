//! What the commands print: JSON for scripts, short lines for people. Never a secret unless
//! asked (`--json` carries the access token; the refresh token only with
//! `--show-refresh-token`).

use std::path::Path;
use std::time::SystemTime;

use pinterest_oauth_core::Token;
use serde_json::{Value, json};

/// A wall-clock time as RFC 3339 (UTC, seconds).
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Time left until `at`, for people ("in 29d 23h 59m"), or "expired".
pub(crate) fn left(at: SystemTime, now: SystemTime) -> String {
    let Ok(d) = at.duration_since(now) else {
        return "expired".to_owned();
    };
    let minutes = d.as_secs() / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("in {minutes}m"),
        (0, _) => format!("in {hours}h {minutes}m"),
        _ => format!("in {days}d {hours}h {minutes}m"),
    }
}

fn scopes(token: &Token) -> Vec<&str> {
    token.scopes().iter().map(|s| s.as_str()).collect()
}

/// The JSON object of login, refresh, client-credentials and token: `access_token`,
/// `token_type`, `expires_at` (RFC 3339), `expires_in` (seconds left now), `scopes`,
/// `refresh_token_expires_at` (RFC 3339 or null); `refresh_token` only when asked.
pub(crate) fn token_json(token: &Token, now: SystemTime, show_refresh_token: bool) -> Value {
    let expires_in = token
        .expires_at()
        .duration_since(now)
        .map_or(0, |d| d.as_secs());
    let mut object = json!({
        "access_token": token.access_token().secret(),
        "token_type": token.token_type().as_str(),
        "expires_at": rfc3339(token.expires_at()),
        "expires_in": expires_in,
        "scopes": scopes(token),
        "refresh_token_expires_at": token.refresh_token_expires_at().map(rfc3339),
    });
    if show_refresh_token {
        object["refresh_token"] = json!(token.refresh_token().map(|t| t.secret()));
    }
    object
}

/// One line about a token set, for people: no secret.
pub(crate) fn token_summary(token: &Token, now: SystemTime) -> String {
    let refresh = match token.refresh_token_expires_at() {
        Some(at) => format!("refresh token until {} ({})", rfc3339(at), left(at, now)),
        None if token.refresh_token().is_some() => "refresh token present".to_owned(),
        None => "no refresh token".to_owned(),
    };
    format!(
        "access token until {} ({}), scopes {}, {refresh}",
        rfc3339(token.expires_at()),
        left(token.expires_at(), now),
        scopes(token).join(","),
    )
}

/// `status`, as JSON.
pub(crate) fn status_json(path: &Path, token: Option<&Token>, now: SystemTime) -> Value {
    match token {
        None => json!({ "token_file": path, "stored": false }),
        Some(token) => json!({
            "token_file": path,
            "stored": true,
            "token_type": token.token_type().as_str(),
            "expires_at": rfc3339(token.expires_at()),
            "expired": token.is_expired(now),
            "scopes": scopes(token),
            "has_refresh_token": token.refresh_token().is_some(),
            "refresh_token_expires_at": token.refresh_token_expires_at().map(rfc3339),
            "received_at": rfc3339(token.received_at()),
        }),
    }
}

/// `status`, for people.
pub(crate) fn status_text(path: &Path, token: Option<&Token>, now: SystemTime) -> String {
    let mut out = format!("token file: {}\n", path.display());
    match token {
        None => out.push_str("no token stored: run `pinterest-oauth login`\n"),
        Some(token) => {
            let state = if token.is_expired(now) {
                "expired"
            } else {
                "valid"
            };
            out.push_str(&format!(
                "access token: {state}, expires {} ({})\n",
                rfc3339(token.expires_at()),
                left(token.expires_at(), now)
            ));
            match (token.refresh_token(), token.refresh_token_expires_at()) {
                (Some(_), Some(at)) => out.push_str(&format!(
                    "refresh token: present, expires {} ({})\n",
                    rfc3339(at),
                    left(at, now)
                )),
                (Some(_), None) => out.push_str("refresh token: present\n"),
                (None, _) => out.push_str("refresh token: none\n"),
            }
            out.push_str(&format!("scopes: {}\n", scopes(token).join(", ")));
            out.push_str(&format!("token type: {}\n", token.token_type()));
            out.push_str(&format!("received: {}\n", rfc3339(token.received_at())));
        }
    }
    out
}
