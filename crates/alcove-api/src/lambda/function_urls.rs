//! CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig,
//! DeleteFunctionUrlConfig and ListFunctionUrlConfigs.
//!
//! A URL belongs to `$LATEST` (no qualifier) or to an alias; a version, or `$LATEST`
//! named explicitly, is refused with the model's pattern, as Lambda refuses it. Lambda
//! does not serve URLs for `PER_TENANT` functions: a URL carries no tenant id. The URL
//! returned is this server's: `http://<url-id>.lambda-url.<region>.localhost:<port>/`,
//! with the port the request came in on, which resolves to this machine (see
//! `crate::function_url` for how it is served).

use alcove_core::{AuthType, Cors, FunctionName, FunctionRef, FunctionUrlConfig, InvokeMode, Qualifier};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::resolve;
use crate::error::{ApiError, ApiResult};
use crate::request::{AwsJson, Region};
use crate::wire::QualifierQuery;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlConfigRequest {
    pub auth_type: Option<String>,
    pub cors: Option<Cors>,
    pub invoke_mode: Option<String>,
}

/// The URL configuration as every URL operation answers it (Create has no
/// `LastModifiedTime`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlConfigDocument {
    function_url: String,
    function_arn: String,
    auth_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cors: Option<Cors>,
    creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_time: Option<String>,
    invoke_mode: InvokeMode,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUrlConfigsResponse {
    function_url_configs: Vec<UrlConfigDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUrlQuery {
    pub marker: Option<String>,
    pub max_items: Option<String>,
}

fn timestamp(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// The URL of a URL id, on the host and port the caller reached this server by.
pub(crate) fn function_url(url_id: &str, region: &str, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let port = host.rsplit_once(':').map(|(_, port)| port).filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(port) if !port.is_empty() => format!("http://{url_id}.lambda-url.{region}.localhost:{port}/"),
        _ => format!("http://{url_id}.lambda-url.{region}.localhost/"),
    }
}

fn document(
    config: &FunctionUrlConfig,
    region: &str,
    headers: &HeaderMap,
    modified: bool,
) -> UrlConfigDocument {
    let arn = config.function.arn(region);
    UrlConfigDocument {
        function_url: function_url(&config.url_id, region, headers),
        function_arn: if config.qualifier == "$LATEST" { arn } else { format!("{arn}:{}", config.qualifier) },
        auth_type: config.auth_type.as_str(),
        cors: config.cors.clone(),
        creation_time: timestamp(&config.created),
        last_modified_time: modified.then(|| timestamp(&config.last_modified)),
        invoke_mode: config.invoke_mode,
    }
}

/// The function and qualifier a URL operation names: `$LATEST` when none is given, an
/// alias otherwise (from the `Qualifier` parameter or the function ARN).
fn url_target(raw: &str, qualifier: Option<&str>) -> ApiResult<(FunctionName, Option<Qualifier>)> {
    if let Some(q) = qualifier {
        check_qualifier(q)?;
    }
    let reference = FunctionRef::parse(raw)?;
    if let Some(q) = &reference.qualifier {
        check_qualifier(&q.to_string())?;
    }
    let reference = reference.with_qualifier(qualifier)?;
    Ok((reference.name, reference.qualifier))
}

/// `FunctionUrlQualifier`'s pattern `((?!^\d+$)^[0-9a-zA-Z-_]+$)`: an alias name. The
/// messages are Lambda's (recorded against AWS in LocalStack's snapshot tests).
fn check_qualifier(q: &str) -> ApiResult<()> {
    if q == "$LATEST" {
        return Err(ApiError::validation(
            "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
        ));
    }
    if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: (^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))"
        )));
    }
    Ok(())
}

fn qualifier_key(qualifier: &Option<Qualifier>) -> String {
    qualifier.as_ref().map(ToString::to_string).unwrap_or_else(|| Qualifier::Latest.to_string())
}

fn does_not_exist() -> ApiError {
    ApiError::not_found("The resource you requested does not exist.")
}

/// Checks that the function (and the alias, if one is named) exists.
async fn require_target(
    state: &AppState,
    name: &FunctionName,
    qualifier: &Option<Qualifier>,
    region: &str,
) -> ApiResult<alcove_core::FunctionConfig> {
    let reference = FunctionRef { name: name.clone(), qualifier: qualifier.clone() };
    resolve(state, &reference, region).await.map_err(|_| ApiError::not_found("Function does not exist"))
}

fn parse_auth(raw: &str) -> ApiResult<AuthType> {
    AuthType::parse(raw).map_err(|e| ApiError::validation(e.to_string()))
}

fn parse_mode(raw: &str) -> ApiResult<InvokeMode> {
    InvokeMode::parse(raw).map_err(|e| ApiError::validation(e.to_string()))
}

fn check_cors(cors: &Option<Cors>) -> ApiResult<()> {
    match cors {
        Some(cors) => cors.validate().map_err(|e| ApiError::validation(e.to_string())),
        None => Ok(()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Region(region): Region,
    headers: HeaderMap,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    AwsJson(request): AwsJson<UrlConfigRequest>,
) -> ApiResult<(StatusCode, Json<UrlConfigDocument>)> {
    let (name, qualifier) = url_target(&function, query.qualifier.as_deref())?;
    let auth_type = request.auth_type.as_deref().ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'authType' failed to satisfy constraint: \
             Member must not be null",
        )
    })?;
    let auth_type = parse_auth(auth_type)?;
    let invoke_mode = request.invoke_mode.as_deref().map(parse_mode).transpose()?.unwrap_or_default();
    check_cors(&request.cors)?;
    let config = require_target(&state, &name, &qualifier, &region).await?;
    if config.tenancy.is_some() {
        // AWS: function URLs are not supported with tenant isolation mode. The wording is ours.
        return Err(ApiError::invalid_parameter(format!(
            "Function URLs are not supported for functions with tenant isolation mode PER_TENANT: {}",
            name.arn(&region)
        )));
    }
    let now = chrono::Utc::now();
    let url = FunctionUrlConfig {
        function: name.clone(),
        qualifier: qualifier_key(&qualifier),
        url_id: FunctionUrlConfig::new_url_id(),
        auth_type,
        cors: request.cors,
        invoke_mode,
        created: now,
        last_modified: now,
    };
    let arn = document(&url, &region, &headers, false).function_arn;
    state.store.create_function_url(url.clone()).await.map_err(|e| match e {
        alcove_core::Error::Conflict(_) => ApiError::conflict(format!(
            "Failed to create function url config for [functionArn = {arn}]. Error message:  \
             FunctionUrlConfig exists for this Lambda function"
        )),
        alcove_core::Error::NotFound(_) => ApiError::not_found("Function does not exist"),
        other => other.into(),
    })?;
    tracing::info!(function = %name, qualifier = %url.qualifier, url_id = %url.url_id, "function URL created");
    Ok((StatusCode::CREATED, Json(document(&url, &region, &headers, false))))
}

pub async fn get(
    State(state): State<AppState>,
    Region(region): Region,
    headers: HeaderMap,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<UrlConfigDocument>> {
    let (name, qualifier) = url_target(&function, query.qualifier.as_deref())?;
    let url =
        state.store.function_url(&name, &qualifier_key(&qualifier)).await?.ok_or_else(does_not_exist)?;
    Ok(Json(document(&url, &region, &headers, true)))
}

pub async fn update(
    State(state): State<AppState>,
    Region(region): Region,
    headers: HeaderMap,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    AwsJson(request): AwsJson<UrlConfigRequest>,
) -> ApiResult<Json<UrlConfigDocument>> {
    let (name, qualifier) = url_target(&function, query.qualifier.as_deref())?;
    let auth_type = request.auth_type.as_deref().map(parse_auth).transpose()?;
    let invoke_mode = request.invoke_mode.as_deref().map(parse_mode).transpose()?;
    check_cors(&request.cors)?;
    require_target(&state, &name, &qualifier, &region).await?;
    let mut url =
        state.store.function_url(&name, &qualifier_key(&qualifier)).await?.ok_or_else(does_not_exist)?;
    if let Some(auth_type) = auth_type {
        url.auth_type = auth_type;
    }
    if let Some(mode) = invoke_mode {
        url.invoke_mode = mode;
    }
    if request.cors.is_some() {
        url.cors = request.cors;
    }
    url.last_modified = chrono::Utc::now();
    state.store.update_function_url(url.clone()).await?;
    Ok(Json(document(&url, &region, &headers, true)))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<StatusCode> {
    let (name, qualifier) = url_target(&function, query.qualifier.as_deref())?;
    if !state.store.delete_function_url(&name, &qualifier_key(&qualifier)).await? {
        return Err(does_not_exist());
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    Region(region): Region,
    headers: HeaderMap,
    Path(function): Path<String>,
    Query(query): Query<ListUrlQuery>,
) -> ApiResult<Json<ListUrlConfigsResponse>> {
    let name = super::unqualified(&function, &region)?;
    let limit = match query.max_items.as_deref() {
        None => 50,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=50).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{raw}' at 'maxItems' failed to satisfy \
                     constraint: Member must have value between 1 and 50"
                )))
            }
        },
    };
    require_target(&state, &name, &None, &region).await?;
    let urls = state.store.list_function_urls(&name).await?;
    let start = match &query.marker {
        Some(marker) => urls.iter().position(|u| u.qualifier > *marker).unwrap_or(urls.len()),
        None => 0,
    };
    let page: Vec<&FunctionUrlConfig> = urls[start..].iter().take(limit).collect();
    let next_marker =
        (start + page.len() < urls.len()).then(|| page.last().map(|u| u.qualifier.clone())).flatten();
    Ok(Json(ListUrlConfigsResponse {
        function_url_configs: page.into_iter().map(|u| document(u, &region, &headers, true)).collect(),
        next_marker,
    }))
}
