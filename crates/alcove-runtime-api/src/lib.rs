//! The Lambda Runtime API of one execution environment.
//!
//! Each environment gets its own server, on its own listener, so a runtime can only ever
//! see the invocations of the environment it belongs to: there is no shared endpoint
//! where a request id from another tenant could be guessed or replayed. The environment
//! manager holds a [`RuntimeApi`] and talks to it through channels; the runtime inside the
//! environment talks HTTP: `GET /next` long-polls for the next event, `POST .../response`
//! or `.../error` settles it, `POST /init/error` reports a failed initialisation.
//!
//! The server runs in the platform's process but answers code the platform does not
//! trust, so it accepts only what a runtime legitimately sends in the state it is in, and
//! everything it holds for one environment is bounded whatever that environment sends:
//!
//! - **State** (`state`, `routes`): `init/error` is accepted once and only before the first
//!   `/next`, then refused with `403 InvalidStateTransition`; the manager hears about init
//!   through one oneshot, so no report can pile up. Only one `/next` waits at a time.
//! - **Bodies** (`body`): only the invocation in progress and the one accepted
//!   `init/error` have their bodies read, each up to its limit ([`RESPONSE_LIMIT`],
//!   [`ERROR_LIMIT`]); a larger declared `Content-Length` is refused before reading. A
//!   streamed response (`streaming`) is passed on chunk by chunk through a bounded
//!   channel, never held whole, and cut off past [`STREAMED_RESPONSE_LIMIT`].
//! - **Connections** (`server`, `connections`): at most [`MAX_CONNECTIONS`], counted
//!   before `accept` (plus one accepted and waiting for room), so a connection flood waits
//!   in the kernel's backlog instead of consuming the server's file descriptors. Idle
//!   connections are closed when another one needs the room, never merely because time
//!   passed (environments sit frozen for minutes between invokes, connection and `/next`
//!   included).
//! - **Heads** (`header_deadline`): a request head must arrive within [`HEADER_TIMEOUT`]
//!   of its first byte.
//!
//! Dropping the [`RuntimeApi`] stops the server and closes every connection it holds.

#![forbid(unsafe_code)]

mod body;
mod connections;
mod header_deadline;
mod routes;
mod server;
mod state;
mod streaming;

pub use streaming::{ResponseStream, StreamPart, STREAMED_RESPONSE_LIMIT, THROTTLED_RATE, UNTHROTTLED_BYTES};

use std::net::SocketAddr;
use std::time::Duration;

use alcove_core::TenantId;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::routes::{Delivery, Shared};
use crate::server::Limits;

/// Largest response a function may return: Lambda's synchronous limit as AWS counts it,
/// 6 MiB and 100 bytes (its error names "maximum allowed payload size (6291556 bytes)"),
/// so a 6 MiB string returned by a handler, 6 MiB plus its two JSON quotes, is accepted.
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024 + 100;

/// Largest error document a runtime may post, for an invocation or for its init. The
/// document becomes the invoke's payload, so Lambda's payload limit applies to it too; a
/// larger one turns into a `Function.ResponseSizeTooLarge` error.
pub const ERROR_LIMIT: usize = RESPONSE_LIMIT;

/// Connections one runtime may hold open at once. The runtime clients Alcove supports
/// use one connection at a time (awslambdaric's curl handle, the Node bootstrap's agent
/// with `maxSockets: 1`, the `lambda_runtime` crate's pooled hyper client used
/// sequentially); the second slot covers a client that opens a new connection before
/// the server has seen its previous one close, such as a shell runtime running one curl
/// per request. More would only be a function hoarding connections, which can at worst
/// delay its own runtime: idle connections are evicted when another one is waiting.
pub const MAX_CONNECTIONS: usize = 2;

/// How long a connection must have been idle before a waiting connection may take its
/// place: long enough for a just-accepted connection to send its request, short enough
/// that a runtime whose function hoards connections gets in promptly.
pub const EVICTION_GRACE: Duration = Duration::from_millis(500);

/// Time a request head may take from its first byte to its last. Runtimes write a head
/// in one go; this only closes connections that dribble one.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Header names of `GET /next`, as the official runtime clients read them.
pub mod headers {
    pub const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
    pub const DEADLINE_MS: &str = "lambda-runtime-deadline-ms";
    pub const FUNCTION_ARN: &str = "lambda-runtime-invoked-function-arn";
    pub const TRACE_ID: &str = "lambda-runtime-trace-id";
    pub const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
    pub const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
    pub const TENANT_ID: &str = "lambda-runtime-aws-tenant-id";
    pub const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
}

/// One event handed to the runtime.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    /// Milliseconds since the Unix epoch after which the invoke has timed out.
    pub deadline_ms: u64,
    pub invoked_function_arn: String,
    pub trace_id: String,
    /// The client context as JSON text (already decoded from the caller's base64).
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    pub tenant_id: Option<TenantId>,
}

/// How the runtime settled an invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// The runtime streams its response (`Lambda-Runtime-Function-Response-Mode:
    /// streaming`): the parts arrive while the function runs.
    Streamed(ResponseStream),
    /// The function failed; `body` is the runtime's `{errorMessage, errorType, ...}`.
    Error {
        error_type: Option<String>,
        body: Bytes,
    },
}

/// What the runtime reports about its own start: exactly one of these, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// The runtime asked for its first event: initialisation is over.
    Ready,
    InitError {
        error_type: Option<String>,
        body: Bytes,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("the runtime API of this environment has stopped")]
pub struct Closed;

/// The manager's side of one environment's Runtime API. Dropping it stops the server.
pub struct RuntimeApi {
    address: SocketAddr,
    deliveries: mpsc::Sender<Delivery>,
    lifecycle: Option<oneshot::Receiver<Lifecycle>>,
    _stop: oneshot::Sender<()>,
}

impl RuntimeApi {
    /// Serves the Runtime API on `listener` until dropped.
    pub fn serve(listener: TcpListener) -> std::io::Result<Self> {
        Self::serve_with(listener, Limits::default())
    }

    fn serve_with(listener: TcpListener, limits: Limits) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let (deliveries, queue) = mpsc::channel(1);
        let (init_report, lifecycle) = oneshot::channel();
        let app = routes::router(Shared::new(queue, init_report));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tokio::select! {
                () = server::serve(listener, app, limits) => {}
                _ = stopped => {}
            }
        });
        Ok(RuntimeApi { address, deliveries, lifecycle: Some(lifecycle), _stop: stop })
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The runtime's report about its start. There is only one: later calls, and calls
    /// after the server stopped without a report, return `None`.
    /// Cancel-safe: a call dropped before the report came leaves it to the next one.
    pub async fn lifecycle(&mut self) -> Option<Lifecycle> {
        let report = (self.lifecycle.as_mut()?).await.ok();
        self.lifecycle = None;
        report
    }

    /// Queues an invocation for the runtime's next `/next`; the receiver yields its outcome,
    /// or an error if the runtime moves on or disappears without settling it.
    pub async fn deliver(&self, invocation: Invocation) -> Result<oneshot::Receiver<Outcome>, Closed> {
        let (tx, rx) = oneshot::channel();
        self.deliveries.send((invocation, tx)).await.map_err(|_| Closed)?;
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn start() -> (RuntimeApi, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = RuntimeApi::serve(listener).unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        (api, base)
    }

    fn invocation(id: &str, tenant: Option<&str>) -> Invocation {
        Invocation {
            request_id: id.into(),
            payload: Bytes::from_static(b"{\"n\":1}"),
            deadline_ms: 42,
            invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
            trace_id: "Root=1-abc".into(),
            client_context: None,
            cognito_identity: None,
            tenant_id: tenant.map(|t| TenantId::parse(t).unwrap()),
        }
    }

    #[tokio::test]
    async fn next_delivers_with_headers_and_response_settles() {
        let (mut api, base) = start().await;
        let http = reqwest::Client::new();
        let poll = tokio::spawn({
            let http = http.clone();
            let base = base.clone();
            async move { http.get(format!("{base}/invocation/next")).send().await.unwrap() }
        });
        assert_eq!(api.lifecycle().await, Some(Lifecycle::Ready));
        let outcome = api.deliver(invocation("req-1", Some("BlueTenant"))).await.unwrap();
        let next = poll.await.unwrap();
        assert_eq!(next.headers()[headers::REQUEST_ID], "req-1");
        assert_eq!(next.headers()[headers::TENANT_ID], "BlueTenant");
        assert_eq!(next.headers()[headers::DEADLINE_MS], "42");
        assert_eq!(next.bytes().await.unwrap(), "{\"n\":1}");
        // A wrong id settles nothing.
        let wrong = http.post(format!("{base}/invocation/other/response")).body("x").send().await.unwrap();
        assert_eq!(wrong.status(), 400);
        let ok =
            http.post(format!("{base}/invocation/req-1/response")).body("\"done\"").send().await.unwrap();
        assert_eq!(ok.status(), 202);
        assert!(matches!(outcome.await.unwrap(), Outcome::Response(b) if b == "\"done\""));
        // Settled once only.
        let again = http.post(format!("{base}/invocation/req-1/response")).body("x").send().await.unwrap();
        assert_eq!(again.status(), 400);
    }

    #[tokio::test]
    async fn errors_and_init_errors_carry_their_type() {
        let (mut api, base) = start().await;
        let http = reqwest::Client::new();
        let reply = http
            .post(format!("{base}/init/error"))
            .header(headers::ERROR_TYPE, "Runtime.ImportModuleError")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 202);
        assert!(
            matches!(api.lifecycle().await, Some(Lifecycle::InitError { error_type: Some(t), .. }) if t == "Runtime.ImportModuleError")
        );
        assert_eq!(api.lifecycle().await, None, "there is one report only");

        let (api, base) = start().await;
        let poll = tokio::spawn({
            let http = http.clone();
            let base = base.clone();
            async move { http.get(format!("{base}/invocation/next")).send().await.unwrap() }
        });
        let outcome = api.deliver(invocation("req-2", None)).await.unwrap();
        let next = poll.await.unwrap();
        assert!(next.headers().get(headers::TENANT_ID).is_none());
        http.post(format!("{base}/invocation/req-2/error"))
            .header(headers::ERROR_TYPE, "Handled")
            .body("{\"errorMessage\":\"boom\"}")
            .send()
            .await
            .unwrap();
        assert!(
            matches!(outcome.await.unwrap(), Outcome::Error { error_type: Some(t), .. } if t == "Handled")
        );
    }

    #[tokio::test]
    async fn oversized_responses_become_function_errors() {
        let (api, base) = start().await;
        let http = reqwest::Client::new();
        let poll = tokio::spawn({
            let http = http.clone();
            let base = base.clone();
            async move { http.get(format!("{base}/invocation/next")).send().await.unwrap() }
        });
        let outcome = api.deliver(invocation("big", None)).await.unwrap();
        poll.await.unwrap();
        let reply = http
            .post(format!("{base}/invocation/big/response"))
            .body(vec![b'x'; RESPONSE_LIMIT + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 413);
        assert!(
            matches!(outcome.await.unwrap(), Outcome::Error { error_type: Some(t), .. } if t == "Function.ResponseSizeTooLarge")
        );
    }

    /// A raw connection, for what an HTTP client library would not send.
    struct Raw(tokio::net::TcpStream);

    impl Raw {
        async fn connect(api: &RuntimeApi) -> Raw {
            Raw(tokio::net::TcpStream::connect(api.address()).await.unwrap())
        }

        async fn send(&mut self, text: &str) {
            use tokio::io::AsyncWriteExt;
            self.0.write_all(text.as_bytes()).await.unwrap();
        }

        /// The next response's status and body, or `None` if none came within `wait`
        /// (`Some(0)` if the server closed the connection).
        async fn response(&mut self, wait: Duration) -> Option<(u16, String)> {
            use tokio::io::AsyncReadExt;
            let mut received = Vec::new();
            let read = async {
                loop {
                    if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if received.len() >= end + 4 + length {
                            let status = head[9..12].parse().unwrap();
                            return (
                                status,
                                String::from_utf8_lossy(&received[end + 4..end + 4 + length]).into_owned(),
                            );
                        }
                    }
                    let mut chunk = [0u8; 65536];
                    match self.0.read(&mut chunk).await {
                        Ok(0) | Err(_) => return (0, String::new()),
                        Ok(n) => received.extend_from_slice(&chunk[..n]),
                    }
                }
            };
            tokio::time::timeout(wait, read).await.ok()
        }
    }

    const SOON: Duration = Duration::from_secs(5);
    const NOT_YET: Duration = Duration::from_millis(500);

    fn next_request() -> &'static str {
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rapi\r\n\r\n"
    }

    fn post(path: &str, content_length: usize, body: &str) -> String {
        format!("POST /2018-06-01/runtime/{path} HTTP/1.1\r\nHost: rapi\r\nContent-Length: {content_length}\r\n\r\n{body}")
    }

    #[tokio::test]
    async fn init_error_is_refused_once_ready_and_refused_a_second_time() {
        let (mut api, base) = start().await;
        let http = reqwest::Client::new();
        let poll = tokio::spawn({
            let base = base.clone();
            let http = http.clone();
            async move { http.get(format!("{base}/invocation/next")).send().await.unwrap() }
        });
        assert_eq!(api.lifecycle().await, Some(Lifecycle::Ready));
        // Refused by its state, before its body is read: the body is never sent.
        let mut raw = Raw::connect(&api).await;
        raw.send(&post("init/error", RESPONSE_LIMIT, "")).await;
        let (status, body) = raw.response(SOON).await.expect("refused without waiting for the body");
        assert_eq!(status, 403);
        let document: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(document["errorType"], "InvalidStateTransition");
        assert_eq!(
            document["errorMessage"],
            "State transition from Ready to InitError failed for runtime. Error: State transition is not allowed"
        );
        let _settled = api.deliver(invocation("req", None)).await.unwrap();
        assert_eq!(poll.await.unwrap().status(), 200);

        // Before ready: accepted once, then refused.
        let (mut api, base) = start().await;
        let first =
            http.post(format!("{base}/init/error")).body("{\"errorType\":\"A\"}").send().await.unwrap();
        assert_eq!(first.status(), 202);
        let second =
            http.post(format!("{base}/init/error")).body("{\"errorType\":\"B\"}").send().await.unwrap();
        assert_eq!(second.status(), 403);
        let next = http.get(format!("{base}/invocation/next")).send().await.unwrap();
        assert_eq!(next.status(), 403, "a runtime whose init failed gets no event");
        assert!(
            matches!(api.lifecycle().await, Some(Lifecycle::InitError { body, .. }) if body == "{\"errorType\":\"A\"}")
        );
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused_by_their_declared_length_without_reading() {
        let (mut api, _) = start().await;
        // init/error, before ready: refused, and still acceptable afterwards.
        let mut raw = Raw::connect(&api).await;
        raw.send(&post("init/error", ERROR_LIMIT + 1, "")).await;
        assert_eq!(raw.response(SOON).await.map(|r| r.0), Some(413));
        let mut next = Raw::connect(&api).await;
        next.send(next_request()).await;
        assert_eq!(api.lifecycle().await, Some(Lifecycle::Ready));
        let outcome = api.deliver(invocation("big", None)).await.unwrap();
        assert_eq!(next.response(SOON).await.map(|r| r.0), Some(200));
        // Another request id: refused whatever its size.
        let mut other = Raw::connect(&api).await;
        other.send(&post("invocation/other/response", RESPONSE_LIMIT, "")).await;
        assert_eq!(other.response(SOON).await.map(|r| r.0), Some(400));
        // The invocation's own response, declared too large: refused, and the invoke fails.
        let mut raw = Raw::connect(&api).await;
        raw.send(&post("invocation/big/response", RESPONSE_LIMIT + 1, "")).await;
        assert_eq!(raw.response(SOON).await.map(|r| r.0), Some(413));
        assert!(
            matches!(outcome.await.unwrap(), Outcome::Error { error_type: Some(t), .. } if t == "Function.ResponseSizeTooLarge")
        );
    }

    fn limits(max_connections: usize, header_timeout: Duration) -> Limits {
        Limits { max_connections, header_timeout, eviction_grace: Duration::from_millis(100) }
    }

    async fn start_with(limits: Limits) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        RuntimeApi::serve_with(listener, limits).unwrap()
    }

    #[tokio::test]
    async fn only_the_capped_number_of_connections_is_served() {
        let api = start_with(limits(2, SOON)).await;
        // Two busy connections: a response body half sent, and a pending /next.
        let mut responding = Raw::connect(&api).await;
        responding.send(next_request()).await;
        let settled = api.deliver(invocation("a", None)).await.unwrap();
        assert_eq!(responding.response(SOON).await.map(|r| r.0), Some(200));
        responding.send(&post("invocation/a/response", 10, "01234")).await;
        let mut polling = Raw::connect(&api).await;
        polling.send(next_request()).await;
        // Both heads parsed: the connections are busy from then on.
        tokio::time::sleep(NOT_YET).await;
        // More connections are not served while both are busy.
        let mut waiting = Vec::new();
        for _ in 0..3 {
            let mut raw = Raw::connect(&api).await;
            raw.send(&post("invocation/nobody/response", 0, "")).await;
            waiting.push(raw);
        }
        for raw in &mut waiting {
            assert_eq!(raw.response(NOT_YET).await, None);
        }
        // Closing a busy one lets the next in; each one served is idle afterwards, so it
        // makes room for the one after.
        drop(responding);
        let cut_short = settled.await.unwrap();
        assert!(
            matches!(&cut_short, Outcome::Error { error_type: Some(t), .. } if t == "Runtime.InvalidResponse"),
            "{cut_short:?}"
        );
        for raw in &mut waiting {
            assert_eq!(raw.response(SOON).await.map(|r| r.0), Some(400));
        }
        // The pending /next was never disturbed.
        let _settled = api.deliver(invocation("b", None)).await.unwrap();
        assert_eq!(polling.response(SOON).await.map(|r| r.0), Some(200));
    }

    #[tokio::test]
    async fn idle_connections_are_evicted_longest_idle_first_only_when_another_waits() {
        let api = start_with(limits(2, SOON)).await;
        let mut older = Raw::connect(&api).await;
        older.send(&post("invocation/x/response", 0, "")).await;
        assert_eq!(older.response(SOON).await.map(|r| r.0), Some(400));
        let mut newer = Raw::connect(&api).await;
        newer.send(&post("invocation/x/response", 0, "")).await;
        assert_eq!(newer.response(SOON).await.map(|r| r.0), Some(400));
        // Idle, at the cap, with nobody waiting: both stay open.
        tokio::time::sleep(NOT_YET).await;
        let mut third = Raw::connect(&api).await;
        third.send(&post("invocation/x/response", 0, "")).await;
        assert_eq!(third.response(SOON).await.map(|r| r.0), Some(400));
        assert_eq!(older.response(SOON).await, Some((0, String::new())), "the longest idle was closed");
        newer.send(&post("invocation/x/response", 0, "")).await;
        assert_eq!(newer.response(SOON).await.map(|r| r.0), Some(400), "the other one still works");
    }

    #[tokio::test]
    async fn the_connection_of_a_running_handler_is_not_evicted_by_a_flood() {
        let api = start_with(limits(2, SOON)).await;
        let mut runtime = Raw::connect(&api).await;
        runtime.send(next_request()).await;
        let settled = api.deliver(invocation("h", None)).await.unwrap();
        assert_eq!(runtime.response(SOON).await.map(|r| r.0), Some(200));
        // While the handler runs, its code opens connection after connection: each one
        // served makes room for the next by being evicted itself, never the runtime's.
        let mut flood = Vec::new();
        for _ in 0..4 {
            let mut raw = Raw::connect(&api).await;
            raw.send(&post("invocation/nobody/response", 0, "")).await;
            assert_eq!(raw.response(SOON).await.map(|r| r.0), Some(400));
            flood.push(raw);
        }
        tokio::time::sleep(NOT_YET).await;
        runtime.send(&post("invocation/h/response", 4, "done")).await;
        assert_eq!(runtime.response(SOON).await.map(|r| r.0), Some(202));
        assert!(matches!(settled.await.unwrap(), Outcome::Response(b) if b == "done"));
    }

    #[tokio::test]
    async fn a_dribbled_head_times_out_but_an_idle_connection_does_not() {
        let timeout = Duration::from_millis(300);
        let api = start_with(limits(2, timeout)).await;
        let mut idle = Raw::connect(&api).await;
        idle.send(&post("invocation/x/response", 0, "")).await;
        assert_eq!(idle.response(SOON).await.map(|r| r.0), Some(400));
        let mut dribbling = Raw::connect(&api).await;
        dribbling.send("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n").await;
        let closed = std::time::Instant::now();
        assert_eq!(dribbling.response(SOON).await, Some((0, String::new())));
        assert!(closed.elapsed() >= timeout - Duration::from_millis(50), "{:?}", closed.elapsed());
        // Many timeouts later, the idle kept-alive connection still works.
        tokio::time::sleep(timeout * 4).await;
        idle.send(&post("invocation/x/response", 0, "")).await;
        assert_eq!(idle.response(SOON).await.map(|r| r.0), Some(400));
    }

    #[tokio::test]
    async fn a_pending_next_survives_a_long_wait() {
        let timeout = Duration::from_millis(200);
        let (mut api, _) = (start_with(limits(2, timeout)).await, ());
        let mut runtime = Raw::connect(&api).await;
        runtime.send(next_request()).await;
        assert_eq!(api.lifecycle().await, Some(Lifecycle::Ready));
        tokio::time::sleep(timeout * 8).await;
        let settled = api.deliver(invocation("late", None)).await.unwrap();
        assert_eq!(runtime.response(SOON).await.map(|r| r.0), Some(200));
        runtime.send(&post("invocation/late/response", 2, "ok")).await;
        assert_eq!(runtime.response(SOON).await.map(|r| r.0), Some(202));
        assert!(matches!(settled.await.unwrap(), Outcome::Response(b) if b == "ok"));
    }

    #[tokio::test]
    async fn a_newer_next_supersedes_a_waiting_one() {
        let api = start_with(limits(2, SOON)).await;
        let mut older = Raw::connect(&api).await;
        older.send(next_request()).await;
        assert_eq!(older.response(NOT_YET).await, None);
        let mut newer = Raw::connect(&api).await;
        newer.send(next_request()).await;
        assert_eq!(older.response(SOON).await.map(|r| r.0), Some(409));
        let _settled = api.deliver(invocation("one", None)).await.unwrap();
        assert_eq!(newer.response(SOON).await.map(|r| r.0), Some(200));
    }

    #[tokio::test]
    async fn stopping_the_server_closes_its_connections() {
        let api = start_with(limits(2, SOON)).await;
        let mut runtime = Raw::connect(&api).await;
        runtime.send(next_request()).await;
        assert_eq!(runtime.response(NOT_YET).await, None);
        drop(api);
        // The waiting /next may be told the environment is going before the server stops.
        let reply = runtime.response(SOON).await.expect("answered or closed");
        if reply.0 == 410 {
            assert_eq!(runtime.response(SOON).await, Some((0, String::new())));
        } else {
            assert_eq!(reply, (0, String::new()));
        }
    }

    #[tokio::test]
    async fn a_streamed_response_arrives_chunk_by_chunk_with_its_trailer_error() {
        let api = start_with(limits(2, SOON)).await;
        let mut runtime = Raw::connect(&api).await;
        runtime.send(next_request()).await;
        let settled = api.deliver(invocation("s", None)).await.unwrap();
        assert_eq!(runtime.response(SOON).await.map(|r| r.0), Some(200));
        runtime
            .send(
                "POST /2018-06-01/runtime/invocation/s/response HTTP/1.1\r\nHost: rapi\r\n\
                 Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\
                 Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n\
                 5\r\nfirst\r\n",
            )
            .await;
        let Outcome::Streamed(mut stream) = settled.await.unwrap() else { panic!("not streamed") };
        // The first chunk is passed on before the body has ended.
        assert_eq!(stream.next().await, Some(StreamPart::Data(Bytes::from_static(b"first"))));
        let document = r#"{"errorType":"Error","errorMessage":"mid-stream"}"#;
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(document);
        runtime
            .send(&format!(
                "6\r\nsecond\r\n0\r\nLambda-Runtime-Function-Error-Type: Error\r\n\
                 Lambda-Runtime-Function-Error-Body: {encoded}\r\n\r\n"
            ))
            .await;
        assert_eq!(stream.next().await, Some(StreamPart::Data(Bytes::from_static(b"second"))));
        assert_eq!(
            stream.next().await,
            Some(StreamPart::Failed { error_type: "Error".into(), body: Bytes::from(document) })
        );
        assert_eq!(stream.next().await, None);
        assert_eq!(runtime.response(SOON).await.map(|r| r.0), Some(202));
    }
}
