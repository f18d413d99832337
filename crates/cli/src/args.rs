//! The command line, as users script against it: keep these names.

use std::fmt;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Log in to Pinterest once, then get a valid access token whenever a script asks:
/// `curl -H "Authorization: Bearer $(pinterest-oauth token)" …`
#[derive(Debug, Parser)]
#[command(
    name = "pinterest-oauth",
    version,
    about,
    long_about = None,
    after_help = crate::error::exit::TABLE
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// A value that must never be printed (the app secret); `Debug` shows only that it is set.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

fn secret(value: &str) -> Result<Secret, String> {
    Ok(Secret(value.to_owned()))
}

/// Options every command takes (listed after each command's own, under their own heading).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// The app id (OAuth client id).
    #[arg(long, env = pinterest_oauth_core::ENV_APP_ID, global = true)]
    pub(crate) app_id: Option<String>,

    /// The app secret. On the command line it is visible to every local user (`ps`): prefer
    /// PINTEREST_APP_SECRET, --app-secret-file, or `--app-secret -` to read it from stdin.
    #[arg(
        long,
        env = pinterest_oauth_core::ENV_APP_SECRET,
        hide_env_values = true,
        global = true,
        value_parser = secret
    )]
    pub(crate) app_secret: Option<Secret>,

    /// Read the app secret from this file (its first line, at most 64 KiB); it takes precedence
    /// over PINTEREST_APP_SECRET and --app-secret.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) app_secret_file: Option<PathBuf>,

    /// The API base URL.
    #[arg(
        long,
        env = pinterest_oauth_core::ENV_API_URI,
        default_value = pinterest_oauth_core::PRODUCTION_BASE_URL,
        global = true
    )]
    pub(crate) api_base: String,

    /// The consent page URL (a local fake's, to try everything without credentials).
    #[arg(
        long,
        env = pinterest_oauth_core::ENV_CONSENT_URL,
        default_value = pinterest_oauth_core::PINTEREST_CONSENT_URL,
        global = true
    )]
    pub(crate) consent_url: String,

    /// One token file, exactly (conflicts with --grant). Without it each grant is a file in
    /// --token-dir.
    #[arg(long, env = "PINTEREST_TOKEN_FILE", global = true)]
    pub(crate) token_file: Option<PathBuf>,

    /// The directory of the grants' token files: `default` is token.json, any other grant
    /// NAME is NAME.token.json (default: pinterest-oauth in the user config directory).
    #[arg(long, env = "PINTEREST_TOKEN_DIR", global = true, value_name = "DIR")]
    pub(crate) token_dir: Option<PathBuf>,

    /// Keep the tokens elsewhere than the token file: `redis://[:PASSWORD@]HOST:PORT/DB` shares
    /// one grant between processes on many machines (exactly one refreshes at a time);
    /// `postgres://USER@HOST[:PORT]/DB[?sslmode=require]` keeps every grant in a row of
    /// PostgreSQL (the schema is migrated on first use; see `migrate`; the password from
    /// PGPASSWORD, or in the URL given through PINTEREST_TOKEN_STORE: on the command line every
    /// local user sees it in `ps`); `file:PATH` is one token file. Takes precedence over
    /// --token-file.
    #[arg(
        long,
        env = "PINTEREST_TOKEN_STORE",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub(crate) store: Option<String>,

    /// The grant (one Pinterest account the app acts for) to work on, in any store: 1 to 64
    /// ASCII letters, digits and . _ - @ +. Default: the one `grants default NAME` chose, else
    /// `default`.
    #[arg(long, env = "PINTEREST_GRANT", global = true, value_name = "NAME")]
    pub(crate) grant: Option<String>,

    /// A file of token keys, one per line (`ptk1:…`, from `pinterest-oauth keygen`): token
    /// documents are then sealed at rest (AES-256-GCM) under the first, and open under any.
    /// The environment variable PINTEREST_TOKEN_KEY may hold them instead (never give a key on
    /// the command line: every local user sees it in `ps`).
    #[arg(
        long,
        env = "PINTEREST_TOKEN_KEY_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub(crate) token_key_file: Option<PathBuf>,

    /// The HTTP transport (hyper needs a build with the `hyper` feature).
    #[arg(long, value_enum, default_value_t = Transport::Ureq, global = true)]
    pub(crate) transport: Transport,

    /// Machine-readable output on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// With --json: include the refresh token (it is a long-lived secret).
    #[arg(long, global = true)]
    pub(crate) show_refresh_token: bool,

    /// Logs on stderr: -v for info, -vv for debug. Never a secret at any level.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
}

/// Which HTTP client sends the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Transport {
    /// Blocking, ureq 3.
    Ureq,
    /// Async, hyper 1 on tokio.
    Hyper,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the consent flow in the browser and save the tokens.
    #[command(after_help = examples::LOGIN)]
    Login(Login),
    /// Print only the access token; refresh first when due (saving the rotated tokens).
    #[command(after_help = examples::TOKEN)]
    Token(TokenArgs),
    /// Refresh now and save the rotated tokens.
    #[command(after_help = examples::REFRESH)]
    Refresh,
    /// Get an app token with client credentials.
    #[command(after_help = examples::CLIENT_CREDENTIALS)]
    ClientCredentials(ClientCredentials),
    /// Revoke the stored tokens (both, unless one is chosen).
    #[command(after_help = examples::REVOKE)]
    Revoke(Revoke),
    /// Show what is stored: state, expiry times, scopes, waits, where. Never a secret.
    ///
    /// Exits 0 when `token` would print a token now (a valid access token, or one it can
    /// refresh at once: "due for refresh"); otherwise 3 (log in), 4 (automatic refresh
    /// stopped) or 7 (no token request allowed yet).
    #[command(after_help = examples::STATUS)]
    Status(Status),
    /// List the grants the store holds (name, state, expiry, scopes), or choose the default.
    #[command(after_help = examples::GRANTS)]
    Grants(Grants),
    /// Print a new token key (`ptk1:…`) for PINTEREST_TOKEN_KEY or a key file.
    #[command(after_help = examples::KEYGEN)]
    Keygen,
    /// Print a shell completion script: `pinterest-oauth completions bash > /etc/bash_completion.d/pinterest-oauth`.
    #[command(after_help = examples::COMPLETIONS)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `pinterest-oauth man | man -l -`.
    #[command(after_help = examples::MAN)]
    Man,
    /// Create or upgrade the PostgreSQL schema of `--store postgres://…` (safe to run from many
    /// processes at once; refuses a schema newer than this build's).
    #[command(after_help = examples::MIGRATE)]
    Migrate,
    /// The full flow against an embedded fake Pinterest: no credentials, no network.
    #[cfg(feature = "demo")]
    #[command(after_help = examples::DEMO)]
    Demo,
}

/// `login` options.
#[derive(Debug, Args)]
pub(crate) struct Login {
    /// Scopes to ask for, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "boards:read,pins:read,user_accounts:read"
    )]
    pub(crate) scopes: Vec<String>,
    /// The redirect URI registered with the app, byte for byte (Pinterest matches it exactly,
    /// port included), e.g. http://127.0.0.1:8085/pinterest/callback. Default
    /// http://localhost:8085/, the one Pinterest's quickstart registers.
    #[arg(long, env = "PINTEREST_REDIRECT_URI", conflicts_with = "port")]
    pub(crate) redirect_uri: Option<String>,
    /// Port of the default redirect URI (`http://localhost:<port>/`). Pinterest accepts only
    /// registered redirect URIs, port included: register the one you use. 0 picks a free port
    /// (for a local fake that accepts it; Pinterest would refuse it).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Print the login's one-time start address instead of opening the browser: alone on the
    /// first line of stdout (on stderr with --json), for a browser elsewhere or a script's
    /// (`| { read -r address; curl -sSL -b '' -o /dev/null "$address"; cat; }`).
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Listen nowhere: print the consent URL and read the redirected URL pasted on stdin (for a
    /// registered redirect URI this machine cannot serve, such as an https one). Nothing then
    /// checks which browser finishes the login: keep both addresses to yourself.
    #[arg(long)]
    pub(crate) no_listen: bool,
    /// Leave PKCE out (it is on: a code_challenge with the consent, the verifier with the
    /// exchange; servers ignore what they do not know).
    #[arg(long)]
    pub(crate) no_pkce: bool,
    /// Seconds to wait for the browser to come back (1 to 86400).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) timeout: u64,
}

/// `token` options.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// Print `Authorization: Bearer <token>`, a header line for `curl -H @-` and friends.
    #[arg(long)]
    pub(crate) header: bool,
}

/// `client-credentials` options.
#[derive(Debug, Args)]
pub(crate) struct ClientCredentials {
    /// Scopes, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub(crate) scopes: Vec<String>,
    /// Save the app token to the token store (never over a user's grant), within the request
    /// budget and any wait Pinterest asked for.
    ///
    /// Without it, the token is kept per app and scopes in the state directory
    /// ($XDG_STATE_HOME/pinterest-oauth/app-tokens), and a valid one is printed again rather
    /// than requested: running this in a loop never floods Pinterest.
    #[arg(long)]
    pub(crate) save: bool,
    /// Request a new app token even if a kept one is still valid (within the same request
    /// budget).
    #[arg(long, conflicts_with = "save")]
    pub(crate) new: bool,
}

/// `status` options.
#[derive(Debug, Args)]
pub(crate) struct Status {
    /// Every grant the store holds, not only the one --grant names (--grant and
    /// PINTEREST_GRANT are then ignored).
    #[arg(long)]
    pub(crate) all: bool,
}

/// `grants` options.
#[derive(Debug, Args)]
pub(crate) struct Grants {
    /// What to do (without one: list them).
    #[command(subcommand)]
    pub(crate) action: Option<GrantsAction>,
}

/// What `grants` does besides listing.
#[derive(Debug, Subcommand)]
pub(crate) enum GrantsAction {
    /// The grant commands use without --grant in this store (kept beside the token files, or
    /// for Redis and PostgreSQL per store URL in the user config directory).
    Default {
        /// The grant's name.
        name: String,
    },
    /// Seal every grant under the first token key (plain ones, and those sealed under an
    /// older key), without a refresh.
    Rekey,
}

/// `revoke` options.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub(crate) struct Revoke {
    /// Revoke only the access token (the next `token` refreshes).
    #[arg(long)]
    pub(crate) access_token: bool,
    /// Revoke only the refresh token (the access token works until it expires).
    #[arg(long)]
    pub(crate) refresh_token: bool,
}

/// The examples each subcommand's `--help` ends with (a test parses every one).
pub(crate) mod examples {
    /// `login`.
    pub(crate) const LOGIN: &str = "Examples:\n  pinterest-oauth login\n  pinterest-oauth login --redirect-uri http://127.0.0.1:8085/pinterest/callback\n  pinterest-oauth login --grant business --scopes boards:read,pins:write";
    /// `token`.
    pub(crate) const TOKEN: &str = "Examples:\n  curl -H \"Authorization: Bearer $(pinterest-oauth token)\" https://api.pinterest.com/v5/boards\n  pinterest-oauth token --header | curl -H @- https://api.pinterest.com/v5/pins\n  pinterest-oauth token --grant business --json";
    /// `refresh`.
    pub(crate) const REFRESH: &str =
        "Examples:\n  pinterest-oauth refresh\n  pinterest-oauth refresh --grant business --json";
    /// `clientcredentials`.
    pub(crate) const CLIENT_CREDENTIALS: &str = "Examples:\n  pinterest-oauth client-credentials --scopes ads:read\n  pinterest-oauth client-credentials --scopes ads:read --save --token-file app.json";
    /// `revoke`.
    pub(crate) const REVOKE: &str = "Examples:\n  pinterest-oauth revoke\n  pinterest-oauth revoke --access-token\n  pinterest-oauth revoke --grant personal";
    /// `status`.
    pub(crate) const STATUS: &str = "Examples:\n  pinterest-oauth status || pinterest-oauth login\n  pinterest-oauth status --all --json\n  pinterest-oauth status --store redis://127.0.0.1:6379/0 --grant business";
    /// `grants`.
    pub(crate) const GRANTS: &str = "Examples:\n  pinterest-oauth grants\n  pinterest-oauth grants default business\n  pinterest-oauth grants rekey --token-key-file ~/.config/pinterest-oauth/keys";
    /// `keygen`.
    pub(crate) const KEYGEN: &str = "Examples:\n  (umask 077; pinterest-oauth keygen > ~/.config/pinterest-oauth/keys)\n  pinterest-oauth status --token-key-file ~/.config/pinterest-oauth/keys";
    /// `completions`.
    pub(crate) const COMPLETIONS: &str = "Examples:\n  pinterest-oauth completions bash > /etc/bash_completion.d/pinterest-oauth\n  pinterest-oauth completions zsh > ~/.zfunc/_pinterest-oauth\n  pinterest-oauth completions fish > ~/.config/fish/completions/pinterest-oauth.fish";
    /// `man`.
    pub(crate) const MAN: &str = "Examples:\n  pinterest-oauth man | man -l -\n  pinterest-oauth man > ~/.local/share/man/man1/pinterest-oauth.1";
    /// `migrate`.
    pub(crate) const MIGRATE: &str = "Examples:\n  pinterest-oauth migrate --store postgres://app@db/tokens?sslmode=verify-full\n  PGPASSWORD=… PINTEREST_TOKEN_STORE=postgres://app@db/tokens pinterest-oauth migrate";
    /// `demo`.
    #[cfg_attr(not(feature = "demo"), allow(dead_code))]
    pub(crate) const DEMO: &str =
        "Examples:\n  pinterest-oauth demo\n  pinterest-oauth demo --transport hyper";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each subcommand's long help: its own options, then the global ones, then examples.
    fn helps() -> Vec<(String, String)> {
        let mut command = <Cli as clap::CommandFactory>::command();
        command.build();
        command
            .get_subcommands_mut()
            .filter(|sub| sub.get_name() != "help")
            .map(|sub| {
                (
                    sub.get_name().to_owned(),
                    sub.render_long_help().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn each_subcommands_help_lists_its_own_options_first_and_ends_with_examples() {
        let helps = helps();
        // Eleven, and `demo` in a build with the fake.
        assert!(
            helps.len() >= 11 + usize::from(cfg!(feature = "demo")),
            "{:?}",
            helps.iter().map(|h| &h.0).collect::<Vec<_>>()
        );
        for (name, help) in helps {
            let own = help
                .find("\nOptions:")
                .unwrap_or_else(|| panic!("{name}: {help}"));
            let global = help
                .find("\nGlobal options:")
                .unwrap_or_else(|| panic!("{name}: {help}"));
            let examples = help
                .find("\nExamples:\n")
                .unwrap_or_else(|| panic!("{name}: {help}"));
            assert!(own < global && global < examples, "{name}: {help}");
            // The examples are the last section: two or three lines, each with the command.
            let lines: Vec<&str> = help[examples..].trim().lines().skip(1).collect();
            assert!((2..=3).contains(&lines.len()), "{name}: {lines:?}");
            assert!(
                lines.iter().all(|l| l.contains("pinterest-oauth ")),
                "{name}: {lines:?}"
            );
            // The global options really are under their heading, not among the command's own.
            assert!(!help[own..global].contains("--app-id"), "{name}: {help}");
            assert!(
                help[global..examples].contains("--app-id"),
                "{name}: {help}"
            );
        }
    }

    #[test]
    fn every_example_in_the_help_parses() {
        for (name, help) in helps() {
            let examples = &help[help.find("\nExamples:\n").unwrap()..];
            for line in examples.lines().skip(2) {
                // Each call of the command in the line, up to a pipe, redirection or comment.
                for call in line.split("pinterest-oauth ").skip(1) {
                    let end = call
                        .find(['|', ')', '>', '#', ';', '&'])
                        .unwrap_or(call.len());
                    let args =
                        std::iter::once("pinterest-oauth").chain(call[..end].split_whitespace());
                    if let Err(e) = Cli::try_parse_from(args) {
                        panic!("{name}: `{line}` does not parse: {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn debug_of_the_arguments_never_shows_the_app_secret() {
        let cli = Cli::parse_from(["pinterest-oauth", "--app-secret", "s3cret-value", "status"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
