//! The CLI's error, and the exit code each failure maps to.

use pinterest_oauth_transport::{Error, ErrorKind};

/// Exit codes scripts can rely on.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// The output could not be written (stdout is a closed pipe, a full disk).
    pub(crate) const OUTPUT: u8 = 1;
    /// Usage or configuration error.
    pub(crate) const USAGE: u8 = 2;
    /// Consent needed: log in (again).
    pub(crate) const CONSENT: u8 = 3;
    /// Any other error answered by Pinterest (or a garbled answer), or no request allowed yet.
    pub(crate) const API: u8 = 4;
    /// Network, timeout, TLS or oversized response.
    pub(crate) const NETWORK: u8 = 5;
    /// The token file could not be read, written or locked.
    pub(crate) const TOKEN_FILE: u8 = 6;
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
            | CliError::HyperNotBuilt
            | CliError::NotLoopback(_) => exit::USAGE,
            #[cfg(feature = "demo")]
            CliError::Fake(_) | CliError::Io { .. } => exit::USAGE,
            CliError::NoToken(_) => exit::CONSENT,
            CliError::FirstRequestWaiting { .. } => exit::API,
            CliError::Output(_) => exit::OUTPUT,
            CliError::UnusableAccessToken { .. } | CliError::RevokeNotPermitted(_) => exit::API,
            CliError::Store(_)
            | CliError::RevokedNotRecorded { .. }
            | CliError::DefaultGrant { .. } => exit::TOKEN_FILE,
            CliError::Oauth(e) => match e.kind() {
                ErrorKind::ConsentNeeded => exit::CONSENT,
                ErrorKind::Api => exit::API,
                ErrorKind::Transport(_) => exit::NETWORK,
                ErrorKind::Store => exit::TOKEN_FILE,
                _ => exit::USAGE,
            },
        }
    }
}
