//! `pinterest-oauth`: log in to Pinterest once, then a valid token whenever a script asks.
//!
//! ```text
//! pinterest-oauth login                    # consent in the browser, tokens saved (0600)
//! curl -H "Authorization: Bearer $(pinterest-oauth token)" https://api.pinterest.com/v5/user_account
//! ```
//!
//! The exit codes are in `--help` (EXIT STATUS), from [`error::exit::TABLE`].

#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
#[cfg(feature = "demo")]
mod demo;
mod error;
mod login;
mod output;
mod say;
mod store;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::SystemTime;

use clap::Parser;
use pinterest_oauth_core::{
    AppId, AppSecret, BaseUrl, ClientConfig, ClientCredentialsGrant, ConsentUrl, RedirectUri,
    Revocation, Scope, Status, Token, TokenDocument,
};
use pinterest_oauth_store::{FileGrants, FileStore, GrantName, TokenStore};
use pinterest_oauth_transport::blocking::{Client, TokenSource};
use pinterest_oauth_transport::login::{DEFAULT_REDIRECT_URI, LoginConfig};
use pinterest_oauth_transport::{FromHttpConfig, Http, HttpConfig, Pkce, SourceConfig};

use crate::args::{Cli, Command, Global, GrantsAction, Transport};
use crate::error::CliError;
use crate::login::{LoginRequest, Opener};
use crate::say::{note, out, out_raw};
use crate::store::{CliGrants, CliStore, Keys, settled};

/// The client every command uses, whichever HTTP stack sends.
pub(crate) type AnyClient = Client<Box<dyn Http>>;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version go to stdout, and a stdout that cannot take them is an error
        // (1), as for every command's output; usage errors go to stderr (2).
        Err(e) if !e.use_stderr() => {
            return match out_raw!(e.render().to_string()) {
                Ok(()) => ExitCode::from(error::exit::OK),
                Err(failed) => {
                    note!("error: {failed}");
                    ExitCode::from(error::exit::OUTPUT)
                }
            };
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(error::exit::USAGE);
        }
    };
    init_logging(cli.global.verbose);
    stop_after_the_request_in_flight();
    let json = cli.global.json;
    let code = match run(cli) {
        Ok(()) => error::exit::OK,
        Err(e) => {
            note!("error: {e}");
            if let Some(hint) = e.hint() {
                note!("hint: {hint}");
            }
            // With --json, scripts read the failure from stdout too: one object (unless the
            // command's own object already said it).
            if json && !e.reported_on_stdout() {
                let _ = out!("{}", e.to_json());
            }
            e.exit_code()
        }
    };
    // A signal that came during the last request: the work it waited for is done, and the
    // status is the signal's, as it would be had the signal thread ended the process first.
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => ExitCode::from(code),
        signal => ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX)),
    }
}

/// The signal that asked this process to stop (0: none yet).
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// On `SIGINT`, `SIGTERM`, `SIGHUP`, `SIGQUIT`, `SIGUSR1`, `SIGUSR2` or `SIGALRM` (Ctrl-C, a
/// cron job's `timeout`, a closed terminal, Ctrl-\, a stray `kill`) the
/// command stops at once, unless a token request is in flight: Pinterest may already have
/// rotated the refresh token, and its answer must be stored first. It then stops as soon as
/// it is (at most the attempt deadline, a minute), with the signal's exit status, and no
/// request starts meanwhile.
fn stop_after_the_request_in_flight() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
        // Every signal whose default is to end the process and that a program may be sent
        // (SIGKILL and SIGSTOP cannot be caught).
        let Ok(mut signals) = signal_hook::iterator::Signals::new([
            SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
        ]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    SIGNALLED.store(signal, Ordering::SeqCst);
                    if pinterest_oauth_transport::refreshes_in_flight() > 0 {
                        note!("stopping once the token request in flight is answered and stored");
                    }
                    pinterest_oauth_transport::exit_once_settled(
                        128 + signal,
                        std::time::Duration::from_secs(75),
                    );
                }
            });
    }
}

/// Logs on stderr, only from this project's crates (their logs never carry a secret). By
/// default warnings: what the error line cannot say (a token file others can read, a set that
/// could not be saved, a refresh token Pinterest will not renew).
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let crates = [
        "pinterest_oauth",
        "pinterest_oauth_core",
        "pinterest_oauth_transport",
        "pinterest_oauth_ureq",
        "pinterest_oauth_hyper",
        "pinterest_oauth_store",
        "pinterest_oauth_redis",
        "pinterest_oauth_postgres",
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

/// A stable key of a shared store and app ([`store::file_key`]) over the store as it is, not as it was
/// spelled (scheme, lower-case host, port with its default, database: `redis://h:6379/01`,
/// `redis://:@h/1` and `redis://h:6379/1/` are one store), and the app id (each app's grants
/// are apart). Never the password: a file name carries nothing secret.
fn store_key(url: &str, app_id: &str) -> u64 {
    let store = match url::Url::parse(url) {
        Ok(parsed) => {
            let scheme = match parsed.scheme() {
                "postgresql" => "postgres",
                other => other,
            };
            let port = parsed.port().unwrap_or(match scheme {
                "postgres" => 5432,
                _ => 6379,
            });
            let path = parsed.path().trim_matches('/');
            let database = match scheme {
                "postgres" if path.is_empty() => parsed.username().to_owned(),
                "postgres" => path.to_owned(),
                _ => path.parse::<u64>().unwrap_or(0).to_string(),
            };
            format!(
                "{scheme}://{}:{port}/{database}",
                parsed.host_str().unwrap_or("").to_ascii_lowercase()
            )
        }
        // Unparsable URLs never reach here (the store refuses them first); still no password.
        Err(_) => url.split('@').next_back().unwrap_or("").to_owned(),
    };
    store::file_key(&[&store, app_id])
}

/// Whether `--app-secret` itself was given on the command line (not the environment).
fn app_secret_on_command_line() -> bool {
    std::env::args().any(|arg| arg == "--app-secret" || arg.starts_with("--app-secret="))
}

/// Whether a store URL with a password was given on the command line (where every local user
/// can read it in `ps`), rather than in PINTEREST_TOKEN_STORE.
fn store_password_on_command_line() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let given = args.iter().enumerate().filter_map(|(i, arg)| {
        arg.strip_prefix("--store=").map(str::to_owned).or_else(|| {
            (arg == "--store")
                .then(|| args.get(i + 1).cloned())
                .flatten()
        })
    });
    given.into_iter().any(|url| {
        let Some((_, rest)) = url.split_once("://") else {
            return false;
        };
        let has_user_password = rest.rfind('@').is_some_and(|at| {
            rest[..at]
                .split_once(':')
                .is_some_and(|(_, p)| !p.is_empty())
        });
        has_user_password || url.to_ascii_lowercase().contains("password=")
    })
}

fn run(cli: Cli) -> Result<(), CliError> {
    if store_password_on_command_line() {
        tracing::warn!(
            "the --store URL carries a password, which every local user can read on the command line (ps): give it in PGPASSWORD, or the URL in PINTEREST_TOKEN_STORE"
        );
    }
    let context = Context { global: cli.global };
    run_command(&context, cli.command).map_err(|e| context.explain(e))
}

/// One command, with what the global options give.
fn run_command(context: &Context, command: Command) -> Result<(), CliError> {
    match command {
        Command::Login(args) => {
            let client = context.client()?;
            let store = context.store()?;
            let scopes = parse_scopes(&args.scopes)?;
            let redirect_uri = match (&args.redirect_uri, args.port) {
                (Some(uri), _) => RedirectUri::new(uri.as_str())?,
                (None, Some(port)) => RedirectUri::new(format!("http://localhost:{port}/"))?,
                (None, None) => RedirectUri::new(DEFAULT_REDIRECT_URI)?,
            };
            let pkce = if args.no_pkce { Pkce::Off } else { Pkce::S256 };
            let token = if args.no_listen {
                login::login_out_of_band(&client, &store, &redirect_uri, &scopes, pkce)?
            } else {
                let mut options = LoginConfig::new(scopes)
                    .with_redirect_uri(redirect_uri)
                    .with_timeout(std::time::Duration::from_secs(args.timeout))
                    .with_pkce(pkce);
                if let Some(dir) = store::recovery_dir() {
                    options = options.with_recovery_dir(dir);
                }
                login::login(LoginRequest {
                    client: &client,
                    store: &store,
                    options,
                    opener: if args.no_browser {
                        Opener::Print {
                            stdout: !context.global.json,
                        }
                    } else {
                        Opener::Browser
                    },
                })?
            };
            let who = match account_name(&client, &token) {
                Some(name) => {
                    store.set_account(&name);
                    format!("logged in as {name}")
                }
                None => "logged in".to_owned(),
            };
            context.print_token(
                &token,
                &format!("{who}; tokens saved to {}", store.location()),
            )?;
        }
        Command::Token(args) => {
            if args.header && context.global.json {
                return Err(CliError::HeaderAndJson);
            }
            let token = context.valid_token()?;
            if args.header {
                if let Some(access) = token.access_token() {
                    out!("Authorization: Bearer {}", access.secret())?;
                }
            } else if context.global.json {
                context.print_json(&output::token_json(
                    &token,
                    SystemTime::now(),
                    context.global.show_refresh_token,
                ))?;
            } else if let Some(access) = token.access_token() {
                out!("{}", access.secret())?;
            }
        }
        Command::Refresh => {
            let store = context.store()?;
            ensure_stored(&store)?;
            let source = TokenSource::new(context.client()?, store)?;
            let token = source.refresh_now()?;
            context.print_token(&token, "refreshed; the rotated tokens are saved")?;
        }
        Command::ClientCredentials(args) => {
            let client = context.client()?;
            let scopes = parse_scopes(&args.scopes)?;
            if !args.save {
                // Kept per app, API and scopes in the state directory: a valid token is
                // handed out again, and every request is within the stored budget, however
                // often (or in however many processes) this runs.
                let cache =
                    store::app_token_cache(context.app_id()?, &context.global.api_base, &scopes)?;
                let options = SourceConfig::default()
                    .with_client_credentials(ClientCredentialsGrant::new(scopes)?);
                let first = store::FirstRequests::for_store(&cache)?;
                let turn = first
                    .as_ref()
                    .map(|first| first.begin(SystemTime::now()))
                    .transpose()?;
                let source = TokenSource::with_config(client, cache, options)?;
                let (token, summary) = if args.new {
                    let asked = source.refresh_now();
                    if let Some(turn) = turn {
                        turn.record(SystemTime::now(), asked.as_ref().map(drop));
                    }
                    (asked?, "new app token")
                } else {
                    let asked = source.access_token();
                    if let Some(turn) = turn {
                        turn.record(SystemTime::now(), asked.as_ref().map(drop));
                    }
                    asked?;
                    let token = source
                        .store()
                        .load()?
                        .map(|document| document.token().clone())
                        .ok_or_else(|| CliError::NoToken(source.store().location()))?;
                    (token, "app token")
                };
                let summary = format!(
                    "{summary} (kept for reuse in {})",
                    source.store().location()
                );
                return context.print_app_token(&token, &summary);
            }
            let store = context.store()?;
            {
                // Checked (and a kept set restored) before anything is sent.
                let lock = store.lock()?;
                if let Some(stored) = settled(&store, &lock)?
                    && holds_user_grant(stored.token())
                {
                    return Err(CliError::WouldReplaceGrant(store.location()));
                }
            }
            // Through a client-credentials token source: the stored request budget, backoff
            // and rate-limit deadline hold, and the set is saved before it is printed.
            let options = SourceConfig::default()
                .with_client_credentials(ClientCredentialsGrant::new(scopes)?);
            let first = store::FirstRequests::for_store(&store)?;
            let turn = first
                .as_ref()
                .map(|first| first.begin(SystemTime::now()))
                .transpose()?;
            let source = TokenSource::with_config(client, store, options)?;
            let asked = source.refresh_now();
            if let Some(turn) = turn {
                turn.record(SystemTime::now(), asked.as_ref().map(drop));
            }
            let token = asked?;
            let summary = format!("app token saved to {}", source.store().location());
            context.print_app_token(&token, &summary)?;
        }
        Command::Revoke(args) => context.revoke(args.access_token, args.refresh_token)?,
        Command::Status(args) => {
            let now = SystemTime::now();
            let config = context.optional_config()?;
            let mut failed: Option<CliError> = None;
            // Grants that could not be read, for --json's array (one document on stdout).
            let mut unreadable: Vec<serde_json::Value> = Vec::new();
            let reports = if args.all {
                let grants = context.grants()?;
                let keys = context.keys()?;
                let mut reports = Vec::new();
                for grant in grants.list()? {
                    // One grant that cannot be read hides none of the others.
                    let report = grants
                        .open(&grant, keys.as_ref())
                        .map_err(CliError::from)
                        .and_then(|store| context.stored_status(&store));
                    match report {
                        Ok(report) => reports.push((Some(grant), report)),
                        Err(e) => {
                            note!("{grant}: {e}");
                            unreadable.push(serde_json::json!({
                                "grant": grant.as_str(),
                                "state": "unreadable",
                                "usable": false,
                                "error": e.to_string(),
                                "exit_code": e.exit_code(),
                            }));
                            failed.get_or_insert(e);
                        }
                    }
                }
                reports
            } else {
                let grant = match context.one_file() {
                    Some(_) => None,
                    None => Some(context.grant()?),
                };
                let store = context.store()?;
                vec![(grant, context.stored_status(&store)?)]
            };
            let shown: Vec<output::Stored<'_>> = reports
                .iter()
                .map(|(grant, report)| output::Stored {
                    grant: grant.as_ref().map(GrantName::as_str),
                    location: report.location.clone(),
                    sealed_under: report.sealed_under.as_deref(),
                    document: report.document.as_ref(),
                    kept: report.kept.as_deref(),
                    raw: &report.raw,
                    config: config.as_ref(),
                    now,
                })
                .collect();
            if context.global.json {
                let value = if args.all {
                    serde_json::Value::Array(
                        shown
                            .iter()
                            .map(output::Stored::json)
                            .chain(unreadable)
                            .collect(),
                    )
                } else {
                    shown[0].json()
                };
                context.print_json(&value)?;
            } else if args.all && shown.is_empty() && failed.is_none() {
                out!(
                    "no grants stored in {}: run `pinterest-oauth login --grant NAME`",
                    context.grants()?.location()
                )?;
            } else {
                let texts: Vec<String> = shown.iter().map(output::Stored::text).collect();
                out_raw!(texts.join("\n"))?;
            }
            if let Some(e) = failed {
                // With --json the array above said it: no second document.
                return Err(if context.global.json {
                    CliError::Listed(Box::new(e))
                } else {
                    e
                });
            }
            // Like `gh auth status`: a script can ask whether a token is there to use.
            if shown.is_empty() {
                return Err(CliError::NotUsable {
                    grant: None,
                    state: "no grants are stored: run `pinterest-oauth login --grant NAME`".into(),
                    code: error::exit::CONSENT,
                });
            }
            if let Some((grant, verdict)) = shown
                .iter()
                .map(|stored| (stored.grant, stored.verdict()))
                .find(|(_, verdict)| verdict.exit != error::exit::OK)
            {
                return Err(CliError::NotUsable {
                    grant: grant.map(str::to_owned),
                    state: verdict.state,
                    code: verdict.exit,
                });
            }
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "pinterest-oauth", &mut script);
            out_raw!(script)?;
        }
        Command::Man => {
            // The exit status table gets a section of its own below, not an "EXTRA" one.
            let command = <Cli as clap::CommandFactory>::command().after_help(None::<&str>);
            let mut page = Vec::new();
            let man = clap_mangen::Man::new(command);
            man.render(&mut page).map_err(CliError::Output)?;
            // The exit status table, as in --help.
            page.extend_from_slice(b".SH \"EXIT STATUS\"\n.nf\n");
            for line in error::exit::TABLE.lines().skip(1) {
                page.extend_from_slice(line.replace('\\', "\\\\").as_bytes());
                page.push(b'\n');
            }
            page.extend_from_slice(b".fi\n");
            // Plain ASCII for groff without preconv.
            let page = String::from_utf8_lossy(&page).replace('…', "...");
            out_raw!(page)?;
        }
        Command::Migrate => {
            let url = context
                .global
                .store
                .as_deref()
                .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
                .ok_or(CliError::NothingToMigrate)?;
            #[cfg(feature = "postgres")]
            {
                let migrated = pinterest_oauth_postgres::migrate(url, postgres_config())?;
                if migrated.from == migrated.to {
                    out!("the schema is up to date (version {})", migrated.to)?;
                } else {
                    out!(
                        "the schema was migrated from version {} to version {}",
                        migrated.from,
                        migrated.to
                    )?;
                }
            }
            #[cfg(not(feature = "postgres"))]
            {
                let _ = url;
                return Err(CliError::PostgresNotBuilt);
            }
        }
        Command::Keygen => {
            let key = pinterest_oauth_store::seal::TokenKey::generate().map_err(|e| {
                CliError::TokenKeys {
                    from: "the operating system".into(),
                    problem: e.to_string(),
                }
            })?;
            out!("{}", key.expose().as_str())?;
            note!(
                "a new token key (id {}): keep it in PINTEREST_TOKEN_KEY or a 0600 key file (--token-key-file), never on a command line; without it sealed tokens cannot be read",
                key.id()
            );
        }
        Command::Grants(args) => match args.action {
            Some(GrantsAction::Default { name }) => {
                let grant = GrantName::new(name)?;
                let file = context.default_grant_file().ok_or(CliError::NoConfigDir)?;
                let grants = context.grants()?;
                if !grants.list()?.contains(&grant) {
                    note!(
                        "warning: no token is stored for {grant} yet in {}: run `pinterest-oauth login --grant {grant}`",
                        grants.location()
                    );
                }
                store::set_default_grant(&file, &grant)?;
                out!("default grant: {grant}")?;
            }
            Some(GrantsAction::Rekey) => {
                let keys = context.keys()?.ok_or(CliError::NoTokenKey)?;
                let sealing_id = keys.keyring.sealing_key().id().to_owned();
                let grants = context.grants()?;
                let mut resealed = 0;
                let mut failed: Option<CliError> = None;
                for grant in grants.list()? {
                    // One grant that cannot be resealed stops none of the others.
                    let rekeyed = (|| -> Result<bool, CliError> {
                        let store = grants.open(&grant, Some(&keys))?;
                        let lock = store.lock()?;
                        let Some(stored) = settled(&store, &lock)? else {
                            return Ok(false);
                        };
                        if store.sealed_under()?.as_deref() == Some(sealing_id.as_str()) {
                            return Ok(false);
                        }
                        // The same set as the next revision, sealed under the first key.
                        store.save(&lock, &stored.clone().after(Some(&stored)))?;
                        Ok(true)
                    })();
                    match rekeyed {
                        Ok(true) => {
                            resealed += 1;
                            note!("{grant}: sealed under key {sealing_id}");
                        }
                        Ok(false) => {}
                        Err(e) => {
                            note!("{grant}: not resealed: {e}");
                            failed.get_or_insert(e);
                        }
                    }
                }
                out!("{resealed} grant(s) sealed anew under key {sealing_id}")?;
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            None => {
                let grants = context.grants()?;
                let default = store::default_grant(context.default_grant_file().as_deref())?;
                let now = SystemTime::now();
                let keys = context.keys()?;
                let config = context.optional_config()?;
                let mut rows = Vec::new();
                for grant in grants.list()? {
                    let store = grants.open(&grant, keys.as_ref())?;
                    rows.push(output::GrantRow {
                        account: store.account(),
                        is_default: grant == default,
                        sealed_under: store.sealed_under().ok().flatten(),
                        document: store.load(),
                        config: config.clone(),
                        grant,
                        now,
                    });
                }
                if context.global.json {
                    context.print_json(&serde_json::Value::Array(
                        rows.iter().map(output::GrantRow::json).collect(),
                    ))?;
                } else if rows.is_empty() {
                    out!(
                        "no grants stored in {}: run `pinterest-oauth login --grant NAME`",
                        grants.location()
                    )?;
                } else {
                    out_raw!(output::grant_table(&rows))?;
                }
            }
        },
        #[cfg(feature = "demo")]
        Command::Demo => demo::run(context.global.transport)?,
    }
    Ok(())
}

/// What `status` reports of one grant.
struct StatusReport {
    location: String,
    sealed_under: Option<String>,
    document: Option<pinterest_oauth_core::TokenDocument>,
    kept: Option<PathBuf>,
    raw: Vec<PathBuf>,
}

/// Turns the global options into what the commands need.
struct Context {
    global: Global,
}

impl Context {
    fn app_secret(&self) -> Result<AppSecret, CliError> {
        if self.global.app_secret_file.is_some() && app_secret_on_command_line() {
            return Err(CliError::TwoAppSecrets);
        }
        // A file named on the command line wins over the environment.
        let value = match (&self.global.app_secret_file, &self.global.app_secret) {
            (Some(path), _) => read_first_line(Some(path))?,
            (None, Some(secret)) if secret.0 == "-" => read_first_line(None)?,
            (None, Some(secret)) => zeroize::Zeroizing::new(secret.0.clone()),
            (None, None) => return Err(CliError::MissingAppSecret),
        };
        if value.is_empty() {
            return Err(CliError::MissingAppSecret);
        }
        Ok(AppSecret::new(value.as_str()))
    }

    /// Where the app secret came from, in words: for a hint when Pinterest refuses the app.
    fn app_secret_source(&self) -> String {
        match (&self.global.app_secret_file, &self.global.app_secret) {
            (Some(path), _) => format!(
                "the file {} (--app-secret-file)",
                output::printable(&path.display().to_string())
            ),
            (None, Some(secret)) if secret.0 == "-" => "stdin (--app-secret -)".into(),
            (None, Some(_)) if app_secret_on_command_line() => {
                "the command line (--app-secret)".into()
            }
            (None, Some(_)) => {
                format!("the environment ({})", pinterest_oauth_core::ENV_APP_SECRET)
            }
            (None, None) => "nowhere".into(),
        }
    }

    /// A failure with what only the context knows: Pinterest refusing the app names the app
    /// id and where the secret came from.
    fn explain(&self, error: CliError) -> CliError {
        match error {
            CliError::Oauth(e) if error::app_refused(&e) => CliError::AppRefused {
                app_id: self.global.app_id.clone().unwrap_or_default(),
                secret_from: self.app_secret_source(),
                source: e,
            },
            other => other,
        }
    }

    /// The app id, given and not empty.
    fn app_id(&self) -> Result<&str, CliError> {
        self.global
            .app_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or(CliError::MissingAppId)
    }

    fn config(&self) -> Result<ClientConfig, CliError> {
        let app_id = self.app_id()?;
        let app_secret = self.app_secret()?;
        let base = BaseUrl::parse(&self.global.api_base)?;
        let consent = ConsentUrl::parse(&self.global.consent_url)?;
        Ok(ClientConfig::new(AppId::new(app_id)?, app_secret)
            .with_base_url(base)
            .with_consent_url(consent))
    }

    /// The app's configuration when its id and secret were given (`status` and `grants` need
    /// neither, but with them tell whether a recorded stop holds for this configuration).
    ///
    /// Errors: those of [`config`](Self::config) other than a missing id or secret.
    fn optional_config(&self) -> Result<Option<ClientConfig>, CliError> {
        match self.config() {
            Ok(config) => Ok(Some(config)),
            Err(CliError::MissingAppId | CliError::MissingAppSecret) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The HTTP stack `--transport` names.
    fn http(&self) -> Result<Box<dyn Http>, CliError> {
        let settings = HttpConfig::default();
        Ok(match self.global.transport {
            Transport::Ureq => Box::new(pinterest_oauth_ureq::HttpClient::from_http_config(
                &settings,
            )?),
            #[cfg(feature = "hyper")]
            Transport::Hyper => Box::new(
                pinterest_oauth_hyper::BlockingHttpClient::from_http_config(&settings)?,
            ),
            #[cfg(not(feature = "hyper"))]
            Transport::Hyper => return Err(CliError::HyperNotBuilt),
        })
    }

    fn client(&self) -> Result<AnyClient, CliError> {
        let config = self.config()?;
        Ok(Client::with_http(config, self.http()?))
    }

    /// The one file `--token-file` or `--store file:PATH` names, if any.
    fn one_file(&self) -> Option<PathBuf> {
        match &self.global.store {
            Some(url) => url.strip_prefix("file:").map(PathBuf::from),
            None => self.global.token_file.clone(),
        }
    }

    /// Where the grants are: Redis (`--store redis://…`), else the directory of token files.
    ///
    /// Errors: [`CliError::OneTokenFile`] when one file is named; a bad `--store`; no config
    /// directory.
    fn grants(&self) -> Result<CliGrants, CliError> {
        if let Some(url) = &self.global.store {
            if url.starts_with("file:") {
                return Err(CliError::OneTokenFile);
            }
            if url.starts_with("redis") {
                #[cfg(feature = "redis")]
                {
                    let grants = pinterest_oauth_redis::RedisGrants::open(
                        url,
                        &AppId::new(self.app_id()?)?,
                    )?;
                    return Ok(CliGrants::Redis(Box::new(grants)));
                }
                #[cfg(not(feature = "redis"))]
                return Err(CliError::RedisNotBuilt);
            }
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                #[cfg(feature = "postgres")]
                {
                    let app_id = AppId::new(self.app_id()?)?;
                    let mut grants = pinterest_oauth_postgres::PostgresGrants::with_config(
                        url,
                        &app_id,
                        postgres_config(),
                    )?;
                    if let Some(keys) = self.keys()? {
                        grants = grants.with_sealing(keys.keyring);
                    }
                    return Ok(CliGrants::Postgres(Box::new(grants)));
                }
                #[cfg(not(feature = "postgres"))]
                return Err(CliError::PostgresNotBuilt);
            }
            return Err(pinterest_oauth_store::StoreError::InvalidLocation {
                location: "--store".into(),
                problem: "expected redis://HOST:PORT/DB, postgres://USER@HOST/DB or file:PATH"
                    .into(),
            }
            .into());
        }
        if self.global.token_file.is_some() {
            return Err(CliError::OneTokenFile);
        }
        Ok(CliGrants::File(FileGrants::new(self.token_dir()?)))
    }

    /// `--token-dir`, else `pinterest-oauth` in the user config directory.
    fn token_dir(&self) -> Result<PathBuf, CliError> {
        match &self.global.token_dir {
            Some(dir) => Ok(dir.clone()),
            None => Ok(dirs::config_dir()
                .ok_or(CliError::NoConfigDir)?
                .join("pinterest-oauth")),
        }
    }

    /// The file recording the default grant of the store the options name, so that choosing
    /// one store's default never changes another's: `default-grant` beside the token files
    /// (in the default token directory, the user config directory's `pinterest-oauth`), or,
    /// for Redis or PostgreSQL, `default-grant.<hash of the store and app id>` in that
    /// directory (none without a config directory).
    fn default_grant_file(&self) -> Option<PathBuf> {
        match &self.global.store {
            Some(url) if !url.starts_with("file:") => {
                let config = dirs::config_dir()?.join("pinterest-oauth");
                let app_id = self.global.app_id.as_deref().unwrap_or("");
                Some(config.join(format!("default-grant.{:016x}", store_key(url, app_id))))
            }
            _ => self.token_dir().ok().map(|dir| dir.join("default-grant")),
        }
    }

    /// The grant `--grant` names, else the default one.
    fn grant(&self) -> Result<GrantName, CliError> {
        match &self.global.grant {
            Some(name) => Ok(GrantName::new(name.as_str())?),
            None => store::default_grant(self.default_grant_file().as_deref()),
        }
    }

    /// The token keys given (`--token-key-file`, else `PINTEREST_TOKEN_KEY`), if any.
    ///
    /// Errors: [`CliError::TokenKeys`] for a key file that cannot be read or keys refused;
    /// [`CliError::MissingAppId`] (sealed documents are bound to the app).
    fn keys(&self) -> Result<Option<Keys>, CliError> {
        let (text, from) = match &self.global.token_key_file {
            Some(path) => {
                let text = read_bounded(path).map_err(|e| CliError::TokenKeys {
                    from: path.display().to_string(),
                    problem: e.to_string(),
                })?;
                (text, path.display().to_string())
            }
            None => match std::env::var("PINTEREST_TOKEN_KEY") {
                Ok(text) if !text.trim().is_empty() => (
                    zeroize::Zeroizing::new(text),
                    "PINTEREST_TOKEN_KEY".to_owned(),
                ),
                _ => return Ok(None),
            },
        };
        let keyring = pinterest_oauth_store::seal::Keyring::parse(&text).map_err(|e| {
            CliError::TokenKeys {
                from,
                problem: e.to_string(),
            }
        })?;
        Ok(Some(Keys {
            keyring,
            app_id: AppId::new(self.app_id()?)?,
        }))
    }

    /// The store of the grant a command works on: the one file named, else the grant's store.
    ///
    /// Errors: [`CliError::GrantWithTokenFile`] for `--grant` with one file; those of
    /// [`grants`](Self::grants) and [`grant`](Self::grant).
    fn store(&self) -> Result<CliStore, CliError> {
        if let Some(path) = self.one_file() {
            if path.as_os_str().is_empty() {
                return Err(CliError::EmptyFilePath);
            }
            if self.global.grant.is_some() {
                return Err(CliError::GrantWithTokenFile);
            }
            let store = FileStore::new(path);
            return Ok(CliStore::File(match self.keys()? {
                Some(keys) => store.with_sealing(keys.sealing(&GrantName::default_grant())),
                None => store,
            }));
        }
        let grant = self.grant()?;
        Ok(self.grants()?.open(&grant, self.keys()?.as_ref())?)
    }

    /// What `status` shows of the grant `store` holds.
    fn stored_status(&self, store: &CliStore) -> Result<StatusReport, CliError> {
        let document = store.load()?;
        let kept = match store::recovery_dir() {
            Some(dir) => pinterest_oauth_store::recovery::pending(store, &dir)?,
            None => None,
        };
        Ok(StatusReport {
            location: store.location(),
            sealed_under: store.sealed_under()?,
            document,
            kept,
            raw: store::kept_answers(store),
        })
    }

    fn print_json(&self, value: &serde_json::Value) -> Result<(), CliError> {
        out!("{value}")
    }

    /// An app token as `token` prints a user's: the access token (or `--json`) on stdout,
    /// the summary on stderr.
    fn print_app_token(&self, token: &Token, what: &str) -> Result<(), CliError> {
        if let Some(problem) = token.access_token_problem() {
            return Err(CliError::UnusableAccessToken {
                problem,
                refresh_token_kept: token.refresh_token().is_some(),
            });
        }
        let now = SystemTime::now();
        note!("{what}: {}", output::token_summary(token, now));
        if self.global.json {
            self.print_json(&output::token_json(
                token,
                now,
                self.global.show_refresh_token,
            ))
        } else {
            match token.access_token() {
                Some(access) => out!("{}", access.secret()),
                None => Ok(()),
            }
        }
    }

    /// A token as `--json` asks, or a summary line without secrets.
    /// Prints what a command received; fails (after printing, and after the set was saved)
    /// when Pinterest's answer carried no access token this client may use.
    fn print_token(&self, token: &Token, what: &str) -> Result<(), CliError> {
        let now = SystemTime::now();
        if self.global.json {
            self.print_json(&output::token_json(
                token,
                now,
                self.global.show_refresh_token,
            ))?;
        } else {
            out!("{what}: {}", output::token_summary(token, now))?;
        }
        match token.access_token_problem() {
            Some(problem) => Err(CliError::UnusableAccessToken {
                problem,
                refresh_token_kept: token.refresh_token().is_some(),
            }),
            None => Ok(()),
        }
    }

    /// `token`: the stored set with a valid access token, refreshed first when due. Without
    /// credentials a still-valid token is printed (with a warning when it is due).
    fn valid_token(&self) -> Result<Token, CliError> {
        let store = self.store()?;
        let stored = ensure_stored(&store)?;
        let client = match self.client() {
            Ok(client) => client,
            Err(missing @ (CliError::MissingAppId | CliError::MissingAppSecret)) => {
                let now = SystemTime::now();
                if stored.token().valid_access_token(now).is_none() {
                    return Err(missing);
                }
                if output::lifecycle(&stored, None).status(now) != Status::Fresh {
                    note!(
                        "warning: the token is due for refresh, but no app credentials were given ({missing}); printing it while it is valid"
                    );
                }
                return Ok(stored.into_token());
            }
            Err(other) => return Err(other),
        };
        let source = TokenSource::new(client, store)?;
        let first = source.access_token();
        // A refresh started in the background: let it land (and be saved) before exiting.
        source.wait_idle();
        let access = match first {
            Ok(_) => source.access_token()?,
            Err(e) => return Err(e.into()),
        };
        if let Some(failure) = source.last_error() {
            note!("warning: refresh failed, using the stored token while it is valid: {failure}");
        }
        if let Some(at) = source.login_needed_by() {
            note!(
                "warning: Pinterest does not renew this refresh token; it lapses at {}: run `pinterest-oauth login` before then",
                pinterest_oauth_core::rfc3339(at)
            );
        }
        let token = source
            .token()
            .filter(|t| t.access_token() == Some(&access))
            .ok_or_else(|| CliError::NoToken(source.store().location()))?;
        Ok(token)
    }

    /// `revoke`: under the token file's lock, revokes what is stored then, and records it.
    fn revoke(&self, only_access: bool, only_refresh: bool) -> Result<(), CliError> {
        let client = self.client()?;
        let store = self.store()?;
        let lock = store.lock()?;
        // A set an earlier run could not save is what Pinterest honours: revoke that one.
        let document =
            settled(&store, &lock)?.ok_or_else(|| CliError::NoToken(store.location()))?;
        let token = document.token().clone();
        if only_refresh && token.refresh_token().is_none() {
            return Err(CliError::NoRefreshToken(store.location()));
        }
        // Never while another process's refresh may be in flight (it would rotate the refresh
        // token being revoked, and its new set would live on): a shared store says so. The
        // revocations are requests like any other: counted, never limited.
        store.confirm(
            &lock,
            &pinterest_oauth_store::Attempt::new(
                std::time::Duration::from_secs(60),
                u32::MAX,
                std::time::Duration::from_secs(300),
            ),
        )?;
        // From the first revocation sent until what it did is recorded, a signal waits: a
        // revoked access token left in the store would be handed out by `token`.
        let _flying = pinterest_oauth_transport::InFlight::enter();
        let mut revoked = Vec::new();
        let record = |revoked: &[&str], result: Result<(), pinterest_oauth_store::StoreError>| {
            result.map_err(|source| CliError::RevokedNotRecorded {
                revoked: revoked.join(", "),
                source,
            })
        };
        if !only_refresh && let Some(access) = token.access_token() {
            client
                .revoke(&Revocation::access_token(access.clone()))
                .map_err(revoke_refused)?;
            revoked.push("access_token");
            // Recorded at once: should the next call fail, `token` must not hand out an access
            // token Pinterest already revoked.
            if !only_access && token.refresh_token().is_some() {
                let forgotten = document.clone().without_access_token();
                record(&revoked, store.save(&lock, &forgotten))?;
            }
        }
        if !only_access && let Some(refresh) = token.refresh_token() {
            client
                .revoke(&Revocation::refresh_token(refresh.clone()))
                .map_err(revoke_refused)?;
            revoked.push("refresh_token");
        }
        let recorded = |result| record(&revoked, result);
        let (outcome, removed) = match (only_access, only_refresh) {
            (false, false) => {
                recorded(store.clear(&lock))?;
                store.forget_account();
                ("the stored tokens were removed", true)
            }
            (true, _) => {
                recorded(store.save(&lock, &document.without_access_token()))?;
                ("the stored access token is forgotten", false)
            }
            // Pinterest revokes the access tokens issued from a revoked refresh token too:
            // nothing usable is left.
            (_, true) => {
                recorded(store.clear(&lock))?;
                store.forget_account();
                (
                    "revoking the refresh token revoked the access tokens issued from it too: the stored tokens were removed",
                    true,
                )
            }
        };
        // When the next `token` can get a new access token: the request budget (which the
        // revocations count in) may not allow one at once.
        let next = if removed {
            None
        } else {
            let stored = store.load()?;
            Some(next_refresh(stored.as_ref(), client.config()))
        };
        drop(lock);
        if self.global.json {
            let mut value = serde_json::json!({
                "revoked": revoked,
                "token_file_removed": removed,
            });
            if let Some(next) = &next {
                value["next_refresh"] = next.state.into();
                value["next_refresh_not_before"] = next.not_before.clone().into();
            }
            out!("{value}")?;
        } else {
            let next = next.map(|n| format!("; {}", n.text)).unwrap_or_default();
            if revoked.is_empty() {
                out!("nothing was revoked (no token was stored); {outcome}{next}")?;
            } else {
                out!("revoked: {}; {outcome}{next}", revoked.join(", "))?;
            }
        }
        Ok(())
    }
}

/// When `token` will next be able to refresh a stored set with no access token.
struct NextRefresh {
    /// For people.
    text: String,
    /// For scripts: `now`, `waiting`, `stopped`, `consent_needed`.
    state: &'static str,
    /// RFC 3339, when waiting.
    not_before: Option<String>,
}

/// [`NextRefresh`] for what is stored, under this configuration.
fn next_refresh(stored: Option<&TokenDocument>, config: &ClientConfig) -> NextRefresh {
    let Some(stored) = stored else {
        return NextRefresh {
            text: "nothing is stored: run `pinterest-oauth login`".into(),
            state: "consent_needed",
            not_before: None,
        };
    };
    match output::lifecycle(stored, Some(config)).status(SystemTime::now()) {
        Status::Waiting { until, why } => {
            let at = pinterest_oauth_core::rfc3339(until).to_string();
            NextRefresh {
                text: format!("the next `token` can refresh from {at} ({why}), not before"),
                state: "waiting",
                not_before: Some(at),
            }
        }
        Status::Stopped { reason } => NextRefresh {
            text: format!(
                "automatic refresh is stopped ({reason}): `pinterest-oauth refresh` forces one"
            ),
            state: "stopped",
            not_before: None,
        },
        Status::ConsentNeeded => NextRefresh {
            text: "no refresh is possible: run `pinterest-oauth login`".into(),
            state: "consent_needed",
            not_before: None,
        },
        _ => NextRefresh {
            text: "the next `token` refreshes at once".into(),
            state: "now",
            not_before: None,
        },
    }
}

/// Reads the first line (at most 64 KiB) of a file, or of stdin (`None`), wiping what it read.
fn read_first_line(path: Option<&PathBuf>) -> Result<zeroize::Zeroizing<String>, CliError> {
    use std::io::Read as _;
    const MAX_LINE: u64 = 64 * 1024;
    let mut line = zeroize::Zeroizing::new(String::with_capacity(256));
    let result = match path {
        Some(path) => std::fs::File::open(path)
            .and_then(|file| std::io::BufReader::new(file.take(MAX_LINE)).read_line(&mut line)),
        None => std::io::stdin().lock().take(MAX_LINE).read_line(&mut line),
    };
    result.map_err(|source| CliError::AppSecret {
        what: path.map_or_else(|| "stdin".to_owned(), |p| p.display().to_string()),
        source,
    })?;
    if line.len() as u64 >= MAX_LINE && !line.ends_with('\n') {
        return Err(CliError::AppSecret {
            what: path.map_or_else(|| "stdin".to_owned(), |p| p.display().to_string()),
            source: std::io::Error::other("its first line is longer than 64 KiB"),
        });
    }
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(line)
}

/// A small text file (a key file), at most 64 KiB, read into memory wiped on drop. A FIFO or a
/// device is read without blocking past its first 64 KiB.
fn read_bounded(path: &std::path::Path) -> std::io::Result<zeroize::Zeroizing<String>> {
    use std::io::Read as _;
    const MAX: u64 = 64 * 1024;
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(1024));
    std::fs::File::open(path)?
        .take(MAX + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX {
        return Err(std::io::Error::other("larger than 64 KiB"));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(zeroize::Zeroizing::new(text.to_owned())),
        Err(_) => Err(std::io::Error::other("not UTF-8 text")),
    }
}

/// The stored document, or a clear error when there is none.
fn ensure_stored(store: &CliStore) -> Result<TokenDocument, CliError> {
    store
        .load()?
        .ok_or_else(|| CliError::NoToken(store.location()))
}

/// Whether a stored set is a user's (a refresh token, or a user's access token), not an app
/// token from client credentials.
fn holds_user_grant(token: &Token) -> bool {
    // An app token is what client credentials gave, whatever else it carries.
    token.response_type() != Some(&pinterest_oauth_core::ResponseType::ClientCredentials)
        && (token.refresh_token().is_some() || token.access_token().is_some())
}

/// A revocation Pinterest refused with code 29 ("not permitted") says why; other errors as
/// they are.
fn revoke_refused(error: pinterest_oauth_transport::CallError) -> CliError {
    let not_permitted = matches!(
        error.response(),
        Some(pinterest_oauth_core::ResponseError::Api(api)) if api.status() == 403 && api.code() == Some(29)
    );
    if not_permitted {
        CliError::RevokeNotPermitted(error.into())
    } else {
        error.into()
    }
}

/// The username of the account a new login acts for, when `user_accounts:read` was granted;
/// a failure to read it is a warning (the login itself succeeded).
fn account_name(client: &AnyClient, token: &Token) -> Option<String> {
    let access = token.access_token()?;
    if !token.scopes().contains(&Scope::UserAccountsRead) {
        return None;
    }
    match client.user_account(access) {
        Ok(account) => account.username().map(str::to_owned),
        Err(e) => {
            note!("warning: the login succeeded, but the account's name could not be read: {e}");
            None
        }
    }
}

/// Parses scope names; unknown ones are passed through with a warning.
fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, CliError> {
    if let Some(spaced) = names
        .iter()
        .find(|n| n.trim().contains(char::is_whitespace))
    {
        return Err(pinterest_oauth_core::ConfigError::InvalidScope {
            scope: spaced.clone(),
            problem: "separate scopes with commas, not spaces (--scopes boards:read,pins:read)",
        }
        .into());
    }
    let scopes = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()?;
    for scope in scopes.iter().filter(|s| !s.is_known()) {
        note!("warning: unknown scope `{scope}`; passing it through unchanged");
    }
    if scopes.is_empty() {
        return Err(pinterest_oauth_core::ConfigError::EmptyScopes.into());
    }
    Ok(scopes)
}

/// The Postgres store's settings from the environment: `PGPASSWORD` (libpq's) for a URL that
/// gives no password.
#[cfg(feature = "postgres")]
fn postgres_config() -> pinterest_oauth_postgres::PostgresConfig {
    let config = pinterest_oauth_postgres::PostgresConfig::default();
    match std::env::var("PGPASSWORD") {
        Ok(password) if !password.is_empty() => config.with_password(password),
        _ => config,
    }
}

#[cfg(test)]
mod tests {
    use super::store_key;

    #[test]
    fn one_store_however_its_url_is_spelled_has_one_key() {
        let key = |url| store_key(url, "1234");
        let one = key("redis://h:6379/1");
        for same in [
            "redis://H:6379/01",
            "redis://h/1",
            "redis://:@h:6379/1/",
            "redis://:secret@h:6379/1?x=y",
        ] {
            assert_eq!(key(same), one, "{same}");
        }
        assert_eq!(key("redis://h"), key("redis://h:6379/0"));
        assert_ne!(key("redis://h:6379/2"), one);
        assert_ne!(key("redis://other:6379/1"), one);
        assert_ne!(store_key("redis://h:6379/1", "999"), one, "another app");
        assert_eq!(
            key("postgresql://app:pw@DB/tokens"),
            key("postgres://app@db:5432/tokens?sslmode=require")
        );
        assert_ne!(
            key("postgres://app@db/tokens"),
            key("postgres://app@db/other")
        );
    }
}
