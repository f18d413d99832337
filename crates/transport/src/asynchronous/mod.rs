//! Async clients and token sources on tokio, over any [`AsyncHttp`] stack;
//! and [`Blocking`], which drives an async stack from blocking code.

mod client;
mod pool;
mod source;

pub use client::Client;
pub use pool::TokenPool;
pub use source::TokenSource;

use std::sync::Arc;

use pinterest_oauth_core::http::Request;

use crate::{
    AsyncHttp, Error, FromHttpConfig, Http, HttpConfig, SecretResponse, TransportError,
    TransportErrorKind,
};

/// An [`AsyncHttp`] stack driven from blocking code on a runtime of its own (one
/// current-thread tokio runtime), so the blocking client and token source can use it: a
/// program that is blocking overall can still send with hyper.
///
/// Called (or dropped) from inside another tokio runtime, where a runtime may not be started
/// or dropped, it drives its runtime from a thread of its own (and shuts it down in the
/// background) rather than panicking; the calling worker thread is blocked meanwhile, so
/// async code should use the async client instead.
///
/// # Examples
///
/// ```no_run
/// # fn run<H: pinterest_oauth_transport::AsyncHttp + pinterest_oauth_transport::FromHttpConfig>() -> Result<(), pinterest_oauth_transport::Error> {
/// use pinterest_oauth_transport::asynchronous::Blocking;
/// use pinterest_oauth_transport::{FromHttpConfig, HttpConfig};
///
/// let http = Blocking::new(H::from_http_config(&HttpConfig::default())?)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Blocking<H> {
    http: Arc<H>,
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl<H: AsyncHttp> Blocking<H> {
    /// Wraps `http` with a runtime of its own.
    ///
    /// Errors: a [`TransportError`] when the runtime cannot be built (no thread or timer).
    pub fn new(http: H) -> Result<Blocking<H>, TransportError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?;
        Ok(Blocking {
            http: Arc::new(http),
            runtime: Some(runtime),
        })
    }

    /// The async stack.
    pub fn inner(&self) -> &H {
        &self.http
    }
}

impl<H: AsyncHttp + FromHttpConfig> FromHttpConfig for Blocking<H> {
    fn from_http_config(config: &HttpConfig) -> Result<Self, TransportError> {
        Blocking::new(H::from_http_config(config)?)
    }
}

impl<H: AsyncHttp> Http for Blocking<H> {
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        let Some(runtime) = &self.runtime else {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                std::io::Error::other("the runtime is shutting down"),
            ));
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return runtime.block_on(self.http.execute(request));
        }
        // Inside another runtime no runtime may block this thread: drive ours from another.
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("pinterest-oauth-blocking".into())
                .spawn_scoped(scope, || runtime.block_on(self.http.execute(request)))
                .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl<H> Drop for Blocking<H> {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            // A runtime dropped inside another would panic; its only tasks are idle
            // connections.
            runtime.shutdown_background();
        }
    }
}

/// Runs store work (and other blocking work) on tokio's blocking pool; a pool that refuses it
/// (the runtime shutting down) or work that panicked is an unavailable store.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::Store(pinterest_oauth_store::StoreError::Unavailable {
            what: "the blocking pool".into(),
            source: Box::new(e),
        })
    })
}
