//! The loopback listener the consent page redirects to.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use pinterest_oauth_core::{AuthorizationCodeGrant, CallbackError, RedirectUri, Url};
use zeroize::Zeroizing;

use super::LoginError;
use crate::AuthorizationRequest;

/// The largest request head read from a browser (the callback is a short GET).
const MAX_HEAD: usize = 16 * 1024;
/// The longest any one connection is served, whatever it sends.
const PER_CONNECTION: Duration = Duration::from_secs(5);
/// The most connections still sending their request at once: a new one closes the oldest of
/// them (a browser sends its request at once; only a stalling client is ever that old).
const MAX_CONNECTIONS: usize = 32;
/// The most connection threads at once, whatever happens.
const MAX_THREADS: usize = 2 * MAX_CONNECTIONS;
/// How often the listener looks for new connections.
const POLL: Duration = Duration::from_millis(10);
/// The cookie that binds the callback to the browser that fetched the start address.
const COOKIE: &str = "pinterest_oauth_login";

/// The loopback listener for a registered redirect URI, bound before the consent page opens.
///
/// Pinterest matches the registered redirect URI byte for byte, port included, so the listener
/// binds exactly the URI's host and port and serves exactly its path:
///
/// * `localhost`: both `127.0.0.1` and `[::1]`, because a browser may resolve the name to
///   either; failing to bind either is fatal (another process would receive the code), unless
///   the machine has no such address family at all.
/// * `127.0.0.1` (any `127/8` address) or `[::1]`: that address only.
///
/// Only `http` to a loopback host can be served here; for any other registered URI use the
/// out-of-band login (print the consent URL, paste the redirected URL back).
///
/// **Only the user's own browser can finish the login.** The browser is opened on a one-time
/// start address ([`start_url`](Self::start_url), `/start/<random>` on the redirect URI's
/// origin), never on the consent URL: the `state` never appears on a command line (where every
/// local user can read it). The start address answers once, with a redirect to the consent page
/// and an `HttpOnly`, `SameSite=Lax` cookie; a second fetch means someone else has it, and ends
/// the login ([`LoginError::StartFetchedTwice`]). The callback must carry the cookie (compared
/// in constant time). On Linux, connections from another user's socket are refused outright
/// (the kernel's socket tables say who owns the peer).
///
/// # Examples
///
/// ```no_run
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::RedirectUri;
/// use pinterest_oauth_ureq::login::Listener;
///
/// let listener = Listener::bind(&RedirectUri::new("http://127.0.0.1:8085/pinterest/callback")?)?;
/// assert_eq!(listener.redirect_uri().as_str(), "http://127.0.0.1:8085/pinterest/callback");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Listener {
    sockets: Vec<TcpListener>,
    redirect_uri: RedirectUri,
    path: String,
    /// The random part of the one-time start address (`/start/<nonce>`).
    nonce: Zeroizing<String>,
    /// The cookie the start address sets, which the callback must carry.
    cookie: Zeroizing<String>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("sockets", &self.sockets)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// A callback that carried the login's `state`: its outcome, and the browser's connection to
/// answer once the code is exchanged.
#[derive(Debug)]
pub struct Callback {
    /// The grant to exchange, or why the consent page refused (denied, no code).
    pub grant: Result<AuthorizationCodeGrant, CallbackError>,
    browser: TcpStream,
}

impl Callback {
    /// Answers the browser with a small page (its write errors are ignored: the browser may
    /// have gone).
    pub fn respond(mut self, success: bool, message: &str) {
        let (status, title) = if success {
            (200, "Logged in")
        } else {
            (400, "Login failed")
        };
        respond(&mut self.browser, status, title, message);
    }
}

impl Listener {
    /// Binds the redirect URI's host and port (see the type's docs). Port 0 (for tests) picks a
    /// free port, the same on both address families, and the redirect URI is rewritten with it.
    pub fn bind(redirect_uri: &RedirectUri) -> Result<Listener, LoginError> {
        let url = Url::parse(redirect_uri.as_str()).map_err(|_| LoginError::NotLoopback {
            uri: redirect_uri.to_string(),
        })?;
        let hosts = loopback_hosts(&url).ok_or_else(|| LoginError::NotLoopback {
            uri: redirect_uri.to_string(),
        })?;
        let port = url.port().unwrap_or(80);
        let path = url.path().to_owned();
        let sockets = if port == 0 {
            bind_any_port(&hosts)?
        } else {
            bind_all(&hosts, port)?
        };
        let redirect_uri = if port == 0 {
            let bound = sockets
                .first()
                .and_then(|s| s.local_addr().ok())
                .map_or(0, |a| a.port());
            let mut url = url;
            let _ = url.set_port(Some(bound));
            RedirectUri::new(url.as_str()).map_err(|_| LoginError::NotLoopback {
                uri: redirect_uri.to_string(),
            })?
        } else {
            redirect_uri.clone()
        };
        let random = || -> Result<Zeroizing<String>, LoginError> {
            use base64::Engine as _;
            let bytes = Zeroizing::new(crate::entropy::bytes::<32>().map_err(LoginError::Entropy)?);
            Ok(Zeroizing::new(
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice()),
            ))
        };
        let (nonce, cookie) = (random()?, random()?);
        for socket in &sockets {
            socket
                .set_nonblocking(true)
                .map_err(|source| LoginError::Bind {
                    addr: socket
                        .local_addr()
                        .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
                    source,
                })?;
        }
        Ok(Listener {
            sockets,
            redirect_uri,
            path,
            nonce,
            cookie,
        })
    }

    /// The one-time address to open in the user's browser: `/start/<random>` on the redirect
    /// URI's origin. It redirects to the consent page once (see the type's docs). It is not a
    /// secret the way the consent URL is (fetching it twice only ends the login), but keep it
    /// off command lines all the same.
    pub fn start_url(&self) -> Url {
        let mut url = Url::parse(self.redirect_uri.as_str())
            .unwrap_or_else(|_| Url::parse("http://localhost/").unwrap_or_else(|_| unreachable!()));
        url.set_query(None);
        url.set_fragment(None);
        url.set_path(&format!("/start/{}", self.nonce.as_str()));
        url
    }

    /// The redirect URI to send to the consent page (with the bound port).
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// The addresses listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Serves connections until a callback carrying `consent`'s state arrives, or `deadline`
    /// passes. Connections are served concurrently, each for at most five seconds whatever it
    /// sends, so no client can hold the login open or delay the real callback; anything that is
    /// not the login's callback (another path, another method, a wrong or missing `state`,
    /// even with `error=`) gets a 400 or 404 page and the listener keeps waiting.
    pub fn wait(
        &self,
        consent: &Arc<AuthorizationRequest>,
        deadline: Instant,
    ) -> Result<Callback, LoginError> {
        let (found, callbacks) = mpsc::channel();
        let live = Arc::new(Live::default());
        let login = Arc::new(Login {
            path: self.path.clone(),
            nonce: self.nonce.clone(),
            cookie: self.cookie.clone(),
            started: std::sync::atomic::AtomicBool::new(false),
        });
        let started = Instant::now();
        loop {
            for socket in &self.sockets {
                loop {
                    match socket.accept() {
                        Ok((stream, peer)) => {
                            self.serve(stream, peer, consent, &login, &found, &live, deadline)
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            tracing::debug!(error = %e, "accept failed");
                            break;
                        }
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LoginError::TimedOut {
                    after: now.duration_since(started),
                });
            }
            // `found` is held here, so the channel never disconnects: only a callback or the
            // poll interval ends the wait.
            match callbacks.recv_timeout(POLL.min(deadline - now)) {
                Ok(Event::Callback(callback)) => return Ok(callback),
                Ok(Event::StartedTwice) => return Err(LoginError::StartFetchedTwice),
                Err(_) => {}
            }
        }
    }

    /// Hands a connection to a thread of its own. When too many connections are still sending
    /// their request, the oldest of them is closed to make room.
    #[allow(clippy::too_many_arguments)]
    fn serve(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        consent: &Arc<AuthorizationRequest>,
        login: &Arc<Login>,
        found: &mpsc::Sender<Event>,
        live: &Arc<Live>,
        deadline: Instant,
    ) {
        if !peer.ip().is_loopback() || live.threads.load(Ordering::SeqCst) >= MAX_THREADS {
            return;
        }
        // Another local user's connection is never served (Linux: by its socket's owner).
        let local = stream.local_addr().ok();
        if !local.is_some_and(|local| super::peer::is_this_user(local, peer)) {
            tracing::warn!(%peer, "a connection from another local user was refused");
            return;
        }
        let Some(id) = live.reading(&stream) else {
            return;
        };
        live.threads.fetch_add(1, Ordering::SeqCst);
        let until = (Instant::now() + PER_CONNECTION).min(deadline);
        let (consent, login, found, live) =
            (consent.clone(), login.clone(), found.clone(), live.clone());
        let spawned = std::thread::Builder::new()
            .name("pinterest-oauth-login".into())
            .spawn(move || {
                handle(stream, &login, &consent, &found, until, || live.read(id));
                live.read(id);
                live.threads.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            tracing::debug!("could not start a thread for a connection; it was closed");
        }
    }
}

/// The connections being served: how many threads, and which are still sending their request.
#[derive(Debug, Default)]
struct Live {
    threads: AtomicUsize,
    sending: Mutex<(u64, VecDeque<(u64, TcpStream)>)>,
}

impl Live {
    /// Registers a connection still sending its request (closing the oldest such one when
    /// there are too many); `None` if it cannot be registered.
    fn reading(&self, stream: &TcpStream) -> Option<u64> {
        let handle = stream.try_clone().ok()?;
        let mut sending = self.sending.lock().unwrap_or_else(PoisonError::into_inner);
        let (next, queue) = &mut *sending;
        if queue.len() >= MAX_CONNECTIONS
            && let Some((_, oldest)) = queue.pop_front()
        {
            tracing::debug!("too many connections still sending; the oldest was closed");
            let _ = oldest.shutdown(std::net::Shutdown::Both);
        }
        *next += 1;
        queue.push_back((*next, handle));
        Some(*next)
    }

    /// The connection's request has been read (or it ended): it can no longer be closed to
    /// make room.
    fn read(&self, id: u64) {
        let mut sending = self.sending.lock().unwrap_or_else(PoisonError::into_inner);
        sending.1.retain(|(other, _)| *other != id);
    }
}

/// What a connection thread tells the waiting listener.
enum Event {
    /// The login's callback.
    Callback(Callback),
    /// The start address was fetched a second time: someone else has it.
    StartedTwice,
}

/// What every connection of one login checks against.
struct Login {
    path: String,
    nonce: Zeroizing<String>,
    cookie: Zeroizing<String>,
    started: std::sync::atomic::AtomicBool,
}

/// Constant-time equality of two secrets.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The value of the login cookie in a request head, if it carries one.
fn cookie_in(head: &str) -> Option<&str> {
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, value)| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// Reads one request, and either passes the login's callback on or answers it.
fn handle(
    mut stream: TcpStream,
    login: &Login,
    consent: &AuthorizationRequest,
    found: &mpsc::Sender<Event>,
    until: Instant,
    read: impl FnOnce(),
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let head = read_head(&mut stream, until);
    read();
    let Some(head) = head else {
        return;
    };
    // A browser's request head is ASCII; anything else is refused without a (lossy, unwiped)
    // copy of the head, whose request line may hold the code.
    let Ok(text) = std::str::from_utf8(&head) else {
        return respond(&mut stream, 400, "Bad request", "This is a login listener.");
    };
    let mut request_line = text.lines().next().unwrap_or("").split(' ');
    let (method, target) = (request_line.next(), request_line.next());
    let Some(target) = target else {
        return respond(&mut stream, 400, "Bad request", "This is a login listener.");
    };
    if method != Some("GET") {
        return respond(
            &mut stream,
            405,
            "Method not allowed",
            "Only GET is served here.",
        );
    }
    let target_path = target.split(['?', '#']).next().unwrap_or("");
    if let Some(nonce) = target_path.strip_prefix("/start/") {
        if !same_secret(nonce.as_bytes(), login.nonce.as_bytes()) {
            return respond(
                &mut stream,
                404,
                "Not found",
                "This is the pinterest-oauth login listener.",
            );
        }
        if login.started.swap(true, Ordering::SeqCst) {
            // Fetched before: by this user's browser and by someone else. Nothing can tell
            // which of the two the consent page will send back: the login ends.
            // The page is written before the login is told: once told, the program may end.
            respond(
                &mut stream,
                400,
                "Login stopped",
                "This login's start address was opened twice: someone else may have it. The login was stopped; nothing was saved. Start it again.",
            );
            let _ = found.send(Event::StartedTwice);
            return;
        }
        return redirect_to_consent(&mut stream, consent, &login.cookie);
    }
    if target_path != login.path {
        return respond(
            &mut stream,
            404,
            "Not found",
            "This is the pinterest-oauth login listener.",
        );
    }
    // Only the browser that fetched the start address can finish the login.
    let from_that_browser =
        cookie_in(text).is_some_and(|value| same_secret(value.as_bytes(), login.cookie.as_bytes()));
    if !from_that_browser {
        tracing::debug!("a callback without the login's cookie was refused");
        return respond(
            &mut stream,
            400,
            "Not this login",
            "This browser did not start the login in progress; the request was ignored.",
        );
    }
    match consent.callback(target) {
        Ok(grant) => hand_over(stream, Ok(grant), found),
        Err(e) if e.state_matched() => hand_over(stream, Err(e), found),
        Err(e) => {
            tracing::debug!(reason = %e, "a request that is not this login's callback was refused");
            respond(
                &mut stream,
                400,
                "Not this login",
                "This request does not belong to the login in progress; it was ignored.",
            );
        }
    }
}

fn hand_over(
    stream: TcpStream,
    grant: Result<AuthorizationCodeGrant, CallbackError>,
    found: &mpsc::Sender<Event>,
) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    if let Err(mpsc::SendError(Event::Callback(mut late))) = found.send(Event::Callback(Callback {
        grant,
        browser: stream,
    })) {
        respond(
            &mut late.browser,
            400,
            "Login over",
            "This login is already over.",
        );
    }
}

/// The start address's one answer: a redirect to the consent page, setting the cookie the
/// callback must bring back. Neither is cached, and the page says where it goes.
fn redirect_to_consent(stream: &mut TcpStream, consent: &AuthorizationRequest, cookie: &str) {
    let location = consent.url().as_str();
    let body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Redirecting · pinterest-oauth</title></head>\
         <body style=\"font-family:sans-serif;margin:4em\"><p>Redirecting to Pinterest…</p></body></html>";
    let response = Zeroizing::new(format!(
        "HTTP/1.1 302 Found\r\nlocation: {location}\r\n\
         set-cookie: {COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax\r\n\
         content-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// The request head (up to the blank line), read before `until` whatever the client does;
/// `None` when it is too long, too slow, or the client went away. Wiped when dropped: the
/// request line holds the code.
fn read_head(stream: &mut TcpStream, until: Instant) -> Option<Zeroizing<Vec<u8>>> {
    let mut head = Zeroizing::new(Vec::with_capacity(MAX_HEAD + 1024));
    let mut buf = Zeroizing::new([0u8; 1024]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())?;
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(buf.as_mut_slice()) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
        if head.len() > MAX_HEAD {
            respond(
                stream,
                431,
                "Request too large",
                "Request header fields too large.",
            );
            return None;
        }
    }
    Some(head)
}

/// A small HTML page; failures to write are ignored (the browser went away).
fn respond(stream: &mut TcpStream, status: u16, title: &str, message: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        302 => "Found",
        _ => "Internal Server Error",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} · pinterest-oauth</title></head>\
         <body style=\"font-family:sans-serif;margin:4em\"><h1>{title}</h1><p>{}</p></body></html>",
        html_escape(message)
    );
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\n\
         content-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The addresses to bind for a loopback `http` URL, or `None` when it is not one.
fn loopback_hosts(url: &Url) -> Option<Vec<IpAddr>> {
    if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    match url.host()? {
        url::Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => Some(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]),
        url::Host::Ipv4(ip) if ip.is_loopback() => Some(vec![IpAddr::V4(ip)]),
        url::Host::Ipv6(ip) if ip.is_loopback() => Some(vec![IpAddr::V6(ip)]),
        _ => None,
    }
}

/// `true` when binding failed because the machine has no such address (family), which is not
/// a reason to refuse: nobody else can listen there either.
fn family_unavailable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::AddrNotAvailable | ErrorKind::Unsupported
    ) || matches!(error.raw_os_error(), Some(97) /* EAFNOSUPPORT */)
}

fn bind_all(hosts: &[IpAddr], port: u16) -> Result<Vec<TcpListener>, LoginError> {
    let mut sockets = Vec::new();
    for &ip in hosts {
        let addr = SocketAddr::new(ip, port);
        match TcpListener::bind(addr) {
            Ok(socket) => sockets.push(socket),
            Err(e) if hosts.len() > 1 && family_unavailable(&e) => {
                tracing::debug!(%addr, "no such address family here; not listened on");
            }
            Err(source) => return Err(LoginError::Bind { addr, source }),
        }
    }
    if sockets.is_empty() {
        return Err(LoginError::Bind {
            addr: SocketAddr::new(
                hosts
                    .first()
                    .copied()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port,
            ),
            source: io::Error::from(ErrorKind::AddrNotAvailable),
        });
    }
    Ok(sockets)
}

/// Port 0: a free port that every host can bind.
fn bind_any_port(hosts: &[IpAddr]) -> Result<Vec<TcpListener>, LoginError> {
    let first = hosts
        .first()
        .copied()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut last = None;
    for _ in 0..16 {
        let addr = SocketAddr::new(first, 0);
        let socket = TcpListener::bind(addr).map_err(|source| LoginError::Bind { addr, source })?;
        let port = socket
            .local_addr()
            .map_err(|source| LoginError::Bind { addr, source })?
            .port();
        if hosts.len() == 1 {
            return Ok(vec![socket]);
        }
        match bind_all(hosts.get(1..).unwrap_or_default(), port) {
            Ok(mut rest) => {
                rest.insert(0, socket);
                return Ok(rest);
            }
            Err(LoginError::Bind { source, .. })
                if hosts.len() > 1 && family_unavailable(&source) =>
            {
                return Ok(vec![socket]);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(LoginError::Bind {
        addr: SocketAddr::new(first, 0),
        source: io::Error::from(ErrorKind::AddrInUse),
    }))
}
