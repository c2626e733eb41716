//! The control plane of Lambda authorizers: CreateAuthorizer, GetAuthorizer,
//! GetAuthorizers, UpdateAuthorizer (PATCH operations) and DeleteAuthorizer, plus
//! UpdateMethod, which is how a console or CLI switches a method to `CUSTOM`. Authorizers
//! live in the API document ([`alcove_core::apigateway::authorizer`]), so each change is one
//! store transaction on it and takes effect at the next deployment, as on AWS.

use alcove_core::apigateway::authorizer::DEFAULT_TTL;
use alcove_core::apigateway::{new_id, Authorizer, AuthorizerType, PatchOperation};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::control::{load, update};
use super::wire::{self, GatewayJson};
use crate::error::{GatewayError, GatewayResult};
use crate::AppState;

/// CreateAuthorizer's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthorizerRequest {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(rename = "providerARNs")]
    pub provider_arns: Option<Vec<String>>,
    pub auth_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials: Option<String>,
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
}

/// A body of PATCH operations (UpdateAuthorizer, UpdateMethod, ...).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchRequest {
    pub patch_operations: Option<Vec<PatchOperation>>,
}

/// `Authorizer`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerDocument {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    pub authorizer_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: u32,
}

pub fn document(a: &Authorizer) -> AuthorizerDocument {
    AuthorizerDocument {
        id: a.id.clone(),
        name: a.name.clone(),
        kind: a.kind.as_str(),
        auth_type: a.auth_type.clone(),
        authorizer_uri: a.authorizer_uri.clone(),
        authorizer_credentials: a.authorizer_credentials.clone(),
        identity_source: a.identity_source.clone(),
        identity_validation_expression: a.identity_validation_expression.clone(),
        authorizer_result_ttl_in_seconds: a.result_ttl_seconds,
    }
}

pub async fn create_authorizer(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    GatewayJson(body): GatewayJson<CreateAuthorizerRequest>,
) -> GatewayResult<(StatusCode, Json<AuthorizerDocument>)> {
    let name = body.name.ok_or_else(|| GatewayError::bad_request("Authorizer name must be non-empty"))?;
    let kind = AuthorizerType::parse(body.kind.as_deref().unwrap_or_default())?;
    if body.provider_arns.is_some_and(|arns| !arns.is_empty()) {
        return Err(GatewayError::bad_request("providerARNs are only for COGNITO_USER_POOLS authorizers"));
    }
    let ttl = match body.authorizer_result_ttl_in_seconds {
        None => DEFAULT_TTL,
        Some(ttl) => u32::try_from(ttl).map_err(|_| {
            GatewayError::bad_request(format!(
                "Invalid authorizer result TTL specified: {ttl}. TTL must be between 0 and 3600 seconds"
            ))
        })?,
    };
    let authorizer = Authorizer {
        id: new_id(6),
        name,
        kind,
        authorizer_uri: body.authorizer_uri.unwrap_or_default(),
        authorizer_credentials: body.authorizer_credentials,
        identity_source: body.identity_source.filter(|s| !s.is_empty()),
        identity_validation_expression: body.identity_validation_expression.filter(|s| !s.is_empty()),
        result_ttl_seconds: ttl,
        auth_type: body.auth_type,
    };
    let doc = document(&authorizer);
    update(&state, &api_id, Box::new(move |api| api.add_authorizer(authorizer).map(drop))).await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

pub async fn get_authorizer(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> GatewayResult<Json<AuthorizerDocument>> {
    let api = load(&state, &api_id).await?;
    Ok(Json(document(api.authorizer(&id)?)))
}

pub async fn get_authorizers(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    Query(query): Query<wire::PageQuery>,
) -> GatewayResult<Json<wire::Page<AuthorizerDocument>>> {
    let limit = wire::page_limit(query.limit.as_deref())?;
    let api = load(&state, &api_id).await?;
    let after = query.position.unwrap_or_default();
    let mut page: Vec<&Authorizer> = api.authorizers.values().filter(|a| a.id > after).collect();
    let position = (page.len() > limit).then(|| page[limit - 1].id.clone());
    page.truncate(limit);
    Ok(Json(wire::page(page.into_iter().map(document).collect(), position)))
}

pub async fn update_authorizer(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
    GatewayJson(body): GatewayJson<PatchRequest>,
) -> GatewayResult<Json<AuthorizerDocument>> {
    let operations = body.patch_operations.unwrap_or_default();
    let target = id.clone();
    let api =
        update(&state, &api_id, Box::new(move |api| api.update_authorizer(&target, &operations).map(drop)))
            .await?;
    Ok(Json(document(api.authorizer(&id)?)))
}

pub async fn delete_authorizer(
    State(state): State<AppState>,
    Path((api_id, id)): Path<(String, String)>,
) -> GatewayResult<StatusCode> {
    update(&state, &api_id, Box::new(move |api| api.delete_authorizer(&id))).await?;
    Ok(StatusCode::ACCEPTED)
}

/// UpdateMethod.
pub async fn update_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    GatewayJson(body): GatewayJson<PatchRequest>,
) -> GatewayResult<Json<wire::MethodDocument>> {
    let operations = body.patch_operations.unwrap_or_default();
    let (resource, method) = (resource_id.clone(), http_method.clone());
    let api = update(
        &state,
        &api_id,
        Box::new(move |api| api.update_method(&resource, &method, &operations).map(drop)),
    )
    .await?;
    Ok(Json(wire::method(api.method(&resource_id, &http_method)?)))
}
