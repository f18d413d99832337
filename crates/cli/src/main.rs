//! `pinterest-oauth`: log in to Pinterest once, then a valid token whenever a script asks.
//!
//! ```text
//! pinterest-oauth login                    # consent in the browser, tokens saved (0600)
//! curl -H "Authorization: Bearer $(pinterest-oauth token)" https://api.pinterest.com/v5/user_account
//! ```
//!
//! Exit codes: 0 ok; 2 usage or configuration error; 3 consent needed; 4 other API error;
//! 5 network, timeout, TLS or oversized response; 6 token file error.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod backend;
mod demo;
mod error;
mod login;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use pinterest_oauth_core::{
    AppId, AppSecret, BaseUrl, ClientConfig, ConsentUrl, LifecycleConfig, Revocation, Scope,
    Status, Token, TokenLifecycle,
};
use pinterest_oauth_store::{FileStore, TokenStore};

use crate::args::{Cli, Command, Global};
use crate::backend::Backend;
use crate::error::CliError;
use crate::login::{LoginRequest, Opener};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    match run(cli) {
        Ok(()) => ExitCode::from(error::exit::OK),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs on stderr, only from this project's crates (their logs never carry a secret).
fn init_logging(verbose: u8) {
    // By default only what the error line cannot say (a rotated token that could not be saved).
    let level = match verbose {
        0 => "error",
        1 => "info",
        _ => "debug",
    };
    let crates = [
        "pinterest_oauth",
        "pinterest_oauth_core",
        "pinterest_oauth_ureq",
        "pinterest_oauth_hyper",
        "pinterest_oauth_store",
    ];
    let mut filter = String::from("error");
    for name in crates {
        filter.push_str(&format!(",{name}={level}"));
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<(), CliError> {
    let context = Context { global: cli.global };
    match cli.command {
        Command::Login(args) => {
            let config = context.config()?;
            let store = context.store()?;
            let backend = context.backend(config.clone())?;
            let scopes = parse_scopes(&args.scopes)?;
            let token = login::login(LoginRequest {
                config: &config,
                backend: &backend,
                store: &store,
                scopes: &scopes,
                port: args.port,
                timeout: Duration::from_secs(args.timeout),
                opener: if args.no_browser {
                    Opener::Print
                } else {
                    Opener::Browser
                },
            })?;
            context.print_token(
                &token,
                &format!("logged in; tokens saved to {}", store.path().display()),
            );
        }
        Command::Token => {
            let store = context.store()?;
            let stored = ensure_stored(&store)?;
            let token = match context.config() {
                Ok(config) => context.backend(config)?.valid_token(store)?,
                // Without credentials a fresh token can still be printed; a due one cannot be
                // refreshed.
                Err(missing) => {
                    let lifecycle = TokenLifecycle::new(LifecycleConfig::default(), stored.clone());
                    if lifecycle.status(SystemTime::now()) != Status::Fresh {
                        return Err(missing);
                    }
                    stored
                }
            };
            if context.global.json {
                context.print_json(&output::token_json(
                    &token,
                    SystemTime::now(),
                    context.global.show_refresh_token,
                ));
            } else {
                println!("{}", token.access_token().secret());
            }
        }
        Command::Refresh => {
            let store = context.store()?;
            let backend = context.backend(context.config()?)?;
            ensure_stored(&store)?;
            let token = backend.refresh_now(store)?;
            context.print_token(&token, "refreshed; the rotated tokens are saved");
        }
        Command::ClientCredentials(args) => {
            let backend = context.backend(context.config()?)?;
            let scopes = parse_scopes(&args.scopes)?;
            let token = backend.client_credentials(&scopes)?;
            let mut summary = String::from("app token received");
            if args.save {
                let store = context.store()?;
                store.save(&store.lock()?, &token)?;
                summary = format!("app token saved to {}", store.path().display());
            }
            context.print_token(&token, &summary);
        }
        Command::Revoke(args) => {
            let store = context.store()?;
            let backend = context.backend(context.config()?)?;
            let token = ensure_stored(&store)?;
            revoke(
                &backend,
                &store,
                &token,
                args.access_token,
                args.refresh_token,
                context.global.json,
            )?;
        }
        Command::Status => {
            let store = context.store()?;
            let token = store.load()?;
            let now = SystemTime::now();
            if context.global.json {
                context.print_json(&output::status_json(store.path(), token.as_ref(), now));
            } else {
                print!("{}", output::status_text(store.path(), token.as_ref(), now));
            }
        }
        Command::Demo => demo::run(context.global.transport)?,
    }
    Ok(())
}

/// Turns the global options into what the commands need.
struct Context {
    global: Global,
}

impl Context {
    fn config(&self) -> Result<ClientConfig, CliError> {
        let app_id = self
            .global
            .app_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or(CliError::MissingAppId)?;
        let app_secret = self
            .global
            .app_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(CliError::MissingAppSecret)?;
        let base = BaseUrl::parse(&self.global.api_base).map_err(CliError::Config)?;
        let consent = ConsentUrl::parse(&self.global.consent_url).map_err(CliError::Config)?;
        Ok(ClientConfig::new(
            AppId::new(app_id).map_err(CliError::Config)?,
            AppSecret::new(app_secret),
        )
        .with_base_url(base)
        .with_consent_url(consent))
    }

    fn store(&self) -> Result<FileStore, CliError> {
        let path = match &self.global.token_file {
            Some(path) => path.clone(),
            None => dirs::config_dir()
                .ok_or(CliError::NoConfigDir)?
                .join("pinterest-oauth")
                .join("token.json"),
        };
        Ok(FileStore::new(path))
    }

    fn backend(&self, config: ClientConfig) -> Result<Backend, CliError> {
        Backend::new(self.global.transport, config)
    }

    fn print_json(&self, value: &serde_json::Value) {
        println!("{value}");
    }

    /// A token as `--json` asks, or a summary line without secrets.
    fn print_token(&self, token: &Token, what: &str) {
        let now = SystemTime::now();
        if self.global.json {
            self.print_json(&output::token_json(
                token,
                now,
                self.global.show_refresh_token,
            ));
        } else {
            println!("{what}: {}", output::token_summary(token, now));
        }
    }
}

/// The stored set, or a clear error when there is none.
fn ensure_stored(store: &FileStore) -> Result<Token, CliError> {
    store
        .load()?
        .ok_or_else(|| CliError::NoToken(PathBuf::from(store.path())))
}

/// Parses scope names; unknown ones are passed through with a warning.
fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, CliError> {
    let scopes = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<Scope>().map_err(CliError::Config))
        .collect::<Result<Vec<_>, _>>()?;
    for scope in scopes.iter().filter(|s| !s.is_known()) {
        eprintln!("warning: unknown scope `{scope}`; passing it through unchanged");
    }
    if scopes.is_empty() {
        return Err(CliError::Config(pinterest_oauth_core::Error::EmptyScopes));
    }
    Ok(scopes)
}

/// Revokes the chosen token(s); when both are revoked the stored set is removed.
fn revoke(
    backend: &Backend,
    store: &FileStore,
    token: &Token,
    only_access: bool,
    only_refresh: bool,
    json: bool,
) -> Result<(), CliError> {
    let mut revoked = Vec::new();
    if !only_refresh {
        backend.revoke(&Revocation::access_token(token.access_token().clone()))?;
        revoked.push("access_token");
    }
    if !only_access && let Some(refresh) = token.refresh_token() {
        backend.revoke(&Revocation::refresh_token(refresh.clone()))?;
        revoked.push("refresh_token");
    }
    let removed = !only_access && !only_refresh;
    if removed {
        store.clear(&store.lock()?)?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "revoked": revoked, "token_file_removed": removed })
        );
    } else {
        println!(
            "revoked: {}{}",
            revoked.join(", "),
            if removed {
                "; the token file was removed"
            } else {
                ""
            }
        );
    }
    Ok(())
}
