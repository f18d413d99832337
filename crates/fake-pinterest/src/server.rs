//! Accepting connections (plain or TLS), serving HTTP/1.1 and HTTP/2, and hijacking a
//! connection to write garbage.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::FakeConfig;
use crate::fault::Cut;
use crate::state::{State, Stats};

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: FakeConfig,
    pub(crate) state: Mutex<State>,
    pub(crate) fault_body_bytes: Arc<AtomicU64>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stats
            .clone();
        stats.fault_body_bytes = self.fault_body_bytes.load(Ordering::Relaxed);
        stats
    }

    /// Resolves when the fake is shutting down.
    pub(crate) async fn stopped(&self) {
        let mut shutdown = self.shutdown.clone();
        // An error means the sender is gone: shutting down as well.
        let _ = shutdown.wait_for(|stop| *stop).await;
    }
}

/// Per-connection controls.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    garbage: Mutex<Option<Bytes>>,
}

impl Connection {
    /// The next write on this connection sends `bytes` instead, then closes it.
    pub(crate) fn hijack(&self, bytes: Bytes) {
        *self
            .garbage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes);
    }

    fn take_garbage(&self) -> Option<Bytes> {
        self.garbage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Accepts until shutdown.
pub(crate) async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let Ok((tcp, _peer)) = accepted else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let cut = {
            let mut state = shared
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.stats.connections += 1;
            state.cuts.pop_front()
        };
        let shared = shared.clone();
        if let Some(cut) = cut {
            tokio::spawn(async move { cut_connection(tcp, cut, &shared).await });
            continue;
        }
        let tls = tls.clone();
        tokio::spawn(async move {
            let mut shutdown = shared.shutdown.clone();
            tokio::select! {
                _ = connection(tcp, tls, shared) => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
    }
}

/// Reads what the cut allows (at most 5 s), then closes the connection.
async fn cut_connection(mut tcp: tokio::net::TcpStream, cut: Cut, shared: &Shared) {
    use tokio::io::AsyncReadExt;
    let mut read = 0usize;
    if let Cut::AfterBytes(limit) = cut {
        let mut buf = vec![0u8; limit.min(64 * 1024)];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while read < buf.len() {
            match tokio::time::timeout_at(deadline, tcp.read(&mut buf[read..])).await {
                Ok(Ok(n)) if n > 0 => read += n,
                _ => break,
            }
        }
    }
    {
        let mut state = shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.stats.cut_connections += 1;
        state.stats.cut_bytes += read as u64;
    }
    drop(tcp);
}

async fn connection(tcp: tokio::net::TcpStream, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let control = Arc::new(Connection::default());
    match tls {
        Some(acceptor) => {
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            if let Ok(Ok(stream)) = handshake.await {
                serve_http(HijackIo::new(stream, control.clone()), control, shared).await;
            }
        }
        None => serve_http(HijackIo::new(tcp, control.clone()), control, shared).await,
    }
}

async fn serve_http<S>(io: HijackIo<S>, control: Arc<Connection>, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service =
        service_fn(move |request| crate::routes::handle(shared.clone(), control.clone(), request));
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// A stream that, once hijacked, writes garbage instead of what the server writes, then closes.
struct HijackIo<S> {
    inner: S,
    control: Arc<Connection>,
    garbage: Option<Bytes>,
}

impl<S> HijackIo<S> {
    fn new(inner: S, control: Arc<Connection>) -> Self {
        HijackIo {
            inner,
            control,
            garbage: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HijackIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HijackIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.garbage.is_none() {
            this.garbage = this.control.take_garbage();
        }
        let Some(garbage) = &mut this.garbage else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        while garbage.has_remaining() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, garbage.chunk()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            garbage.advance(n);
        }
        ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "connection hijacked by a garbage fault",
        )))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
