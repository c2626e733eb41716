//! PutFunctionRecursionConfig and GetFunctionRecursionConfig. The setting is stored and
//! returned (`Terminate` until set); Alcove has no event sources through which a function
//! could call itself in a loop, so there is nothing yet for it to stop.

use alcove_core::RecursiveLoop;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{unqualified, with_function_not_found};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecursionRequest {
    pub recursive_loop: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecursionConfigDocument {
    recursive_loop: RecursiveLoop,
}

pub async fn put(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<PutRecursionRequest>,
) -> ApiResult<Json<RecursionConfigDocument>> {
    let name = unqualified(&function, &region)?;
    let raw = request.recursive_loop.ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: \
             Member must not be null",
        )
    })?;
    let setting = RecursiveLoop::parse(&raw).map_err(|e| ApiError::validation(e.to_string()))?;
    state
        .store
        .put_recursion_config(&name, setting)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    Ok(Json(RecursionConfigDocument { recursive_loop: setting }))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<Json<RecursionConfigDocument>> {
    let name = unqualified(&function, &region)?;
    if state.store.get_function(&name, alcove_core::Version::Latest).await?.is_none() {
        return Err(super::function_not_found(&name, &region, None));
    }
    let setting = state.store.recursion_config(&name).await?.unwrap_or_default();
    Ok(Json(RecursionConfigDocument { recursive_loop: setting }))
}
