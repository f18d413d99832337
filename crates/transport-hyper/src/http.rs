//! The pooled HTTP client, configured for a token endpoint, and `execute`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pinterest_oauth_core::http::{Request, Response, header};
use pinterest_oauth_core::{Error as CoreError, check_request_uri};

use crate::{Error, Settings};

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pooled hyper client configured for a token endpoint.
///
/// hyper-util's pooled client over a rustls connector (ring provider, webpki roots plus any
/// extra roots; HTTP/1.1, and HTTP/2 when ALPN agrees), with the connect timeout, a whole-call
/// timeout, the body cap enforced while streaming, and no redirects (hyper never follows them).
/// Cheap to clone: clones share one connection pool, across tasks and threads.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_hyper::{HttpClient, Settings};
///
/// let http = HttpClient::new(&Settings::default())?;
/// # Ok::<(), pinterest_oauth_hyper::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: PooledClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    connect_timeout: Duration,
    timeout: Duration,
    max_body: u64,
}

impl HttpClient {
    /// Builds the client. Needs no runtime; its calls need a tokio runtime (multi-thread or
    /// current-thread).
    pub fn new(settings: &Settings) -> Result<HttpClient, Error> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in settings.extra_roots() {
            roots
                .add(cert.clone())
                .map_err(|_| Error::Core(CoreError::InvalidCertificate))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(Box::new(e)))?
            .with_root_certificates(roots)
            .with_no_client_auth();

        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(settings.connect_timeout()));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = PooledClient::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(HttpClient {
            client,
            connect_timeout: settings.connect_timeout(),
            timeout: settings.timeout(),
            max_body: settings.max_body(),
        })
    }

    /// The body cap in bytes.
    pub fn max_body(&self) -> u64 {
        self.max_body
    }
}

/// Sends a request built by the core (or by hand) and reads the whole response, capped.
///
/// Refuses, before sending a byte, any URI that is not `https` or plain `http` to a loopback
/// host. Any status is returned as data. The future is `Send`.
///
/// # Examples
///
/// ```no_run
/// use pinterest_oauth_core::{parse_token_response, token_request, AppId, AppSecret,
///     ClientConfig, Grant, RefreshToken};
/// use pinterest_oauth_hyper::{execute, HttpClient, Settings};
/// use std::time::SystemTime;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::new(AppId::new("1234")?, AppSecret::new("secret"));
/// let http = HttpClient::new(&Settings::default())?;
/// let request = token_request(&config, &Grant::refresh_token(RefreshToken::new("pinr.x")));
/// let response = execute(&http, request).await?;
/// let token = parse_token_response(SystemTime::now(), &response)?;
/// # Ok(()) }
/// ```
pub async fn execute(
    http: &HttpClient,
    request: Request<Vec<u8>>,
) -> Result<Response<Vec<u8>>, Error> {
    check_request_uri(request.uri())?;
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let request = request.map(|body| Full::new(Bytes::from(body)));
    let call = async {
        let response = http
            .client
            .request(request)
            .await
            .map_err(|e| Error::from_client(e, http.connect_timeout))?;
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > http.max_body) {
            return Err(Error::BodyTooLarge {
                limit: http.max_body,
            });
        }
        let (parts, body) = response.into_parts();
        let limit = usize::try_from(http.max_body).unwrap_or(usize::MAX);
        let body = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|e| Error::from_body(e, http.max_body))?
            .to_bytes();
        Ok(Response::from_parts(parts, body.to_vec()))
    };
    let response = tokio::time::timeout(http.timeout, call)
        .await
        .map_err(|_| Error::Timeout(http.timeout))??;
    tracing::debug!(
        %method,
        %uri,
        status = response.status().as_u16(),
        version = ?response.version(),
        bytes = response.body().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "pinterest answered"
    );
    Ok(response)
}
