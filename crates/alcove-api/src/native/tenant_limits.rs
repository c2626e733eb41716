//! Per-tenant concurrency limits of a PER_TENANT function: a default for every tenant and
//! overrides per tenant id. Stored, then handed to the admission controller.
//!
//! `GET/PUT/DELETE /alcove/v1/functions/{function}/tenant-limits`
//! `{"DefaultMaxConcurrency": 5, "Tenants": {"BlueTenant": 20}}` (PUT replaces both);
//! `PUT/DELETE /alcove/v1/functions/{function}/tenants/{tenant}/limits`
//! `{"MaxConcurrency": 20}` sets or removes one tenant's override.

use std::collections::BTreeMap;

use alcove_core::{FunctionName, TenantId, TenantLimits, Version};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::lambda::{unqualified, with_function_not_found};
use crate::request::{AwsJson, Region};
use crate::AppState;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantLimitsDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_max_concurrency: Option<i64>,
    #[serde(default)]
    pub tenants: BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantLimitDocument {
    pub max_concurrency: Option<i64>,
}

fn document(limits: &TenantLimits) -> TenantLimitsDocument {
    TenantLimitsDocument {
        default_max_concurrency: limits.default.map(i64::from),
        tenants: limits.overrides.iter().map(|(t, n)| (t.to_string(), i64::from(*n))).collect(),
    }
}

/// The function, which must exist and isolate tenants.
async fn per_tenant_function(state: &AppState, raw: &str, region: &str) -> ApiResult<FunctionName> {
    let name = unqualified(raw, region)?;
    let config = state
        .store
        .get_function(&name, Version::Latest)
        .await?
        .ok_or_else(|| crate::lambda::function_not_found(&name, region, None))?;
    if config.tenancy.is_none() {
        return Err(ApiError::invalid_parameter(format!(
            "The function {} does not use tenant isolation: per-tenant limits apply only to PER_TENANT functions.",
            name.arn(region)
        )));
    }
    Ok(name)
}

async fn current(state: &AppState, name: &FunctionName, region: &str) -> ApiResult<TenantLimits> {
    Ok(state
        .store
        .get_tenant_limits(name)
        .await
        .map_err(|e| with_function_not_found(e, name, region))?
        .unwrap_or_default())
}

async fn save(
    state: &AppState,
    name: &FunctionName,
    region: &str,
    limits: TenantLimits,
) -> ApiResult<Json<TenantLimitsDocument>> {
    state
        .store
        .put_tenant_limits(name, limits.clone())
        .await
        .map_err(|e| with_function_not_found(e, name, region))?;
    state.envs.admission().set_tenant_limits(name, limits.clone());
    tracing::info!(function = %name, default = ?limits.default, overrides = limits.overrides.len(), "tenant limits set");
    Ok(Json(document(&limits)))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<Json<TenantLimitsDocument>> {
    let name = per_tenant_function(&state, &function, &region).await?;
    Ok(Json(document(&current(&state, &name, &region).await?)))
}

pub async fn put(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
    AwsJson(request): AwsJson<TenantLimitsDocument>,
) -> ApiResult<Json<TenantLimitsDocument>> {
    let name = per_tenant_function(&state, &function, &region).await?;
    let default = request.default_max_concurrency.map(TenantLimits::validate_limit).transpose()?;
    let overrides = request
        .tenants
        .iter()
        .map(|(tenant, n)| Ok((TenantId::parse(tenant)?, TenantLimits::validate_limit(*n)?)))
        .collect::<alcove_core::Result<_>>()?;
    save(&state, &name, &region, TenantLimits { default, overrides }).await
}

pub async fn delete(
    State(state): State<AppState>,
    Region(region): Region,
    Path(function): Path<String>,
) -> ApiResult<StatusCode> {
    let name = per_tenant_function(&state, &function, &region).await?;
    let _saved = save(&state, &name, &region, TenantLimits::default()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn put_tenant(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, tenant)): Path<(String, String)>,
    AwsJson(request): AwsJson<TenantLimitDocument>,
) -> ApiResult<Json<TenantLimitsDocument>> {
    let name = per_tenant_function(&state, &function, &region).await?;
    let tenant = TenantId::parse(&tenant)?;
    let limit = request
        .max_concurrency
        .ok_or_else(|| ApiError::invalid_parameter("MaxConcurrency is a required parameter."))?;
    let mut limits = current(&state, &name, &region).await?;
    limits.overrides.insert(tenant, TenantLimits::validate_limit(limit)?);
    save(&state, &name, &region, limits).await
}

pub async fn delete_tenant(
    State(state): State<AppState>,
    Region(region): Region,
    Path((function, tenant)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let name = per_tenant_function(&state, &function, &region).await?;
    let tenant = TenantId::parse(&tenant)?;
    let mut limits = current(&state, &name, &region).await?;
    limits.overrides.remove(&tenant);
    let _saved = save(&state, &name, &region, limits).await?;
    Ok(StatusCode::NO_CONTENT)
}
