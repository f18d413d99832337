//! `fake-pinterest`: run the fake standalone.
//!
//! ```text
//! cargo run -p fake-pinterest -- --port 8080
//! ```

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fake_pinterest::{
    AnswerShape, ConsentMode, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_REDIRECT_URI, FakeConfig,
    FakePinterest, MAX_TTL, Malformed, RefreshExpiresAt,
};

/// A local fake of Pinterest's OAuth consent page and token endpoints.
#[derive(Debug, Parser)]
#[command(name = "fake-pinterest", version)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The app id to accept.
    #[arg(long, default_value = DEFAULT_APP_ID)]
    app_id: String,
    /// The app secret to accept.
    #[arg(long, default_value = DEFAULT_APP_SECRET)]
    app_secret: String,
    /// A registered redirect URI, matched byte for byte, port included (repeatable).
    #[arg(long = "redirect-uri", default_value = DEFAULT_REDIRECT_URI)]
    redirect_uris: Vec<String>,
    /// Accept PKCE's `plain` method (refused by default: only S256).
    #[arg(long)]
    allow_plain_pkce: bool,
    /// Access token lifetime in seconds (at most 100 years; 0: tokens expire at once).
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    access_ttl: u64,
    /// Refresh token lifetime in seconds (at most 100 years).
    #[arg(long, default_value_t = 60 * 24 * 3600)]
    refresh_ttl: u64,
    /// Authorization code lifetime in seconds (at most 100 years).
    #[arg(long, default_value_t = 600)]
    code_ttl: u64,
    /// Seconds a rotated-away refresh token still works (Pinterest: 0).
    #[arg(long, default_value_t = 0)]
    rotation_grace: u64,
    /// Answer token requests with 201 Created.
    #[arg(long)]
    created: bool,
    /// Separate scopes with spaces in token answers.
    #[arg(long)]
    space_separated_scope: bool,
    /// Leave `scope` out of refresh answers.
    #[arg(long)]
    omit_scope_on_refresh: bool,
    /// Legacy grants: refreshes neither rotate nor return a refresh token.
    #[arg(long)]
    legacy_refresh: bool,
    /// Send `expires_in` as a string.
    #[arg(long)]
    expires_in_as_string: bool,
    /// Leave `response_type` out of token answers.
    #[arg(long)]
    omit_response_type: bool,
    /// Leave `scope` out of every token answer.
    #[arg(long)]
    omit_scope: bool,
    /// How `refresh_token_expires_at` is sent: absolute (unix seconds), relative (the lifetime),
    /// zero, or absent.
    #[arg(long, value_enum, default_value_t = ExpiresAtArg::Absolute)]
    refresh_expires_at: ExpiresAtArg,
    /// A refresh answers with the very pair it was asked with (nothing rotates).
    #[arg(long)]
    repeat_pair: bool,
    /// Client-credentials answers carry a refresh token too.
    #[arg(long)]
    refresh_token_on_client_credentials: bool,
    /// Proper answers whose body breaks JSON's rules: duplicate-refresh-token, trailing-bytes,
    /// huge-number.
    #[arg(long, value_enum)]
    malformed: Option<MalformedArg>,
    /// Add X-RateLimit-Limit/-Remaining/-Reset headers to token answers.
    #[arg(long)]
    rate_limit_headers: bool,
    /// Serve HTTPS with a certificate made at start; its CA is printed (and written with --ca-file).
    #[arg(long)]
    tls: bool,
    /// Where to write the CA certificate (PEM) when --tls is on.
    #[arg(long, requires = "tls")]
    ca_file: Option<PathBuf>,
    /// Deny consent instead of approving it.
    #[arg(long)]
    deny: bool,
}

/// `--refresh-expires-at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExpiresAtArg {
    Absolute,
    Relative,
    Zero,
    Absent,
}

/// `--malformed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MalformedArg {
    DuplicateRefreshToken,
    TrailingBytes,
    HugeNumber,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = FakeConfig {
        app_id: args.app_id,
        app_secret: args.app_secret,
        redirect_uris: args.redirect_uris,
        allow_plain_pkce: args.allow_plain_pkce,
        access_ttl: Duration::from_secs(args.access_ttl).min(MAX_TTL),
        refresh_ttl: Duration::from_secs(args.refresh_ttl).min(MAX_TTL),
        code_ttl: Duration::from_secs(args.code_ttl).min(MAX_TTL),
        rotation_grace: Duration::from_secs(args.rotation_grace).min(MAX_TTL),
        shape: {
            let shape = AnswerShape {
                created: args.created,
                space_separated_scope: args.space_separated_scope,
                omit_scope_on_refresh: args.omit_scope_on_refresh,
                legacy_refresh: args.legacy_refresh,
                expires_in_as_string: args.expires_in_as_string,
                headers: Vec::new(),
                omit_response_type: args.omit_response_type,
                omit_scope: args.omit_scope,
                refresh_expires_at: match args.refresh_expires_at {
                    ExpiresAtArg::Absolute => RefreshExpiresAt::Absolute,
                    ExpiresAtArg::Relative => RefreshExpiresAt::Relative,
                    ExpiresAtArg::Zero => RefreshExpiresAt::Zero,
                    ExpiresAtArg::Absent => RefreshExpiresAt::Absent,
                },
                repeat_pair: args.repeat_pair,
                refresh_token_on_client_credentials: args.refresh_token_on_client_credentials,
                malformed: args.malformed.map(|m| match m {
                    MalformedArg::DuplicateRefreshToken => Malformed::DuplicateRefreshToken,
                    MalformedArg::TrailingBytes => Malformed::TrailingBytes,
                    MalformedArg::HugeNumber => Malformed::HugeNumber,
                }),
            };
            if args.rate_limit_headers {
                shape.with_rate_limit_headers(1000, 999, 60)
            } else {
                shape
            }
        },
        tls: args.tls,
        consent: if args.deny {
            ConsentMode::Deny
        } else {
            ConsentMode::AutoApprove
        },
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.port),
    };
    let fake = match FakePinterest::start(config) {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    println!("fake-pinterest listening on {}", fake.origin());
    println!("  api base url:  {}", fake.api_base_url());
    println!("  consent url:   {}", fake.consent_url());
    println!("  stats:         {}/_fake/stats", fake.origin());
    println!("  app id:        {}", fake.app_id());
    println!("  app secret:    {}", fake.app_secret());
    if let Some(pem) = fake.ca_certificate_pem() {
        if let Some(path) = &args.ca_file {
            if let Err(e) = std::fs::write(path, pem) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
            println!("  ca certificate written to {}", path.display());
        }
        println!("{pem}");
    }
    println!("press Ctrl-C to stop");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {e}");
    }
    fake.shutdown();
    ExitCode::SUCCESS
}
