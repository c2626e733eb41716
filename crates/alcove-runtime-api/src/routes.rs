//! The four Runtime API requests and what each may do in each state.
//!
//! - `GET /next` ends initialisation the first time, then waits for the manager's next
//!   invocation. Only one `/next` waits at a time: a newer one supersedes it (the older is
//!   answered `409`), since a runtime that asks again has given up on the older request,
//!   for instance after reconnecting, and the newest is the one it is listening to.
//! - `POST /invocation/{id}/response` and `/error` are read only when `{id}` is the
//!   invocation in progress, and settle it once; any other id is refused before its body
//!   is read. A response in streaming mode settles the invocation with a stream at once,
//!   and its body is then passed on as it arrives (see `streaming`).
//! - `POST /init/error` is accepted once, before the first `/next` (see `state`).
//!
//! Nothing the runtime sends is queued: the manager learns of init through one oneshot,
//! and of each invocation's outcome through that invocation's oneshot.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::body::{self, BodyError};
use crate::connections::Reservation;
use crate::server::Connection;
use crate::state::{InvalidStateTransition, Phase, Readiness};
use crate::streaming;
use crate::{headers, Invocation, Lifecycle, Outcome, ERROR_LIMIT, RESPONSE_LIMIT, STREAMED_RESPONSE_LIMIT};

pub(crate) type Delivery = (Invocation, oneshot::Sender<Outcome>);

/// The runtime's side of one environment.
pub(crate) struct Shared {
    deliveries: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    state: Mutex<RuntimeState>,
}

struct RuntimeState {
    phase: Phase,
    /// How the end of init reaches the manager; taken by the first report.
    init_report: Option<oneshot::Sender<Lifecycle>>,
    /// The invocation handed out and not yet settled.
    current: Option<Current>,
    /// Held for the `/next` waiting now; replacing it tells that one it is superseded.
    waiting: Option<oneshot::Sender<()>>,
}

struct Current {
    request_id: String,
    settle: oneshot::Sender<Outcome>,
    /// Keeps the connection that received the event from being evicted while the handler
    /// runs (see `connections`).
    _connection: Option<Reservation>,
}

impl Shared {
    pub fn new(deliveries: mpsc::Receiver<Delivery>, init_report: oneshot::Sender<Lifecycle>) -> Arc<Self> {
        Arc::new(Shared {
            deliveries: tokio::sync::Mutex::new(deliveries),
            state: Mutex::new(RuntimeState {
                phase: Phase::Started,
                init_report: Some(init_report),
                current: None,
                waiting: None,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, RuntimeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the invocation in progress if `id` names it.
    fn settle(&self, id: &str) -> Option<oneshot::Sender<Outcome>> {
        let mut state = self.state();
        match &state.current {
            Some(current) if current.request_id == id => state.current.take().map(|current| current.settle),
            _ => None,
        }
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(shared)
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (status, Json(json!({ "errorMessage": message, "errorType": error_type }))).into_response()
}

impl IntoResponse for InvalidStateTransition {
    fn into_response(self) -> Response {
        runtime_error(StatusCode::FORBIDDEN, "InvalidStateTransition", &self.to_string())
    }
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        match self {
            BodyError::TooLarge { .. } => {
                runtime_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", &self.to_string())
            }
            BodyError::Interrupted => {
                runtime_error(StatusCode::BAD_REQUEST, "InvalidRequestFormat", &self.to_string())
            }
        }
    }
}

fn header(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

async fn next(State(shared): State<Arc<Shared>>, connection: Option<Extension<Connection>>) -> Response {
    let superseded = {
        let mut state = shared.state();
        match state.phase.ready() {
            Err(refused) => return refused.into_response(),
            Ok(Readiness::InitDone) => {
                if let Some(report) = state.init_report.take() {
                    let _ = report.send(Lifecycle::Ready);
                }
            }
            Ok(Readiness::Again) => {}
        }
        let (tx, rx) = oneshot::channel();
        state.waiting = Some(tx);
        rx
    };
    // Receiving is cancel-safe: a superseded waiter leaves the next delivery in the queue.
    let delivery = tokio::select! {
        biased;
        _ = superseded => {
            return runtime_error(
                StatusCode::CONFLICT,
                "ConcurrentNextRequest",
                "A newer request for the next invocation replaced this one.",
            );
        }
        delivery = async { shared.deliveries.lock().await.recv().await } => delivery,
    };
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
    shared.state().current = Some(Current {
        request_id: invocation.request_id,
        settle,
        _connection: connection.map(|Extension(Connection(activity))| activity.reserve()),
    });
    (StatusCode::OK, response_headers, invocation.payload).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

fn unknown_request(id: &str) -> Response {
    runtime_error(StatusCode::BAD_REQUEST, "InvalidRequestID", &format!("Invalid request ID: {id}"))
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers.get(headers::ERROR_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The invoke's outcome when the runtime's document was over its limit.
fn too_large_outcome(limit: usize) -> Outcome {
    let body = json!({
        "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({limit} bytes)."),
        "errorType": "Function.ResponseSizeTooLarge",
    });
    Outcome::Error {
        error_type: Some("Function.ResponseSizeTooLarge".into()),
        body: Bytes::from(body.to_string()),
    }
}

/// The invoke's outcome when the runtime's document never fully arrived.
fn interrupted_outcome() -> Outcome {
    let body = json!({
        "errorMessage": "The runtime's result could not be read.",
        "errorType": "Runtime.InvalidResponse",
    });
    Outcome::Error { error_type: Some("Runtime.InvalidResponse".into()), body: Bytes::from(body.to_string()) }
}

async fn settle_with(
    shared: &Shared,
    id: &str,
    request_headers: &HeaderMap,
    body: Body,
    limit: usize,
    outcome: impl FnOnce(Bytes) -> Outcome,
) -> Response {
    let Some(tx) = shared.settle(id) else {
        return unknown_request(id);
    };
    match body::read(request_headers, body, limit).await {
        Ok(bytes) => {
            let _ = tx.send(outcome(bytes));
            accepted()
        }
        Err(refused) => {
            let _ = tx.send(match refused {
                BodyError::TooLarge { limit } => too_large_outcome(limit),
                BodyError::Interrupted => interrupted_outcome(),
            });
            refused.into_response()
        }
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request_headers: HeaderMap,
    body: Body,
) -> Response {
    if !is_streamed(&request_headers) {
        return settle_with(&shared, &id, &request_headers, body, RESPONSE_LIMIT, Outcome::Response).await;
    }
    let Some(tx) = shared.settle(&id) else {
        return unknown_request(&id);
    };
    let (parts, stream) = streaming::channel();
    let _ = tx.send(Outcome::Streamed(stream));
    match streaming::pump(body, parts, STREAMED_RESPONSE_LIMIT).await {
        Ok(()) => accepted(),
        Err(refused) => refused.into_response(),
    }
}

/// Whether the runtime streams this response rather than posting it whole.
fn is_streamed(request_headers: &HeaderMap) -> bool {
    request_headers
        .get(streaming::headers::RESPONSE_MODE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|mode| mode.eq_ignore_ascii_case(streaming::headers::STREAMING))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request_headers: HeaderMap,
    body: Body,
) -> Response {
    let error_type = error_type(&request_headers);
    settle_with(&shared, &id, &request_headers, body, ERROR_LIMIT, |body| Outcome::Error { error_type, body })
        .await
}

async fn init_error(State(shared): State<Arc<Shared>>, request_headers: HeaderMap, body: Body) -> Response {
    // Refused by its declared size, the report can be sent again smaller.
    if let Err(too_large) = body::check_declared(&request_headers, ERROR_LIMIT) {
        return too_large.into_response();
    }
    let report = {
        let mut state = shared.state();
        if let Err(refused) = state.phase.init_error() {
            return refused.into_response();
        }
        state.init_report.take()
    };
    let error_type = error_type(&request_headers);
    let (body, reply) = match body::read(&request_headers, body, ERROR_LIMIT).await {
        Ok(body) => (body, accepted()),
        Err(refused) => {
            let document = json!({ "errorMessage": refused.to_string(), "errorType": error_type.as_deref().unwrap_or("Runtime.Unknown") });
            (Bytes::from(document.to_string()), refused.into_response())
        }
    };
    if let Some(report) = report {
        let _ = report.send(Lifecycle::InitError { error_type, body });
    }
    reply
}
