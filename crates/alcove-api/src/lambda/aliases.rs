//! CreateAlias, GetAlias, ListAliases, UpdateAlias and DeleteAlias, with weighted routing
//! (`RoutingConfig`); an alias that moves also moves its provisioned concurrency.

use alcove_core::{
    AdditionalVersion, Alias, AliasName, AliasPatch, FunctionConfig, FunctionName, Qualifier, Version,
};
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

/// `RoutingConfig` checked as Lambda checks it (the order and messages of the checks
/// follow recorded AWS answers): at most one additional version, a weight in 0.0..=1.0,
/// not the alias's own version, a primary that is not `$LATEST`, a published version that
/// exists and runs with the same execution role and dead-letter target as the primary
/// (AWS's documented rule; that message is ours). `None`: no routing given; `Some(None)`:
/// routing removed (an empty map).
async fn routing(
    state: &AppState,
    function: &FunctionName,
    primary: Version,
    input: Option<&RoutingConfigInput>,
    region: &str,
) -> ApiResult<Option<Option<AdditionalVersion>>> {
    let Some(input) = input else { return Ok(None) };
    let weights = input.additional_version_weights.clone().unwrap_or_default();
    if weights.len() > 1 {
        return Err(ApiError::invalid_parameter(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    let Some((key, weight)) = weights.into_iter().next() else { return Ok(Some(None)) };
    if !(0.0..=1.0).contains(&weight) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{{{key}={weight:?}}}' at 'routingConfig.additionalVersionWeights' \
             failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than \
             or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"
        )));
    }
    if key == primary.to_string() {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid function version {primary}. Function version {primary} is already included in routing \
             configuration."
        )));
    }
    if primary == Version::Latest {
        return Err(ApiError::invalid_parameter(
            "$LATEST is not supported for an alias pointing to more than 1 version",
        ));
    }
    let version = match key.parse::<u64>() {
        Ok(n) if key.len() <= 1024 && key.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{{{key}={weight:?}}}' at 'routingConfig.additionalVersionWeights' \
                 failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than \
                 or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular \
                 expression pattern: [0-9]+, Member must not be null]"
            )))
        }
    };
    let missing =
        |v: Version| ApiError::not_found(format!("Function not found: {}:{v}", function.arn(region)));
    let extra = state
        .store
        .get_function(function, Version::Published(version))
        .await?
        .ok_or_else(|| missing(Version::Published(version)))?;
    let main = state.store.get_function(function, primary).await?.ok_or_else(|| missing(primary))?;
    if extra.settings.role != main.settings.role
        || extra.settings.dead_letter_target != main.settings.dead_letter_target
    {
        return Err(ApiError::invalid_parameter(format!(
            "The function versions {primary} and {version} of an alias must have the same execution role and \
             dead-letter queue configuration."
        )));
    }
    Ok(Some(Some(AdditionalVersion { version, weight })))
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
    let function = unqualified(&function, &region)?;
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
    let routing = routing(&state, &function, version, request.routing_config.as_ref(), &region).await?;
    let alias = Alias {
        function: function.clone(),
        name,
        version,
        description: request.description.unwrap_or_default(),
        revision_id: FunctionConfig::new_revision_id(),
        routing: routing.flatten(),
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
    let function = unqualified(&function, &region)?;
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
    let function = unqualified(&function, &region)?;
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
    let function = unqualified(&function, &region)?;
    let alias = AliasName::parse(&alias)?;
    let version = request.function_version.as_deref().map(target_version).transpose()?;
    let routing = match (&request.routing_config, version) {
        (None, _) => None,
        (Some(input), Some(primary)) => routing(&state, &function, primary, Some(input), &region).await?,
        (Some(input), None) => {
            let current = state
                .store
                .get_alias(&function, &alias)
                .await?
                .ok_or_else(|| alias_not_found(&function, &alias, &region))?;
            routing(&state, &function, current.version, Some(input), &region).await?
        }
    };
    let patch = AliasPatch {
        version,
        description: request.description,
        expected_revision: request.revision_id,
        routing,
    };
    let updated = state.store.update_alias(&function, &alias, patch).await.map_err(|e| match e {
        alcove_core::Error::NotFound(m) if m.starts_with("Alias") => {
            alias_not_found(&function, &alias, &region)
        }
        other => missing_version(other, &function, version, &region),
    })?;
    super::provisioned::alias_changed(&state, &function, &alias).await;
    Ok(Json(alias_configuration(&updated, &region)))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, alias)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let function = unqualified(&function, &region)?;
    let alias = AliasName::parse(&alias)?;
    state
        .store
        .delete_alias(&function, &alias)
        .await
        .map_err(|e| missing_version(e, &function, None, &region))?;
    super::provisioned::alias_changed(&state, &function, &alias).await;
    Ok(StatusCode::NO_CONTENT)
}
