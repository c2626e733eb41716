//! `POST /` with an `X-Amz-Target`: the JSON 1.1 protocol, shared by CloudWatch Logs
//! (`Logs_20140328.<Operation>`) and SSM (`AmazonSSM.<Operation>`). The target's prefix
//! names the service; the body is read and the answer written here, once for both.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, Json11Error};
use crate::request::Region;
use crate::{logs, ssm, AppState};

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
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(value @ Value::Object(_)) => value,
            _ => return Json11Error::serialization("The request body is not a JSON object").into_response(),
        }
    };
    let answer = if let Some(operation) = target.strip_prefix(logs::TARGET_PREFIX) {
        logs::run(&state, region.0, operation.to_owned(), request).await
    } else if let Some(operation) = target.strip_prefix(ssm::TARGET_PREFIX) {
        ssm::run(&state, region.0, operation.to_owned(), request).await
    } else {
        Err(Json11Error::unknown_operation())
    };
    match answer {
        Ok(body) => {
            let mut response = body.to_string().into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
            response
        }
        Err(error) => error.into_response(),
    }
}
