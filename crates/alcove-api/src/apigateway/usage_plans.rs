//! The control plane of API keys and usage plans: CreateApiKey, GetApiKey (`includeValue`),
//! GetApiKeys (`includeValues`, `name`, `customerId`), UpdateApiKey, DeleteApiKey;
//! CreateUsagePlan, GetUsagePlan, GetUsagePlans (`keyId`), UpdateUsagePlan,
//! DeleteUsagePlan; CreateUsagePlanKey, GetUsagePlanKey, GetUsagePlanKeys,
//! DeleteUsagePlanKey; and GetUsage for the current quota period. Keys and plans are
//! account-wide, so they live in their own store tables rather than in an API document.

use std::collections::{BTreeMap, BTreeSet};

use alcove_core::apigateway::model::ID_LEN;
use alcove_core::apigateway::usage_plan::{api_key_not_found, new_key_value, usage_plan_not_found};
use alcove_core::apigateway::{
    api_not_found, new_id, ApiKey, ApiStage, PlanThrottle, Quota, QuotaPeriod, StageName, UsagePlan,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::authorizers::PatchRequest;
use super::control::now;
use super::wire::{self, GatewayJson};
use crate::error::{GatewayError, GatewayResult};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub generate_distinct_id: Option<bool>,
    pub value: Option<String>,
    pub stage_keys: Option<Vec<StageKey>>,
    pub customer_id: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageKey {
    pub rest_api_id: Option<String>,
    pub stage_name: Option<String>,
}

/// Query of GetApiKey and GetApiKeys.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyQuery {
    pub include_value: Option<String>,
    pub include_values: Option<String>,
    pub name: Option<String>,
    pub customer_id: Option<String>,
    pub position: Option<String>,
    pub limit: Option<String>,
    pub key_id: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

fn is_true(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `ApiKey`; the value only when asked for (or on create, as AWS answers).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyDocument {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    pub created_date: i64,
    pub last_updated_date: i64,
    pub stage_keys: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn key_document(key: &ApiKey, include_value: bool) -> ApiKeyDocument {
    ApiKeyDocument {
        id: key.id.clone(),
        value: include_value.then(|| key.value.clone()),
        name: key.name.clone(),
        customer_id: key.customer_id.clone(),
        description: key.description.clone(),
        enabled: key.enabled,
        created_date: key.created_date,
        last_updated_date: key.last_updated_date,
        stage_keys: key.stage_keys.clone(),
        tags: key.tags.clone(),
    }
}

/// A listing page of `items` after `position`, keyed by id.
fn paged<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    query: &KeyQuery,
) -> GatewayResult<(Vec<T>, Option<String>)> {
    let limit = wire::page_limit(query.limit.as_deref())?;
    let after = query.position.clone().unwrap_or_default();
    let mut page: Vec<T> = items.into_iter().filter(|i| id(i) > after.as_str()).collect();
    let position = (page.len() > limit).then(|| id(&page[limit - 1]).to_owned());
    page.truncate(limit);
    Ok((page, position))
}

pub async fn create_api_key(
    State(state): State<AppState>,
    GatewayJson(body): GatewayJson<CreateApiKeyRequest>,
) -> GatewayResult<(StatusCode, Json<ApiKeyDocument>)> {
    let value = match body.value {
        Some(value) => {
            ApiKey::check_value(&value)?;
            value
        }
        None => new_key_value(),
    };
    let mut stage_keys = Vec::new();
    for stage_key in body.stage_keys.unwrap_or_default() {
        let (Some(api_id), Some(stage)) = (stage_key.rest_api_id, stage_key.stage_name) else {
            return Err(GatewayError::bad_request("A stage key needs restApiId and stageName"));
        };
        state.store.get_stage(&api_id, &stage).await?;
        stage_keys.push(format!("{api_id}/{stage}"));
    }
    let time = now();
    let key = ApiKey {
        id: new_id(ID_LEN),
        value,
        name: body.name,
        customer_id: body.customer_id,
        description: body.description,
        enabled: body.enabled.unwrap_or(false),
        created_date: time,
        last_updated_date: time,
        stage_keys,
        tags: body.tags.unwrap_or_default(),
    };
    let _ = body.generate_distinct_id;
    let key = state.store.create_api_key(key).await?;
    Ok((StatusCode::CREATED, Json(key_document(&key, true))))
}

pub async fn get_api_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> GatewayResult<Json<ApiKeyDocument>> {
    let key = state.store.get_api_key(&id).await?.ok_or_else(api_key_not_found)?;
    Ok(Json(key_document(&key, is_true(query.include_value.as_deref()))))
}

/// `ApiKeys`: the page, with `warnings` as the model has them.
#[derive(Debug, Serialize)]
pub struct ApiKeysPage {
    pub item: Vec<ApiKeyDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

pub async fn get_api_keys(
    State(state): State<AppState>,
    Query(query): Query<KeyQuery>,
) -> GatewayResult<Json<ApiKeysPage>> {
    let include = is_true(query.include_values.as_deref());
    let keys: Vec<ApiKey> = state
        .store
        .list_api_keys()
        .await?
        .into_iter()
        .filter(|k| {
            query.name.as_ref().is_none_or(|n| k.name.as_deref().is_some_and(|kn| kn.starts_with(n.as_str())))
        })
        .filter(|k| query.customer_id.as_ref().is_none_or(|c| k.customer_id.as_ref() == Some(c)))
        .collect();
    let (page, position) = paged(keys, |k| &k.id, &query)?;
    Ok(Json(ApiKeysPage { item: page.iter().map(|k| key_document(k, include)).collect(), position }))
}

pub async fn update_api_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    GatewayJson(body): GatewayJson<PatchRequest>,
) -> GatewayResult<Json<ApiKeyDocument>> {
    let operations = body.patch_operations.unwrap_or_default();
    let time = now();
    let key = state.store.update_api_key(&id, Box::new(move |key| key.patch(&operations, time))).await?;
    Ok(Json(key_document(&key, false)))
}

pub async fn delete_api_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> GatewayResult<StatusCode> {
    state.store.delete_api_key(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStageInput {
    pub api_id: Option<String>,
    pub stage: Option<String>,
    pub throttle: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleInput {
    pub burst_limit: Option<i64>,
    pub rate_limit: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaInput {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub period: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUsagePlanRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub api_stages: Option<Vec<ApiStageInput>>,
    pub throttle: Option<ThrottleInput>,
    pub quota: Option<QuotaInput>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// `UsagePlan`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanDocument {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub api_stages: Vec<ApiStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<PlanThrottle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn plan_document(plan: &UsagePlan) -> UsagePlanDocument {
    UsagePlanDocument {
        id: plan.id.clone(),
        name: plan.name.clone(),
        description: plan.description.clone(),
        api_stages: plan.api_stages.clone(),
        throttle: plan.throttle,
        quota: plan.quota,
        tags: plan.tags.clone(),
    }
}

pub async fn create_usage_plan(
    State(state): State<AppState>,
    GatewayJson(body): GatewayJson<CreateUsagePlanRequest>,
) -> GatewayResult<(StatusCode, Json<UsagePlanDocument>)> {
    let name = body
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GatewayError::bad_request("Invalid usage plan name specified"))?;
    let mut api_stages = Vec::new();
    for input in body.api_stages.unwrap_or_default() {
        let (Some(api_id), Some(stage)) = (input.api_id, input.stage) else {
            return Err(GatewayError::bad_request("An API stage needs apiId and stage"));
        };
        if input.throttle.is_some() {
            return Err(GatewayError::bad_request(
                "Per-method throttles of a usage plan's API stage are not supported by this server yet.",
            ));
        }
        check_api_stage(&state, &api_id, &stage).await?;
        api_stages.push(ApiStage { api_id, stage });
    }
    let throttle = body.throttle.map(|t| PlanThrottle {
        burst_limit: t.burst_limit.unwrap_or(0),
        rate_limit: t.rate_limit.unwrap_or(0.0),
    });
    let quota = match body.quota {
        None => None,
        Some(q) => Some(Quota {
            limit: q.limit.unwrap_or(0),
            offset: q.offset.unwrap_or(0),
            period: QuotaPeriod::parse(
                q.period
                    .as_deref()
                    .ok_or_else(|| GatewayError::bad_request("Quota period must be specified"))?,
            )?,
        }),
    };
    let plan = UsagePlan {
        id: new_id(6),
        name,
        description: body.description,
        api_stages,
        throttle,
        quota,
        tags: body.tags.unwrap_or_default(),
        key_ids: BTreeSet::new(),
        created_date: now(),
    };
    plan.check()?;
    let plan = state.store.create_usage_plan(plan).await?;
    Ok((StatusCode::CREATED, Json(plan_document(&plan))))
}

/// A plan's stage must exist, as CreateUsagePlan and UpdateUsagePlan check.
async fn check_api_stage(state: &AppState, api_id: &str, stage: &str) -> GatewayResult<()> {
    state.store.get_rest_api(api_id).await?.ok_or_else(|| api_not_found(api_id))?;
    StageName::parse(stage)?;
    state.store.get_stage(api_id, stage).await.map_err(|_| {
        GatewayError::bad_request(format!("Invalid stage identifier specified: {api_id}:{stage}"))
    })?;
    Ok(())
}

pub async fn get_usage_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> GatewayResult<Json<UsagePlanDocument>> {
    let plan = state.store.get_usage_plan(&id).await?.ok_or_else(|| usage_plan_not_found(&id))?;
    Ok(Json(plan_document(&plan)))
}

pub async fn get_usage_plans(
    State(state): State<AppState>,
    Query(query): Query<KeyQuery>,
) -> GatewayResult<Json<wire::Page<UsagePlanDocument>>> {
    let plans: Vec<UsagePlan> = state
        .store
        .list_usage_plans()
        .await?
        .into_iter()
        .filter(|p| query.key_id.as_ref().is_none_or(|k| p.key_ids.contains(k)))
        .collect();
    let (page, position) = paged(plans, |p| &p.id, &query)?;
    Ok(Json(wire::page(page.iter().map(plan_document).collect(), position)))
}

pub async fn update_usage_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    GatewayJson(body): GatewayJson<PatchRequest>,
) -> GatewayResult<Json<UsagePlanDocument>> {
    let operations = body.patch_operations.unwrap_or_default();
    for operation in &operations {
        if operation.op.as_deref() == Some("add") && operation.path.as_deref() == Some("/apiStages") {
            let value = operation.value.clone().unwrap_or_default();
            if let Some((api_id, stage)) = value.split_once(':') {
                check_api_stage(&state, api_id, stage).await?;
            }
        }
    }
    let plan = state.store.update_usage_plan(&id, Box::new(move |plan| plan.patch(&operations))).await?;
    Ok(Json(plan_document(&plan)))
}

pub async fn delete_usage_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> GatewayResult<StatusCode> {
    state.store.delete_usage_plan(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUsagePlanKeyRequest {
    pub key_id: Option<String>,
    pub key_type: Option<String>,
}

/// `UsagePlanKey`.
#[derive(Debug, Serialize)]
pub struct UsagePlanKeyDocument {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn plan_key_document(key: &ApiKey) -> UsagePlanKeyDocument {
    UsagePlanKeyDocument {
        id: key.id.clone(),
        kind: "API_KEY",
        value: key.value.clone(),
        name: key.name.clone(),
    }
}

pub async fn create_usage_plan_key(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    GatewayJson(body): GatewayJson<CreateUsagePlanKeyRequest>,
) -> GatewayResult<(StatusCode, Json<UsagePlanKeyDocument>)> {
    if body.key_type.as_deref() != Some("API_KEY") {
        return Err(GatewayError::bad_request("Invalid key type specified: the key type must be API_KEY"));
    }
    let key_id = body.key_id.ok_or_else(|| GatewayError::bad_request("keyId is required"))?;
    let key = state.store.add_usage_plan_key(&plan_id, &key_id).await?;
    Ok((StatusCode::CREATED, Json(plan_key_document(&key))))
}

async fn plan_keys(state: &AppState, plan_id: &str) -> GatewayResult<Vec<ApiKey>> {
    let plan = state.store.get_usage_plan(plan_id).await?.ok_or_else(|| usage_plan_not_found(plan_id))?;
    let mut keys = Vec::new();
    for id in &plan.key_ids {
        if let Some(key) = state.store.get_api_key(id).await? {
            keys.push(key);
        }
    }
    Ok(keys)
}

pub async fn get_usage_plan_keys(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> GatewayResult<Json<wire::Page<UsagePlanKeyDocument>>> {
    let keys: Vec<ApiKey> = plan_keys(&state, &plan_id)
        .await?
        .into_iter()
        .filter(|k| {
            query.name.as_ref().is_none_or(|n| k.name.as_deref().is_some_and(|kn| kn.starts_with(n.as_str())))
        })
        .collect();
    let (page, position) = paged(keys, |k| &k.id, &query)?;
    Ok(Json(wire::page(page.iter().map(plan_key_document).collect(), position)))
}

pub async fn get_usage_plan_key(
    State(state): State<AppState>,
    Path((plan_id, key_id)): Path<(String, String)>,
) -> GatewayResult<Json<UsagePlanKeyDocument>> {
    let keys = plan_keys(&state, &plan_id).await?;
    let key = keys.iter().find(|k| k.id == key_id).ok_or_else(api_key_not_found)?;
    Ok(Json(plan_key_document(key)))
}

pub async fn delete_usage_plan_key(
    State(state): State<AppState>,
    Path((plan_id, key_id)): Path<(String, String)>,
) -> GatewayResult<StatusCode> {
    state
        .store
        .update_usage_plan(
            &plan_id,
            Box::new(move |plan| plan.key_ids.remove(&key_id).then_some(()).ok_or_else(api_key_not_found)),
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// `Usage`: requests per key per day. Only the current quota period is counted, so the
/// answer holds one day (the period's start) per key: `[[used, remaining]]`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageDocument {
    pub usage_plan_id: String,
    pub start_date: String,
    pub end_date: String,
    pub values: BTreeMap<String, Vec<[i64; 2]>>,
}

pub async fn get_usage(
    State(state): State<AppState>,
    Path(plan_id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> GatewayResult<Json<UsageDocument>> {
    let (Some(start_date), Some(end_date)) = (query.start_date.clone(), query.end_date.clone()) else {
        return Err(GatewayError::bad_request("startDate and endDate are required"));
    };
    let plan = state.store.get_usage_plan(&plan_id).await?.ok_or_else(|| usage_plan_not_found(&plan_id))?;
    let Some(quota) = plan.quota else {
        return Ok(Json(UsageDocument {
            usage_plan_id: plan_id,
            start_date,
            end_date,
            values: BTreeMap::new(),
        }));
    };
    let period_start = quota.period.start_of(now());
    let limit = plan.quota_limit(period_start).unwrap_or(quota.limit);
    let used = state.store.quota_usage(&plan_id, period_start).await?;
    let values = plan
        .key_ids
        .iter()
        .filter(|k| query.key_id.as_ref().is_none_or(|q| q == *k))
        .map(|k| {
            let n = used.get(k).copied().unwrap_or(0);
            (k.clone(), vec![[n, (limit - n).max(0)]])
        })
        .collect();
    Ok(Json(UsageDocument { usage_plan_id: plan_id, start_date, end_date, values }))
}
