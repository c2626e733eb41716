//! The control plane for REST APIs, resources, methods and integrations: CreateRestApi,
//! GetRestApis, GetRestApi, DeleteRestApi, ImportRestApi, PutRestApi, GetResources,
//! GetResource, CreateResource, DeleteResource, Put/Get/DeleteMethod and
//! Put/Get/DeleteIntegration. Each change is one store transaction on the API document.

use alcove_core::apigateway::{
    api_not_found, model::ID_LEN, new_id, Integration, IntegrationType, Method, RestApi,
};
use alcove_core::RestApiUpdate;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::Json;

use super::openapi::{self, ImportMode};
use super::wire::{self, GatewayJson};
use crate::error::{GatewayError, GatewayResult};
use crate::AppState;

type Created<T> = (StatusCode, Json<T>);

pub(crate) use alcove_core::clock::epoch_secs as now;

pub(crate) async fn load(state: &AppState, id: &str) -> GatewayResult<RestApi> {
    state.store.get_rest_api(id).await?.ok_or_else(|| api_not_found(id).into())
}

pub(crate) async fn update(state: &AppState, id: &str, change: RestApiUpdate) -> GatewayResult<RestApi> {
    Ok(state.store.update_rest_api(id, change).await?)
}

fn unsupported(what: &str) -> GatewayError {
    GatewayError::bad_request(format!("{what} is not supported by this server yet."))
}

pub async fn create_rest_api(
    State(state): State<AppState>,
    Query(query): Query<wire::ImportQuery>,
    request: Request,
) -> GatewayResult<Created<wire::RestApiDocument>> {
    // ImportRestApi shares the path: `POST /restapis?mode=import`.
    if query.mode.as_deref() == Some("import") {
        return import_rest_api(state, query, request).await;
    }
    let GatewayJson(body) = GatewayJson::<wire::CreateRestApiRequest>::from_request(request, &state).await?;
    let name = body
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GatewayError::bad_request("Invalid REST API name specified"))?;
    if body.clone_from.is_some() {
        return Err(unsupported("cloneFrom"));
    }
    if body.policy.is_some() {
        return Err(unsupported("A resource policy"));
    }
    let mut api = RestApi::new(new_id(ID_LEN), name, now());
    api.description = body.description;
    api.version = body.version;
    api.binary_media_types = body.binary_media_types.unwrap_or_default();
    api.tags = body.tags.unwrap_or_default();
    api.disable_execute_api_endpoint = body.disable_execute_api_endpoint.unwrap_or(false);
    if let Some(source) = body.api_key_source {
        api.api_key_source = check_api_key_source(source)?;
    }
    if let Some(types) = body.endpoint_configuration.and_then(|e| e.types) {
        if types.iter().any(|t| !["EDGE", "REGIONAL", "PRIVATE"].contains(&t.as_str())) {
            return Err(GatewayError::bad_request(
                "Invalid endpoint configuration: types must be EDGE, REGIONAL or PRIVATE",
            ));
        }
        api.endpoint_types = types;
    }
    let created = state.store.create_rest_api(api).await?;
    Ok((StatusCode::CREATED, Json(wire::rest_api(&created))))
}

/// `apiKeySource`: `HEADER` (`x-api-key`) or `AUTHORIZER` (the authorizer's `usageIdentifierKey`).
pub(crate) fn check_api_key_source(source: String) -> GatewayResult<String> {
    match source.as_str() {
        "HEADER" | "AUTHORIZER" => Ok(source),
        other => Err(GatewayError::bad_request(format!(
            "1 validation error detected: Value '{other}' at 'apiKeySource' failed to satisfy constraint: \
             Member must satisfy enum value set: [HEADER, AUTHORIZER]"
        ))),
    }
}

fn fail_on_warnings(query: &wire::ImportQuery) -> bool {
    query.failonwarnings.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

async fn import_rest_api(
    state: AppState,
    query: wire::ImportQuery,
    request: Request,
) -> GatewayResult<Created<wire::RestApiDocument>> {
    let body = wire::read_body(request).await?;
    let definition = openapi::parse(&body)?;
    let warnings = definition.check_warnings(fail_on_warnings(&query))?;
    let name = definition.title.clone().ok_or_else(|| {
        GatewayError::bad_request("Invalid OpenAPI input: the API definition has no info.title")
    })?;
    let mut api = RestApi::new(new_id(ID_LEN), name, now());
    definition.apply(&mut api, ImportMode::Overwrite)?;
    let created = state.store.create_rest_api(api).await?;
    let doc = wire::RestApiDocument { warnings, ..wire::rest_api(&created) };
    Ok((StatusCode::CREATED, Json(doc)))
}

/// PutRestApi: merges the definition into the API, or overwrites it (`mode=overwrite`).
pub async fn put_rest_api(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    Query(query): Query<wire::ImportQuery>,
    request: Request,
) -> GatewayResult<Json<wire::RestApiDocument>> {
    let mode = match query.mode.as_deref() {
        None | Some("merge") => ImportMode::Merge,
        Some("overwrite") => ImportMode::Overwrite,
        Some(other) => {
            return Err(GatewayError::bad_request(format!("Invalid mode {other}: use merge or overwrite")))
        }
    };
    let body = wire::read_body(request).await?;
    let definition = openapi::parse(&body)?;
    let warnings = definition.check_warnings(fail_on_warnings(&query))?;
    let updated = update(&state, &api_id, Box::new(move |api| definition.apply(api, mode))).await?;
    Ok(Json(wire::RestApiDocument { warnings, ..wire::rest_api(&updated) }))
}

pub async fn get_rest_apis(
    State(state): State<AppState>,
    Query(query): Query<wire::PageQuery>,
) -> GatewayResult<Json<wire::Page<wire::RestApiDocument>>> {
    let limit = wire::page_limit(query.limit.as_deref())?;
    let page = state.store.list_rest_apis(query.position, limit).await?;
    Ok(Json(wire::page(page.items.iter().map(wire::rest_api).collect(), page.next_marker)))
}

pub async fn get_rest_api(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> GatewayResult<Json<wire::RestApiDocument>> {
    Ok(Json(wire::rest_api(&load(&state, &api_id).await?)))
}

pub async fn delete_rest_api(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
) -> GatewayResult<StatusCode> {
    state.store.delete_rest_api(&api_id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// UpdateRestApi: `replace` of `/name`, `/description` and `/apiKeySource`.
pub async fn update_rest_api(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    GatewayJson(body): GatewayJson<super::authorizers::PatchRequest>,
) -> GatewayResult<Json<wire::RestApiDocument>> {
    let mut changes = Vec::new();
    for operation in body.patch_operations.unwrap_or_default() {
        let op = operation.op.unwrap_or_default();
        let path = operation.path.unwrap_or_default();
        let value = operation.value.unwrap_or_default();
        match (op.as_str(), path.as_str()) {
            ("replace", "/apiKeySource") => changes.push((path, check_api_key_source(value)?)),
            ("replace", "/name" | "/description") => changes.push((path, value)),
            _ => return Err(unsupported(&format!("UpdateRestApi's '{op}' of '{path}'"))),
        }
    }
    let api = update(
        &state,
        &api_id,
        Box::new(move |api| {
            for (path, value) in changes {
                match path.as_str() {
                    "/apiKeySource" => api.api_key_source = value,
                    "/name" => api.name = value,
                    _ => api.description = Some(value).filter(|d| !d.is_empty()),
                }
            }
            Ok(())
        }),
    )
    .await?;
    Ok(Json(wire::rest_api(&api)))
}

pub async fn get_resources(
    State(state): State<AppState>,
    Path(api_id): Path<String>,
    Query(query): Query<wire::PageQuery>,
) -> GatewayResult<Json<wire::Page<wire::ResourceDocument>>> {
    let limit = wire::page_limit(query.limit.as_deref())?;
    let embed = query.embed.as_deref().is_some_and(|e| e.split(',').any(|e| e == "methods"));
    let api = load(&state, &api_id).await?;
    // Ordered by path; the position is the last path of the previous page.
    let mut resources: Vec<_> = api.resources.values().collect();
    resources.sort_by(|a, b| a.path.cmp(&b.path));
    let after = query.position.unwrap_or_default();
    let mut page: Vec<_> = resources.into_iter().filter(|r| after.is_empty() || r.path > after).collect();
    let position = (page.len() > limit).then(|| page[limit - 1].path.clone());
    page.truncate(limit);
    Ok(Json(wire::page(page.iter().map(|r| wire::resource(r, embed)).collect(), position)))
}

pub async fn get_resource(
    State(state): State<AppState>,
    Path((api_id, resource_id)): Path<(String, String)>,
    Query(query): Query<wire::PageQuery>,
) -> GatewayResult<Json<wire::ResourceDocument>> {
    let embed = query.embed.as_deref().is_some_and(|e| e.split(',').any(|e| e == "methods"));
    let api = load(&state, &api_id).await?;
    Ok(Json(wire::resource(api.resource(&resource_id)?, embed)))
}

pub async fn create_resource(
    State(state): State<AppState>,
    Path((api_id, parent_id)): Path<(String, String)>,
    GatewayJson(body): GatewayJson<wire::CreateResourceRequest>,
) -> GatewayResult<Created<wire::ResourceDocument>> {
    let part = body.path_part.ok_or_else(|| GatewayError::bad_request("pathPart is required"))?;
    let id = new_id(ID_LEN);
    let chosen = id.clone();
    let api = update(
        &state,
        &api_id,
        Box::new(move |api| api.add_resource_with_id(chosen, &parent_id, &part).map(drop)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(wire::resource(api.resource(&id)?, false))))
}

pub async fn delete_resource(
    State(state): State<AppState>,
    Path((api_id, resource_id)): Path<(String, String)>,
) -> GatewayResult<StatusCode> {
    update(&state, &api_id, Box::new(move |api| api.delete_resource(&resource_id))).await?;
    Ok(StatusCode::ACCEPTED)
}

fn method_from(http_method: String, body: wire::PutMethodRequest) -> GatewayResult<Method> {
    if body.request_validator_id.is_some() {
        return Err(unsupported("Request validators (required request parameters are always checked)"));
    }
    let authorization_type =
        body.authorization_type.ok_or_else(|| GatewayError::bad_request("authorizationType is required"))?;
    Ok(Method {
        http_method,
        authorization_type,
        authorizer_id: body.authorizer_id.filter(|id| !id.is_empty()),
        api_key_required: body.api_key_required.unwrap_or(false),
        operation_name: body.operation_name,
        request_parameters: body
            .request_parameters
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or(false)))
            .collect(),
        request_models: body.request_models.unwrap_or_default(),
        integration: None,
    })
}

pub async fn put_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    GatewayJson(body): GatewayJson<wire::PutMethodRequest>,
) -> GatewayResult<Created<wire::MethodDocument>> {
    let method = method_from(http_method.clone(), body)?;
    let resource = resource_id.clone();
    let api =
        update(&state, &api_id, Box::new(move |api| api.put_method(&resource, method).map(drop))).await?;
    Ok((StatusCode::CREATED, Json(wire::method(api.method(&resource_id, &http_method)?))))
}

pub async fn get_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> GatewayResult<Json<wire::MethodDocument>> {
    let api = load(&state, &api_id).await?;
    Ok(Json(wire::method(api.method(&resource_id, &http_method)?)))
}

pub async fn delete_method(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> GatewayResult<StatusCode> {
    update(&state, &api_id, Box::new(move |api| api.delete_method(&resource_id, &http_method))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An integration as PutIntegration describes it, with API Gateway's defaults.
pub(crate) fn integration_from(
    body: wire::PutIntegrationRequest,
    resource_id: &str,
) -> GatewayResult<Integration> {
    let kind = IntegrationType::parse(
        body.kind.as_deref().ok_or_else(|| GatewayError::bad_request("type is required"))?,
    )?;
    if body.connection_type.as_deref().is_some_and(|c| c != "INTERNET") {
        return Err(unsupported("VPC links"));
    }
    if body.credentials.is_some() {
        return Err(unsupported("Integration credentials"));
    }
    let timeout_ms = match body.timeout_in_millis {
        None => alcove_core::apigateway::model::TIMEOUT_MS.1,
        Some(ms) => u32::try_from(ms).unwrap_or(0),
    };
    Ok(Integration {
        kind,
        http_method: body.http_method.unwrap_or_default().to_ascii_uppercase(),
        uri: body.uri.ok_or_else(|| GatewayError::bad_request("Invalid ARN specified in the request"))?,
        request_parameters: body.request_parameters.unwrap_or_default(),
        request_templates: body.request_templates.unwrap_or_default(),
        passthrough_behavior: body.passthrough_behavior.unwrap_or_else(|| "WHEN_NO_MATCH".into()),
        content_handling: body.content_handling,
        timeout_ms,
        cache_namespace: body.cache_namespace.unwrap_or_else(|| resource_id.to_owned()),
        cache_key_parameters: body.cache_key_parameters.unwrap_or_default(),
    })
}

pub async fn put_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
    GatewayJson(body): GatewayJson<wire::PutIntegrationRequest>,
) -> GatewayResult<Created<wire::IntegrationDocument>> {
    let integration = integration_from(body, &resource_id)?;
    let (resource, method) = (resource_id.clone(), http_method.clone());
    let api = update(
        &state,
        &api_id,
        Box::new(move |api| api.put_integration(&resource, &method, integration).map(drop)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(wire::integration(api.integration(&resource_id, &http_method)?))))
}

pub async fn get_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> GatewayResult<Json<wire::IntegrationDocument>> {
    let api = load(&state, &api_id).await?;
    Ok(Json(wire::integration(api.integration(&resource_id, &http_method)?)))
}

pub async fn delete_integration(
    State(state): State<AppState>,
    Path((api_id, resource_id, http_method)): Path<(String, String, String)>,
) -> GatewayResult<StatusCode> {
    update(&state, &api_id, Box::new(move |api| api.delete_integration(&resource_id, &http_method))).await?;
    Ok(StatusCode::NO_CONTENT)
}
