//! Code signing configurations: Create/Get/Update/Delete/ListCodeSigningConfigs,
//! Put/Get/DeleteFunctionCodeSigningConfig and ListFunctionsByCodeSigningConfig.
//!
//! Configurations are stored, returned and linked to functions as on AWS (ids and ARNs as
//! AWS mints them; a configuration in use cannot be deleted), but signatures are not
//! verified: deployments are accepted whatever the policy says (see docs/API.md).

use std::collections::BTreeMap;

use alcove_core::{CodeSigningConfig, FunctionName, UntrustedArtifactPolicy};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{page_size, unqualified, with_function_not_found};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::AppState;

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct AllowedPublishers {
    pub signing_profile_version_arns: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSigningPolicies {
    pub untrusted_artifact_on_deployment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSigningConfigRequest {
    pub description: Option<String>,
    pub allowed_publishers: Option<AllowedPublishers>,
    pub code_signing_policies: Option<CodeSigningPolicies>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSigningConfigDocument {
    code_signing_config_id: String,
    code_signing_config_arn: String,
    description: String,
    allowed_publishers: PublishersDocument,
    code_signing_policies: PoliciesDocument,
    last_modified: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PublishersDocument {
    signing_profile_version_arns: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PoliciesDocument {
    untrusted_artifact_on_deployment: UntrustedArtifactPolicy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigResponse {
    code_signing_config: CodeSigningConfigDocument,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListConfigsResponse {
    code_signing_configs: Vec<CodeSigningConfigDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionsResponse {
    function_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionLinkRequest {
    pub code_signing_config_arn: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionLinkResponse {
    code_signing_config_arn: String,
    function_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQuery {
    pub marker: Option<String>,
    pub max_items: Option<String>,
}

fn document(config: &CodeSigningConfig, region: &str) -> CodeSigningConfigDocument {
    CodeSigningConfigDocument {
        code_signing_config_id: config.id.clone(),
        code_signing_config_arn: config.arn(region),
        description: config.description.clone(),
        allowed_publishers: PublishersDocument {
            signing_profile_version_arns: config.allowed_publishers.clone(),
        },
        code_signing_policies: PoliciesDocument {
            untrusted_artifact_on_deployment: config.untrusted_artifact_on_deployment,
        },
        last_modified: config.last_modified.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
    }
}

/// The id of a configuration ARN, or the model's pattern error.
pub(crate) fn id_of(arn: &str) -> ApiResult<&str> {
    CodeSigningConfig::id_of_arn(arn).ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'codeSigningConfigArn' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso(b?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:\
             code-signing-config:csc-[a-z0-9]{{17}}"
        ))
    })
}

fn not_found(arn: &str) -> ApiError {
    ApiError::not_found(format!("The Lambda code signing configuration {arn} can not be found."))
}

/// The error for a function naming a configuration that does not exist.
pub(crate) fn config_missing(arn: &str) -> ApiError {
    ApiError::code_signing_config_not_found(format!(
        "The code signing configuration cannot be found. Check that the provided configuration is not \
         deleted: {arn}."
    ))
}

fn validated(config: CodeSigningConfig) -> ApiResult<CodeSigningConfig> {
    config.validate().map_err(|e| ApiError::validation(e.to_string()))?;
    Ok(config)
}

fn policy(policies: Option<CodeSigningPolicies>) -> ApiResult<Option<UntrustedArtifactPolicy>> {
    policies
        .and_then(|p| p.untrusted_artifact_on_deployment)
        .map(|raw| UntrustedArtifactPolicy::parse(&raw).map_err(|e| ApiError::validation(e.to_string())))
        .transpose()
}

pub async fn create(
    State(state): State<AppState>,
    Region(region): Region,
    AwsJson(request): AwsJson<CodeSigningConfigRequest>,
) -> ApiResult<(StatusCode, Json<ConfigResponse>)> {
    if request.tags.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(ApiError::invalid_parameter(
            "Tags on code signing configurations are not supported by this server.",
        ));
    }
    let publishers = request.allowed_publishers.ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'allowedPublishers' failed to satisfy constraint: \
             Member must not be null",
        )
    })?;
    let config = validated(CodeSigningConfig {
        id: CodeSigningConfig::new_id(),
        description: request.description.unwrap_or_default(),
        allowed_publishers: publishers.signing_profile_version_arns.unwrap_or_default(),
        untrusted_artifact_on_deployment: policy(request.code_signing_policies)?.unwrap_or_default(),
        last_modified: chrono::Utc::now(),
    })?;
    state.store.create_code_signing_config(config.clone()).await?;
    Ok((StatusCode::CREATED, Json(ConfigResponse { code_signing_config: document(&config, &region) })))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(arn): Path<String>,
) -> ApiResult<Json<ConfigResponse>> {
    let config = state.store.code_signing_config(id_of(&arn)?).await?.ok_or_else(|| not_found(&arn))?;
    Ok(Json(ConfigResponse { code_signing_config: document(&config, &region) }))
}

pub async fn update(
    State(state): State<AppState>,
    Region(region): Region,
    Path(arn): Path<String>,
    AwsJson(request): AwsJson<CodeSigningConfigRequest>,
) -> ApiResult<Json<ConfigResponse>> {
    let id = id_of(&arn)?;
    let mut config = state.store.code_signing_config(id).await?.ok_or_else(|| not_found(&arn))?;
    if let Some(description) = request.description {
        config.description = description;
    }
    if let Some(publishers) = request.allowed_publishers {
        config.allowed_publishers = publishers.signing_profile_version_arns.unwrap_or_default();
    }
    if let Some(policy) = policy(request.code_signing_policies)? {
        config.untrusted_artifact_on_deployment = policy;
    }
    config.last_modified = chrono::Utc::now();
    let config = validated(config)?;
    state.store.update_code_signing_config(config.clone()).await.map_err(|e| match e {
        alcove_core::Error::NotFound(_) => not_found(&arn),
        other => other.into(),
    })?;
    Ok(Json(ConfigResponse { code_signing_config: document(&config, &region) }))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path(arn): Path<String>,
) -> ApiResult<StatusCode> {
    let deleted = state.store.delete_code_signing_config(id_of(&arn)?).await.map_err(|e| match e {
        // The wording is ours: AWS's documentation says only that a configuration in use
        // cannot be deleted.
        alcove_core::Error::Conflict(users) => {
            let arns: Vec<String> = users
                .split(", ")
                .filter_map(|n| FunctionName::parse(n).ok())
                .map(|n| n.arn(&region))
                .collect();
            ApiError::conflict(format!(
                "The code signing configuration {arn} cannot be deleted because it is used by the following \
                 functions: [{}]",
                arns.join(", ")
            ))
        }
        other => other.into(),
    })?;
    if !deleted {
        return Err(not_found(&arn));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ListConfigsResponse>> {
    let limit = page_size(query.max_items.as_deref())?;
    let page = state.store.list_code_signing_configs(query.marker, limit).await?;
    Ok(Json(ListConfigsResponse {
        code_signing_configs: page.items.iter().map(|c| document(c, &region)).collect(),
        next_marker: page.next_marker,
    }))
}

pub async fn list_functions(
    State(state): State<AppState>,
    Region(region): Region,
    Path(arn): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ListFunctionsResponse>> {
    let id = id_of(&arn)?;
    let limit = page_size(query.max_items.as_deref())?;
    if state.store.code_signing_config(id).await?.is_none() {
        return Err(not_found(&arn));
    }
    let page = state.store.functions_by_code_signing(id, query.marker, limit).await?;
    Ok(Json(ListFunctionsResponse {
        function_arns: page.items.iter().map(|n| n.arn(&region)).collect(),
        next_marker: page.next_marker,
    }))
}

/// Links a function to a configuration, with AWS's errors for a missing one of either.
pub(crate) async fn link(state: &AppState, name: &FunctionName, arn: &str, region: &str) -> ApiResult<()> {
    let id = id_of(arn)?;
    state.store.put_function_code_signing(name, id).await.map_err(|e| match e {
        alcove_core::Error::NotFound(m) if m.starts_with("code signing configuration") => config_missing(arn),
        other => with_function_not_found(other, name, region),
    })
}

pub async fn put_for_function(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<FunctionLinkRequest>,
) -> ApiResult<Json<FunctionLinkResponse>> {
    let name = unqualified(&function, &region)?;
    let arn = request.code_signing_config_arn.ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'codeSigningConfigArn' failed to satisfy \
             constraint: Member must not be null",
        )
    })?;
    link(&state, &name, &arn, &region).await?;
    Ok(Json(FunctionLinkResponse { code_signing_config_arn: arn, function_name: name.to_string() }))
}

pub async fn get_for_function(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<Json<FunctionLinkResponse>> {
    let name = unqualified(&function, &region)?;
    if state.store.get_function(&name, alcove_core::Version::Latest).await?.is_none() {
        return Err(super::function_not_found(&name, &region, None));
    }
    // A function without a configuration answers an empty ARN (inferred: the model makes
    // both members required, and Terraform's provider reads it so).
    let arn = match state.store.function_code_signing(&name).await? {
        Some(id) => match state.store.code_signing_config(&id).await? {
            Some(config) => config.arn(&region),
            None => String::new(),
        },
        None => String::new(),
    };
    Ok(Json(FunctionLinkResponse { code_signing_config_arn: arn, function_name: name.to_string() }))
}

pub async fn delete_for_function(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<StatusCode> {
    let name = unqualified(&function, &region)?;
    if state.store.get_function(&name, alcove_core::Version::Latest).await?.is_none() {
        return Err(super::function_not_found(&name, &region, None));
    }
    state.store.delete_function_code_signing(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
