//! `InvokeWithResponseStream`: an invoke whose response reaches the caller as the function
//! produces it, framed as an event stream (`PayloadChunk` events, then one
//! `InvokeComplete`).
//!
//! Everything before the function runs is `Invoke`'s: the same tenant rules, payload
//! limit, client context and qualifier resolution, and the same admission, so throttling
//! and capacity are answered as HTTP errors before the stream starts. Once the invoke is
//! admitted the answer is `200` and whatever happens next, a function error included, is
//! told by `InvokeComplete`'s `ErrorCode` and `ErrorDetails`, as Lambda does. The HTTP body
//! is produced as chunks arrive and nothing more is buffered than the manager's small
//! channel; a caller that goes away leaves its invoke to finish in its environment.

use std::convert::Infallible;

use alcove_envs::{InvokeRequest, InvokeResponse, InvokeTarget, StreamedInvoke};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::event_stream::{self, Completion};
use super::invoke::{header, read_payload, refused, InvokeCall};
use crate::error::{ApiError, ApiResult};
use crate::request::Region;
use crate::wire::QualifierQuery;
use crate::AppState;

/// `X-Amz-Invocation-Type` of this operation: no `Event`.
fn dry_run(headers: &HeaderMap) -> ApiResult<bool> {
    match header(headers, "x-amz-invocation-type")? {
        None | Some("RequestResponse") => Ok(false),
        Some("DryRun") => Ok(true),
        Some(other) => Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy \
             constraint: Member must satisfy enum value set: [RequestResponse, DryRun]"
        ))),
    }
}

/// What `InvokeComplete` says of an ended invoke.
fn completion(response: Option<InvokeResponse>, tail: bool) -> Completion {
    let Some(response) = response else {
        return Completion {
            error_code: Some("ServiceException".into()),
            error_details: Some("The invocation ended without a result.".into()),
            log_result: None,
        };
    };
    let log_result = tail.then(|| base64::engine::general_purpose::STANDARD.encode(&response.log_tail));
    match response.result {
        Ok(_) => Completion { error_code: None, error_details: None, log_result },
        Err(failure) => Completion {
            error_details: Some(error_message(&failure.body)),
            error_code: Some(failure.error_type),
            log_result,
        },
    }
}

/// The `errorMessage` of an error document, or the document itself when it has none.
fn error_message(document: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(document)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str().map(str::to_owned)))
        .unwrap_or_else(|| String::from_utf8_lossy(document).into_owned())
}

/// The HTTP body: each chunk as `PayloadChunk` events as it comes, then `InvokeComplete`.
fn event_stream_body(streamed: StreamedInvoke, tail: bool) -> Body {
    let stream = futures_util::stream::unfold(Some(streamed), move |state| async move {
        let mut streamed = state?;
        if let Some(chunk) = streamed.chunks.recv().await {
            return Some((Ok::<_, Infallible>(event_stream::payload_chunks(chunk)), Some(streamed)));
        }
        let ended = streamed.end.await.ok();
        Some((Ok(event_stream::invoke_complete(&completion(ended, tail))), None))
    });
    Body::from_stream(stream)
}

pub async fn invoke_with_response_stream(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let dry_run = dry_run(&headers)?;
    let body = read_payload(body, "InvokeWithResponseStream").await?;
    let InvokeCall { config, arn, tenant, tail, client_context, payload, .. } =
        InvokeCall::read(&state, &region, &function, query.qualifier.as_deref(), &headers, body).await?;
    let mut reply_headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&config.version.to_string()) {
        reply_headers.insert("x-amz-executed-version", v);
    }
    if dry_run {
        return Ok((StatusCode::NO_CONTENT, reply_headers).into_response());
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let task_root = state.code.local_task_root(&config.code.sha256_hex).await?;
    let target = InvokeTarget { config, task_root, tenant };
    let request = InvokeRequest {
        request_id: request_id.clone(),
        payload,
        invoked_function_arn: arn,
        client_context,
        want_log_tail: tail,
        may_wait: true,
    };
    let streamed = state.envs.invoke_streamed(target, request).await.map_err(refused)?;
    reply_headers.insert("content-type", HeaderValue::from_static(event_stream::CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        reply_headers.insert("x-amzn-requestid", v);
    }
    Ok((StatusCode::OK, reply_headers, event_stream_body(streamed, tail)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_request_response_and_dry_run_are_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!dry_run(&headers).unwrap());
        headers.insert("x-amz-invocation-type", HeaderValue::from_static("DryRun"));
        assert!(dry_run(&headers).unwrap());
        headers.insert("x-amz-invocation-type", HeaderValue::from_static("Event"));
        assert!(dry_run(&headers).is_err());
    }

    #[test]
    fn error_details_are_the_documents_message() {
        assert_eq!(error_message(br#"{"errorType":"Error","errorMessage":"boom"}"#), "boom");
        assert_eq!(error_message(b"not json"), "not json");
    }
}
