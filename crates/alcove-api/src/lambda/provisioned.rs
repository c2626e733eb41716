//! PutProvisionedConcurrencyConfig, GetProvisionedConcurrencyConfig,
//! DeleteProvisionedConcurrencyConfig and ListProvisionedConcurrencyConfigs.
//!
//! The configuration persists in the store; the environments are the manager's: each
//! change here is mirrored to it (and [`restore`] replays every configuration at start),
//! and the counts and status answered are read from it live. Lambda's checks and messages
//! follow its recorded answers; the refusal for `PER_TENANT` functions is worded by us
//! (AWS documents the rule, not the message).

use alcove_core::{
    AliasName, FunctionConfig, FunctionName, ProvisionedConcurrency, ProvisionedLimits, Qualifier, Version,
};
use alcove_envs::{InvokeTarget, ProvisionedStatus};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{function_not_found, unqualified};
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::{AccountConfig, AppState};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedQuery {
    qualifier: Option<String>,
    list: Option<String>,
    marker: Option<String>,
    max_items: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRequest {
    provisioned_concurrent_executions: Option<i64>,
}

/// `GetProvisionedConcurrencyConfigResponse` (and Put's, without `StatusReason`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    function_arn: Option<String>,
    requested_provisioned_concurrent_executions: u32,
    available_provisioned_concurrent_executions: usize,
    allocated_provisioned_concurrent_executions: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    last_modified: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDocument {
    provisioned_concurrency_configs: Vec<ConfigDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

fn not_configured() -> ApiError {
    ApiError {
        code: "ProvisionedConcurrencyConfigNotFoundException",
        ..ApiError::not_found("No Provisioned Concurrency Config found for this function")
    }
}

fn conflict(message: &str) -> ApiError {
    ApiError::from(alcove_core::Error::Conflict(message.to_owned()))
}

/// The qualifier of a provisioned concurrency config: a published version or an alias,
/// never `$LATEST` (`latest_message` is the operation's refusal for it).
fn qualifier(raw: Option<&str>, latest_message: &str) -> ApiResult<Qualifier> {
    let raw = raw.ok_or_else(|| {
        ApiError::invalid_parameter(
            "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null",
        )
    })?;
    match Qualifier::parse(raw)? {
        Qualifier::Latest => Err(ApiError::invalid_parameter(latest_message)),
        other => Ok(other),
    }
}

/// The configuration the qualifier designates now, or Lambda's not-found error for it.
async fn designated(
    state: &AppState,
    function: &FunctionName,
    qualifier: &Qualifier,
    region: &str,
) -> ApiResult<FunctionConfig> {
    if state.store.get_function(function, Version::Latest).await?.is_none() {
        return Err(function_not_found(function, region, None));
    }
    let version = match qualifier {
        Qualifier::Alias(alias) => match state.store.get_alias(function, alias).await? {
            Some(alias) => alias.version,
            None => {
                return Err(ApiError::not_found(format!(
                    "Cannot find alias arn: {}:{alias}",
                    function.arn(region)
                )))
            }
        },
        Qualifier::Version(n) => Version::Published(*n),
        Qualifier::Latest => Version::Latest,
        Qualifier::Unknown(_) => return Err(function_not_found(function, region, Some(qualifier))),
    };
    state
        .store
        .get_function(function, version)
        .await?
        .ok_or_else(|| function_not_found(function, region, Some(qualifier)))
}

fn document(state: &AppState, config: &ProvisionedConcurrency, arn: Option<String>) -> ConfigDocument {
    let live = state.envs.provisioned_state(&config.function, &config.qualifier);
    let (allocated, available, status) = match live {
        Some(live) => (live.allocated, live.available, live.status),
        None => (0, 0, ProvisionedStatus::InProgress),
    };
    ConfigDocument {
        function_arn: arn,
        requested_provisioned_concurrent_executions: config.requested,
        available_provisioned_concurrent_executions: available,
        allocated_provisioned_concurrent_executions: allocated,
        status: status.as_str(),
        status_reason: status.reason().map(str::to_owned),
        last_modified: config.last_modified.clone(),
    }
}

/// Tells the manager to keep `config`'s environments ready for what it designates now.
async fn mirror(state: &AppState, provisioned: &ProvisionedConcurrency, designated: FunctionConfig) {
    let task_root = match state.code.local_task_root(&designated.code.sha256_hex).await {
        Ok(task_root) => task_root,
        Err(e) => {
            tracing::error!(function = %designated.name, error = %e.chain(), "cannot fetch the code package to provision");
            return;
        }
    };
    let target = InvokeTarget { config: designated, task_root, tenant: None };
    state.envs.provision(&provisioned.qualifier, target, provisioned.requested as usize);
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

pub async fn put(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<ProvisionedQuery>,
    AwsJson(request): AwsJson<PutRequest>,
) -> ApiResult<(StatusCode, Json<ConfigDocument>)> {
    let function = unqualified(&function, &region)?;
    let requested = request.provisioned_concurrent_executions.ok_or_else(|| {
        ApiError::invalid_parameter(
            "1 validation error detected: Value null at 'provisionedConcurrentExecutions' failed to satisfy \
             constraint: Member must not be null",
        )
    })?;
    let requested = u32::try_from(requested).ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value '{requested}' at 'provisionedConcurrentExecutions' failed to \
             satisfy constraint: Member must have value greater than or equal to 1"
        ))
    })?;
    let qualifier = qualifier(
        query.qualifier.as_deref(),
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
    )?;
    let target = designated(&state, &function, &qualifier, &region).await?;
    if let Some(mode) = target.tenancy {
        return Err(ApiError::invalid_parameter(format!(
            "Provisioned concurrency is not supported for functions with tenant isolation mode {}.",
            mode.as_str()
        )));
    }
    // One configuration per version: an alias may not provision a version that is
    // provisioned already, directly or through another alias.
    let name = qualifier.to_string();
    for other in state.store.list_provisioned_concurrency(Some(&function)).await? {
        if other.qualifier == name {
            continue;
        }
        let other_qualifier = Qualifier::parse(&other.qualifier)?;
        let Ok(other_target) = designated(&state, &function, &other_qualifier, &region).await else {
            continue;
        };
        if other_target.version == target.version {
            return Err(conflict(match qualifier {
                Qualifier::Alias(_) => {
                    "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version"
                }
                _ => "Version is pointed by a Provisioned Concurrency alias",
            }));
        }
    }
    let limits = ProvisionedLimits {
        account_concurrency: u64::from(state.account.concurrency_limit),
        unreserved_minimum: u64::from(AccountConfig::UNRESERVED_MINIMUM),
    };
    let config = ProvisionedConcurrency { function, qualifier: name, requested, last_modified: now() };
    let stored = state.store.put_provisioned_concurrency(config, limits).await?;
    mirror(&state, &stored, target).await;
    tracing::info!(function = %stored.function, qualifier = %stored.qualifier, requested, "provisioned concurrency set");
    let mut answer = document(&state, &stored, None);
    // Put answers before any environment has started, as Lambda does.
    answer.status_reason = None;
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<ProvisionedQuery>,
) -> ApiResult<Response> {
    let function = unqualified(&function, &region)?;
    if query.list.is_some() {
        return list(&state, &function, &query, &region).await.map(IntoResponse::into_response);
    }
    let qualifier = qualifier(
        query.qualifier.as_deref(),
        "The function resource provided must be an alias or a published version.",
    )?;
    designated(&state, &function, &qualifier, &region).await?;
    let config = state
        .store
        .get_provisioned_concurrency(&function, &qualifier.to_string())
        .await?
        .ok_or_else(not_configured)?;
    Ok(Json(document(&state, &config, None)).into_response())
}

async fn list(
    state: &AppState,
    function: &FunctionName,
    query: &ProvisionedQuery,
    region: &str,
) -> ApiResult<Json<ListDocument>> {
    let limit = match query.max_items.as_deref() {
        None => 50,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=50).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy constraint: \
                         Member must have value less than or equal to 50"
                )))
            }
        },
    };
    if state.store.get_function(function, Version::Latest).await?.is_none() {
        return Err(function_not_found(function, region, None));
    }
    let all = state.store.list_provisioned_concurrency(Some(function)).await?;
    let start =
        query.marker.as_ref().map_or(0, |m| all.iter().position(|c| c.qualifier > *m).unwrap_or(all.len()));
    let page: Vec<&ProvisionedConcurrency> = all[start..].iter().take(limit).collect();
    let next_marker =
        (start + page.len() < all.len()).then(|| page.last().map(|c| c.qualifier.clone())).flatten();
    let configs = page
        .into_iter()
        .map(|c| document(state, c, Some(format!("{}:{}", function.arn(region), c.qualifier))))
        .collect();
    Ok(Json(ListDocument { provisioned_concurrency_configs: configs, next_marker }))
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    Query(query): Query<ProvisionedQuery>,
) -> ApiResult<StatusCode> {
    let function = unqualified(&function, &region)?;
    let qualifier = qualifier(
        query.qualifier.as_deref(),
        "The function resource provided must be an alias or a published version.",
    )?;
    designated(&state, &function, &qualifier, &region).await?;
    // Deleting a configuration that does not exist succeeds, as in Lambda.
    state.store.delete_provisioned_concurrency(&function, &qualifier.to_string()).await?;
    state.envs.unprovision(&function, &qualifier.to_string());
    Ok(StatusCode::NO_CONTENT)
}

/// After an alias changed or went away: its provisioned environments follow it.
pub(crate) async fn alias_changed(state: &AppState, function: &FunctionName, alias: &AliasName) {
    let name = alias.to_string();
    match state.store.get_provisioned_concurrency(function, &name).await {
        Ok(Some(config)) => {
            let qualifier = Qualifier::Alias(alias.clone());
            match designated(state, function, &qualifier, "").await {
                Ok(target) => mirror(state, &config, target).await,
                Err(_) => state.envs.unprovision(function, &name),
            }
        }
        Ok(None) => state.envs.unprovision(function, &name),
        Err(e) => tracing::warn!(error = %e.chain(), "reading provisioned concurrency"),
    }
}

/// Replays every stored configuration to the manager, at start.
pub async fn restore(state: &AppState) -> alcove_core::Result<()> {
    for config in state.store.list_provisioned_concurrency(None).await? {
        let Ok(qualifier) = Qualifier::parse(&config.qualifier) else { continue };
        match designated(state, &config.function, &qualifier, "").await {
            Ok(target) if target.tenancy.is_none() => mirror(state, &config, target).await,
            _ => tracing::warn!(function = %config.function, qualifier = %config.qualifier,
                "provisioned concurrency designates nothing runnable; skipped"),
        }
    }
    Ok(())
}
