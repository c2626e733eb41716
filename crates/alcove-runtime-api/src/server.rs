//! The accept loop: how many connections one environment's runtime may hold, and what
//! happens to the rest.
//!
//! The loop takes a slot *before* it accepts. While every slot is in use it accepts at
//! most one more connection, which waits unserved until there is room, and accepts
//! nothing else: further connections wait in the listener's kernel backlog and are not
//! file descriptors of the server (once the backlog is full the kernel stops answering
//! the client's SYNs). So a function that opens twenty thousand connections to its
//! Runtime API costs the server at most [`Limits::max_connections`] + 1 descriptors, and
//! only its own runtime is made to wait.
//!
//! Room for the waiting connection is made by closing the connection that has been idle
//! for longest, once idle for [`Limits::eviction_grace`] (see `connections`): a runtime whose function hoards connections, idle or
//! with half-sent heads, still gets through. Connections with a request in flight are
//! never closed this way, and idle ones are never closed because time passed, since an
//! environment may sit frozen for minutes.
//!
//! The server stops when its future is dropped: the connection tasks live in a `JoinSet`
//! owned by the loop, so stopping the loop aborts every connection with it.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower_service::Service;

use crate::connections::{Activity, Admission, Connections, Eviction, InFlight};
use crate::header_deadline::HeaderDeadline;

/// How much of the server one environment's runtime may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// How long a connection must have been idle before it can be evicted.
    pub eviction_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: crate::MAX_CONNECTIONS,
            header_timeout: crate::HEADER_TIMEOUT,
            eviction_grace: crate::EVICTION_GRACE,
        }
    }
}

/// Pause after a failed `accept`.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until the future is dropped.
pub(crate) async fn serve(listener: TcpListener, router: Router, limits: Limits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = Connections::new();
    let mut builder = http1::Builder::new();
    // No timer: hyper's own header timeout is an idle timeout (see `header_deadline`).
    builder.keep_alive(true).header_read_timeout(None);
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let (stream, slot) = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => match accept(&listener).await {
                Some(stream) => (stream, slot),
                None => continue,
            },
            Err(_) => tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => {
                    drop(slot);
                    continue;
                }
                waiting = accept(&listener) => match waiting {
                    Some(stream) => (stream, make_room(&slots, &connections, limits.eviction_grace).await),
                    None => continue,
                },
            },
        };
        let admission = connections.admit();
        tasks.spawn(serve_connection(
            stream,
            router.clone(),
            builder.clone(),
            admission,
            slot,
            limits.header_timeout,
        ));
    }
}

/// Frees a slot for a connection that is waiting, evicting an idle one if there is one,
/// else waiting for a connection to become idle or close.
async fn make_room(
    slots: &Arc<Semaphore>,
    connections: &Connections,
    grace: Duration,
) -> OwnedSemaphorePermit {
    loop {
        if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
            return slot;
        }
        let retry = match connections.evict_idle(grace) {
            // The evicted connection's task ends and gives its slot back.
            Eviction::Evicted => {
                return Arc::clone(slots).acquire_owned().await.expect("the semaphore is never closed")
            }
            Eviction::NotBefore(wait) => wait,
            Eviction::NothingIdle => Duration::MAX,
        };
        tokio::select! {
            slot = Arc::clone(slots).acquire_owned() => return slot.expect("the semaphore is never closed"),
            _ = connections.changed() => {}
            _ = sleep_at_most(retry) => {}
        }
    }
}

async fn sleep_at_most(wait: Duration) {
    match tokio::time::Instant::now().checked_add(wait) {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The next connection, set up for the Runtime API's short exchanges; `None` after a
/// failed `accept` (and a pause, so the loop does not spin while the server is out of
/// descriptors, say).
async fn accept(listener: &TcpListener) -> Option<TcpStream> {
    match listener.accept().await {
        Ok((stream, _)) => {
            let _ = stream.set_nodelay(true);
            Some(stream)
        }
        Err(e) => {
            tracing::warn!(error = %e, "runtime API cannot accept a connection");
            tokio::time::sleep(ACCEPT_RETRY).await;
            None
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    builder: http1::Builder,
    admission: Admission,
    _slot: OwnedSemaphorePermit,
    header_timeout: Duration,
) {
    let Admission { activity, evicted, registration: _registration } = admission;
    let io = TokioIo::new(HeaderDeadline::new(stream, Arc::clone(&activity), header_timeout));
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let in_flight = activity.begin();
        request.extensions_mut().insert(Connection(Arc::clone(&activity)));
        let mut router = router.clone();
        async move {
            let response = router.call(request).await.unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _in_flight: in_flight })))
        }
    });
    tokio::select! {
        served = builder.serve_connection(io, service) => {
            if let Err(e) = served {
                tracing::debug!(error = %e, "runtime API connection ended");
            }
        }
        _ = evicted => tracing::debug!("runtime API connection evicted to make room"),
    }
}

/// The connection a request arrived on, for the routes that reserve it.
#[derive(Clone)]
pub(crate) struct Connection(pub Arc<Activity>);

/// A response body that keeps its request in flight until hyper is done with it.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
