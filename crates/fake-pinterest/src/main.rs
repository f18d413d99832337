//! `fake-pinterest`: run the fake standalone.
//!
//! ```text
//! cargo run -p fake-pinterest -- --port 8080
//! eval "$(fake-pinterest --background)"     # in a process of its own; exports PINTEREST_*
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
    /// A registered redirect URI, matched byte for byte, port included (repeatable). Default:
    /// http://localhost:8085/ (Pinterest's quickstart's); with --background, http://localhost:PORT/
    /// on a port free now.
    #[arg(long = "redirect-uri", value_name = "URI")]
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
    /// Run in a process of its own and print, for a shell's `eval`, `export` lines: the
    /// PINTEREST_* variables pinterest-oauth and `ClientConfig::from_env` read (the app id and
    /// secret, the API base and consent URLs, a registered redirect URI, and a token file in a
    /// directory of its own, removed when the fake stops) and FAKE_PINTEREST_PID (`kill` it to stop the
    /// fake). Returns once the fake listens.
    #[arg(long)]
    background: bool,
    /// Stop after this many seconds (default: never; with --background, 3600).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    exit_after: Option<u64>,
    /// The process --background starts: prints the export lines, then `# ready`.
    #[arg(long, hide = true)]
    serve_for_background: bool,
}

/// What `--background`'s process prints last, once it listens.
const READY: &str = "# ready";

/// A value quoted for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// What the parent tells `--background`'s process once it has passed the export lines on.
const ACK: &str = "ok";

/// `--background`: starts this program again with the same options in a process group of its
/// own (no terminal's Ctrl-C reaches it), passes its export lines on, tells it so, and returns.
/// Its stdin, stdout and stderr are pipes to this process only: once this process ends, a
/// shell's `$(…)` ends. Should this process fail to pass the lines on (a closed or full
/// stdout) or be killed first, the fake hears no acknowledgement and stops, removing its token
/// directory: no fake runs that nobody knows the pid of. On failure, stdout says `false`, so
/// that `eval "$(fake-pinterest --background)"` fails too.
fn start_in_background() -> ExitCode {
    use std::io::{BufRead as _, Write as _};
    let failed = |why: &str| {
        let _ = writeln!(std::io::stderr(), "error: {why}");
        let _ = writeln!(std::io::stdout(), "false");
        ExitCode::from(1)
    };
    // The pid and the token file would be lost: a fake nobody can stop would run for an hour.
    if stdout_leads_nowhere() {
        let _ = writeln!(
            std::io::stderr(),
            "error: stdout leads nowhere (closed, or /dev/null): the export lines, with the pid to stop the fake, would be lost; run eval \"$(fake-pinterest --background)\""
        );
        return ExitCode::from(2);
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--background")
        .collect();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return failed(&format!("cannot find this program to start it again: {e}")),
    };
    let mut command = std::process::Command::new(exe);
    command
        .args(args)
        .arg("--serve-for-background")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return failed(&format!("cannot start the fake in the background: {e}")),
    };
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        let _ = child.kill();
        return failed("cannot talk to the fake");
    };
    // Its lines, read on a thread of their own so that a silent child cannot hold us.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().take(64) {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) if line == READY => break true,
            Ok(line) => lines.push(line),
            Err(_) => break false,
        }
    };
    if !ready {
        let _ = child.kill();
        let mut why = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(
                &mut std::io::Read::take(&mut stderr, 4096),
                &mut why,
            );
        }
        // Its own exit status (2 for options that can never work), else 1.
        let code = child
            .wait()
            .ok()
            .and_then(|status| status.code())
            .and_then(|code| u8::try_from(code).ok())
            .filter(|code| *code != 0)
            .unwrap_or(1);
        let why = why.trim();
        let why = why.strip_prefix("error: ").unwrap_or(why);
        let _ = failed(&format!("the fake did not start: {why}"));
        return ExitCode::from(code);
    }
    let mut out = std::io::stdout().lock();
    let passed = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    if let Err(e) = passed {
        // No acknowledgement: the fake stops and removes its token directory.
        drop(stdin);
        let _ = child.wait();
        let _ = writeln!(
            std::io::stderr(),
            "error: cannot print the export lines ({e}): the fake was stopped"
        );
        return ExitCode::from(1);
    }
    let mut stdin = stdin;
    if writeln!(stdin, "{ACK}").is_err() {
        let _ = child.wait();
        return failed("the fake stopped before it was told to serve");
    }
    ExitCode::SUCCESS
}

/// Whether stdout is closed or /dev/null (the runtime opens a closed one on /dev/null).
fn stdout_leads_nowhere() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
        let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
            return true;
        };
        let (Ok(out), Ok(null)) = (
            std::fs::File::from(fd).metadata(),
            std::fs::metadata("/dev/null"),
        ) else {
            return false;
        };
        out.file_type().is_char_device() && out.rdev() == null.rdev()
    }
    #[cfg(not(unix))]
    false
}

/// A redirect URI on a loopback port free now (`--background` registers it).
fn free_redirect_uri() -> std::io::Result<String> {
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    Ok(format!("http://localhost:{port}/"))
}

/// A fresh directory (0700) for the tokens of a fake's logins, so that trying the fake never
/// touches the tokens of a real login.
fn token_dir() -> std::io::Result<PathBuf> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    // Absolute, whatever TMPDIR says: the exported path must not change with the directory.
    let base = std::env::temp_dir();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from("/tmp")
    } else {
        base
    };
    let base = if base.is_absolute() {
        base
    } else {
        std::env::current_dir()?.join(base)
    };
    let dir = base.join(format!("fake-pinterest-{name}"));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    Ok(dir)
}

/// `--background`'s process: a token directory of its own, the export lines, then (once the
/// parent acknowledges them) serving until stopped. Whatever fails, the token directory goes.
async fn serve_in_background(
    fake: FakePinterest,
    stops: &mut Stops,
    redirect_uris: &[String],
    limit: Option<Duration>,
    ca_file: Option<&std::path::Path>,
) -> ExitCode {
    use std::io::Write as _;
    let tokens = match token_dir() {
        Ok(dir) => dir,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot make a token directory: {e}"
            );
            fake.shutdown();
            return ExitCode::from(1);
        }
    };
    let stop = |fake: FakePinterest, code: u8| {
        fake.shutdown();
        let _ = std::fs::remove_dir_all(&tokens);
        ExitCode::from(code)
    };
    let Some(token_file) = tokens.join("token.json").to_str().map(str::to_owned) else {
        let _ = writeln!(
            std::io::stderr(),
            "error: the temporary directory's path is not UTF-8 ({}): set TMPDIR",
            tokens.display()
        );
        return stop(fake, 1);
    };
    let mut exports = vec![
        ("PINTEREST_APP_ID", fake.app_id().to_owned()),
        ("PINTEREST_APP_SECRET", fake.app_secret().to_owned()),
        ("PINTEREST_API_URI", fake.api_base_url()),
        ("PINTEREST_CONSENT_URL", fake.consent_url()),
        ("PINTEREST_TOKEN_FILE", token_file),
        ("FAKE_PINTEREST_PID", std::process::id().to_string()),
    ];
    if let Some(uri) = redirect_uris.first() {
        exports.push(("PINTEREST_REDIRECT_URI", uri.clone()));
    }
    let mut lines: Vec<String> = exports
        .into_iter()
        .map(|(name, value)| format!("export {name}={}", shell_quote(&value)))
        .collect();
    if let Some(pem) = fake.ca_certificate_pem() {
        match ca_file {
            Some(path) => {
                if let Err(e) = std::fs::write(path, pem) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "error: cannot write {}: {e}",
                        path.display()
                    );
                    return stop(fake, 1);
                }
                lines.push(format!(
                    "# the fake's CA certificate (PEM): {}",
                    path.display()
                ));
            }
            None => lines.push("# HTTPS with a CA made now: give --ca-file to keep it".to_owned()),
        }
    }
    lines.push(format!(
        "# fake-pinterest {} (pid {}) until {}; stop it with: kill \"$FAKE_PINTEREST_PID\"",
        fake.origin(),
        std::process::id(),
        match limit {
            Some(limit) => format!("{} s from now", limit.as_secs()),
            None => "stopped".to_owned(),
        }
    ));
    lines.push(READY.to_owned());
    let mut out = std::io::stdout().lock();
    let printed = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    drop(out);
    if printed.is_err() {
        return stop(fake, 1);
    }
    // The parent's word that the lines reached whoever started it (bounded; a signal meanwhile
    // stops the fake, cleanly).
    let acknowledged = tokio::select! {
        read = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(|| {
                use std::io::{BufRead as _, Read as _};
                let mut line = String::new();
                let read = std::io::stdin().lock().take(64).read_line(&mut line);
                read.is_ok() && line.trim_end() == ACK
            }),
        ) => matches!(read, Ok(Ok(true))),
        () = stops.any() => false,
    };
    if !acknowledged {
        return stop(fake, 1);
    }
    until_stopped(stops, limit).await;
    stop(fake, 0)
}

/// The signals that stop the fake (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2: each
/// would otherwise end it without its clean-up), listened for from the start: a signal that
/// comes while the fake starts is kept until it is waited for.
struct Stops {
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 6],
}

impl Stops {
    fn new() -> std::io::Result<Stops> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Stops {
                signals: [
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                    signal(SignalKind::hangup())?,
                    signal(SignalKind::quit())?,
                    signal(SignalKind::user_defined1())?,
                    signal(SignalKind::user_defined2())?,
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(Stops {})
    }

    /// Until one of them comes.
    async fn any(&mut self) {
        #[cfg(unix)]
        {
            let [a, b, c, d, e, f] = &mut self.signals;
            tokio::select! {
                _ = a.recv() => {}
                _ = b.recv() => {}
                _ = c.recv() => {}
                _ = d.recv() => {}
                _ = e.recv() => {}
                _ = f.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Until a stopping signal, or `limit`.
async fn until_stopped(stops: &mut Stops, limit: Option<Duration>) {
    let limit = async {
        match limit {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = stops.any() => {}
        () = limit => {}
    }
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
    if args.background {
        return start_in_background();
    }
    let mut stops = match Stops::new() {
        Ok(stops) => stops,
        Err(e) => {
            eprintln!("error: cannot listen for signals: {e}");
            return ExitCode::from(1);
        }
    };
    let background = args.serve_for_background;
    // What Pinterest would never register: refused here, not served oddly.
    if args.app_id.trim().is_empty() || args.app_id.chars().any(char::is_control) {
        eprintln!("error: --app-id must not be empty or hold control characters");
        return ExitCode::from(2);
    }
    if let Some(bad) = args
        .redirect_uris
        .iter()
        // Absolute http(s), and no fragment (RFC 6749 §3.1.2 forbids one).
        .find(|uri| {
            url::Url::parse(uri).map_or(true, |u| {
                !matches!(u.scheme(), "http" | "https") || u.fragment().is_some()
            })
        })
    {
        eprintln!("error: --redirect-uri {bad:?} is not an absolute http(s) URI");
        return ExitCode::from(2);
    }
    let redirect_uris = match (args.redirect_uris.is_empty(), background) {
        (false, _) => args.redirect_uris,
        (true, false) => vec![DEFAULT_REDIRECT_URI.to_owned()],
        (true, true) => match free_redirect_uri() {
            Ok(uri) => vec![uri],
            Err(e) => {
                eprintln!("error: cannot find a free port for the redirect uri: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let config = FakeConfig {
        app_id: args.app_id,
        app_secret: args.app_secret,
        redirect_uris: redirect_uris.clone(),
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
    let limit = args
        .exit_after
        .or(background.then_some(3600))
        .map(Duration::from_secs);
    if background {
        return serve_in_background(
            fake,
            &mut stops,
            &redirect_uris,
            limit,
            args.ca_file.as_deref(),
        )
        .await;
    }
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
    until_stopped(&mut stops, limit).await;
    fake.shutdown();
    ExitCode::SUCCESS
}
