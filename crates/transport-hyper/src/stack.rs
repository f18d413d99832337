//! The HTTP stack: hyper-util's pooled client over rustls, configured for a token endpoint.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pinterest_oauth_core::http::{Request, Response, header};
use pinterest_oauth_transport::{
    AsyncHttp, FromHttpConfig, HttpConfig, InvalidCertificate, SecretResponse, TransportError,
    TransportErrorKind,
};
use zeroize::{Zeroize, Zeroizing};

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pooled hyper client configured for a token endpoint: the [`AsyncHttp`] stack of this
/// crate.
///
/// hyper-util's pooled client over a rustls connector (ring provider, webpki roots plus any
/// extra roots; HTTP/1.1, and HTTP/2 when ALPN agrees), with the connect timeout, a whole-call
/// timeout, the body cap enforced while streaming, and no redirects (hyper never follows them).
/// The request body is handed to hyper in a buffer that is wiped when hyper drops it; the
/// response is collected into one that is wiped when dropped. Needs no runtime to build; its
/// calls need tokio (multi-thread or current-thread). Cheap to clone: clones share one pool,
/// across tasks and threads.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: PooledClient<HttpsConnector<HttpConnector>, SecretBody>,
    /// The same stack keeping no idle connection: each request on a connection of its own
    /// (see [`AsyncHttp::execute_isolated`]).
    isolated: PooledClient<HttpsConnector<HttpConnector>, SecretBody>,
    timeout: Duration,
    max_body: u64,
}

impl FromHttpConfig for HttpClient {
    fn from_http_config(config: &HttpConfig) -> Result<HttpClient, TransportError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in config.extra_roots() {
            roots
                .add(cert.clone())
                .map_err(|_| TransportError::new(TransportErrorKind::Tls, InvalidCertificate))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::new(TransportErrorKind::Tls, e))?
            .with_root_certificates(roots)
            .with_no_client_auth();

        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.connect_timeout()));
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = PooledClient::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            // Queue the body buffer instead of copying it into hyper's own (unwiped) one.
            .http1_writev(true)
            .build(connector.clone());
        let isolated = PooledClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .http1_writev(true)
            .build(connector);
        Ok(HttpClient {
            client,
            isolated,
            timeout: config.timeout(),
            max_body: config.max_body(),
        })
    }
}

impl AsyncHttp for HttpClient {
    /// Sends a request built by the core (or by hand) and reads the whole response, capped.
    /// Any status is returned as data. The future is `Send`.
    async fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        self.send(&self.client, request).await
    }

    /// As [`execute`](Self::execute), on a new connection made in the runtime polling the
    /// future, and not kept afterwards: nothing of it depends on another runtime.
    async fn execute_isolated(
        &self,
        request: Request<Vec<u8>>,
    ) -> Result<SecretResponse, TransportError> {
        self.send(&self.isolated, request).await
    }
}

impl HttpClient {
    async fn send(
        &self,
        client: &PooledClient<HttpsConnector<HttpConnector>, SecretBody>,
        request: Request<Vec<u8>>,
    ) -> Result<SecretResponse, TransportError> {
        let started = Instant::now();
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let request = request.map(|body| SecretBody(Some(Zeroizing::new(body))));
        let response = tokio::time::timeout(self.timeout, self.call(client, request))
            .await
            .map_err(|elapsed| transport(TransportErrorKind::Timeout, elapsed))??;
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

    async fn call(
        &self,
        client: &PooledClient<HttpsConnector<HttpConnector>, SecretBody>,
        request: Request<SecretBody>,
    ) -> Result<SecretResponse, TransportError> {
        let response = client.request(request).await.map_err(classify)?;
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body) {
            return Err(too_large(self.max_body));
        }
        let (parts, mut incoming) = response.into_parts();
        let cap = usize::try_from(self.max_body).unwrap_or(usize::MAX);
        let hint = declared
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(1024);
        let mut body = Zeroizing::new(Vec::with_capacity(hint.min(cap)));
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| transport(TransportErrorKind::Protocol, e))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if body.len().saturating_add(data.len()) > cap {
                return Err(too_large(self.max_body));
            }
            if body.len() + data.len() > body.capacity() {
                // Grow without leaving an unwiped copy behind.
                let mut bigger = Zeroizing::new(Vec::with_capacity(
                    (body.capacity() * 2).max(body.len() + data.len()),
                ));
                bigger.extend_from_slice(&body);
                body = bigger;
            }
            body.extend_from_slice(&data);
            // Wipe hyper's buffer too when nothing else shares it.
            if let Ok(mut owned) = data.try_into_mut() {
                owned.as_mut().zeroize();
            }
        }
        Ok(Response::from_parts(parts, body))
    }
}

/// A request body whose one buffer is wiped when hyper is done with it.
#[derive(Debug)]
pub struct SecretBody(Option<Zeroizing<Vec<u8>>>);

/// The one data frame of a [`SecretBody`].
#[derive(Debug)]
pub struct SecretChunk {
    bytes: Zeroizing<Vec<u8>>,
    at: usize,
}

impl Buf for SecretChunk {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }
    fn chunk(&self) -> &[u8] {
        self.bytes.get(self.at..).unwrap_or_default()
    }
    fn advance(&mut self, count: usize) {
        self.at = self.at.saturating_add(count).min(self.bytes.len());
    }
}

impl Body for SecretBody {
    type Data = SecretChunk;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<SecretChunk>, Infallible>>> {
        Poll::Ready(
            self.0
                .take()
                .filter(|bytes| !bytes.is_empty())
                .map(|bytes| Ok(Frame::data(SecretChunk { bytes, at: 0 }))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(|b| b.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

fn transport(
    kind: TransportErrorKind,
    source: impl Into<Box<dyn StdError + Send + Sync>>,
) -> TransportError {
    TransportError::new(kind, source)
}

fn too_large(limit: u64) -> TransportError {
    transport(
        TransportErrorKind::BodyTooLarge,
        format!("more than {limit} bytes"),
    )
}

/// Sorts a failure of the pooled client into the shared kinds, keeping it as the source.
fn classify(error: hyper_util::client::legacy::Error) -> TransportError {
    let kind = if chain(&error).any(|e| e.is::<rustls::Error>()) {
        TransportErrorKind::Tls
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else if chain(&error).find_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
        == Some(io::ErrorKind::TimedOut)
    {
        TransportErrorKind::Timeout
    } else {
        TransportErrorKind::Protocol
    };
    transport(kind, error)
}

/// Every error in the source chain, stepping into `io::Error`s (whose `source()` skips the
/// error they wrap).
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e: &&'a (dyn StdError + 'static)| match e
        .downcast_ref::<io::Error>()
    {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}
