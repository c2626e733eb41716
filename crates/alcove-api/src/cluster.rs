//! Tenant-affine routing across the nodes of a cluster: a synchronous invoke of a
//! `PER_TENANT` function runs on the node that rendezvous hashing ranks first for its
//! (function version, tenant) among the live, non-draining nodes, so a tenant finds its
//! warm environments again whichever node the request reached. Every node computes the
//! same ranking from the membership it last read, without a database round trip.
//!
//! The node a request reached has already done everything a request needs before it runs
//! (authentication, resolving the function and alias, the tenant rules, the payload
//! checks); it sends the owner the resolved invoke over HTTP, with the cluster's shared
//! secret, and the owner runs it in its own environments as if it had arrived there. What
//! comes back is the invoke's outcome, turned into the response here exactly as a local
//! one is. An owner that is saturated (all its environment slots busy) answers so, and
//! the invoke spills to the next node of the ranking; an owner that cannot be reached
//! (killed, not yet out of the membership) is skipped the same way. Limits (reserved,
//! account, per tenant) are answered as they are, never spilled around.
//!
//! Only synchronous invokes move: asynchronous events run on the node whose queue worker
//! claims them, streamed responses and functions without tenant isolation where they
//! arrive.

use std::sync::Arc;
use std::time::Duration;

use alcove_cluster::{Member, Membership};
use alcove_core::{FunctionConfig, TenantId};
use alcove_envs::ThrottleReason;
use alcove_envs::{FunctionFailure, InvokeError, InvokeReport, InvokeRequest, InvokeResponse, InvokeTarget};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::lambda::invoke::{refused, run_here, SyncInvoke};
use crate::AppState;

/// Where a node takes invokes forwarded by the others.
pub const FORWARD_PATH: &str = "/alcove/cluster/v1/invoke";

/// The header carrying the cluster's shared secret on forwarded work.
const SECRET_HEADER: &str = "x-alcove-cluster-secret";

/// How long a node waits to connect to another before skipping it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// This node's view of the cluster and its client to the other nodes.
#[derive(Clone)]
pub struct ClusterRouting {
    membership: Arc<Membership>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl ClusterRouting {
    pub fn new(membership: Arc<Membership>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        ClusterRouting { membership, client }
    }

    /// The nodes that may run this tenant's invokes of this version, best first.
    fn ranking(&self, config: &FunctionConfig, tenant: &TenantId) -> Vec<Member> {
        self.membership.ranking(&placement_key(config, tenant))
    }

    async fn forward(&self, to: &Member, invoke: &SyncInvoke) -> Result<Outcome, String> {
        let forwarded = Forwarded {
            config: invoke.config.clone(),
            tenant: invoke.tenant.as_ref().map(|t| t.as_str().to_owned()),
            payload: BASE64.encode(&invoke.payload),
            invoked_function_arn: invoke.invoked_function_arn.clone(),
            client_context: invoke.client_context.clone(),
            want_log_tail: invoke.want_log_tail,
            request_id: invoke.request_id.clone(),
        };
        let body = serde_json::to_vec(&forwarded).map_err(|e| e.to_string())?;
        let request = http::Request::post(format!("{}{FORWARD_PATH}", to.address.trim_end_matches('/')))
            .header("content-type", "application/json")
            .header(SECRET_HEADER, self.membership.secret())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self.client.request(request).await.map_err(|e| format!("{e:?}"))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        if status != StatusCode::OK {
            return Err(format!("answered {status}: {}", String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("unreadable answer: {e}"))
    }
}

/// What rendezvous hashing places: one function version's environments for one tenant.
fn placement_key(config: &FunctionConfig, tenant: &TenantId) -> String {
    format!("{}:{}/{}", config.name, config.version, tenant.as_str())
}

/// Runs `invoke` where its tenant's environments live: on the node ranked first for it,
/// spilling down the ranking past nodes that are saturated, at their share of the
/// account's concurrency, or unreachable. Without a cluster, or for an invoke without a
/// tenant, it runs here.
pub(crate) async fn run_placed(state: &AppState, invoke: SyncInvoke) -> ApiResult<InvokeResponse> {
    let (Some(cluster), Some(tenant)) = (&state.cluster, &invoke.tenant) else {
        return run_here(state, invoke).await;
    };
    let ranking = cluster.ranking(&invoke.config, tenant);
    let me = cluster.membership.node_id();
    let mut last = None;
    for (place, node) in ranking.iter().enumerate() {
        let outcome = if node.id == me {
            run_here(state, invoke.clone()).await
        } else {
            match cluster.forward(node, &invoke).await {
                Ok(outcome) => outcome.into_result().map_err(refused),
                Err(e) => {
                    tracing::warn!(node = %node.id, error = %e, "cannot forward an invoke; trying the next node");
                    continue;
                }
            }
        };
        match outcome {
            Err(error) if spills(&error) && place + 1 < ranking.len() => {
                tracing::debug!(node = %node.id, code = error.code, "node full; spilling to the next one");
                last = Some(error);
            }
            outcome => return outcome,
        }
    }
    match last {
        // Every node of the ranking was full.
        Some(error) => Err(error),
        // None could be reached (or this node is not in its own view yet): run it here.
        None => run_here(state, invoke).await,
    }
}

/// Whether another node may take what this one refused: it was full (every environment
/// slot busy, or its share of the account's concurrency in use; both are Lambda's
/// account throttle). The function's and the tenant's own limits are answered as they are.
fn spills(error: &ApiError) -> bool {
    error.reason == Some(ThrottleReason::Account.as_str())
}

/// An invoke forwarded by another node: resolved there, run here.
#[derive(Serialize, Deserialize)]
struct Forwarded {
    config: FunctionConfig,
    tenant: Option<String>,
    /// Base64.
    payload: String,
    invoked_function_arn: String,
    client_context: Option<String>,
    want_log_tail: bool,
    request_id: String,
}

/// How a forwarded invoke ended, as the manager said it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome")]
enum Outcome {
    Ran {
        /// Base64 of the result, on success.
        result: Option<String>,
        error_type: Option<String>,
        /// Base64 of the error document, on failure.
        error_body: Option<String>,
        duration_us: u64,
        billed_ms: u64,
        max_memory_used_mb: u64,
        init_duration_us: Option<u64>,
        cold_start: bool,
        /// Base64.
        log_tail: String,
    },
    Throttled {
        reason: String,
    },
    AtCapacity {
        environments: usize,
    },
    TenantEnvironmentsExhausted {
        environments: usize,
    },
    IsolationUnavailable {
        why: String,
    },
}

impl Outcome {
    fn of(result: Result<InvokeResponse, InvokeError>) -> Outcome {
        match result {
            Ok(response) => {
                let (result, error_type, error_body) = match response.result {
                    Ok(bytes) => (Some(BASE64.encode(bytes)), None, None),
                    Err(failure) => (None, Some(failure.error_type), Some(BASE64.encode(failure.body))),
                };
                Outcome::Ran {
                    result,
                    error_type,
                    error_body,
                    duration_us: response.report.duration.as_micros() as u64,
                    billed_ms: response.report.billed_ms,
                    max_memory_used_mb: response.report.max_memory_used_mb,
                    init_duration_us: response.report.init_duration.map(|d| d.as_micros() as u64),
                    cold_start: response.cold_start,
                    log_tail: BASE64.encode(response.log_tail),
                }
            }
            Err(InvokeError::Throttled(reason)) => Outcome::Throttled { reason: reason.as_str().to_owned() },
            Err(InvokeError::AtCapacity(environments)) => Outcome::AtCapacity { environments },
            Err(InvokeError::TenantEnvironmentsExhausted(environments)) => {
                Outcome::TenantEnvironmentsExhausted { environments }
            }
            Err(InvokeError::IsolationUnavailable(why)) => Outcome::IsolationUnavailable { why },
        }
    }

    fn into_result(self) -> Result<InvokeResponse, InvokeError> {
        let decode = |text: String| Bytes::from(BASE64.decode(text).unwrap_or_default());
        match self {
            Outcome::Ran {
                result,
                error_type,
                error_body,
                duration_us,
                billed_ms,
                max_memory_used_mb,
                init_duration_us,
                cold_start,
                log_tail,
            } => Ok(InvokeResponse {
                result: match (result, error_type) {
                    (Some(result), _) => Ok(decode(result)),
                    (None, error_type) => Err(FunctionFailure {
                        error_type: error_type.unwrap_or_default(),
                        body: decode(error_body.unwrap_or_default()),
                    }),
                },
                report: InvokeReport {
                    duration: Duration::from_micros(duration_us),
                    billed_ms,
                    max_memory_used_mb,
                    init_duration: init_duration_us.map(Duration::from_micros),
                },
                cold_start,
                log_tail: decode(log_tail).to_vec(),
            }),
            Outcome::Throttled { reason } => Err(InvokeError::Throttled(match reason.as_str() {
                "ReservedFunctionConcurrentInvocationLimitExceeded" => ThrottleReason::Reserved,
                "TenantConcurrentInvocationLimitExceeded" => ThrottleReason::Tenant,
                _ => ThrottleReason::Account,
            })),
            Outcome::AtCapacity { environments } => Err(InvokeError::AtCapacity(environments)),
            Outcome::TenantEnvironmentsExhausted { environments } => {
                Err(InvokeError::TenantEnvironmentsExhausted(environments))
            }
            Outcome::IsolationUnavailable { why } => Err(InvokeError::IsolationUnavailable(why)),
        }
    }
}

/// Serves an invoke another node forwarded: only with the cluster's secret, run here
/// (never forwarded again), its outcome returned whole.
pub async fn serve_forwarded(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(cluster) = &state.cluster else {
        return (StatusCode::NOT_FOUND, "this node is not in a cluster").into_response();
    };
    let presented = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !alcove_auth::sigv4::constant_time_eq(presented, cluster.membership.secret()) {
        return (StatusCode::FORBIDDEN, "not a node of this cluster").into_response();
    }
    let forwarded: Forwarded = match serde_json::from_slice(&body) {
        Ok(forwarded) => forwarded,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("unreadable forwarded invoke: {e}")).into_response()
        }
    };
    let tenant = match forwarded.tenant.as_deref().map(TenantId::parse).transpose() {
        Ok(tenant) => tenant,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("forwarded tenant: {e}")).into_response(),
    };
    let Ok(payload) = BASE64.decode(&forwarded.payload) else {
        return (StatusCode::BAD_REQUEST, "forwarded payload is not base64").into_response();
    };
    let task_root = match state.code.local_task_root(&forwarded.config.code.sha256_hex).await {
        Ok(task_root) => task_root,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.chain()).into_response(),
    };
    let target = InvokeTarget { config: forwarded.config, task_root, tenant };
    let request = InvokeRequest {
        request_id: forwarded.request_id,
        payload: Bytes::from(payload),
        invoked_function_arn: forwarded.invoked_function_arn,
        client_context: forwarded.client_context,
        want_log_tail: forwarded.want_log_tail,
        may_wait: true,
    };
    let outcome = Outcome::of(state.envs.invoke(target, request).await);
    axum::Json(outcome).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_cross_the_wire_intact() {
        let response = InvokeResponse {
            result: Err(FunctionFailure {
                error_type: "Unhandled".into(),
                body: Bytes::from_static(b"{\"e\":1}"),
            }),
            report: InvokeReport {
                duration: Duration::from_micros(1234),
                billed_ms: 2,
                max_memory_used_mb: 40,
                init_duration: Some(Duration::from_micros(99)),
            },
            cold_start: true,
            log_tail: b"tail".to_vec(),
        };
        let wire = serde_json::to_vec(&Outcome::of(Ok(response))).unwrap();
        let back = serde_json::from_slice::<Outcome>(&wire).unwrap().into_result().unwrap();
        assert_eq!(back.result.unwrap_err().body, Bytes::from_static(b"{\"e\":1}"));
        assert_eq!(back.report.init_duration, Some(Duration::from_micros(99)));
        assert!(back.cold_start);
        assert_eq!(back.log_tail, b"tail");
        for reason in [ThrottleReason::Reserved, ThrottleReason::Account, ThrottleReason::Tenant] {
            let wire = serde_json::to_vec(&Outcome::of(Err(InvokeError::Throttled(reason)))).unwrap();
            match serde_json::from_slice::<Outcome>(&wire).unwrap().into_result() {
                Err(InvokeError::Throttled(back)) => assert_eq!(back, reason),
                _ => panic!("a throttle came back as something else"),
            }
        }
    }
}
