//! A real PostgreSQL for the Postgres store's tests: the server `POSTGRES_URL` names (CI starts
//! one), or a throwaway cluster started here (`initdb` + `pg_ctl` in a temporary directory, on
//! a free loopback port, as an unprivileged user when run as root). Under `CI=true` a missing
//! PostgreSQL fails the test; outside CI the test says it is skipped.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis::in_ci;

/// A PostgreSQL to test against.
#[derive(Debug)]
pub struct Postgres {
    url: String,
    server: Option<PgServer>,
}

impl Postgres {
    /// Its URL (password included: the tests' own throwaway server).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server started here, if this is one (tests that restart it need their own).
    pub fn server(&mut self) -> Option<&mut PgServer> {
        self.server.as_mut()
    }

    /// A new empty database on this server, and its URL.
    pub fn new_database(&self, name: &str) -> String {
        let db = format!(
            "t_{}",
            crate::redis::unique_grant(name)
                .replace(['-', '.'], "_")
                .to_lowercase()
        );
        let url = self.url.clone();
        let out = Command::new("psql")
            .arg(&url)
            .args(["-v", "ON_ERROR_STOP=1", "-qc"])
            .arg(format!("CREATE DATABASE {db}"))
            .stdin(Stdio::null())
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "CREATE DATABASE: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        with_database(&url, &db)
    }
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{db}{query}")
}

/// The PostgreSQL of `POSTGRES_URL`, else a private one; `None` (after saying so) when there is
/// none and the tests do not run under CI.
///
/// # Panics
///
/// Under `CI=true` when there is none.
pub fn postgres() -> Option<Postgres> {
    if let Ok(url) = std::env::var("POSTGRES_URL")
        && !url.is_empty()
    {
        return Some(Postgres { url, server: None });
    }
    private_postgres()
}

/// A private PostgreSQL (for tests that restart or stop it); `None` after saying so outside CI.
///
/// # Panics
///
/// Under `CI=true` when one cannot be started.
pub fn private_postgres() -> Option<Postgres> {
    match PgServer::start() {
        Ok(server) => Some(Postgres {
            url: server.url(),
            server: Some(server),
        }),
        Err(e) if in_ci() => panic!("CI=true: no PostgreSQL could be started: {e}"),
        Err(e) => {
            crate::skipped(&format!(
                "no POSTGRES_URL and no PostgreSQL to start ({e}); `apt-get install postgresql` provides one"
            ));
            None
        }
    }
}

/// A throwaway cluster: its own directory, port and password; stopped and removed on drop.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    password: String,
    as_nobody: bool,
    /// The CA that signed the server's certificate, when it serves TLS.
    ca_der: Option<Vec<u8>>,
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`, else the one on `PATH`.
fn pg_bin() -> io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no initdb/pg_ctl found"))
}

impl PgServer {
    /// Makes a cluster and starts it on a free loopback port.
    pub fn start() -> io::Result<PgServer> {
        PgServer::start_with(false)
    }

    /// [`start`](Self::start), serving TLS with a certificate for 127.0.0.1 signed by a CA of
    /// its own ([`ca_der`](Self::ca_der)).
    pub fn start_tls() -> io::Result<PgServer> {
        PgServer::start_with(true)
    }

    /// The CA that signed its certificate (DER), when it serves TLS.
    pub fn ca_der(&self) -> Option<&[u8]> {
        self.ca_der.as_deref()
    }

    fn start_with(tls: bool) -> io::Result<PgServer> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new().prefix("pg-test-").tempdir()?;
        let as_nobody = rustix_is_root();
        let password = format!("pw{:x}", rand_u64());
        std::fs::write(dir.path().join("pw"), &password)?;
        let ca_der = if tls {
            let (ca, cert, key) = certificates().map_err(io::Error::other)?;
            std::fs::write(dir.path().join("server.crt"), cert)?;
            std::fs::write(dir.path().join("server.key"), key)?;
            std::fs::set_permissions(
                dir.path().join("server.key"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )?;
            Some(ca)
        } else {
            None
        };
        if as_nobody {
            chown_nobody(dir.path())?;
        }
        let mut server = PgServer {
            bin,
            dir,
            port: 0,
            password,
            as_nobody,
            ca_der,
        };
        let data = server.data();
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "pinterest",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!(
                "--pwfile={}",
                server.dir.path().join("pw").display()
            ))
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let mut last = io::Error::other("no port tried");
        for _ in 0..5 {
            server.port = free_port()?;
            match server.pg_ctl_start() {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!(
            "postgres://pinterest:{}@127.0.0.1:{}/postgres?sslmode=disable",
            self.password, self.port
        )
    }

    /// Its password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it (`fast`: connections cut, what was committed kept) and starts it again on the
    /// same port.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop("fast")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.pg_ctl_start() {
                Ok(()) => return Ok(()),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Stops it (`mode`: `fast`, or `immediate` as a crash).
    pub fn stop(&mut self, mode: &str) -> io::Result<()> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", "30", "stop"])
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "pg_ctl stop: {}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Starts it (after [`stop`](Self::stop)).
    pub fn start_again(&mut self) -> io::Result<()> {
        self.pg_ctl_start()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_start(&mut self) -> io::Result<()> {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c fsync=off -c full_page_writes=off -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        if self.ca_der.is_some() {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                self.dir.path().display()
            ));
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "-o", &options, "start"])
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            Err(io::Error::other(format!(
                "pg_ctl start: {} {tail}",
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut command = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .env("LC_ALL", "C");
        command
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
    }
}

/// A CA (DER), and a certificate for 127.0.0.1 it signed with its key (both PEM).
fn certificates() -> Result<(Vec<u8>, String, String), rcgen::Error> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pinterest-oauth test Postgres CA");
    let ca_key = KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((ca.der().to_vec(), cert.pem(), key.serialize_pem()))
}

fn rustix_is_root() -> bool {
    // The uid of this process, read from /proc (no libc call, no extra dependency).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn chown_nobody(dir: &Path) -> io::Result<()> {
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(dir)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other("chown failed"))
    }
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("randomness");
    u64::from_le_bytes(bytes)
}

fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
