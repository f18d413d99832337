//! The HTTP client, configured for a token endpoint, and `execute`.

use std::time::Instant;

use pinterest_oauth_core::check_request_uri;
use pinterest_oauth_core::http::{Request, Response};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::{Error, Settings};

/// A ureq agent configured for a token endpoint.
///
/// Status codes are data (`http_status_as_error(false)`, so a 401 body reaches the parser), no
/// redirect is followed, connect and whole-call timeouts apply, bodies are capped while read,
/// TLS is rustls with the ring provider and the webpki roots (plus any extra roots), and
/// connections are kept alive and reused across calls. Cheap to clone: clones share the pool.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_ureq::{HttpClient, Settings};
///
/// let http = HttpClient::new(&Settings::default())?;
/// # Ok::<(), pinterest_oauth_ureq::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HttpClient {
    agent: ureq::Agent,
    max_body: u64,
}

impl HttpClient {
    /// Builds the agent.
    pub fn new(settings: &Settings) -> Result<HttpClient, Error> {
        let root_certs = if settings.extra_roots().is_empty() {
            RootCerts::WebPki
        } else {
            // ureq takes either the webpki roots or a list: give it both.
            let webpki = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned());
            let extra = settings
                .extra_roots()
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned());
            RootCerts::from(webpki.chain(extra))
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(root_certs)
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(settings.connect_timeout()))
            .timeout_global(Some(settings.timeout()))
            .tls_config(tls)
            .build()
            .new_agent();
        Ok(HttpClient {
            agent,
            max_body: settings.max_body(),
        })
    }

    /// The underlying agent.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// The body cap in bytes.
    pub fn max_body(&self) -> u64 {
        self.max_body
    }
}

/// Sends a request built by the core (or by hand) and reads the whole response, capped.
///
/// Refuses, before sending a byte, any URI that is not `https` or plain `http` to a loopback
/// host. Any status is returned as data.
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::{parse_token_response, token_request, AppId, AppSecret,
///     ClientConfig, Grant, RefreshToken};
/// use pinterest_oauth_ureq::{execute, HttpClient, Settings};
/// use std::time::SystemTime;
///
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("secret"));
/// let http = HttpClient::new(&Settings::default())?;
/// let request = token_request(&config, &Grant::refresh_token(RefreshToken::new("pinr.x")));
/// let response = execute(&http, request)?;
/// let token = parse_token_response(SystemTime::now(), &response)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn execute(http: &HttpClient, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Error> {
    check_request_uri(request.uri())?;
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let mut response = http.agent.run(request).map_err(Error::from_ureq)?;
    if let Some(length) = response.body().content_length()
        && length > http.max_body
    {
        tracing::debug!(%method, %uri, length, limit = http.max_body, "response body too large");
        return Err(Error::BodyTooLarge {
            limit: http.max_body,
        });
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(http.max_body)
        .read_to_vec()
        .map_err(Error::from_ureq)?;
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
