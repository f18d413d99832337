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

/// Options every command takes.
#[derive(Debug, Args)]
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
    Login(Login),
    /// Print only the access token; refresh first when due (saving the rotated tokens).
    Token(TokenArgs),
    /// Refresh now and save the rotated tokens.
    Refresh,
    /// Get an app token with client credentials.
    ClientCredentials(ClientCredentials),
    /// Revoke the stored tokens (both, unless one is chosen).
    Revoke(Revoke),
    /// Show what is stored: state, expiry times, scopes, waits, where. Never a secret.
    ///
    /// Exits 0 when `token` would print a token now (a valid access token, or one it can
    /// refresh at once: "due for refresh"); otherwise 3 (log in), 4 (automatic refresh
    /// stopped) or 7 (no token request allowed yet).
    Status(Status),
    /// List the grants the store holds (name, state, expiry, scopes), or choose the default.
    Grants(Grants),
    /// Print a new token key (`ptk1:…`) for PINTEREST_TOKEN_KEY or a key file.
    Keygen,
    /// Print a shell completion script: `pinterest-oauth completions bash > /etc/bash_completion.d/pinterest-oauth`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `pinterest-oauth man | man -l -`.
    Man,
    /// Create or upgrade the PostgreSQL schema of `--store postgres://…` (safe to run from many
    /// processes at once; refuses a schema newer than this build's).
    Migrate,
    /// The full flow against an embedded fake Pinterest: no credentials, no network.
    #[cfg(feature = "demo")]
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
    /// The grant commands use without --grant (kept for this user on this machine).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_arguments_never_shows_the_app_secret() {
        let cli = Cli::parse_from(["pinterest-oauth", "--app-secret", "s3cret-value", "status"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
