//! What a transport must do: send one request, read the whole answer.

use std::future::Future;

use pinterest_oauth_core::http::{Request, Response};
use zeroize::Zeroizing;

use crate::{HttpConfig, TransportError};

/// A response whose body is wiped from memory when dropped (token answers hold both tokens).
pub type SecretResponse = Response<Zeroizing<Vec<u8>>>;

/// A blocking HTTP stack that can send the core's requests.
///
/// An implementation must: send the request as given (status codes are data: a 401's body is
/// returned, not turned into an error); follow no redirect (a redirect would carry the
/// credentials elsewhere); enforce the [`HttpConfig`] timeouts and body cap (refusing a body
/// larger than the cap, before reading it when `Content-Length` says so); keep the status and
/// headers; and wipe the request and response bodies it buffers. It classifies its failures
/// into a [`TransportErrorKind`](crate::TransportErrorKind), keeping the cause: a
/// [`TransportError`] is all it can fail with.
///
/// The clients and token sources check every request's URI before handing it over (neither
/// `https` nor plain `http` to a loopback host is refused:
/// [`check_request_uri`](pinterest_oauth_core::check_request_uri)); a stack need not, but code
/// that calls `execute` directly should.
///
/// `pinterest-oauth-ureq` implements it over ureq; [`Blocking`](crate::asynchronous::Blocking)
/// turns any [`AsyncHttp`] into one.
pub trait Http: Send + Sync + 'static {
    /// Sends `request` and reads the whole response, capped.
    ///
    /// Errors: the [`TransportError`] of the failure, classified.
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError>;
}

/// An async HTTP stack that can send the core's requests; the same duties as [`Http`]. Its
/// futures must be `Send`.
///
/// `pinterest-oauth-hyper` implements it over hyper 1 and hyper-util.
pub trait AsyncHttp: Send + Sync + 'static {
    /// Sends `request` and reads the whole response, capped.
    fn execute(
        &self,
        request: Request<Vec<u8>>,
    ) -> impl Future<Output = Result<SecretResponse, TransportError>> + Send;

    /// Sends `request` as [`execute`](Self::execute) does, over a connection of its own made
    /// in the runtime that polls the future, never one from a pool that another runtime
    /// drives. A token source sends its refreshes this way, from a runtime of the refresh's
    /// own, so that the program's runtime shutting down cannot cut a refresh short after its
    /// request left (the rotated refresh token would be lost).
    ///
    /// The default calls [`execute`](Self::execute): right for stacks whose connections are
    /// not shared across runtimes.
    fn execute_isolated(
        &self,
        request: Request<Vec<u8>>,
    ) -> impl Future<Output = Result<SecretResponse, TransportError>> + Send {
        self.execute(request)
    }
}

/// An HTTP stack that can be built from [`HttpConfig`], so clients can make their own.
pub trait FromHttpConfig: Sized {
    /// A stack configured with `config`.
    ///
    /// Errors: a [`TransportError`] when the stack cannot be built (its TLS configuration or
    /// runtime).
    fn from_http_config(config: &HttpConfig) -> Result<Self, TransportError>;
}

impl<H: Http + ?Sized> Http for Box<H> {
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        (**self).execute(request)
    }
}

impl<H: Http + ?Sized> Http for std::sync::Arc<H> {
    fn execute(&self, request: Request<Vec<u8>>) -> Result<SecretResponse, TransportError> {
        (**self).execute(request)
    }
}
