//! Connections: the URL and how it is shown, TLS through rustls, the runtime the blocking calls
//! run on, a bounded pool, and how the driver's errors become [`StoreError`]s.

use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use pinterest_oauth_store::StoreError;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;

use crate::config::PostgresConfig;

/// The runtime every connection of this process runs on (one worker thread: the work is
/// waiting on sockets).
fn runtime() -> Result<&'static tokio::runtime::Runtime, StoreError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("pinterest-oauth-postgres")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| StoreError::Unavailable {
            what: "the Postgres store's runtime".into(),
            source: e.clone().into(),
        })
}

/// Runs `future` to completion from blocking code, on any thread: one inside an async runtime
/// (a task calling the store directly) runs it from a thread of its own rather than block the
/// runtime's.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, StoreError>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(future))
                .join()
                .map_err(|_| StoreError::Unavailable {
                    what: "the Postgres store".into(),
                    source: "a store thread panicked".into(),
                })
        })
    } else {
        Ok(runtime.block_on(future))
    }
}

/// A server as the user named it, parsed, with the name it is shown by (never the password).
#[derive(Clone)]
pub(crate) struct Server {
    pub(crate) config: tokio_postgres::Config,
    /// `postgres://user@host:port/db`: one name for one database however the URL is spelled.
    pub(crate) shown: String,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// The password, to keep it out of any message a server or the driver sends back.
    password: Option<zeroize::Zeroizing<String>>,
}

impl Server {
    /// `text` with the password (of four characters or more: a shorter one would only mangle
    /// words) replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.password {
            Some(secret) if secret.len() >= 4 => text.replace(secret.as_str(), "***"),
            _ => text.to_owned(),
        }
    }
}

/// What precedes the last `@` of the authority: the user and password, as written.
fn userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let at = rest.rfind('@')?;
    Some(&rest[..at])
}

/// The password written in `url`, if any (in the user part or a `password=` parameter).
fn password_of(url: &str) -> Option<String> {
    if let Some(info) = userinfo(url)
        && let Some((_, password)) = info.split_once(':')
        && !password.is_empty()
    {
        return Some(password.to_owned());
    }
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.eq_ignore_ascii_case("password") && !v.is_empty()).then(|| v.to_owned())
    })
}

/// `url` as the driver takes it, from libpq's spelling: `sslmode=verify-full` and
/// `verify-ca` are `require` (which verifies the certificate and the host name, always);
/// `sslrootcert=PATH` is read (PEM) into `roots` and taken out.
fn libpq_compatible(
    url: &str,
    roots: &mut Vec<rustls::pki_types::CertificateDer<'static>>,
) -> Result<String, String> {
    use rustls::pki_types::pem::PemObject;
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", "verify-full" | "verify-ca")) => {
                kept.push("sslmode=require".to_owned())
            }
            Some(("sslrootcert", path)) => {
                let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                if certs.is_empty() {
                    return Err(format!("sslrootcert {path}: no certificate in it"));
                }
                roots.extend(certs);
            }
            _ => kept.push(pair.to_owned()),
        }
    }
    Ok(if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

impl Server {
    /// Parses `url` (`postgres://` or `postgresql://`, as libpq takes it).
    ///
    /// Errors: [`StoreError::InvalidLocation`] (the URL shown without its password).
    pub(crate) fn parse(url: &str, options: &PostgresConfig) -> Result<Server, StoreError> {
        let invalid = |problem: String| StoreError::InvalidLocation {
            location: redact_url(url),
            problem,
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "expected postgres://user[:password]@host[:port]/database".into(),
            ));
        }
        // A password holding `@ / ? #` as they are would be cut wrong (and shown in part).
        if let Some(userinfo) = userinfo(url)
            && userinfo.contains(['@', '/', '?', '#'])
        {
            return Err(invalid(
                "percent-encode these characters in the user or password: @ as %40, / as %2F, ? as %3F, # as %23".into(),
            ));
        }
        let (url_given, mut roots) = (url, options.roots.clone());
        let url = libpq_compatible(url, &mut roots).map_err(invalid)?;
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
            // The driver's message may quote the password: then it is not shown.
            let text = e.to_string();
            match password_of(url_given) {
                Some(secret) if text.contains(secret.as_str()) => {
                    invalid("not a valid connection URL".into())
                }
                _ => invalid(text),
            }
        })?;
        if config.get_password().is_none()
            && let Some(password) = &options.password
        {
            config.password(password.as_bytes());
        }
        if config.get_hosts().is_empty() {
            return Err(invalid("no host given".into()));
        }
        if config.get_user().is_none_or(str::is_empty) {
            return Err(invalid(
                "no user given (postgres://user@host/database)".into(),
            ));
        }
        // A grant's lock is waited for at most the lock timeout (the server ends the wait).
        let lock_timeout = format!(
            "-c lock_timeout={}",
            options.lock_timeout.as_millis().max(1)
        );
        let session = match config.get_options() {
            Some(given) if !given.is_empty() => format!("{given} {lock_timeout}"),
            _ => lock_timeout,
        };
        config
            .options(&session)
            .connect_timeout(options.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("pinterest-oauth");
        #[cfg(target_os = "linux")]
        config.tcp_user_timeout(options.io_timeout.max(Duration::from_secs(1)));
        let shown = shown(&config);
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => None,
            _ => Some(tls(&roots).map_err(invalid)?),
        };
        let password = config
            .get_password()
            .map(|p| zeroize::Zeroizing::new(String::from_utf8_lossy(p).into_owned()));
        Ok(Server {
            config,
            shown,
            tls,
            password,
        })
    }

    async fn connect_async(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let client = match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                tokio::spawn(drive(connection));
                client
            }
            None => {
                let (client, connection) = self.config.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(drive(connection));
                client
            }
        };
        Ok(client)
    }
}

async fn drive<C: Future<Output = Result<(), tokio_postgres::Error>>>(connection: C) {
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "a Postgres connection ended");
    }
}

/// `postgres://user@host:port/db` (several hosts comma-separated), without the password.
fn shown(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{}/{db}", hosts.join(","))
}

/// A rustls connector trusting the Mozilla roots and `extra` (ring; no OpenSSL).
fn tls(
    extra: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra {
        roots
            .add(cert.clone())
            .map_err(|e| format!("a root certificate given is unusable: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The URL without its password, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "an unparsable URL".to_owned();
    };
    // The user part runs to the last `@` (a password may hold `/ ? # @`): all of it but the
    // user name is left out.
    let (user, after) = match rest.rfind('@') {
        Some(at) => {
            let info = &rest[..at];
            let user: String = info
                .split(':')
                .next()
                .unwrap_or_default()
                .chars()
                .take_while(|c| !matches!(c, '/' | '?' | '#' | '@'))
                .collect();
            (format!("{user}@"), &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    let tail = match after.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => after.to_owned(),
    };
    format!("{scheme}://{user}{tail}")
}

/// `text` with any password `url` carries (of four characters or more) replaced.
#[cfg(test)]
pub(crate) fn redact(text: &str, url: &str) -> String {
    match password_of(url) {
        Some(secret) if secret.len() >= 4 => text.replace(&secret, "***"),
        _ => text.to_owned(),
    }
}

/// What went wrong, in words: the server's message and code for its errors, the cause chain
/// otherwise (the driver's own text for a server error is only "db error").
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({}): {}", db.severity(), db.code().code(), db.message());
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = inner.source();
    }
    text
}

/// A connection, with whether it may go back to the pool.
pub(crate) struct Connection {
    pub(crate) client: Arc<tokio_postgres::Client>,
    /// Set when a statement on it failed or timed out: it is closed rather than reused.
    pub(crate) spoiled: bool,
}

/// A counted number of places (connections, locks) handed out, waited for when all are out.
struct Places {
    out: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

impl Places {
    fn take(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        while *out >= self.max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            out = self
                .freed
                .wait_timeout(out, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *out += 1;
        true
    }

    fn give_back(&self) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        *out = out.saturating_sub(1);
        self.freed.notify_one();
    }
}

/// The connections of one [`PostgresGrants`](crate::PostgresGrants) and every store it opened.
pub(crate) struct Pool {
    pub(crate) server: Server,
    pub(crate) options: PostgresConfig,
    idle: Mutex<Vec<Arc<tokio_postgres::Client>>>,
    statements: Places,
    locks: Places,
}

/// Which count a connection taken out is held under.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// A statement or a few: loads, saves, listings.
    Statements,
    /// A grant's lock, held on the connection as long as the lock is.
    Lock,
}

impl Pool {
    pub(crate) fn new(server: Server, options: PostgresConfig) -> Pool {
        Pool {
            statements: Places {
                out: Mutex::new(0),
                freed: Condvar::new(),
                max: options.max_connections,
            },
            locks: Places {
                out: Mutex::new(0),
                freed: Condvar::new(),
                max: options.max_locks,
            },
            server,
            options,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connection (an idle one, else a new one), counted under `use_`; waits for a free
    /// place up to `wait`.
    ///
    /// Errors: [`StoreError::Unavailable`] (no place in time, unreachable, timed out);
    /// [`StoreError::AccessDenied`] (a wrong password, an unknown role or database).
    pub(crate) fn take(&self, use_: Use, wait: Duration) -> Result<Connection, StoreError> {
        let places = match use_ {
            Use::Statements => &self.statements,
            Use::Lock => &self.locks,
        };
        if !places.take(wait) {
            return Err(self.unavailable(format!(
                "all {} of this process's {} were busy for {} s",
                places.max,
                match use_ {
                    Use::Statements => "connections",
                    Use::Lock => "grant locks",
                },
                wait.as_secs_f32()
            )));
        }
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut found = None;
            while let Some(client) = idle.pop() {
                if !client.is_closed() {
                    found = Some(client);
                    break;
                }
            }
            found
        };
        let client = match idle {
            Some(client) => Ok(client),
            None => {
                let server = self.server.clone();
                let timeout = self.options.connect_timeout + Duration::from_millis(100);
                block_on(async move {
                    tokio::time::timeout(timeout, server.connect_async())
                        .await
                        .map_err(|_| None)?
                        .map_err(Some)
                })
                .and_then(|connected| {
                    connected.map(Arc::new).map_err(|e| match e {
                        Some(e) => self.error(e),
                        None => self.timed_out(timeout),
                    })
                })
            }
        };
        match client {
            Ok(client) => Ok(Connection {
                client,
                spoiled: false,
            }),
            Err(e) => {
                places.give_back();
                Err(e)
            }
        }
    }

    /// Gives back a connection taken under `use_` (closed instead when spoiled).
    pub(crate) fn give_back(&self, connection: Connection, use_: Use) {
        if !connection.spoiled && !connection.client.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < self.options.max_connections {
                idle.push(connection.client);
            }
        }
        match use_ {
            Use::Statements => self.statements.give_back(),
            Use::Lock => self.locks.give_back(),
        }
    }

    /// Runs `work` on a pooled connection, within the I/O timeout.
    ///
    /// Errors: those of [`take`](Self::take) and of `work` (see [`error`](Self::error)).
    pub(crate) fn run<T, F>(
        &self,
        work: impl FnOnce(Arc<tokio_postgres::Client>) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + Send,
        T: Send,
    {
        let mut connection = self.take(Use::Statements, self.options.io_timeout)?;
        let result = self.run_on(&mut connection, self.options.io_timeout, work);
        self.give_back(connection, Use::Statements);
        result
    }

    /// Runs `work` on `connection` within `timeout`; a failure spoils it.
    pub(crate) fn run_on<T, F>(
        &self,
        connection: &mut Connection,
        timeout: Duration,
        work: impl FnOnce(Arc<tokio_postgres::Client>) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + Send,
        T: Send,
    {
        let future = work(connection.client.clone());
        let result = block_on(async move { tokio::time::timeout(timeout, future).await })?;
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.as_db_error().is_none() {
                    connection.spoiled = true;
                }
                Err(self.error(e))
            }
            Err(_) => {
                connection.spoiled = true;
                Err(self.timed_out(timeout))
            }
        }
    }

    /// The error for a driver's `error`.
    pub(crate) fn error(&self, error: tokio_postgres::Error) -> StoreError {
        let what = self.server.shown.clone();
        match error.code() {
            Some(code)
                if *code == SqlState::INVALID_PASSWORD
                    || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                    || *code == SqlState::INSUFFICIENT_PRIVILEGE
                    || *code == SqlState::INVALID_CATALOG_NAME =>
            {
                StoreError::AccessDenied {
                    what,
                    problem: self.server.redact(
                        &error
                            .as_db_error()
                            .map_or_else(|| error.to_string(), |db| db.message().to_owned()),
                    ),
                }
            }
            _ => StoreError::Unavailable {
                what,
                source: self.server.redact(&describe(&error)).into(),
            },
        }
    }

    pub(crate) fn unavailable(&self, problem: String) -> StoreError {
        StoreError::Unavailable {
            what: self.server.shown.clone(),
            source: self.server.redact(&problem).into(),
        }
    }

    pub(crate) fn timed_out(&self, after: Duration) -> StoreError {
        self.unavailable(format!("timed out after {} s", after.as_secs_f32()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        for (url, shown) in [
            (
                "postgres://app:hunter2@db.internal:5433/tokens",
                "postgres://app@db.internal:5433/tokens",
            ),
            (
                "postgresql://app:hunter2@127.0.0.1/tokens?sslmode=disable",
                "postgres://app@127.0.0.1:5432/tokens",
            ),
            ("postgres://app@[::1]:6000", "postgres://app@[::1]:6000/app"),
        ] {
            let server = Server::parse(url, &PostgresConfig::default()).unwrap();
            assert_eq!(server.shown, shown);
            assert!(!redact_url(url).contains("hunter2"), "{}", redact_url(url));
        }
        assert_eq!(
            redact_url("postgres://h/db?user=a&password=hunter2"),
            "postgres://h/db?user=a&password=***"
        );
        assert_eq!(
            redact("no hunter2 here", "postgres://a:hunter2@h/db"),
            "no *** here"
        );
    }

    #[test]
    fn bad_urls_are_typed_errors_without_the_password() {
        for url in [
            "mysql://a:hunter2@h/db",
            "postgres://a:hunter2@h:notaport/db",
            "postgres://a:hunter2@h/db?sslmode=sometimes",
            "postgres://a:hunter2@h/db?nonsense=1",
            "postgres:///db",
            "",
            // A password with `/ ? # @` as they are: refused, never shown in part.
            "postgres://app:hunt/er2@127.0.0.1:1/db?nonsense=1",
            "postgres://app:hun@ter2hunter2@127.0.0.1:1/db",
            "postgres://app:hunter2?x@127.0.0.1:1/db",
        ] {
            let err = Server::parse(url, &PostgresConfig::default())
                .err()
                .unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(
                matches!(err, StoreError::InvalidLocation { .. }),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(!err.to_string().contains("er2"), "{err}");
        }
        let err = Server::parse(
            "postgres://app:hun@ter2@127.0.0.1:1/db",
            &PostgresConfig::default(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("%40"), "{err}");
        // A short password is not "redacted" out of the words around it.
        let err = Server::parse(
            "postgres://app:a@127.0.0.1/db?nonsense=1",
            &PostgresConfig::default(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("invalid"), "{err}");
        assert_eq!(
            redact_url("postgres://app:hun@ter2@h/db"),
            "postgres://app@h/db"
        );
    }
}
