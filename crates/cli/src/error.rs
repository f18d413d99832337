//! The CLI's error, and the exit code each failure maps to.

use std::time::SystemTime;

use pinterest_oauth_core::http;
use pinterest_oauth_transport::{Error, ErrorKind};

/// Exit codes scripts can rely on.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// The output could not be written (stdout is a closed pipe, a full disk).
    pub(crate) const OUTPUT: u8 = 1;
    /// Usage or configuration error: an option that can never work as given.
    pub(crate) const USAGE: u8 = 2;
    /// Consent needed: log in (again).
    pub(crate) const CONSENT: u8 = 3;
    /// Pinterest refused the app or the request (or answered something unusable): a human
    /// must act.
    pub(crate) const REFUSED: u8 = 4;
    /// Network, timeout, TLS or oversized response: trying again later may work.
    pub(crate) const NETWORK: u8 = 5;
    /// The token store could not be read, written or locked.
    pub(crate) const STORE: u8 = 6;
    /// A token request is not allowed yet (the request budget, a backoff, Pinterest's rate
    /// limit): try again at the time given.
    pub(crate) const WAITING: u8 = 7;

    /// The table `--help`, the README and the man page show.
    pub(crate) const TABLE: &str = "\
EXIT STATUS:
  0  success
  1  output: what was asked for could not be written (a closed pipe, a full disk)
  2  usage: an option, store, grant or URL that can never work as given
  3  consent: a login is needed (`pinterest-oauth login`)
  4  refused: Pinterest refused the app or the request; a human must act
  5  network: unreachable, timed out, TLS; trying again later may work
  6  store: the token file, Redis or PostgreSQL could not be read, written or locked
  7  waiting: no token request is allowed yet (budget, backoff, rate limit); the
     message (and `retry_at` with --json) says when one is";
}

/// Everything the CLI reports. Messages never carry a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// No app id was given.
    #[error("missing app id: pass --app-id or set PINTEREST_APP_ID")]
    MissingAppId,
    /// No app secret was given.
    #[error(
        "missing app secret: pass --app-secret-file, --app-secret - (stdin), or set PINTEREST_APP_SECRET"
    )]
    MissingAppSecret,
    /// The app secret could not be read from where it was said to be.
    #[error("cannot read the app secret from {what}: {source}")]
    AppSecret {
        /// Where from.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// No token file path could be chosen.
    #[error("no user config directory: pass --token-file or set PINTEREST_TOKEN_FILE")]
    NoConfigDir,
    /// No directory to keep app tokens in could be chosen.
    #[error("no user state directory to keep app tokens in: set XDG_STATE_HOME, or use --save")]
    NoStateDir,
    /// Stdout could not be written (a closed pipe, a full disk); what was saved stays saved.
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    /// A grant name was refused.
    #[error("--grant: {0}")]
    GrantName(#[from] pinterest_oauth_store::GrantNameError),
    /// `--grant` with one named token file.
    #[error(
        "--grant names a grant in a directory of token files (--token-dir) or a shared store (--store), but --token-file (PINTEREST_TOKEN_FILE) names one file: drop one of them"
    )]
    GrantWithTokenFile,
    /// A command about every grant with one named token file.
    #[error(
        "--token-file (PINTEREST_TOKEN_FILE) names one file, not a store of grants: use --token-dir or --store"
    )]
    OneTokenFile,
    /// The default grant could not be read or recorded.
    #[error("cannot {action} the default grant in {path}: {source}")]
    DefaultGrant {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The token keys could not be read or were refused.
    #[error("token keys ({from}): {problem}")]
    TokenKeys {
        /// Where they were read from.
        from: String,
        /// Why they were refused.
        problem: String,
    },
    /// `grants rekey` without a key.
    #[error(
        "no token key: set PINTEREST_TOKEN_KEY or --token-key-file (pinterest-oauth keygen prints one)"
    )]
    NoTokenKey,
    /// No app token is stored yet, and earlier runs' first requests failed recently.
    #[error(
        "no request before {}: earlier attempts at a first token failed or spent the budget (recorded in {})",
        pinterest_oauth_core::rfc3339(*until),
        record.display()
    )]
    FirstRequestWaiting {
        /// When the next request may go.
        until: std::time::SystemTime,
        /// The record of the attempts.
        record: std::path::PathBuf,
    },
    /// Nothing is stored yet.
    #[error("no token stored in {0}: run `pinterest-oauth login` first")]
    NoToken(String),
    /// The stored set has no refresh token to revoke.
    #[error("no refresh token is stored in {0}; nothing was revoked")]
    NoRefreshToken(String),
    /// `client-credentials --save` would overwrite a user's grant.
    #[error(
        "{0} holds a user's grant (a refresh token); an app token saved there would discard it: use another --token-file or --grant, or revoke it first"
    )]
    WouldReplaceGrant(String),
    /// Pinterest refused to revoke (403, code 29): it revokes only some kinds of token.
    #[error(
        "{0}; Pinterest revokes only some kinds of token (those of its system users): this one stays valid until it expires, and nothing stored was changed"
    )]
    RevokeNotPermitted(Error),
    /// Pinterest revoked the tokens, but the store could not record it.
    #[error(
        "Pinterest revoked {revoked}, but the token store could not record it ({source}): those tokens no longer work: once the store works, log in again"
    )]
    RevokedNotRecorded {
        /// What was revoked.
        revoked: String,
        /// Why the store failed.
        source: pinterest_oauth_store::StoreError,
    },
    /// `--store redis://…` in a build without the `redis` feature.
    #[error("this build has no redis store: install with `--features redis`")]
    #[cfg_attr(feature = "redis", allow(dead_code))]
    RedisNotBuilt,
    /// `--store postgres://…` in a build without the `postgres` feature.
    #[error("this build has no postgres store: install with `--features postgres`")]
    #[cfg_attr(feature = "postgres", allow(dead_code))]
    PostgresNotBuilt,
    /// `login --no-listen` read nothing on stdin (closed, or an empty line).
    #[error(
        "nothing was pasted: paste the address the browser ends on (stdin was closed or empty)"
    )]
    NothingPasted,
    /// `--store file:` with no path.
    #[error("--store file: needs a path (file:PATH)")]
    EmptyFilePath,
    /// `token --header` with `--json`.
    #[error("--header and --json ask for two different outputs: give one")]
    HeaderAndJson,
    /// `--app-secret` and `--app-secret-file` both given.
    #[error("give the app secret once: --app-secret or --app-secret-file, not both")]
    TwoAppSecrets,
    /// `migrate` without `--store postgres://…`.
    #[error(
        "`migrate` is for a PostgreSQL store: give --store postgres://USER@HOST/DB (or PINTEREST_TOKEN_STORE)"
    )]
    NothingToMigrate,
    /// `--transport hyper` in a build without the `hyper` feature.
    #[error(
        "this build has no hyper transport: install with `--features hyper`, or use --transport ureq"
    )]
    #[cfg_attr(feature = "hyper", allow(dead_code))]
    HyperNotBuilt,
    /// The redirect URI cannot be listened on here.
    #[error(
        "cannot listen on {0}: only an http redirect uri on localhost, 127.0.0.1 or [::1] can be served; for another registered uri run `pinterest-oauth login --no-listen` (print the consent url, paste the redirected url back)"
    )]
    NotLoopback(String),
    /// Pinterest's answer carried an access token this client must not use (not a bearer
    /// token, or not one RFC 6750 allows); whatever else it carried was saved.
    #[error("Pinterest's answer has no usable access token ({problem}){}", kept_note(*refresh_token_kept))]
    UnusableAccessToken {
        /// Why the access token cannot be used.
        problem: pinterest_oauth_core::AccessTokenProblem,
        /// Whether the answer's refresh token was kept.
        refresh_token_kept: bool,
    },
    /// `status`: a grant holds no token `token` could print now (printed above, with why).
    #[error("no usable token{}: {state}", grant.as_ref().map(|g| format!(" for grant {g}")).unwrap_or_default())]
    NotUsable {
        /// The grant, when the store holds several.
        grant: Option<String>,
        /// What stands in the way.
        state: String,
        /// The exit status: consent needed, refused (stopped) or waiting.
        code: u8,
    },
    /// Pinterest refused the app's id or secret (401, code 2).
    #[error("{source}")]
    AppRefused {
        /// The app id given.
        app_id: String,
        /// Where the secret came from (a flag, a file, stdin, the environment).
        secret_from: String,
        /// The refusal.
        source: Error,
    },
    /// A failure the command's own JSON on stdout already lists (`status --all --json`).
    #[error("{0}")]
    Listed(Box<CliError>),
    /// A library call failed.
    #[error("{0}")]
    Oauth(#[from] Error),
    /// A configuration value was refused.
    #[error("{0}")]
    Config(#[from] pinterest_oauth_core::ConfigError),
    /// The token file failed.
    #[error("{0}")]
    Store(#[from] pinterest_oauth_store::StoreError),
    /// The demo's fake Pinterest could not start.
    #[cfg(feature = "demo")]
    #[error("cannot start the embedded fake Pinterest: {0}")]
    Fake(#[from] fake_pinterest::Error),
    /// Local IO (the demo's directory) failed.
    #[cfg(feature = "demo")]
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

fn kept_note(refresh_token_kept: bool) -> &'static str {
    if refresh_token_kept {
        "; the refresh token it carried is saved"
    } else {
        ""
    }
}

impl From<pinterest_oauth_transport::CallError> for CliError {
    fn from(error: pinterest_oauth_transport::CallError) -> CliError {
        CliError::Oauth(error.into())
    }
}

impl From<pinterest_oauth_transport::TransportError> for CliError {
    fn from(error: pinterest_oauth_transport::TransportError) -> CliError {
        CliError::Oauth(error.into())
    }
}

impl CliError {
    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::MissingAppId
            | CliError::MissingAppSecret
            | CliError::AppSecret { .. }
            | CliError::NoConfigDir
            | CliError::NoStateDir
            | CliError::Config(_)
            | CliError::NoRefreshToken(_)
            | CliError::WouldReplaceGrant(_)
            | CliError::GrantName(_)
            | CliError::GrantWithTokenFile
            | CliError::OneTokenFile
            | CliError::TokenKeys { .. }
            | CliError::NoTokenKey
            | CliError::RedisNotBuilt
            | CliError::PostgresNotBuilt
            | CliError::NothingToMigrate
            | CliError::TwoAppSecrets
            | CliError::HeaderAndJson
            | CliError::EmptyFilePath
            | CliError::NothingPasted
            | CliError::HyperNotBuilt
            | CliError::NotLoopback(_) => exit::USAGE,
            #[cfg(feature = "demo")]
            CliError::Fake(_) | CliError::Io { .. } => exit::USAGE,
            CliError::NoToken(_) => exit::CONSENT,
            CliError::NotUsable { code, .. } => *code,
            CliError::Listed(e) => e.exit_code(),
            CliError::FirstRequestWaiting { .. } => exit::WAITING,
            CliError::Output(_) => exit::OUTPUT,
            CliError::UnusableAccessToken { .. }
            | CliError::RevokeNotPermitted(_)
            | CliError::AppRefused { .. } => exit::REFUSED,
            CliError::Store(e) if store_usage(e) => exit::USAGE,
            CliError::Store(e) if store_waiting(e) => exit::WAITING,
            CliError::Oauth(e) if waiting(e) => exit::WAITING,
            CliError::Oauth(Error::Store(e)) if store_usage(e) => exit::USAGE,
            CliError::Store(_)
            | CliError::RevokedNotRecorded { .. }
            | CliError::DefaultGrant { .. } => exit::STORE,
            CliError::Oauth(e) => match e.kind() {
                ErrorKind::ConsentNeeded => exit::CONSENT,
                ErrorKind::Api => exit::REFUSED,
                ErrorKind::Transport(_) => exit::NETWORK,
                ErrorKind::Store => exit::STORE,
                _ => exit::USAGE,
            },
        }
    }
}

/// Whether the library's error is Pinterest refusing the app's id or secret (an answer this
/// run got, or the stop an earlier one recorded).
pub(crate) fn app_refused(error: &Error) -> bool {
    use pinterest_oauth_core::{Failure, StopReason};
    match error {
        Error::Stopped { stop, .. } => stop.reason() == StopReason::InvalidClient,
        Error::Refresh(cause) => app_refused(cause),
        _ => error.response().is_some_and(|response| {
            matches!(
                Failure::of(response),
                Failure::Permanent {
                    reason: StopReason::InvalidClient,
                    ..
                }
            )
        }),
    }
}

/// Whether a store error is an option that can never work (a malformed URL, a bad grant name).
fn store_usage(error: &pinterest_oauth_store::StoreError) -> bool {
    matches!(
        error.cause(),
        pinterest_oauth_store::StoreError::InvalidLocation { .. }
    )
}

/// Whether a store error means "not yet" (the budget it keeps, a request in flight elsewhere).
fn store_waiting(error: &pinterest_oauth_store::StoreError) -> bool {
    matches!(
        error.cause(),
        pinterest_oauth_store::StoreError::BudgetSpent { .. }
            | pinterest_oauth_store::StoreError::InFlight { .. }
    )
}

/// Whether the library's error means "not yet": a wait (the budget, a backoff, a rate limit
/// recorded), or Pinterest's rate limit itself.
fn waiting(error: &Error) -> bool {
    match error {
        // A failure of this run's own request is that failure's (a network error is 5); a
        // wait with nothing sent now is waiting.
        Error::Waiting { cause: None, .. } => true,
        Error::Waiting {
            cause: Some(cause), ..
        } => waiting(cause),
        Error::Refresh(cause) => waiting(cause),
        Error::Store(e) => store_waiting(e),
        _ => error.response().is_some_and(rate_limited),
    }
}

/// Whether Pinterest's answer is its rate limit (429, or a 400 with code 8).
fn rate_limited(response: &pinterest_oauth_core::ResponseError) -> bool {
    response.status() == http::StatusCode::TOO_MANY_REQUESTS
        || response
            .api()
            .is_some_and(|api| api.kind() == pinterest_oauth_core::ApiErrorKind::RateLimited)
}

/// When a token request will be allowed, for an error that means "not yet", if known.
fn retry_at(error: &Error, now: SystemTime) -> Option<SystemTime> {
    match error {
        Error::Waiting { until, .. } => Some(*until),
        Error::Refresh(cause) => retry_at(cause, now),
        _ => {
            let response = error.response()?;
            if !rate_limited(response) {
                return None;
            }
            let after = response.retry_after().or(response.rate_limit_reset())?;
            now.checked_add(after.delay_from(now))
        }
    }
}

impl CliError {
    /// What to try, when the error alone does not say.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            CliError::Listed(e) => e.hint(),
            CliError::AppRefused {
                app_id,
                secret_from,
                ..
            } => Some(format!(
                "Pinterest refused app id {app_id} with the app secret from {secret_from}: check both against the app's page on Pinterest's developer site (and that --api-base is Pinterest's)"
            )),
            CliError::Oauth(e)
                if e.response()
                    .is_some_and(|r| r.status() == http::StatusCode::NOT_FOUND) =>
            {
                Some(
                    "the API base url must end in /v5 (--api-base or PINTEREST_API_URI; Pinterest's is https://api.pinterest.com/v5)".to_owned(),
                )
            }
            _ => None,
        }
    }

    /// Whether the command's own JSON on stdout already reported this failure (`status
    /// --json` has `state` and `usable`), so no second object follows it.
    pub(crate) fn reported_on_stdout(&self) -> bool {
        matches!(self, CliError::NotUsable { .. } | CliError::Listed(_))
    }

    /// What kind of failure this is, as the exit status says it (for `--json`).
    pub(crate) fn kind(&self) -> &'static str {
        match self.exit_code() {
            exit::OUTPUT => "output",
            exit::USAGE => "usage",
            exit::CONSENT => "consent_needed",
            exit::REFUSED => "refused",
            exit::NETWORK => "network",
            exit::STORE => "store",
            exit::WAITING => "waiting",
            _ => "error",
        }
    }

    /// The failure as one JSON object: kind, exit code, message, `retry_at` when waiting (and
    /// known), Pinterest's request id when it sent one.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let now = SystemTime::now();
        let retry = match self {
            CliError::FirstRequestWaiting { until, .. } => Some(*until),
            CliError::Oauth(e) | CliError::AppRefused { source: e, .. } => retry_at(e, now),
            _ => None,
        };
        let request_id = match self {
            CliError::Oauth(e) | CliError::AppRefused { source: e, .. } => {
                e.response().and_then(|r| r.request_id()).map(str::to_owned)
            }
            _ => None,
        };
        let mut value = serde_json::json!({
            "kind": self.kind(),
            "exit_code": self.exit_code(),
            "message": self.to_string(),
        });
        if let Some(at) = retry {
            value["retry_at"] = pinterest_oauth_core::rfc3339(at).to_string().into();
        }
        if let Some(id) = request_id {
            value["request_id"] = id.into();
        }
        value
    }
}
