//! A stand-in for the user's browser: GETs a page without following redirects, so a test or a
//! demo can walk the consent flow step by step.

use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::Error;

/// What a page answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The status.
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The page, as text.
    pub body: String,
}

/// GETs `url` as a browser would, but without following a redirect, and with no cookie. `ca_der`
/// is an extra root certificate to trust (the fake's, when it serves TLS). Any status is an
/// answer.
pub fn visit(url: &str, ca_der: Option<&[u8]>) -> Result<Visit, Error> {
    Browser::new(ca_der).visit(url)
}

/// A browser stand-in that keeps cookies (by scheme, host and port, as a browser keeps
/// `SameSite=Lax` cookies sent back on top-level GETs) and follows redirects one at a time.
///
/// A login that binds its callback to the browser that started it (a cookie set by its start
/// address) is finished only by the same `Browser`.
#[derive(Debug, Clone, Default)]
pub struct Browser {
    cookies: Vec<(String, String, String)>,
    ca_der: Option<Vec<u8>>,
}

impl Browser {
    /// A browser with no cookie, trusting `ca_der` besides the usual roots.
    pub fn new(ca_der: Option<&[u8]>) -> Browser {
        Browser {
            cookies: Vec::new(),
            ca_der: ca_der.map(<[u8]>::to_vec),
        }
    }

    /// GETs `url` with the cookies this browser holds for its origin, keeping the cookies the
    /// answer sets; does not follow a redirect.
    pub fn visit(&mut self, url: &str) -> Result<Visit, Error> {
        let origin = origin(url);
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .filter(|(o, _, _)| *o == origin)
            .map(|(_, name, value)| format!("{name}={value}"))
            .collect();
        let (visit, set) = get(url, self.ca_der.as_deref(), &cookie.join("; "))?;
        for line in set {
            let Some((name, value)) = line.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            self.cookies
                .retain(|(o, n, _)| !(*o == origin && *n == name));
            self.cookies.push((origin.clone(), name, value));
        }
        Ok(visit)
    }

    /// Follows `url` and the redirects it leads to (at most ten), as a browser does; returns
    /// every page seen, the last one last.
    pub fn follow(&mut self, url: &str) -> Result<Vec<Visit>, Error> {
        let mut seen: Vec<Visit> = Vec::new();
        let mut next = url.to_owned();
        for _ in 0..10 {
            let visit = self.visit(&next)?;
            let location = visit
                .location
                .clone()
                .filter(|_| (300..400).contains(&visit.status));
            seen.push(visit);
            match location {
                Some(location) => next = location,
                None => break,
            }
        }
        Ok(seen)
    }
}

/// `scheme://host:port` of a URL (the whole text when it does not parse).
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_owned(),
    }
}

/// One GET with a `Cookie` header (when `cookie` is not empty): the page, and the
/// `Set-Cookie` lines.
fn get(url: &str, ca_der: Option<&[u8]>, cookie: &str) -> Result<(Visit, Vec<String>), Error> {
    let mut tls = TlsConfig::builder();
    if let Some(der) = ca_der {
        tls = tls.root_certs(RootCerts::new_with_certs(&[
            Certificate::from_der(der).to_owned()
        ]));
    }
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(tls.build())
        .build()
        .new_agent();
    let mut request = agent.get(url);
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    let mut response = request.call().map_err(|e| Error::Browse(Box::new(e)))?;
    let set: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Error::Browse(Box::new(e)))?;
    Ok((
        Visit {
            status: response.status().as_u16(),
            location,
            body,
        },
        set,
    ))
}
