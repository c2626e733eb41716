//! The Query protocol (form-encoded `Action=...` requests, XML answers) of CloudFormation
//! and STS.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use crate::service::Service;
use crate::AppState;

/// Serves one Query-protocol request for `service` (`None`: unsigned, picked by `Action`).
pub async fn serve(_state: AppState, _service: Option<Service>, _request: Request) -> Response {
    crate::error::ApiError::unknown_operation().into_response()
}
