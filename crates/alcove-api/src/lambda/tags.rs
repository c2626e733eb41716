//! TagResource, UntagResource and ListTags. Tags belong to the function, not a version;
//! a change to `alcove:network` retires the function's environments so the next invoke
//! starts with the new network setting.

use alcove_core::{FunctionName, Tags, NETWORK_TAG};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{unqualified, with_function_not_found};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    pub tags: Option<Tags>,
}

/// `ListTags`' answer: every tag, `{}` when there are none.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsResponse {
    pub tags: Tags,
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    Path(resource): Path<String>,
) -> ApiResult<Json<ListTagsResponse>> {
    let name = unqualified(&resource, &region)?;
    let config = state
        .store
        .get_function(&name, alcove_core::Version::Latest)
        .await?
        .ok_or_else(|| super::function_not_found(&name, &region, None))?;
    Ok(Json(ListTagsResponse { tags: config.tags }))
}

pub async fn tag(
    State(state): State<AppState>,
    Region(region): Region,
    Path(resource): Path<String>,
    AwsJson(request): AwsJson<TagResourceRequest>,
) -> ApiResult<StatusCode> {
    let name = unqualified(&resource, &region)?;
    let tags = request.tags.ok_or_else(|| ApiError::invalid_parameter("Tags is a required parameter."))?;
    let network_changes = tags.contains_key(NETWORK_TAG);
    let before = current_network_tag(&state, &name, &region).await?;
    let after = state
        .store
        .tag_function(&name, tags)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    retire_if_network_changed(&state, &name, network_changes.then_some(before), &after);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn untag(
    State(state): State<AppState>,
    Region(region): Region,
    Path(resource): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    let name = unqualified(&resource, &region)?;
    let keys: Vec<String> = query.into_iter().filter(|(k, _)| k == "tagKeys").map(|(_, v)| v).collect();
    if keys.is_empty() {
        return Err(ApiError::invalid_parameter("TagKeys is a required parameter."));
    }
    let network_changes = keys.iter().any(|k| k == NETWORK_TAG);
    let before = current_network_tag(&state, &name, &region).await?;
    let after = state
        .store
        .untag_function(&name, keys)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    retire_if_network_changed(&state, &name, network_changes.then_some(before), &after);
    Ok(StatusCode::NO_CONTENT)
}

async fn current_network_tag(
    state: &AppState,
    name: &FunctionName,
    region: &str,
) -> ApiResult<Option<String>> {
    let config = state
        .store
        .get_function(name, alcove_core::Version::Latest)
        .await?
        .ok_or_else(|| super::function_not_found(name, region, None))?;
    Ok(config.tags.get(NETWORK_TAG).cloned())
}

fn retire_if_network_changed(
    state: &AppState,
    name: &FunctionName,
    before: Option<Option<String>>,
    after: &Tags,
) {
    if let Some(before) = before {
        if before.as_ref() != after.get(NETWORK_TAG) {
            state.envs.retire(name, None);
            tracing::info!(function = %name, network = ?after.get(NETWORK_TAG), "network setting changed; environments retired");
        }
    }
}
