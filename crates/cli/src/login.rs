//! `login`: the consent flow with a one-shot redirect listener on localhost.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use pinterest_oauth_core::{CallbackError, RedirectUri, Scope, Token, TokenDocument};
use pinterest_oauth_store::{FileStore, TokenStore};

use crate::AnyClient;
use crate::error::CliError;

/// How the consent URL reaches a browser.
pub(crate) enum Opener {
    /// Open the system browser (and print the URL in case it does not open).
    Browser,
    /// Only print the URL (`--no-browser`).
    Print,
    /// Hand it to this function (the demo's stand-in browser).
    #[cfg(feature = "demo")]
    Call(Box<dyn FnOnce(String) + Send>),
}

/// What `login` needs.
pub(crate) struct LoginRequest<'a> {
    pub(crate) client: &'a AnyClient,
    pub(crate) store: &'a FileStore,
    pub(crate) scopes: &'a [Scope],
    pub(crate) port: u16,
    pub(crate) timeout: Duration,
    pub(crate) opener: Opener,
}

/// The largest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// Runs the consent flow: listen, send the user to the consent page with a fresh `state`,
/// check the callback, exchange the code, save the tokens, answer the browser.
pub(crate) fn login(request: LoginRequest<'_>) -> Result<Token, CliError> {
    let listeners = listen(request.port)?;
    let port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or(request.port, |a| a.port());
    let redirect_uri = RedirectUri::new(format!("http://localhost:{port}/"))?;
    // The token file must be usable before the consent is spent.
    {
        let lock = request.store.lock()?;
        request.store.reserve(&lock)?;
    }
    let consent = request
        .client
        .authorization_url(&redirect_uri, request.scopes)?;
    let url = consent.url().clone();

    match request.opener {
        Opener::Print => eprintln!("Open this URL in your browser to log in:\n{url}"),
        Opener::Browser => {
            eprintln!("Opening your browser to log in. If it does not open, visit:\n{url}");
            if let Err(e) = webbrowser::open(url.as_str()) {
                eprintln!("warning: could not open a browser: {e}");
            }
        }
        #[cfg(feature = "demo")]
        Opener::Call(open) => open(url.to_string()),
    }
    tracing::info!(
        port,
        "waiting for the consent redirect on http://localhost:{port}/"
    );

    let deadline = Instant::now() + request.timeout;
    loop {
        let Some(mut stream) = accept(&listeners, deadline)? else {
            return Err(CliError::LoginTimeout(request.timeout));
        };
        let Some(target) = read_target(&mut stream) else {
            continue;
        };
        let path = target.split('?').next().unwrap_or("");
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let is_callback = path == "/"
            && form_urlencoded_keys(query).any(|k| k == "code" || k == "state" || k == "error");
        if !is_callback {
            respond(
                &mut stream,
                404,
                "Not found",
                "This is the pinterest-oauth login listener.",
            );
            continue;
        }
        let grant = match consent.callback(&target) {
            Ok(grant) => grant,
            Err(e) => {
                let why = match &e {
                    CallbackError::StateMismatch => {
                        "The login was refused: its state does not match (possible forgery)."
                    }
                    CallbackError::Denied { .. } => "Access was not granted.",
                    _ => "The login was refused: the redirect is incomplete.",
                };
                respond(&mut stream, 400, "Login failed", why);
                return Err(CliError::Oauth(e.into()));
            }
        };
        tracing::info!("consent granted; exchanging the code");
        let saved = (|| -> Result<Token, CliError> {
            let lock = request.store.lock()?;
            request.store.reserve(&lock)?;
            let token = request.client.exchange(grant)?;
            let previous = request.store.load().ok().flatten();
            let document = TokenDocument::new(token.clone()).succeeding(previous.as_ref());
            request.store.save(&lock, &document)?;
            Ok(token)
        })();
        match &saved {
            Ok(_) => respond(
                &mut stream,
                200,
                "Logged in",
                "You are logged in to Pinterest. You can close this tab.",
            ),
            Err(_) => respond(
                &mut stream,
                500,
                "Login failed",
                "The login could not be completed; see the terminal.",
            ),
        }
        return saved;
    }
}

/// Binds 127.0.0.1 (required) and ::1 (when available) on the same port.
fn listen(port: u16) -> Result<Vec<TcpListener>, CliError> {
    let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|source| CliError::Listen { port, source })?;
    let bound = v4.local_addr().map(|a| a.port()).unwrap_or(port);
    let mut listeners = vec![v4];
    // Browsers may resolve localhost to ::1 first.
    if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, bound))) {
        listeners.push(v6);
    }
    for listener in &listeners {
        listener
            .set_nonblocking(true)
            .map_err(|source| CliError::Listen { port, source })?;
    }
    Ok(listeners)
}

/// The next connection on any listener, or `None` at the deadline.
fn accept(listeners: &[TcpListener], deadline: Instant) -> Result<Option<TcpStream>, CliError> {
    loop {
        for listener in listeners {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                    return Ok(Some(stream));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => tracing::debug!(error = %e, "accept failed"),
            }
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The request target of a `GET`, or `None` for anything else (answered, then ignored).
fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
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
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next()?.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Some(target.to_owned()),
        _ => {
            respond(
                stream,
                405,
                "Method not allowed",
                "Only GET is served here.",
            );
            None
        }
    }
}

fn form_urlencoded_keys(query: &str) -> impl Iterator<Item = String> + '_ {
    query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .map(str::to_owned)
}

/// A small HTML page; failures to write are ignored (the browser went away).
fn respond(stream: &mut TcpStream, status: u16, title: &str, message: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} · pinterest-oauth</title></head>\
         <body style=\"font-family:sans-serif;margin:4em\"><h1>{title}</h1><p>{message}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\n\
         content-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}
