//! The Lambda Runtime API of one execution environment.
//!
//! Each environment gets its own server, on its own listener, so a runtime can only ever
//! see the invocations of the environment it belongs to: there is no shared endpoint
//! where a request id from another tenant could be guessed or replayed. The environment
//! manager holds a [`RuntimeApi`] and talks to it through channels; the runtime inside the
//! environment talks HTTP: `GET /next` long-polls for the next event, `POST .../response`
//! or `.../error` settles it, `POST /init/error` reports a failed initialisation.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alcove_core::TenantId;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Largest response a function may return (Lambda's 6 MB synchronous limit).
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(Bytes),
    /// The function failed; `body` is the runtime's `{errorMessage, errorType, ...}`.
    Error { error_type: Option<String>, body: Bytes },
}

/// What the runtime reports about its own start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// The runtime asked for its first event: initialisation is over.
    Ready,
    InitError { error_type: Option<String>, body: Bytes },
}

#[derive(Debug, thiserror::Error)]
#[error("the runtime API of this environment has stopped")]
pub struct Closed;

type Delivery = (Invocation, oneshot::Sender<Outcome>);

struct Shared {
    queue: Mutex<mpsc::Receiver<Delivery>>,
    current: std::sync::Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    lifecycle: mpsc::UnboundedSender<Lifecycle>,
    ready_reported: AtomicBool,
}

/// The manager's side of one environment's Runtime API. Dropping it stops the server.
pub struct RuntimeApi {
    address: SocketAddr,
    deliveries: mpsc::Sender<Delivery>,
    lifecycle: mpsc::UnboundedReceiver<Lifecycle>,
    _stop: oneshot::Sender<()>,
}

impl RuntimeApi {
    /// Serves the Runtime API on `listener` until dropped.
    pub fn serve(listener: TcpListener) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let (deliveries, queue) = mpsc::channel(1);
        let (lifecycle_tx, lifecycle) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            current: std::sync::Mutex::new(None),
            lifecycle: lifecycle_tx,
            ready_reported: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tokio::select! {
                result = axum::serve(listener, app) => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "runtime API server failed");
                    }
                }
                _ = stopped => {}
            }
        });
        Ok(RuntimeApi { address, deliveries, lifecycle, _stop: stop })
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The runtime's next report about its start; `None` once the server has stopped.
    pub async fn lifecycle(&mut self) -> Option<Lifecycle> {
        self.lifecycle.recv().await
    }

    /// Queues an invocation for the runtime's next `/next`; the receiver yields its outcome,
    /// or an error if the runtime moves on or disappears without settling it.
    pub async fn deliver(&self, invocation: Invocation) -> Result<oneshot::Receiver<Outcome>, Closed> {
        let (tx, rx) = oneshot::channel();
        self.deliveries.send((invocation, tx)).await.map_err(|_| Closed)?;
        Ok(rx)
    }
}

fn header(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (status, Json(json!({ "errorType": error_type, "errorMessage": message }))).into_response()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    if !shared.ready_reported.swap(true, Ordering::SeqCst) {
        let _ = shared.lifecycle.send(Lifecycle::Ready);
    }
    let delivery = shared.queue.lock().await.recv().await;
    let Some((invocation, settle)) = delivery else {
        return runtime_error(StatusCode::GONE, "EnvironmentStopped", "This environment is shutting down.");
    };
    let mut response_headers = HeaderMap::new();
    let mut put = |name: &'static str, value: Option<HeaderValue>| {
        if let Some(value) = value {
            response_headers.insert(HeaderName::from_static(name), value);
        }
    };
    put(headers::REQUEST_ID, header(&invocation.request_id));
    put(headers::DEADLINE_MS, header(&invocation.deadline_ms.to_string()));
    put(headers::FUNCTION_ARN, header(&invocation.invoked_function_arn));
    put(headers::TRACE_ID, header(&invocation.trace_id));
    put(headers::CLIENT_CONTEXT, invocation.client_context.as_deref().and_then(header));
    put(headers::COGNITO_IDENTITY, invocation.cognito_identity.as_deref().and_then(header));
    put(headers::TENANT_ID, invocation.tenant_id.as_ref().and_then(|t| header(t.as_str())));
    response_headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    *shared.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((invocation.request_id, settle));
    (StatusCode::OK, response_headers, invocation.payload).into_response()
}

/// Takes the pending invocation if `id` names it.
fn settle(shared: &Shared, id: &str) -> Option<oneshot::Sender<Outcome>> {
    let mut current = shared.current.lock().unwrap_or_else(|p| p.into_inner());
    match current.as_ref() {
        Some((pending, _)) if pending == id => current.take().map(|(_, tx)| tx),
        _ => None,
    }
}

async fn read_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, RESPONSE_LIMIT).await.map_err(|_| {
        runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."),
        )
    })
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

fn unknown_request(id: &str) -> Response {
    runtime_error(StatusCode::BAD_REQUEST, "InvalidRequestID", &format!("Invalid request ID: {id}"))
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Body) -> Response {
    let Some(tx) = settle(&shared, &id) else {
        return unknown_request(&id);
    };
    match read_body(body).await {
        Ok(bytes) => {
            let _ = tx.send(Outcome::Response(bytes));
            accepted()
        }
        Err(too_large) => {
            let body = json!({
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."),
            });
            let _ = tx.send(Outcome::Error {
                error_type: Some("Function.ResponseSizeTooLarge".into()),
                body: Bytes::from(body.to_string()),
            });
            too_large
        }
    }
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers.get(headers::ERROR_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, request_headers: HeaderMap, body: Body) -> Response {
    let Some(tx) = settle(&shared, &id) else {
        return unknown_request(&id);
    };
    let body = read_body(body).await.unwrap_or_else(|_| Bytes::from_static(b"{\"errorType\":\"Runtime.ErrorTooLarge\"}"));
    let _ = tx.send(Outcome::Error { error_type: error_type(&request_headers), body });
    accepted()
}

async fn init_error(State(shared): State<Arc<Shared>>, request_headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(too_large) => return too_large,
    };
    let _ = shared.lifecycle.send(Lifecycle::InitError { error_type: error_type(&request_headers), body });
    accepted()
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
        let ok = http.post(format!("{base}/invocation/req-1/response")).body("\"done\"").send().await.unwrap();
        assert_eq!(ok.status(), 202);
        assert_eq!(outcome.await.unwrap(), Outcome::Response(Bytes::from_static(b"\"done\"")));
        // Settled once only.
        let again = http.post(format!("{base}/invocation/req-1/response")).body("x").send().await.unwrap();
        assert_eq!(again.status(), 400);
    }

    #[tokio::test]
    async fn errors_and_init_errors_carry_their_type() {
        let (mut api, base) = start().await;
        let http = reqwest::Client::new();
        http.post(format!("{base}/init/error"))
            .header(headers::ERROR_TYPE, "Runtime.ImportModuleError")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(matches!(api.lifecycle().await, Some(Lifecycle::InitError { error_type: Some(t), .. }) if t == "Runtime.ImportModuleError"));
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
        assert!(matches!(outcome.await.unwrap(), Outcome::Error { error_type: Some(t), .. } if t == "Handled"));
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
        assert!(matches!(outcome.await.unwrap(), Outcome::Error { error_type: Some(t), .. } if t == "Function.ResponseSizeTooLarge"));
    }
}
