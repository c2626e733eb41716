//! `GET /alcove/v1/dead-letters[?function=F&limit=N]`: async events that failed for good
//! with no on-failure destination, newest first, each with Lambda's invocation record.

use alcove_core::FunctionName;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct DeadLettersQuery {
    pub function: Option<String>,
    pub limit: Option<usize>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<DeadLettersQuery>,
) -> ApiResult<Json<Value>> {
    let function = query.function.as_deref().map(FunctionName::parse).transpose()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid_parameter("limit must be between 1 and 10000."));
    }
    let letters = state.store.list_dead_letters(function, limit).await?;
    let letters: Vec<Value> = letters
        .into_iter()
        .map(|letter| {
            json!({
                "Id": letter.id,
                "FunctionName": letter.function.as_str(),
                "Qualifier": letter.qualifier,
                "TenantId": letter.tenant.as_ref().map(|t| t.as_str()),
                "FailedAt": chrono::DateTime::from_timestamp_millis(letter.failed_ms).map(|t| t.to_rfc3339()),
                "Record": letter.record,
            })
        })
        .collect();
    Ok(Json(json!({ "DeadLetters": letters })))
}
