//! CreateAlias, GetAlias, ListAliases, UpdateAlias and DeleteAlias.

use alcove_core::{Alias, AliasName, AliasPatch, FunctionConfig, FunctionName, Qualifier, Version};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use super::{function_not_found, page_size, unqualified};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::wire::{
    alias_configuration, AliasConfiguration, AliasRequest, ListAliasesResponse, ListQuery, RoutingConfigInput,
};
use crate::AppState;

/// `FunctionVersion` of an alias: `$LATEST` or a published version number.
fn target_version(raw: &str) -> ApiResult<Version> {
    match Qualifier::parse(raw) {
        Ok(Qualifier::Latest) => Ok(Version::Latest),
        Ok(Qualifier::Version(n)) => Ok(Version::Published(n)),
        _ => Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{raw}' at 'functionVersion' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)"
        ))),
    }
}

fn refuse_weighted_routing(routing: Option<&RoutingConfigInput>) -> ApiResult<()> {
    let weighted = routing.and_then(|r| r.additional_version_weights.as_ref()).is_some_and(|w| !w.is_empty());
    if weighted {
        return Err(ApiError::invalid_parameter(
            "RoutingConfig.AdditionalVersionWeights is not supported by this server yet.",
        ));
    }
    Ok(())
}

fn alias_not_found(function: &FunctionName, alias: &AliasName, region: &str) -> ApiError {
    ApiError::not_found(format!("Cannot find alias arn: {}:{alias}", function.arn(region)))
}

/// Store errors naming a missing version become Lambda's message with the full ARN.
fn missing_version(
    error: alcove_core::Error,
    function: &FunctionName,
    version: Option<Version>,
    region: &str,
) -> ApiError {
    match (error, version) {
        (alcove_core::Error::NotFound(_), Some(v)) => {
            ApiError::not_found(format!("Function not found: {}:{v}", function.arn(region)))
        }
        (alcove_core::Error::NotFound(_), None) => function_not_found(function, region, None),
        (other, _) => other.into(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<AliasRequest>,
) -> ApiResult<(StatusCode, Json<AliasConfiguration>)> {
    let function = unqualified(&function)?;
    let name = AliasName::parse(
        request
            .name
            .as_deref()
            .ok_or_else(|| ApiError::invalid_parameter("Name is a required parameter."))?,
    )?;
    let version = target_version(
        request
            .function_version
            .as_deref()
            .ok_or_else(|| ApiError::invalid_parameter("FunctionVersion is a required parameter."))?,
    )?;
    refuse_weighted_routing(request.routing_config.as_ref())?;
    let alias = Alias {
        function: function.clone(),
        name,
        version,
        description: request.description.unwrap_or_default(),
        revision_id: FunctionConfig::new_revision_id(),
    };
    let created = state.store.create_alias(alias).await.map_err(|e| match e {
        alcove_core::Error::Conflict(_) => alcove_core::Error::Conflict(format!(
            "Alias already exists: {}:{}",
            function.arn(&region),
            request.name.unwrap_or_default()
        ))
        .into(),
        other => missing_version(other, &function, Some(version), &region),
    })?;
    Ok((StatusCode::CREATED, Json(alias_configuration(&created, &region))))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, alias)): Path<(String, String)>,
) -> ApiResult<Json<AliasConfiguration>> {
    let function = unqualified(&function)?;
    let alias = AliasName::parse(&alias)?;
    let found = state
        .store
        .get_alias(&function, &alias)
        .await?
        .ok_or_else(|| alias_not_found(&function, &alias, &region))?;
    Ok(Json(alias_configuration(&found, &region)))
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ListAliasesResponse>> {
    let function = unqualified(&function)?;
    let limit = page_size(query.max_items.as_deref())?;
    let version = query.function_version.as_deref().map(target_version).transpose()?;
    let page = state
        .store
        .list_aliases(&function, version, query.marker, limit)
        .await
        .map_err(|e| missing_version(e, &function, None, &region))?;
    let aliases = page.items.iter().map(|a| alias_configuration(a, &region)).collect();
    Ok(Json(ListAliasesResponse { aliases, next_marker: page.next_marker }))
}

pub async fn update(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, alias)): Path<(String, String)>,
    AwsJson(request): AwsJson<AliasRequest>,
) -> ApiResult<Json<AliasConfiguration>> {
    let function = unqualified(&function)?;
    let alias = AliasName::parse(&alias)?;
    refuse_weighted_routing(request.routing_config.as_ref())?;
    let version = request.function_version.as_deref().map(target_version).transpose()?;
    let patch =
        AliasPatch { version, description: request.description, expected_revision: request.revision_id };
    let updated = state.store.update_alias(&function, &alias, patch).await.map_err(|e| match e {
        alcove_core::Error::NotFound(m) if m.starts_with("Alias") => {
            alias_not_found(&function, &alias, &region)
        }
        other => missing_version(other, &function, version, &region),
    })?;
    Ok(Json(alias_configuration(&updated, &region)))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, alias)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let function = unqualified(&function)?;
    let alias = AliasName::parse(&alias)?;
    state
        .store
        .delete_alias(&function, &alias)
        .await
        .map_err(|e| missing_version(e, &function, None, &region))?;
    Ok(StatusCode::NO_CONTENT)
}
