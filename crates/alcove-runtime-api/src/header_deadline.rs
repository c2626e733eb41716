//! A deadline on request heads that starts with their first byte.
//!
//! hyper's own `header_read_timeout` starts as soon as hyper waits for a head, which on a
//! kept-alive connection is right after the previous response: it is an idle timeout. An
//! environment is frozen 2 ms after each invoke and can stay frozen for minutes; if its
//! runtime had not yet sent its next `/next` by then, its idle connection would be closed
//! under it while it cannot run. So the clock here starts only when bytes arrive on a
//! connection with no request in flight (the start of a head), and stops once a head has
//! been parsed. A runtime writes a whole head with one `write`, so a legitimate head never
//! lingers half-sent; a connection that dribbles one is closed after the deadline. Idle
//! connections are not timed out at all: they are closed only when they are in the way
//! (see `connections`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::connections::Activity;

/// A stream whose reads fail once a request head has taken longer than its deadline.
pub(crate) struct HeaderDeadline<S> {
    inner: S,
    activity: Arc<Activity>,
    timeout: Duration,
    /// The running clock, and the request count when it started.
    clock: Option<(Pin<Box<Sleep>>, u64)>,
}

impl<S> HeaderDeadline<S> {
    pub fn new(inner: S, activity: Arc<Activity>, timeout: Duration) -> Self {
        HeaderDeadline { inner, activity, timeout, clock: None }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HeaderDeadline<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some((_, started_at)) = &this.clock {
            // A head was parsed since the clock started: that head made it in time.
            if this.activity.requests_started() != *started_at || !this.activity.is_idle() {
                this.clock = None;
            }
        }
        if let Some((deadline, _)) = &mut this.clock {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request head not received in time",
                )));
            }
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let received = buf.filled().len() > before;
        if received && this.clock.is_none() && this.activity.is_idle() {
            let deadline = Box::pin(tokio::time::sleep(this.timeout));
            this.clock = Some((deadline, this.activity.requests_started()));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeaderDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
