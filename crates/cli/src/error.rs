//! The CLI's error, and the exit code each failure maps to.

use std::path::PathBuf;
use std::time::Duration;

use pinterest_oauth_core::Error as CoreError;
use pinterest_oauth_store::StoreError;

/// Exit codes scripts can rely on.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// Usage or configuration error.
    pub(crate) const USAGE: u8 = 2;
    /// Consent needed: log in (again).
    pub(crate) const CONSENT: u8 = 3;
    /// Any other error answered by Pinterest (or a garbled answer).
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
    #[error("missing app secret: pass --app-secret or set PINTEREST_APP_SECRET")]
    MissingAppSecret,
    /// No token file path could be chosen.
    #[error("no user config directory: pass --token-file or set PINTEREST_TOKEN_FILE")]
    NoConfigDir,
    /// A configuration value was refused by the core (URL, scope, id).
    #[error("{0}")]
    Config(#[source] CoreError),
    /// Nothing is stored yet.
    #[error("no token stored in {}: run `pinterest-oauth login` first", .0.display())]
    NoToken(PathBuf),
    /// The redirect listener could not start.
    #[error("cannot listen on localhost port {port}: {source} (choose another with --port)")]
    Listen {
        /// The port.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// The browser did not come back in time.
    #[error("no answer from the browser within {0:?}; run `pinterest-oauth login` again")]
    LoginTimeout(Duration),
    /// The consent callback was refused (state mismatch, access denied, …).
    #[error("login failed: {0}")]
    Consent(#[source] CoreError),
    /// A call through ureq failed.
    #[error("{0}")]
    Ureq(#[from] pinterest_oauth_ureq::Error),
    /// A call through hyper failed.
    #[error("{0}")]
    Hyper(#[from] pinterest_oauth_hyper::Error),
    /// The token file failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The demo's fake Pinterest could not start.
    #[error("cannot start the embedded fake Pinterest: {0}")]
    Fake(#[from] fake_pinterest::Error),
    /// Local IO for the demo or the async runtime failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// How a transport failure is classified for the exit code.
enum Class {
    Consent,
    Api,
    Network,
    TokenFile,
    Usage,
}

fn class_of_core(error: &CoreError) -> Class {
    match error {
        e if e.is_invalid_grant() => Class::Consent,
        CoreError::Api(_) | CoreError::MalformedResponse(_) => Class::Api,
        CoreError::InvalidTokenDocument(_) => Class::TokenFile,
        _ => Class::Usage,
    }
}

fn class_of_ureq(error: &pinterest_oauth_ureq::Error) -> Class {
    use pinterest_oauth_ureq::Error as E;
    match error {
        E::ConsentNeeded { .. } => Class::Consent,
        E::Refresh(cause) => class_of_ureq(cause),
        E::Core(core) => class_of_core(core),
        E::Store(_) => Class::TokenFile,
        _ => Class::Network,
    }
}

fn class_of_hyper(error: &pinterest_oauth_hyper::Error) -> Class {
    use pinterest_oauth_hyper::Error as E;
    match error {
        E::ConsentNeeded { .. } => Class::Consent,
        E::Refresh(cause) => class_of_hyper(cause),
        E::Core(core) => class_of_core(core),
        E::Store(_) => Class::TokenFile,
        _ => Class::Network,
    }
}

impl CliError {
    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        let class = match self {
            CliError::MissingAppId
            | CliError::MissingAppSecret
            | CliError::NoConfigDir
            | CliError::Config(_)
            | CliError::Listen { .. }
            | CliError::Io { .. }
            | CliError::Fake(_) => Class::Usage,
            CliError::NoToken(_) | CliError::LoginTimeout(_) | CliError::Consent(_) => {
                Class::Consent
            }
            CliError::Ureq(e) => class_of_ureq(e),
            CliError::Hyper(e) => class_of_hyper(e),
            CliError::Store(_) => Class::TokenFile,
        };
        match class {
            Class::Usage => exit::USAGE,
            Class::Consent => exit::CONSENT,
            Class::Api => exit::API,
            Class::Network => exit::NETWORK,
            Class::TokenFile => exit::TOKEN_FILE,
        }
    }
}
