//! GetAccountSettings.

use alcove_core::LIMITS;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::AppState;

pub async fn settings(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let usage = state.store.account_usage().await?;
    let limit = u64::from(state.account.concurrency_limit);
    Ok(Json(json!({
        "AccountLimit": {
            "TotalCodeSize": LIMITS.total_code_size,
            "CodeSizeUnzipped": LIMITS.code_size_unzipped,
            "CodeSizeZipped": LIMITS.code_size_zipped,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit.saturating_sub(usage.reserved_concurrency),
        },
        "AccountUsage": {
            "TotalCodeSize": usage.total_code_size,
            "FunctionCount": usage.function_count,
        },
    })))
}
