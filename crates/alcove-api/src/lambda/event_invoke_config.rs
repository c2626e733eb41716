//! Put/Update/Get/Delete/ListFunctionEventInvokeConfigs: retries, maximum event age and
//! destinations of asynchronous invocations, per qualifier (`$LATEST` when none).

use alcove_core::event_config::{destination_function, validate_event_age, validate_retry_attempts};
use alcove_core::{EventInvokeConfig, FunctionName, FunctionRef};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{page_size, qualified_target, resolve, unqualified, with_function_not_found, QualifiedTarget};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::wire::QualifierQuery;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigRequest {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfigInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfigInput {
    pub on_success: Option<DestinationInput>,
    pub on_failure: Option<DestinationInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationInput {
    pub destination: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListConfigsQuery {
    pub marker: Option<String>,
    pub max_items: Option<String>,
}

/// `FunctionEventInvokeConfig`: the members set, and the destinations (an empty
/// `DestinationConfig` when there are none).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigDocument {
    pub function_arn: String,
    /// Epoch seconds, with milliseconds.
    pub last_modified: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<u32>,
    pub destination_config: DestinationConfigDocument,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfigDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_success: Option<DestinationDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<DestinationDocument>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationDocument {
    pub destination: String,
}

/// `ListFunctionEventInvokeConfigs`' answer; `NextMarker` only when more follow.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventInvokeConfigsResponse {
    pub function_event_invoke_configs: Vec<EventInvokeConfigDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

fn document(
    name: &FunctionName,
    qualifier: &str,
    config: &EventInvokeConfig,
    region: &str,
) -> EventInvokeConfigDocument {
    let destination =
        |arn: &Option<String>| arn.clone().map(|destination| DestinationDocument { destination });
    EventInvokeConfigDocument {
        function_arn: format!("{}:{qualifier}", name.arn(region)),
        last_modified: config.last_modified.timestamp_millis() as f64 / 1000.0,
        maximum_retry_attempts: config.maximum_retry_attempts,
        maximum_event_age_in_seconds: config.maximum_event_age_secs,
        destination_config: DestinationConfigDocument {
            on_success: destination(&config.on_success),
            on_failure: destination(&config.on_failure),
        },
    }
}

/// Applies `request` to `base` (Put starts from nothing, Update from what is stored).
fn apply(base: Option<EventInvokeConfig>, request: EventInvokeConfigRequest) -> ApiResult<EventInvokeConfig> {
    let mut config = base.unwrap_or(EventInvokeConfig {
        maximum_retry_attempts: None,
        maximum_event_age_secs: None,
        on_success: None,
        on_failure: None,
        last_modified: chrono::Utc::now(),
    });
    if let Some(n) = request.maximum_retry_attempts {
        config.maximum_retry_attempts = Some(validate_retry_attempts(n)?);
    }
    if let Some(n) = request.maximum_event_age_in_seconds {
        config.maximum_event_age_secs = Some(validate_event_age(n)?);
    }
    if let Some(destinations) = request.destination_config {
        let check = |input: Option<DestinationInput>| -> ApiResult<Option<String>> {
            match input.and_then(|d| d.destination) {
                None => Ok(None),
                Some(arn) => {
                    destination_function(&arn)?;
                    Ok(Some(arn))
                }
            }
        };
        if let Some(arn) = check(destinations.on_success)? {
            config.on_success = Some(arn);
        }
        if let Some(arn) = check(destinations.on_failure)? {
            config.on_failure = Some(arn);
        }
    }
    config.last_modified = chrono::Utc::now();
    Ok(config)
}

fn none_configured(name: &FunctionName, qualifier: &str, region: &str) -> ApiError {
    ApiError::not_found(format!(
        "The function {}:{qualifier} doesn't have an EventInvokeConfig",
        name.arn(region)
    ))
}

/// Put (`merge` false: the request replaces what is stored) and Update (`merge` true).
async fn save(
    state: &AppState,
    region: &str,
    function: &str,
    qualifier: Option<&str>,
    request: EventInvokeConfigRequest,
    merge: bool,
) -> ApiResult<Json<EventInvokeConfigDocument>> {
    let QualifiedTarget { config: target, qualifier, .. } =
        qualified_target(state, function, qualifier, region).await?;
    let name = target.name;
    let current = if merge { state.store.get_event_invoke_config(&name, &qualifier).await? } else { None };
    let config = apply(current, request)?;
    state
        .store
        .put_event_invoke_config(&name, &qualifier, config.clone())
        .await
        .map_err(|e| with_function_not_found(e, &name, region))?;
    Ok(Json(document(&name, &qualifier, &config, region)))
}

pub async fn put(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    AwsJson(request): AwsJson<EventInvokeConfigRequest>,
) -> ApiResult<Json<EventInvokeConfigDocument>> {
    save(&state, &region, &function, query.qualifier.as_deref(), request, false).await
}

pub async fn update(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    AwsJson(request): AwsJson<EventInvokeConfigRequest>,
) -> ApiResult<Json<EventInvokeConfigDocument>> {
    save(&state, &region, &function, query.qualifier.as_deref(), request, true).await
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<EventInvokeConfigDocument>> {
    let QualifiedTarget { config: target, qualifier, .. } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    let name = target.name;
    let config = state
        .store
        .get_event_invoke_config(&name, &qualifier)
        .await?
        .ok_or_else(|| none_configured(&name, &qualifier, &region))?;
    Ok(Json(document(&name, &qualifier, &config, &region)))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<StatusCode> {
    let QualifiedTarget { config: target, qualifier, .. } =
        qualified_target(&state, &function, query.qualifier.as_deref(), &region).await?;
    let name = target.name;
    if !state.store.delete_event_invoke_config(&name, &qualifier).await? {
        return Err(none_configured(&name, &qualifier, &region));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<ListConfigsQuery>,
) -> ApiResult<Json<ListEventInvokeConfigsResponse>> {
    let name = unqualified(&function, &region)?;
    resolve(&state, &FunctionRef::parse(name.as_str())?, &region).await?;
    let limit = page_size(query.max_items.as_deref())?;
    let all = state.store.list_event_invoke_configs(&name).await?;
    let after: Vec<&(String, EventInvokeConfig)> =
        all.iter().filter(|(q, _)| query.marker.as_ref().is_none_or(|m| q.as_str() > m.as_str())).collect();
    let next_marker = (after.len() > limit).then(|| after[limit - 1].0.clone());
    let function_event_invoke_configs =
        after.iter().take(limit).map(|(q, c)| document(&name, q, c, &region)).collect();
    Ok(Json(ListEventInvokeConfigsResponse { function_event_invoke_configs, next_marker }))
}
