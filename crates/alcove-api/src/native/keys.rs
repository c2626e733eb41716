//! Managing access keys and role policies remotely (`/alcove/v1/keys`,
//! `/alcove/v1/role-policies`, `/alcove/v1/role-policy?RoleArn=`): the same operations
//! as `alcove keys` and `alcove roles` on the data directory. Only callers whose policy
//! allows `alcove:CreateKey`, `alcove:ListKeys`, … (administrators) pass the edge. A
//! key's secret is in the answer that makes it, and in no other.

use std::time::Duration;

use alcove_auth::{AccessKey, KeyStore, KeyStoreError, NewKey, Policy};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

fn failed(error: KeyStoreError) -> ApiError {
    match error {
        KeyStoreError::InvalidPolicy(_) | KeyStoreError::InvalidName(_) => {
            ApiError::invalid_parameter(error.to_string())
        }
        KeyStoreError::NoSuchKey(_) => ApiError::not_found(error.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}

/// Runs a key store operation off the async threads.
async fn with_store<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&KeyStore) -> Result<T, KeyStoreError> + Send + 'static,
) -> ApiResult<T> {
    let keys = state.auth.keys.clone();
    let result = tokio::task::spawn_blocking(move || work(&keys))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(failed);
    state.auth.forget_cached_keys();
    result
}

fn describe(key: &AccessKey) -> Value {
    json!({
        "AccessKeyId": key.id,
        "Name": key.name,
        "Created": key.created,
        "Admin": key.is_admin(),
        "Policy": key.policy.as_ref().map(|p| p.document().clone()),
        "Expires": key.expires,
    })
}

fn created(new: &NewKey) -> (StatusCode, Json<Value>) {
    let mut document = describe(&new.key);
    document["SecretAccessKey"] = json!(new.secret);
    (StatusCode::CREATED, Json(document))
}

/// A policy given as a JSON object or as a string holding one.
fn policy_of(value: Option<&Value>) -> ApiResult<Option<Policy>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Policy::parse(text).map(Some),
        Some(other) => Policy::from_value(other.clone()).map(Some),
    }
    .map_err(|e| ApiError::invalid_parameter(e.to_string()))
}

pub async fn create(
    State(state): State<AppState>,
    body: Option<Json<Value>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let name = body.get("Name").and_then(Value::as_str).map(str::to_owned);
    let policy = policy_of(body.get("Policy"))?;
    let new = with_store(&state, move |keys| keys.create(name.as_deref(), policy)).await?;
    Ok(created(&new))
}

pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let keys = with_store(&state, |keys| keys.list()).await?;
    Ok(Json(json!({ "Keys": keys.iter().map(describe).collect::<Vec<_>>() })))
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let shown = id.clone();
    if with_store(&state, move |keys| keys.delete(&id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("The access key {shown} does not exist")))
    }
}

pub async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let grace = body.and_then(|Json(b)| b.get("GraceSeconds").and_then(Value::as_u64)).unwrap_or(0);
    let new = with_store(&state, move |keys| keys.rotate(&id, Some(Duration::from_secs(grace)))).await?;
    Ok(created(&new))
}

#[derive(Debug, Deserialize)]
pub struct RoleQuery {
    #[serde(rename = "RoleArn")]
    role_arn: String,
}

pub async fn list_role_policies(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let roles = with_store(&state, |keys| keys.list_role_policies()).await?;
    let roles: Vec<Value> =
        roles.iter().map(|(arn, policy)| json!({"RoleArn": arn, "Policy": policy.document()})).collect();
    Ok(Json(json!({ "RolePolicies": roles })))
}

pub async fn get_role_policy(
    State(state): State<AppState>,
    Query(query): Query<RoleQuery>,
) -> ApiResult<Json<Value>> {
    let arn = query.role_arn.clone();
    match with_store(&state, move |keys| keys.role_policy(&arn)).await? {
        Some(policy) => Ok(Json(json!({"RoleArn": query.role_arn, "Policy": policy.document()}))),
        None => Err(ApiError::not_found(format!("The role {} has no policy", query.role_arn))),
    }
}

pub async fn put_role_policy(
    State(state): State<AppState>,
    Query(query): Query<RoleQuery>,
    Json(document): Json<Value>,
) -> ApiResult<StatusCode> {
    let policy =
        policy_of(Some(&document))?.ok_or_else(|| ApiError::invalid_parameter("A policy is required"))?;
    with_store(&state, move |keys| keys.put_role_policy(&query.role_arn, &policy)).await?;
    Ok(StatusCode::OK)
}

pub async fn delete_role_policy(
    State(state): State<AppState>,
    Query(query): Query<RoleQuery>,
) -> ApiResult<StatusCode> {
    let arn = query.role_arn.clone();
    if with_store(&state, move |keys| keys.delete_role_policy(&arn)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("The role {} has no policy", query.role_arn)))
    }
}
