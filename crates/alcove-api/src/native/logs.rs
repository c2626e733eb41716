//! `GET /alcove/v1/functions/{function}/logs`: a function's log events across its
//! streams in time order, each with the tenant whose environment wrote it, optionally
//! only one tenant's (`?tenant=T`). The tenant is kept with each stream but is not on
//! CloudWatch's wire, so `alcove logs --tenant` reads here. Query: `tenant`,
//! `startTime`, `endTime` (ms), `filterPattern`, `limit`, `nextToken`. The answer's
//! `NextToken` is set while more events may match; `ResumeToken` is where to poll from
//! for events written later.

use alcove_core::{FunctionName, Version};
use alcove_logs::{FilterPattern, FilterQuery, StreamSelection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsQuery {
    tenant: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    limit: Option<usize>,
    next_token: Option<String>,
}

pub async fn events(
    State(state): State<AppState>,
    Path(function): Path<String>,
    Query(query): Query<LogsQuery>,
) -> ApiResult<Json<Value>> {
    let name = FunctionName::parse(&function)?;
    // A deleted function's logs stay, in the group its name gives by default.
    let group = match state.store.get_function(&name, Version::Latest).await? {
        Some(config) => config.log_group(),
        None => format!("/aws/lambda/{}", name.as_str()),
    };
    let pattern = FilterPattern::parse(query.filter_pattern.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
    let filter = FilterQuery {
        group: group.clone(),
        streams: StreamSelection::All,
        tenant: query.tenant,
        start_ms: query.start_time,
        end_ms: query.end_time,
        pattern,
        limit: query.limit.unwrap_or(10_000).clamp(1, 10_000),
        token: query.next_token,
    };
    let store = state.envs.log_store().clone();
    let page = tokio::task::spawn_blocking(move || store.filter_events(&filter))
        .await
        .map_err(|e| ApiError::internal(format!("the logs task failed: {e}")))??;
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|found| {
            json!({
                "LogStreamName": found.stream,
                "TenantId": found.tenant,
                "Timestamp": found.event.timestamp,
                "IngestionTime": found.event.ingestion_time,
                "Message": found.event.message,
            })
        })
        .collect();
    Ok(Json(json!({
        "LogGroupName": group,
        "Events": events,
        "NextToken": page.next_token,
        "ResumeToken": page.resume_token,
    })))
}
