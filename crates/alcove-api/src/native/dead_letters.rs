//! `GET /alcove/v1/dead-letters[?function=F&limit=N]`: async events that failed for good
//! with no on-failure destination, newest first, each with Lambda's invocation record.

use alcove_core::FunctionName;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct DeadLettersQuery {
    pub function: Option<String>,
    pub limit: Option<usize>,
}

/// The answer: `{"DeadLetters": [...]}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLettersResponse {
    pub dead_letters: Vec<DeadLetterDocument>,
}

/// One dead letter. `TenantId` is `null` for a function without tenant isolation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterDocument {
    pub id: String,
    pub function_name: String,
    pub qualifier: Option<String>,
    pub tenant_id: Option<String>,
    /// RFC 3339.
    pub failed_at: Option<String>,
    /// Lambda's invocation record, as the async worker wrote it.
    pub record: Value,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<DeadLettersQuery>,
) -> ApiResult<Json<DeadLettersResponse>> {
    let function = query.function.as_deref().map(FunctionName::parse).transpose()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid_parameter("limit must be between 1 and 10000."));
    }
    let letters = state.store.list_dead_letters(function, limit).await?;
    let dead_letters = letters
        .into_iter()
        .map(|letter| DeadLetterDocument {
            id: letter.id,
            function_name: letter.function.as_str().to_owned(),
            qualifier: letter.qualifier,
            tenant_id: letter.tenant.map(|t| t.as_str().to_owned()),
            failed_at: chrono::DateTime::from_timestamp_millis(letter.failed_ms).map(|t| t.to_rfc3339()),
            record: letter.record,
        })
        .collect();
    Ok(Json(DeadLettersResponse { dead_letters }))
}
