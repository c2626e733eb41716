//! The CloudWatch Logs API subset, on the same endpoint as Lambda: `POST /` with
//! `X-Amz-Target: Logs_20140328.<Operation>` and a JSON 1.1 body, as botocore's `logs`
//! model defines it, so `aws logs ...` and `boto3.client("logs")` work unchanged. Each
//! operation is a function of its JSON request to its JSON answer (`operations.rs`); the
//! members are read and rendered in `wire.rs`; every failure leaves as a
//! [`LogsApiError`].

mod operations;
mod wire;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, LogsApiError};
use crate::request::Region;
use crate::AppState;

/// The target prefix of every CloudWatch Logs operation.
const TARGET_PREFIX: &str = "Logs_20140328.";

/// `POST /`: a JSON-protocol request, dispatched on its target.
pub async fn dispatch(
    State(state): State<AppState>,
    region: Region,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(target) = headers.get("x-amz-target").and_then(|t| t.to_str().ok()) else {
        // Not a JSON-protocol request: nothing is served at `/` otherwise.
        return ApiError::unknown_operation().into_response();
    };
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return LogsApiError::unknown_operation().into_response();
    };
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(value @ Value::Object(_)) => value,
            _ => return LogsApiError::serialization("The request body is not a JSON object").into_response(),
        }
    };
    let store = state.envs.log_store().clone();
    let context = operations::Context { store, region: region.0 };
    let operation = operation.to_owned();
    let answer = tokio::task::spawn_blocking(move || operations::run(&context, &operation, &request)).await;
    match answer {
        Ok(Ok(body)) => {
            let mut response = body.to_string().into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
            response
        }
        Ok(Err(error)) => error.into_response(),
        Err(join) => LogsApiError::internal(format!("the logs task failed: {join}")).into_response(),
    }
}
