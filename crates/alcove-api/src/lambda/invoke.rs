//! Invoke: tenant rules, payload limits, invocation types, and the translation of an
//! environment's outcome into Lambda's response headers. The synchronous path is shared
//! with API Gateway's proxy integration.

use alcove_core::{FunctionConfig, FunctionRef, QueuedEvent, TenantId};
use alcove_envs::{InvokeError, InvokeRequest, InvokeResponse, InvokeTarget};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;

use super::{function_ref, resolve_invocation};
use crate::error::{ApiError, ApiResult};
use crate::request::{read_limited, Region};
use crate::wire::QualifierQuery;
use crate::AppState;

/// Largest Invoke request body AWS's front end takes, for every invocation type: 6 MiB.
/// A larger one is refused before the invocation type is considered, with a 413
/// `RequestEntityTooLargeException` whose body is `{"Message": "Request must be smaller
/// than 6291456 bytes for the InvokeFunction operation"}`. (The response's limit is
/// counted differently: `alcove_runtime_api::RESPONSE_LIMIT`.)
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Asynchronous (`Event`) payload limit: 1 MiB. A payload within the front end's limit
/// but over this one is a `RequestTooLargeException`: "N byte payload is too large for
/// the Event invocation type (limit 1048576 bytes)".
pub const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> ApiResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| ApiError::invalid_parameter(format!("Header {name} is not valid text.")))
        })
        .transpose()
}

fn invocation_type(headers: &HeaderMap) -> ApiResult<InvocationType> {
    match header(headers, "x-amz-invocation-type")? {
        None | Some("RequestResponse") => Ok(InvocationType::RequestResponse),
        Some("Event") => Ok(InvocationType::Event),
        Some("DryRun") => Ok(InvocationType::DryRun),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy \
             constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
        ))),
    }
}

pub(crate) fn wants_tail(headers: &HeaderMap) -> ApiResult<bool> {
    match header(headers, "x-amz-log-type")? {
        None | Some("None") => Ok(false),
        Some("Tail") => Ok(true),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'logType' failed to satisfy \
             constraint: Member must satisfy enum value set: [None, Tail]"
        ))),
    }
}

/// `X-Amz-Client-Context` is base64 of a JSON object; the runtime receives the JSON.
pub(crate) fn client_context(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(encoded) = header(headers, "x-amz-client-context")? else { return Ok(None) };
    let invalid =
        || ApiError::invalid_parameter("Client context must be a valid Base64-encoded JSON object.");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| invalid())?;
    if decoded.len() > 3583 {
        return Err(ApiError::invalid_parameter("Client context must be at most 3583 bytes once decoded."));
    }
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(Some(text)),
        _ => Err(invalid()),
    }
}

/// Applies the tenancy rules: a `PER_TENANT` function needs a tenant id on every invoke,
/// any other function must not get one. The id is validated here, once.
pub(crate) fn tenant_for(
    config: &FunctionConfig,
    raw: Option<&str>,
    arn: &str,
) -> ApiResult<Option<TenantId>> {
    match (config.tenancy, raw) {
        (Some(mode), None) => Err(ApiError::invalid_parameter(format!(
            "The function {arn} uses tenant isolation mode {}: every invocation must specify a \
             tenant id (X-Amz-Tenant-Id).",
            mode.as_str()
        ))),
        (Some(_), Some(raw)) => Ok(Some(TenantId::parse(raw)?)),
        (None, Some(_)) => Err(ApiError::invalid_parameter(format!(
            "The function {arn} does not use tenant isolation: a tenant id (X-Amz-Tenant-Id) \
             can only be specified for functions created with TenancyConfig PER_TENANT."
        ))),
        (None, None) => Ok(None),
    }
}

/// The payload as the runtime receives it: valid JSON, `{}` when empty.
pub(crate) fn payload(bytes: Bytes) -> ApiResult<Bytes> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    // AWS's message is these two prefixes and its JSON parser's description of the
    // fault; the description here is serde_json's, worded differently from AWS's.
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(|e| {
        ApiError::invalid_content(format!(
            "Could not parse request body into json: Could not parse payload into json: {e}"
        ))
    })?;
    Ok(bytes)
}

/// A synchronous invocation of a resolved function for a checked tenant.
#[derive(Clone)]
pub(crate) struct SyncInvoke {
    pub config: FunctionConfig,
    pub tenant: Option<TenantId>,
    pub payload: Bytes,
    pub invoked_function_arn: String,
    pub client_context: Option<String>,
    pub want_log_tail: bool,
    pub request_id: String,
}

/// Runs a synchronous invocation in an execution environment of the manager: the one
/// path every synchronous caller (Invoke, API Gateway's proxy integration) takes, so
/// tenant pools, limits and the sandbox apply alike.
pub(crate) async fn run_sync(state: &AppState, invoke: SyncInvoke) -> ApiResult<InvokeResponse> {
    // In a cluster, a tenant's invoke runs on the node that holds its environments.
    crate::cluster::run_placed(state, invoke).await
}

/// Runs a synchronous invocation on this node.
pub(crate) async fn run_here(state: &AppState, invoke: SyncInvoke) -> ApiResult<InvokeResponse> {
    let task_root = state.code.local_task_root(&invoke.config.code.sha256_hex).await?;
    let target = InvokeTarget { config: invoke.config, task_root, tenant: invoke.tenant };
    let request = InvokeRequest {
        request_id: invoke.request_id,
        payload: invoke.payload,
        invoked_function_arn: invoke.invoked_function_arn,
        client_context: invoke.client_context,
        want_log_tail: invoke.want_log_tail,
        may_wait: true,
    };
    state.envs.invoke(target, request).await.map_err(refused)
}

/// Why the manager would not run an invoke, as Lambda answers it.
pub(crate) fn refused(e: InvokeError) -> ApiError {
    match e {
        InvokeError::AtCapacity(_) => {
            ApiError::too_many_requests("ConcurrentInvocationLimitExceeded", format!("Rate Exceeded. {e}."))
        }
        InvokeError::Throttled(reason) => {
            ApiError::too_many_requests(reason.as_str(), format!("Rate Exceeded: {e}."))
        }
        // Lambda answers this quota with its plain throttling message, "Rate exceeded";
        // the reason follows it for whoever reads the message.
        InvokeError::TenantEnvironmentsExhausted(_) => {
            ApiError::too_many_requests("ConcurrentInvocationLimitExceeded", format!("Rate exceeded: {e}."))
        }
        InvokeError::IsolationUnavailable(_) => ApiError::service(format!("{e}.")),
    }
}

/// The request body of a synchronous invoke operation, refused past
/// [`SYNC_PAYLOAD_LIMIT`] with Lambda's error for `operation`.
pub(crate) async fn read_payload(body: Body, operation: &str) -> ApiResult<Bytes> {
    read_limited(body, SYNC_PAYLOAD_LIMIT).await.map_err(|_| {
        ApiError::entity_too_large(format!(
            "Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the {operation} operation"
        ))
    })
}

/// What every invoke operation takes from its request, checked in the order Lambda
/// checks it: the function and qualifier, the tenant, the log type, the client context,
/// then the payload.
pub(crate) struct InvokeCall {
    pub reference: FunctionRef,
    pub config: FunctionConfig,
    /// The ARN as invoked: qualified when the request named a qualifier.
    pub arn: String,
    pub tenant: Option<TenantId>,
    pub tail: bool,
    pub client_context: Option<String>,
    pub payload: Bytes,
}

impl InvokeCall {
    pub(crate) async fn read(
        state: &AppState,
        region: &str,
        function: &str,
        qualifier: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
    ) -> ApiResult<InvokeCall> {
        let reference = function_ref(function, qualifier, region)?;
        let config = resolve_invocation(state, &reference, region).await?;
        let arn = match &reference.qualifier {
            Some(q) => format!("{}:{q}", config.arn(region)),
            None => config.arn(region),
        };
        let tenant = tenant_for(&config, header(headers, "x-amz-tenant-id")?, &config.arn(region))?;
        let tail = wants_tail(headers)?;
        let client_context = client_context(headers)?;
        let payload = payload(body)?;
        Ok(InvokeCall { reference, config, arn, tenant, tail, client_context, payload })
    }
}

pub async fn invoke(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let kind = invocation_type(&headers)?;
    let body = read_payload(body, "InvokeFunction").await?;
    if kind == InvocationType::Event && body.len() > ASYNC_PAYLOAD_LIMIT {
        return Err(ApiError::request_too_large(format!(
            "{} byte payload is too large for the Event invocation type (limit {ASYNC_PAYLOAD_LIMIT} bytes)",
            body.len()
        )));
    }
    let InvokeCall { reference, config, arn, tenant, tail, client_context, payload } =
        InvokeCall::read(&state, &region, &function, query.qualifier.as_deref(), &headers, body).await?;
    let executed_version = config.version.to_string();
    match kind {
        InvocationType::DryRun => Ok(StatusCode::NO_CONTENT.into_response()),
        InvocationType::Event => {
            let now = alcove_core::clock::epoch_ms();
            let event = QueuedEvent {
                id: uuid::Uuid::new_v4().to_string(),
                function: config.name.clone(),
                version: config.version,
                qualifier: reference.qualifier.as_ref().map(ToString::to_string),
                tenant,
                payload: payload.to_vec(),
                client_context,
                attempts: 0,
                next_attempt_ms: now,
                enqueued_ms: now,
            };
            let id = event.id.clone();
            state.events.accept(event).await?;
            let mut reply_headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&id) {
                reply_headers.insert("x-amzn-requestid", v);
            }
            Ok((StatusCode::ACCEPTED, reply_headers).into_response())
        }
        InvocationType::RequestResponse => {
            let request_id = uuid::Uuid::new_v4().to_string();
            let response = run_sync(
                &state,
                SyncInvoke {
                    config,
                    tenant,
                    payload,
                    invoked_function_arn: arn,
                    client_context,
                    want_log_tail: tail,
                    request_id: request_id.clone(),
                },
            )
            .await?;
            let mut reply_headers = HeaderMap::new();
            reply_headers.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&executed_version) {
                reply_headers.insert("x-amz-executed-version", v);
            }
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                reply_headers.insert("x-amzn-requestid", v);
            }
            if tail {
                let encoded = base64::engine::general_purpose::STANDARD.encode(&response.log_tail);
                if let Ok(v) = HeaderValue::from_str(&encoded) {
                    reply_headers.insert("x-amz-log-result", v);
                }
            }
            let body = match response.result {
                Ok(body) => body,
                Err(failure) => {
                    reply_headers.insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
                    failure.body
                }
            };
            Ok((StatusCode::OK, reply_headers, body).into_response())
        }
    }
}
