//! The HTTP stack: a ureq agent configured for a token endpoint.

use std::io::{self, Read};
use std::time::Instant;

use pinterest_oauth_core::http::{Request, Response};
use pinterest_oauth_transport::{
    FromHttpConfig, Http, HttpConfig, SecretResponse, TransportError, TransportErrorKind,
};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use zeroize::Zeroizing;

/// A ureq agent configured for a token endpoint: the [`Http`] stack of this crate.
///
/// Status codes are data (`http_status_as_error(false)`, so a 401 body reaches the parser), no
/// redirect is followed, connect and whole-call timeouts apply (one deadline for the whole
/// call, however its time is spent), bodies are capped while read,
/// TLS is rustls with the ring provider and the webpki roots (plus any extra roots), and
/// connections are kept alive and reused across calls. The request body is lent to ureq and
/// wiped afterwards; the response body is read into a buffer that is wiped when dropped.
/// Cheap to clone: clones share the pool.
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_ureq::{
///     parse_token_response, token_request, AppId, AppSecret, ClientConfig, FromHttpConfig, Grant,
///     Http, HttpClient, RefreshToken, HttpConfig,
/// };
/// use std::time::SystemTime;
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("secret"));
/// let http = HttpClient::from_http_config(&HttpConfig::default())?;
/// let request = token_request(&config, &Grant::refresh_token(RefreshToken::new("pinr.x")));
/// let response = http.execute(request)?;
/// let token = parse_token_response(SystemTime::now(), &response)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct HttpClient {
    agent: ureq::Agent,
    max_body: u64,
}

impl FromHttpConfig for HttpClient {
    fn from_http_config(config: &HttpConfig) -> Result<HttpClient, TransportError> {
        let root_certs = if config.extra_roots().is_empty() {
            RootCerts::WebPki
        } else {
            // ureq takes either the webpki roots or a list: give it both.
            let webpki = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned());
            let extra = config
                .extra_roots()
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned());
            RootCerts::from(webpki.chain(extra))
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(root_certs)
            .build();
        // One deadline for the whole call, however its time is spent: a server that takes most
        // of it to answer (its answer may carry the only valid refresh token) is waited for.
        // (Splitting the timeout across phases was faster on loopback, but cut the wait for the
        // answer to a quarter of what the configuration promises.)
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(config.connect_timeout()))
            .timeout_global(Some(config.timeout()))
            .tls_config(tls)
            .build()
            .new_agent();
        Ok(HttpClient {
            agent,
            max_body: config.max_body(),
        })
    }
}

impl HttpClient {
    /// The underlying agent.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }
}

impl Http for HttpClient {
    /// Sends a request built by the core (or by hand) and reads the whole response, capped.
    /// Any status is returned as data.
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let body = Zeroizing::new(body);
        let (method, uri) = (parts.method.clone(), parts.uri.clone());
        let mut response = self
            .agent
            .run(Request::from_parts(parts, body.as_slice()))
            .map_err(classify)?;
        let declared = response.body().content_length();
        if declared.is_some_and(|length| length > self.max_body) {
            tracing::debug!(%method, %uri, limit = self.max_body, "response body too large");
            return Err(too_large(self.max_body));
        }
        let body = read_capped(
            response.body_mut().as_reader(),
            self.max_body,
            declared.unwrap_or(1024),
        )?;
        let (parts, _) = response.into_parts();
        tracing::debug!(
            %method,
            %uri,
            status = parts.status.as_u16(),
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pinterest answered"
        );
        Ok(Response::from_parts(parts, body))
    }
}

fn too_large(limit: u64) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyTooLarge,
        format!("more than {limit} bytes"),
    )
}

/// Reads at most `cap` bytes into a buffer that is wiped when dropped; growing it never leaves
/// an unwiped copy behind (each old buffer is wiped as it is replaced).
fn read_capped(
    mut reader: impl Read,
    cap: u64,
    hint: u64,
) -> Result<Zeroizing<Vec<u8>>, TransportError> {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut body = Zeroizing::new(Vec::with_capacity(
        usize::try_from(hint).unwrap_or(cap).min(cap),
    ));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    loop {
        let n = match reader.read(chunk.as_mut_slice()) {
            Ok(0) => return Ok(body),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(classify(ureq::Error::Io(e))),
        };
        if body.len().saturating_add(n) > cap {
            return Err(too_large(cap as u64));
        }
        if body.len() + n > body.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                (body.capacity() * 2).max(body.len() + n),
            ));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Sorts a ureq error into the shared kinds, keeping it as the source.
fn classify(error: ureq::Error) -> TransportError {
    use TransportErrorKind as K;
    use ureq::Error as U;
    let kind = match &error {
        U::BodyExceedsLimit(_) => K::BodyTooLarge,
        U::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => K::Connect,
        U::Timeout(_) => K::Timeout,
        U::HostNotFound | U::ConnectionFailed => K::Connect,
        U::Tls(_) | U::Rustls(_) | U::Pem(_) => K::Tls,
        U::Protocol(_) => K::Protocol,
        U::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            K::Tls
        }
        // A timeout met while reading the body arrives wrapped in an io::Error.
        U::Io(io)
            if io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<ureq::Error>())
                .is_some_and(|inner| matches!(inner, U::Timeout(_))) =>
        {
            K::Timeout
        }
        U::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable => K::Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => K::Timeout,
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::InvalidData => K::Protocol,
            _ => K::Other,
        },
        _ => K::Other,
    };
    TransportError::new(kind, error)
}
