//! PutFunctionConcurrency, GetFunctionConcurrency and DeleteFunctionConcurrency.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::{unqualified, with_function_not_found};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::wire::{ConcurrencyDocument, PutConcurrencyRequest};
use crate::AppState;

pub async fn put(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<PutConcurrencyRequest>,
) -> ApiResult<Json<ConcurrencyDocument>> {
    let name = unqualified(&function, &region)?;
    let requested = request.reserved_concurrent_executions.ok_or_else(|| {
        ApiError::invalid_parameter("ReservedConcurrentExecutions is a required parameter.")
    })?;
    let reserved = u32::try_from(requested).map_err(|_| {
        ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{requested}' at 'reservedConcurrentExecutions' \
             failed to satisfy constraint: Member must have value greater than or equal to 0"
        ))
    })?;
    let max_total = u64::from(state.account.max_total_reserved());
    state
        .store
        .put_concurrency(&name, reserved, max_total)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    state.envs.admission().set_reserved(&name, Some(reserved));
    tracing::info!(function = %name, reserved, "reserved concurrency set");
    Ok(Json(ConcurrencyDocument { reserved_concurrent_executions: Some(reserved) }))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<Json<ConcurrencyDocument>> {
    let name = unqualified(&function, &region)?;
    let reserved =
        state.store.get_concurrency(&name).await.map_err(|e| with_function_not_found(e, &name, &region))?;
    Ok(Json(ConcurrencyDocument { reserved_concurrent_executions: reserved }))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<StatusCode> {
    let name = unqualified(&function, &region)?;
    state.store.delete_concurrency(&name).await.map_err(|e| with_function_not_found(e, &name, &region))?;
    state.envs.admission().set_reserved(&name, None);
    Ok(StatusCode::NO_CONTENT)
}
