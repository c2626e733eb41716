//! The S3 subset (REST-XML): buckets and objects for code packages and templates.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Serves one S3 request.
pub async fn serve(_state: AppState, _request: Request) -> Response {
    crate::error::ApiError::unknown_operation().into_response()
}
