//! A real Redis for the fleet tests: the server `REDIS_URL` names (CI starts one), or one
//! started here on a free loopback port. Under `CI=true` a missing Redis fails the test; outside
//! CI, without `REDIS_URL` and without a `redis-server` binary, the test says it is skipped.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis server to test against.
#[derive(Debug)]
pub struct Redis {
    url: String,
    _server: Option<RedisServer>,
}

impl Redis {
    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The Redis of `REDIS_URL`, else a private one; `None` (after saying so) when there is none
/// and the tests do not run under CI.
///
/// # Panics
///
/// Under `CI=true` when there is no Redis.
pub fn redis() -> Option<Redis> {
    if let Ok(url) = std::env::var("REDIS_URL")
        && !url.is_empty()
    {
        return Some(Redis { url, _server: None });
    }
    match RedisServer::start() {
        Ok(server) => Some(Redis {
            url: server.url(),
            _server: Some(server),
        }),
        Err(e) if in_ci() => {
            panic!("CI=true: REDIS_URL is not set and redis-server could not start: {e}")
        }
        Err(e) => {
            crate::skipped(&format!(
                "no REDIS_URL and no redis-server ({e}); `apt-get install redis-server` runs it"
            ));
            None
        }
    }
}

/// Whether the tests run under CI.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A grant name no other test uses.
pub fn unique_grant(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A `redis-server` of this test's own (append-only file, fsync on every write), which it can
/// kill and restart on the same port with the same data.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one on a free loopback port, ready to serve.
    pub fn start() -> io::Result<RedisServer> {
        let mut last = io::Error::other("no port tried");
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = RedisServer {
                child: None,
                port,
                dir: tempfile::tempdir()?,
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills it (SIGKILL): what it acknowledged is on disk (`appendfsync always`).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                // The port may linger a moment after the kill.
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn spawn(&mut self) -> io::Result<()> {
        let binary = std::env::var_os("REDIS_SERVER")
            .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from);
        let child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if ping(&self.url()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(io::Error::other(format!("redis-server exited: {status}")));
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(io::Error::other("redis-server did not answer within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether a server answers `PING` at `url`.
pub fn ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
        return false;
    };
    redis::cmd("PING").query::<String>(&mut connection).is_ok()
}

fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
