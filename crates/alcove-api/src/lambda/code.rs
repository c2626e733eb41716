//! Downloads of stored code packages: what `GetFunction`'s `Code.Location` points at.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let not_found = || ApiError::not_found(format!("No code package {file}"));
    let digest = file.strip_suffix(".zip").ok_or_else(not_found)?.to_owned();
    let bytes = state
        .code
        .read_zip_anywhere(&digest)
        .await
        .map_err(|e| ApiError::service(format!("code read failed: {}", e.chain())))?
        .ok_or_else(not_found)?;
    Ok(([(header::CONTENT_TYPE, "application/zip")], bytes))
}
