//! What the commands print: JSON for scripts, short lines for people. Never a secret unless
//! asked (`--json` carries the access token; the refresh token only with
//! `--show-refresh-token`). No time can make formatting panic: times are clamped by the core,
//! and formatted by a function that cannot fail.

use std::path::Path;
use std::time::SystemTime;

use pinterest_oauth_core::{Token, TokenDocument};
use pinterest_oauth_transport::fmt_time;
use serde_json::{Value, json};

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
        "access_token": token.access_token().map(|t| t.secret()),
        "token_type": token.token_type().as_str(),
        "expires_at": fmt_time(token.expires_at()),
        "expires_in": expires_in,
        "scopes": scopes(token),
        "refresh_token_expires_at": token.refresh_token_expires_at().map(fmt_time),
    });
    if show_refresh_token {
        object["refresh_token"] = json!(token.refresh_token().map(|t| t.secret()));
    }
    object
}

/// One line about a token set, for people: no secret.
pub(crate) fn token_summary(token: &Token, now: SystemTime) -> String {
    let refresh = match token.refresh_token_expires_at() {
        Some(at) => format!("refresh token until {} ({})", fmt_time(at), left(at, now)),
        None if token.refresh_token().is_some() => "refresh token present".to_owned(),
        None => "no refresh token".to_owned(),
    };
    let access = match token.access_token_problem() {
        Some(problem) => format!("no usable access token ({problem})"),
        None => format!(
            "access token until {} ({})",
            fmt_time(token.expires_at()),
            left(token.expires_at(), now)
        ),
    };
    format!("{access}, scopes {}, {refresh}", scopes(token).join(","))
}

/// `status`, as JSON.
pub(crate) fn status_json(path: &Path, document: Option<&TokenDocument>, now: SystemTime) -> Value {
    let Some(document) = document else {
        return json!({ "token_file": path, "stored": false });
    };
    let token = document.token();
    let state = document.state();
    json!({
        "token_file": path,
        "stored": true,
        "token_type": token.token_type().as_str(),
        "expires_at": fmt_time(token.expires_at()),
        "expired": token.is_expired(now),
        "access_token_problem": token.access_token_problem().map(|p| p.to_string()),
        "scopes": scopes(token),
        "has_refresh_token": token.refresh_token().is_some(),
        "refresh_token_expires_at": token.refresh_token_expires_at().map(fmt_time),
        "received_at": fmt_time(token.received_at()),
        "next_request_not_before": state.not_before().filter(|at| *at > now).map(fmt_time),
        "waiting_for": state.not_before().filter(|at| *at > now).map(|_| state.wait().as_str()),
        "stopped": state.stop().map(|stop| json!({
            "reason": stop.reason().as_str(),
            "since": fmt_time(stop.at()),
            "status": stop.status(),
            "code": stop.code(),
        })),
        "revision": document.revision(),
    })
}

/// `status`, for people.
pub(crate) fn status_text(
    path: &Path,
    document: Option<&TokenDocument>,
    now: SystemTime,
) -> String {
    let mut out = format!("token file: {}\n", path.display());
    let Some(document) = document else {
        out.push_str("no token stored: run `pinterest-oauth login`\n");
        return out;
    };
    let token = document.token();
    match token.access_token_problem() {
        Some(problem) => out.push_str(&format!("access token: none usable ({problem})\n")),
        None => {
            let state = if token.is_expired(now) {
                "expired"
            } else {
                "valid"
            };
            out.push_str(&format!(
                "access token: {state}, expires {} ({})\n",
                fmt_time(token.expires_at()),
                left(token.expires_at(), now)
            ));
        }
    }
    match (token.refresh_token(), token.refresh_token_expires_at()) {
        (Some(_), Some(at)) => out.push_str(&format!(
            "refresh token: present, expires {} ({})\n",
            fmt_time(at),
            left(at, now)
        )),
        (Some(_), None) => out.push_str("refresh token: present\n"),
        (None, _) => out.push_str("refresh token: none\n"),
    }
    out.push_str(&format!("scopes: {}\n", scopes(token).join(", ")));
    out.push_str(&format!("token type: {}\n", token.token_type()));
    out.push_str(&format!("received: {}\n", fmt_time(token.received_at())));
    let state = document.state();
    if let Some(stop) = state.stop() {
        out.push_str(&format!(
            "automatic refresh: stopped since {}: {stop}\n",
            fmt_time(stop.at())
        ));
    } else if let Some(at) = state.not_before().filter(|at| *at > now) {
        out.push_str(&format!(
            "next token request: not before {} ({})\n",
            fmt_time(at),
            state.wait()
        ));
    }
    out
}
