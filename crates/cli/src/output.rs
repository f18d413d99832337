//! What the commands print: JSON for scripts, short lines for people. Never a secret unless
//! asked (`--json` carries the access token; the refresh token only with
//! `--show-refresh-token`). No time can make formatting panic: times are clamped by the core,
//! and formatted by a function that cannot fail.

use std::path::Path;
use std::time::SystemTime;

use pinterest_oauth_core::{
    ClientConfig, LifecycleConfig, Status as LifecycleStatus, Token, TokenDocument, TokenLifecycle,
    Wait,
};
use serde_json::{Value, json};

use crate::error::exit;

/// The lifecycle a command of this configuration would run over a stored document: a stop
/// recorded under another configuration (app id, secret, API base) does not hold for it.
pub(crate) fn lifecycle(document: &TokenDocument, config: Option<&ClientConfig>) -> TokenLifecycle {
    let lifecycle = TokenLifecycle::user(LifecycleConfig::default(), Some(document.clone()));
    match config {
        Some(config) => lifecycle.with_client(config),
        None => lifecycle,
    }
}

/// What a stored grant allows now: the state `status` shows, and its exit status (0 when
/// `token` would print a token without a human or a wait: a valid access token, or one it can
/// refresh at once).
pub(crate) struct Verdict {
    /// For people: valid, due for refresh, waiting until T, stopped (why), consent needed.
    pub(crate) state: String,
    /// The state's name for scripts.
    pub(crate) name: &'static str,
    /// The exit status `status` ends with.
    pub(crate) exit: u8,
}

/// When the stored refresh token expired, if it has (by the expiry Pinterest sent with it).
fn refresh_token_expired(token: &Token, now: SystemTime) -> Option<SystemTime> {
    token.refresh_token()?;
    token.refresh_token_expires_at().filter(|at| *at <= now)
}

/// The [`Verdict`] on a stored document (`None`: nothing stored) at `now`.
pub(crate) fn verdict(
    document: Option<&TokenDocument>,
    config: Option<&ClientConfig>,
    now: SystemTime,
) -> Verdict {
    let Some(document) = document else {
        return Verdict {
            state: "no token stored: run `pinterest-oauth login`".into(),
            name: "no_token",
            exit: exit::CONSENT,
        };
    };
    let valid = document.token().valid_access_token(now).is_some();
    // A refresh token past the expiry Pinterest gave cannot be refreshed with: `token` would
    // spend one request to hear so.
    if let Some(at) = refresh_token_expired(document.token(), now)
        && !valid
    {
        return Verdict {
            state: format!(
                "consent needed: the refresh token expired at {}: run `pinterest-oauth login`",
                fmt_time(at)
            ),
            name: "consent_needed",
            exit: exit::CONSENT,
        };
    }
    let (state, name, blocked) = match lifecycle(document, config).status(now) {
        LifecycleStatus::Fresh => ("valid".to_owned(), "valid", exit::OK),
        LifecycleStatus::Waiting { until, why } => (
            format!(
                "due for refresh, but no token request is allowed before {} ({why})",
                fmt_time(until)
            ),
            "waiting",
            exit::WAITING,
        ),
        LifecycleStatus::Stopped { reason } => (
            format!("automatic refresh stopped ({reason}): `pinterest-oauth refresh` forces one"),
            "stopped",
            exit::REFUSED,
        ),
        LifecycleStatus::ConsentNeeded => (
            "consent needed: run `pinterest-oauth login`".to_owned(),
            "consent_needed",
            exit::CONSENT,
        ),
        // Due (or a refresh in this very process, which `status` never runs).
        _ => (
            "due for refresh: the next `pinterest-oauth token` refreshes it".to_owned(),
            "due",
            exit::OK,
        ),
    };
    let state = match (valid, name) {
        (true, "valid" | "due") | (false, _) => state,
        // Still usable: the access token is valid, whatever stands in the way of the next.
        (true, _) => format!("valid, but {state}"),
    };
    Verdict {
        state,
        name,
        exit: if valid { exit::OK } else { blocked },
    }
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

/// Text from a token file or an answer, safe to print on a terminal: control characters (an
/// escape sequence a hostile server planted in a token type) are shown escaped, never sent.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    // Control characters, and those that reorder or break what follows on screen (bidi
    // overrides and isolates, line and paragraph separators).
    let hidden = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if text.chars().any(hidden) {
        text.chars()
            .map(|c| {
                if hidden(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
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
    format!(
        "{access}, scopes {}, {refresh}",
        printable(&scopes(token).join(","))
    )
}

/// What `status` shows: where the tokens are, what is stored, a set kept aside (an earlier
/// run could not save it; the next command puts it in place), and when the next token request
/// may go. Never a secret.
pub(crate) struct Stored<'a> {
    /// The grant, when the store holds several.
    pub(crate) grant: Option<&'a str>,
    /// The store (a path, or a Redis URL and key).
    pub(crate) location: String,
    /// The key the stored document is sealed under (`None`: plain).
    pub(crate) sealed_under: Option<&'a str>,
    /// The stored document.
    pub(crate) document: Option<&'a TokenDocument>,
    /// A kept set that will replace it.
    pub(crate) kept: Option<&'a Path>,
    /// Raw answers kept aside (2xx answers not read whole: they may hold a refresh token).
    pub(crate) raw: &'a [std::path::PathBuf],
    /// The app's configuration, when its id and secret were given: a stop recorded under
    /// another one is shown as that configuration's only.
    pub(crate) config: Option<&'a ClientConfig>,
    /// Now.
    pub(crate) now: SystemTime,
}

impl Stored<'_> {
    /// What the stored grant allows now.
    pub(crate) fn verdict(&self) -> Verdict {
        verdict(self.document, self.config, self.now)
    }

    /// When no automatic token request may go, and why (the budget's interval or ceiling,
    /// backoff, Pinterest's rate limit), as the lifecycle sees the stored state.
    fn wait(&self) -> Option<(SystemTime, Wait)> {
        let document = self.document?;
        match lifecycle(document, self.config).status(self.now) {
            LifecycleStatus::Waiting { until, why } => Some((until, why)),
            _ => document
                .state()
                .not_before()
                .filter(|at| *at > self.now)
                .map(|at| (at, document.state().wait())),
        }
    }

    /// As JSON.
    pub(crate) fn json(&self) -> Value {
        let kept = self.kept.map(|p| p.display().to_string());
        let raw: Vec<String> = self.raw.iter().map(|p| p.display().to_string()).collect();
        let verdict = self.verdict();
        let Some(document) = self.document else {
            return json!({
                "grant": self.grant,
                "token_file": self.location,
                "state": verdict.name,
                "usable": false,
                "stored": false,
                "kept_set": kept,
                "kept_answers": raw,
            });
        };
        let token = document.token();
        let state = document.state();
        let wait = self.wait();
        json!({
            "grant": self.grant,
            "token_file": self.location,
            "state": verdict.name,
            "usable": verdict.exit == exit::OK,
            "stored": true,
            "token_type": token.token_type().as_str(),
            "expires_at": fmt_time(token.expires_at()),
            "expired": token.is_expired(self.now),
            "access_token_problem": token.access_token_problem().map(|p| p.to_string()),
            "scopes": scopes(token),
            "has_refresh_token": token.refresh_token().is_some(),
            "refresh_token_expires_at": token.refresh_token_expires_at().map(fmt_time),
            "received_at": fmt_time(token.received_at()),
            "next_request_not_before": wait.map(|(at, _)| fmt_time(at)),
            "waiting_for": wait.map(|(_, why)| why.as_str()),
            "stopped": state.stop().map(|stop| json!({
                "reason": stop.reason().as_str(),
                "since": fmt_time(stop.at()),
                "status": stop.status(),
                "code": stop.code(),
                // null: the app's id and secret were not given, so this cannot be told.
                "applies_to_this_configuration": self.config.map(|config| stop.applies_to(config)),
            })),
            "revision": document.revision(),
            "sealed_under": self.sealed_under,
            "kept_set": kept,
            "kept_answers": raw,
        })
    }

    /// For people.
    pub(crate) fn text(&self) -> String {
        let now = self.now;
        let mut out = String::new();
        if let Some(grant) = self.grant {
            out.push_str(&format!("grant: {grant}\n"));
        }
        out.push_str(&format!("token store: {}\n", self.location));
        if let Some(kept) = self.kept {
            out.push_str(&format!(
                "kept set: {} (an earlier run could not save it; the next command puts it in place)\n",
                kept.display()
            ));
        }
        for raw in self.raw {
            out.push_str(&format!(
                "kept answer: {} (Pinterest answered with something that could not be read whole; it may hold a refresh token: read it, mode 0600, and remove it when done)\n",
                raw.display()
            ));
        }
        let Some(document) = self.document else {
            out.push_str("no token stored: run `pinterest-oauth login`\n");
            return out;
        };
        out.push_str(&format!("state: {}\n", self.verdict().state));
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
        out.push_str(&format!(
            "scopes: {}\n",
            printable(&scopes(token).join(", "))
        ));
        out.push_str(&format!(
            "token type: {}\n",
            printable(token.token_type().as_str())
        ));
        match self.sealed_under {
            Some(kid) => out.push_str(&format!("sealed: yes, under key {kid}\n")),
            None => out.push_str("sealed: no (set PINTEREST_TOKEN_KEY to seal it at rest)\n"),
        }
        out.push_str(&format!("received: {}\n", fmt_time(token.received_at())));
        let state = document.state();
        let mut stop_holds = false;
        if let Some(stop) = state.stop() {
            let applies = self.config.map(|config| stop.applies_to(config));
            stop_holds = applies != Some(false);
            out.push_str(&match applies {
                Some(true) => format!(
                    "automatic refresh: stopped since {}: {stop}\n",
                    fmt_time(stop.at())
                ),
                Some(false) => format!(
                    "automatic refresh: a stop recorded {} ({stop}) applies only to the app configuration it was recorded under (another app id, app secret or API base), not to this one\n",
                    fmt_time(stop.at())
                ),
                None => format!(
                    "automatic refresh: stopped since {}: {stop}, for the app configuration (app id, app secret, API base) in use then; give the app id and secret to see whether it holds for yours\n",
                    fmt_time(stop.at())
                ),
            });
        }
        if !stop_holds && let Some((at, why)) = self.wait() {
            out.push_str(&format!(
                "next token request: not before {} ({why})\n",
                fmt_time(at)
            ));
        }
        out
    }
}

/// One line of `grants`: a grant and what its store holds (or why it cannot be read).
pub(crate) struct GrantRow {
    /// The grant.
    pub(crate) grant: pinterest_oauth_store::GrantName,
    /// Whether commands use it without `--grant`.
    pub(crate) is_default: bool,
    /// The account's name, when a login recorded it.
    pub(crate) account: Option<String>,
    /// The key its document is sealed under (`None`: plain).
    pub(crate) sealed_under: Option<String>,
    /// What its store holds.
    pub(crate) document: Result<Option<TokenDocument>, pinterest_oauth_store::StoreError>,
    /// The app's configuration, when its id and secret were given.
    pub(crate) config: Option<ClientConfig>,
    /// Now.
    pub(crate) now: SystemTime,
}

impl GrantRow {
    /// valid, due, waiting until T, consent needed, stopped (why), or why it cannot be read.
    fn state(&self) -> String {
        let document = match &self.document {
            Ok(Some(document)) => document,
            Ok(None) => return "empty".into(),
            Err(e) => return format!("unreadable ({e})"),
        };
        if refresh_token_expired(document.token(), self.now).is_some()
            && document.token().valid_access_token(self.now).is_none()
        {
            return "consent needed".into();
        }
        match lifecycle(document, self.config.as_ref()).status(self.now) {
            LifecycleStatus::Fresh => "valid".into(),
            LifecycleStatus::ConsentNeeded => "consent needed".into(),
            LifecycleStatus::Stopped { reason } => format!("stopped ({reason})"),
            LifecycleStatus::Waiting { until, .. } => format!("waiting until {}", fmt_time(until)),
            _ => "due".into(),
        }
    }

    fn token(&self) -> Option<&Token> {
        self.document
            .as_ref()
            .ok()?
            .as_ref()
            .map(TokenDocument::token)
    }

    /// As JSON.
    pub(crate) fn json(&self) -> Value {
        let token = self.token();
        json!({
            "grant": self.grant.as_str(),
            "account": self.account,
            "default": self.is_default,
            "state": self.state(),
            "sealed_under": self.sealed_under,
            "expires_at": token.map(|t| fmt_time(t.expires_at())),
            "refresh_token_expires_at": token.and_then(|t| t.refresh_token_expires_at()).map(fmt_time),
            "scopes": token.map(scopes).unwrap_or_default(),
        })
    }
}

/// `grants` for people: one line a grant, the default marked `*`.
pub(crate) fn grant_table(rows: &[GrantRow]) -> String {
    let mut lines: Vec<[String; 7]> = vec![[
        "  GRANT".to_owned(),
        "ACCOUNT".to_owned(),
        "STATE".to_owned(),
        "ACCESS TOKEN EXPIRES".to_owned(),
        "REFRESH TOKEN EXPIRES".to_owned(),
        "SCOPES".to_owned(),
        "SEALED".to_owned(),
    ]];
    for row in rows {
        let token = row.token();
        lines.push([
            format!("{} {}", if row.is_default { "*" } else { " " }, row.grant),
            row.account.clone().unwrap_or_else(|| "-".into()),
            row.state(),
            token.map_or("-".into(), |t| fmt_time(t.expires_at())),
            token
                .and_then(|t| t.refresh_token_expires_at())
                .map_or("-".into(), fmt_time),
            token.map_or("-".into(), |t| printable(&scopes(t).join(",")).into_owned()),
            row.sealed_under
                .as_ref()
                .map_or("no".into(), |kid| format!("key {kid}")),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A wall-clock time as RFC 3339 (UTC, seconds).
fn fmt_time(time: SystemTime) -> String {
    pinterest_oauth_core::rfc3339(time).to_string()
}
