//! Response bodies, including the misbehaving ones faults need.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// A response body: whole, dripped, endless or cut short.
#[derive(Debug)]
pub struct FakeBody {
    kind: Kind,
    counter: Option<Arc<AtomicU64>>,
}

enum Kind {
    Full(Option<Bytes>),
    Drip {
        data: Bytes,
        interval: Duration,
        sleep: Option<Pin<Box<Sleep>>>,
    },
    Endless {
        chunk: Bytes,
        remaining: Option<u64>,
    },
    Truncated(Option<Bytes>),
    Pending,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Full(_) => "Full",
            Kind::Drip { .. } => "Drip",
            Kind::Endless { .. } => "Endless",
            Kind::Truncated(_) => "Truncated",
            Kind::Pending => "Pending",
        })
    }
}

impl FakeBody {
    /// The whole body at once.
    pub fn full(data: impl Into<Bytes>) -> FakeBody {
        FakeBody::new(Kind::Full(Some(data.into())))
    }

    /// No body.
    pub fn empty() -> FakeBody {
        FakeBody::new(Kind::Full(None))
    }

    /// One byte every `interval`.
    pub(crate) fn drip(data: Bytes, interval: Duration) -> FakeBody {
        FakeBody::new(Kind::Drip {
            data,
            interval,
            sleep: None,
        })
    }

    /// `chunk` repeated until `total` bytes are sent, or forever.
    pub(crate) fn endless(chunk: Bytes, total: Option<u64>) -> FakeBody {
        FakeBody::new(Kind::Endless {
            chunk,
            remaining: total,
        })
    }

    /// `data`, then an error that makes the server drop the connection.
    pub(crate) fn truncated(data: Bytes) -> FakeBody {
        FakeBody::new(Kind::Truncated(Some(data)))
    }

    /// A body that never yields a byte.
    pub(crate) fn pending() -> FakeBody {
        FakeBody::new(Kind::Pending)
    }

    /// Counts the bytes handed to the connection into `counter`.
    pub(crate) fn counted(mut self, counter: Arc<AtomicU64>) -> FakeBody {
        self.counter = Some(counter);
        self
    }

    fn new(kind: Kind) -> FakeBody {
        FakeBody {
            kind,
            counter: None,
        }
    }

    fn count(&self, frame: &Bytes) {
        if let Some(counter) = &self.counter {
            counter.fetch_add(frame.len() as u64, Ordering::Relaxed);
        }
    }
}

/// The error that aborts a truncated body.
#[derive(Debug, thiserror::Error)]
#[error("fake body cut short on purpose")]
pub struct CutShort;

impl Body for FakeBody {
    type Data = Bytes;
    type Error = CutShort;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CutShort>>> {
        let this = &mut *self;
        let frame = match &mut this.kind {
            Kind::Full(data) => match data.take() {
                Some(data) if !data.is_empty() => data,
                _ => return Poll::Ready(None),
            },
            Kind::Drip {
                data,
                interval,
                sleep,
            } => {
                if data.is_empty() {
                    return Poll::Ready(None);
                }
                let timer = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(*interval)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *sleep = None;
                data.split_to(1)
            }
            Kind::Endless { chunk, remaining } => match remaining {
                Some(0) => return Poll::Ready(None),
                Some(left) => {
                    let n = (*left).min(chunk.len() as u64) as usize;
                    *left -= n as u64;
                    chunk.slice(..n)
                }
                None => chunk.clone(),
            },
            Kind::Truncated(data) => match data.take() {
                Some(data) => data,
                None => return Poll::Ready(Some(Err(CutShort))),
            },
            Kind::Pending => return Poll::Pending,
        };
        this.count(&frame);
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        matches!(&self.kind, Kind::Full(None))
            || matches!(&self.kind, Kind::Full(Some(d)) if d.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            _ => SizeHint::default(),
        }
    }
}
