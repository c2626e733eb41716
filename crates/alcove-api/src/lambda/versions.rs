//! PublishVersion and ListVersionsByFunction.

use alcove_core::PublishRequest;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use super::{page_size, unqualified, with_function_not_found};
use crate::error::ApiResult;
use crate::request::{AwsJson, Region};
use crate::wire::{
    function_configuration, FunctionConfiguration, ListQuery, ListVersionsResponse, PublishVersionRequest,
};
use crate::AppState;

pub async fn publish(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<PublishVersionRequest>,
) -> ApiResult<(StatusCode, Json<FunctionConfiguration>)> {
    let name = unqualified(&function, &region)?;
    let request = PublishRequest {
        description: request.description,
        expected_code_sha256: request.code_sha256,
        expected_revision: request.revision_id,
        refuse_busy_as: Some(name.arn(&region)),
    };
    let version = state
        .store
        .publish_version(&name, request)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    super::transitions::settle_soon(&state, &version).await;
    tracing::info!(function = %name, version = %version.version, "version published");
    Ok((StatusCode::CREATED, Json(function_configuration(&version, &region))))
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ListVersionsResponse>> {
    let name = unqualified(&function, &region)?;
    let limit = page_size(query.max_items.as_deref())?;
    let page = state
        .store
        .list_versions(&name, query.marker, limit)
        .await
        .map_err(|e| with_function_not_found(e, &name, &region))?;
    let versions = page
        .items
        .iter()
        .map(|config| FunctionConfiguration {
            // In a version listing, `$LATEST` carries its qualifier in the ARN too.
            function_arn: config.qualified_arn(&region),
            ..function_configuration(config, &region)
        })
        .collect();
    Ok(Json(ListVersionsResponse { versions, next_marker: page.next_marker }))
}
