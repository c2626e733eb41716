//! The data plane: a request to a stage's URL, either
//! `/restapis/{api}/{stage}/_user_request_/{path}` or `{api}.execute-api.<domain>/{stage}/{path}`
//! (by its Host header), is matched to a resource and method of the deployment the stage
//! serves, checked for its required parameters, turned into a proxy event and invoked
//! through the same synchronous path as Lambda's Invoke, with the tenant id the
//! integration maps into `X-Amz-Tenant-Id`. Failures answer as API Gateway does: 403
//! when nothing matches, 400 for missing parameters, 500 when Lambda refuses the
//! invocation, 502 when the function fails or answers malformed, 504 on the integration
//! timeout, 429 when the stage's throttle for the method is exhausted ([`super::throttle`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alcove_core::apigateway::{
    stage_settings, Integration, MappingSource, Method, MethodParam, ParamLocation, RestApi, Stage,
};
use alcove_core::StageLookup;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::authorizer_runtime::{self, AuthorizerRequest};
use super::event::{self, ProxyRequest, RequestContext};
use super::lambda_call::{self, CallError};
use super::{api_keys, response, routing};
use crate::error::{GatewayError, GatewayResult};
use crate::request::read_limited;
use crate::AppState;

/// API Gateway's request payload limit.
const PAYLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// Which API, stage and path a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub api_id: String,
    pub stage: String,
    /// The path below the stage, as sent (percent-encoded), starting with `/`.
    pub path: String,
    pub domain_name: String,
}

fn is_api_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The data-plane target of a request, or None for every other surface.
pub fn target_of(host: Option<&str>, path: &str) -> Option<Target> {
    if let Some((api_id, _)) = crate::host::service_subdomain(host, ".execute-api.", is_api_id) {
        let host = host.unwrap_or_default();
        let below = path.trim_start_matches('/');
        let (stage, rest) = below.split_once('/').unwrap_or((below, ""));
        return Some(Target {
            api_id,
            stage: stage.to_owned(),
            path: format!("/{rest}"),
            domain_name: host.to_owned(),
        });
    }
    let host = host.unwrap_or_default();
    let mut parts = path.strip_prefix("/restapis/")?.splitn(4, '/');
    let (api_id, stage, marker, rest) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    (marker == "_user_request_" && is_api_id(api_id)).then(|| Target {
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
        path: format!("/{rest}"),
        domain_name: host.to_owned(),
    })
}

/// Middleware in front of every other route: serves data-plane requests, passes the rest on.
pub async fn execute_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    match target_of(host, request.uri().path()) {
        Some(target) => serve(state, target, request).await.unwrap_or_else(IntoResponse::into_response),
        None => next.run(request).await,
    }
}

/// The names of required method parameters the request lacks.
fn missing_parameters(
    method: &Method,
    headers: &HeaderMap,
    query: &BTreeMap<String, Vec<String>>,
    path: &BTreeMap<String, String>,
) -> Vec<String> {
    method
        .request_parameters
        .iter()
        .filter(|(_, required)| **required)
        .filter_map(|(key, _)| MethodParam::parse(key).ok())
        .filter(|param| match param.location {
            ParamLocation::Header | ParamLocation::MultiValueHeader => {
                !headers.contains_key(param.name.to_ascii_lowercase().as_str())
            }
            ParamLocation::QueryString | ParamLocation::MultiValueQueryString => {
                !query.contains_key(&param.name)
            }
            ParamLocation::Path => !path.contains_key(&param.name),
        })
        .map(|param| param.name)
        .collect()
}

/// The value a mapping expression takes for this request, if any.
fn mapped_value(
    source: &MappingSource,
    event: &Value,
    stage_variables: &BTreeMap<String, String>,
) -> Option<String> {
    let (pointer, multi) = match source {
        MappingSource::Static(value) => return Some(value.clone()),
        MappingSource::StageVariable(name) => return stage_variables.get(name).cloned(),
        MappingSource::Context(name) => (format!("/requestContext/{}", name.replace('.', "/")), false),
        MappingSource::Method(param) => {
            let name = param.name.replace('~', "~0").replace('/', "~1");
            match param.location {
                ParamLocation::Header => (format!("/headers/{}", name.to_ascii_lowercase()), false),
                ParamLocation::MultiValueHeader => {
                    (format!("/multiValueHeaders/{}", name.to_ascii_lowercase()), true)
                }
                ParamLocation::QueryString => (format!("/queryStringParameters/{name}"), false),
                ParamLocation::MultiValueQueryString => {
                    (format!("/multiValueQueryStringParameters/{name}"), true)
                }
                ParamLocation::Path => (format!("/pathParameters/{name}"), false),
            }
        }
    };
    let value = event.pointer(&pointer)?;
    if multi {
        let values: Vec<&str> = value.as_array()?.iter().filter_map(Value::as_str).collect();
        return Some(values.join(","));
    }
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

async fn serve(state: AppState, target: Target, request: Request) -> GatewayResult<Response> {
    let time_ms = chrono::Utc::now().timestamp_millis();
    let (parts, body) = request.into_parts();
    let (stage, deployment) = match state.store.deployed_stage(&target.api_id, &target.stage).await? {
        StageLookup::NoApi => return Err(GatewayError::no_such_api()),
        StageLookup::NoStage => return Err(GatewayError::forbidden()),
        StageLookup::Deployed { stage, deployment } => (stage, deployment),
    };
    let api = &deployment.api;
    let http_method = parts.method.as_str().to_ascii_uppercase();
    let segments = routing::segments(&target.path);
    let route =
        routing::find(api, &segments, &http_method).ok_or_else(GatewayError::missing_authentication_token)?;
    throttle(&state, &target, &stage, &route.resource.path, &route.method.http_method)?;
    let query = event::query_values(parts.uri.query());
    let body = read_limited(body, PAYLOAD_LIMIT).await.map_err(|_| GatewayError::request_too_large())?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = format!("/{}", segments.join("/"));
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let protocol = format!("{:?}", parts.version);
    let event = event::build(&ProxyRequest {
        resource_id: &route.resource.id,
        resource_path: &route.resource.path,
        path: &path,
        http_method: &http_method,
        headers: &parts.headers,
        query: parts.uri.query(),
        path_parameters: &route.path_parameters,
        stage_variables: &stage.variables,
        body: &body,
        binary_media_types: &api.binary_media_types,
        context: RequestContext {
            api_id: &target.api_id,
            stage: stage.name.as_str(),
            request_id: &request_id,
            source_ip: &source_ip,
            domain_name: &target.domain_name,
            protocol: &protocol,
            time_ms,
        },
    });
    // Mapping expressions address the event by its JSON paths.
    let mut event = serde_json::to_value(event).map_err(|e| refused(&target, e.to_string()))?;
    let integration = route
        .method
        .integration
        .as_ref()
        .ok_or_else(|| refused(&target, "the method has no integration".into()))?;
    let access =
        Access { target: &target, deployment_id: &deployment.id, stage: &stage, request_id: &request_id };
    authorize(
        &state,
        &access,
        api,
        route.method,
        integration,
        &http_method,
        &path,
        &parts.headers,
        &mut event,
    )
    .await?;
    let missing = missing_parameters(route.method, &parts.headers, &query, &route.path_parameters);
    if !missing.is_empty() {
        return Err(GatewayError::missing_parameters(&missing));
    }
    let tenant =
        integration.tenant_source().and_then(|source| mapped_value(&source, &event, &stage.variables));
    tracing::debug!(api = %target.api_id, stage = %stage.name, resource = %route.resource.path, %http_method, "API Gateway request");
    let mut response =
        invoke(&state, &target, integration, &stage.variables, tenant, event, request_id.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    Ok(response)
}

/// Who is asking for what, for the access checks.
struct Access<'a> {
    target: &'a Target,
    deployment_id: &'a str,
    stage: &'a Stage,
    request_id: &'a str,
}

/// The method's access checks, in API Gateway's order: its Lambda authorizer (`CUSTOM`),
/// whose result joins the event as `requestContext.authorizer`, then its API key
/// (`apiKeyRequired`), which joins it as `requestContext.identity.apiKey`/`apiKeyId`.
#[allow(clippy::too_many_arguments)]
async fn authorize(
    state: &AppState,
    access: &Access<'_>,
    api: &RestApi,
    method: &Method,
    integration: &Integration,
    http_method: &str,
    path: &str,
    headers: &HeaderMap,
    event: &mut Value,
) -> GatewayResult<()> {
    let target = access.target;
    let mut authorized = None;
    if method.authorization_type == "CUSTOM" {
        let Some(authorizer) = method.authorizer_id.as_ref().and_then(|id| api.authorizers.get(id)) else {
            tracing::warn!(api = %target.api_id, "the method's authorizer is not in the deployment");
            return Err(GatewayError::authorizer_configuration());
        };
        let region = lambda_call::region_of(&integration.uri);
        let method_arn = authorizer_runtime::method_arn(
            &region,
            &target.api_id,
            access.stage.name.as_str(),
            http_method,
            path,
        );
        let started = Instant::now();
        let request = AuthorizerRequest {
            api_id: &target.api_id,
            deployment_id: access.deployment_id,
            stage_variables: &access.stage.variables,
            headers,
            event,
            method_arn: &method_arn,
            request_id: access.request_id,
        };
        let result = authorizer_runtime::authorize(state, authorizer, &request).await?;
        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(context) = event.get_mut("requestContext").and_then(Value::as_object_mut) {
            context.insert("authorizer".into(), result.event_value(latency));
        }
        authorized = Some(result);
    }
    if method.api_key_required {
        let value = if api.api_key_source == "AUTHORIZER" {
            authorized.as_ref().and_then(|r| r.usage_identifier_key.clone())
        } else {
            headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let key =
            api_keys::admit(state, &target.api_id, access.stage.name.as_str(), value.as_deref()).await?;
        if let Some(identity) = event.pointer_mut("/requestContext/identity").and_then(Value::as_object_mut) {
            identity.insert("apiKey".into(), Value::String(key.value));
            identity.insert("apiKeyId".into(), Value::String(key.id));
        }
    }
    Ok(())
}

/// Takes a token from the bucket of the stage's setting that governs the method, if
/// that setting throttles.
fn throttle(
    state: &AppState,
    target: &Target,
    stage: &Stage,
    resource_path: &str,
    http_method: &str,
) -> GatewayResult<()> {
    let Some((key, setting)) = stage_settings::effective(&stage.method_settings, resource_path, http_method)
    else {
        return Ok(());
    };
    let Some(limits) = setting.throttle() else { return Ok(()) };
    let bucket = (target.api_id.clone(), stage.name.as_str().to_owned(), key.to_owned());
    if state.throttles.admit(bucket, limits, Instant::now()) {
        return Ok(());
    }
    tracing::debug!(api = %target.api_id, stage = %stage.name, key, "stage throttle exceeded");
    Err(GatewayError::too_many_requests())
}

/// A 500: Lambda refused the invocation. Why goes to the log only.
fn refused(target: &Target, reason: String) -> GatewayError {
    tracing::warn!(api = %target.api_id, stage = %target.stage, path = %target.path, %reason,
        "Lambda refused the integration's invocation");
    GatewayError::invocation_refused()
}

/// A 502: the function failed or its answer is no proxy response. Why goes to the log only.
fn bad_gateway(target: &Target, request_id: &str, reason: &str) -> GatewayError {
    let reason: String = reason.chars().take(2048).collect();
    tracing::warn!(api = %target.api_id, stage = %target.stage, path = %target.path, %request_id, %reason,
        "Lambda proxy integration failed");
    GatewayError::bad_gateway()
}

/// Invokes the integration's function with the event and translates its answer.
async fn invoke(
    state: &AppState,
    target: &Target,
    integration: &Integration,
    stage_variables: &BTreeMap<String, String>,
    tenant: Option<String>,
    event: Value,
    request_id: String,
) -> GatewayResult<Response> {
    let refused = |reason: String| refused(target, reason);
    if integration.http_method != "POST" {
        return Err(refused(format!(
            "Lambda's Invoke takes POST; the integration uses {}",
            integration.http_method
        )));
    }
    let payload = serde_json::to_vec(&event).map_err(|e| refused(e.to_string()))?;
    let call = lambda_call::Call {
        uri: &integration.uri,
        stage_variables,
        tenant,
        payload,
        request_id: request_id.clone(),
        timeout: Duration::from_millis(u64::from(integration.timeout_ms)),
    };
    let result = match lambda_call::call(state, call).await {
        Ok(result) => result,
        Err(CallError::Refused(reason)) => return Err(refused(reason)),
        Err(CallError::Timeout) => {
            tracing::warn!(api = %target.api_id, stage = %target.stage, path = %target.path, %request_id,
                timeout_ms = integration.timeout_ms, "Lambda proxy integration timed out");
            return Err(GatewayError::integration_timeout());
        }
    };
    match result {
        Ok(payload) => response::translate(&payload).map_err(|malformed| {
            let reason = alcove_core::error::chain(&malformed);
            bad_gateway(target, &request_id, &format!("Malformed Lambda proxy response: {reason}"))
        }),
        Err(failure) => Err(bad_gateway(
            target,
            &request_id,
            &format!("function error {}: {}", failure.error_type, String::from_utf8_lossy(&failure.body)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_by_path_and_by_host() {
        let t = target_of(Some("127.0.0.1:9000"), "/restapis/abc123/prod/_user_request_/users/42").unwrap();
        assert_eq!((t.api_id.as_str(), t.stage.as_str(), t.path.as_str()), ("abc123", "prod", "/users/42"));
        let t = target_of(None, "/restapis/abc123/prod/_user_request_").unwrap();
        assert_eq!(t.path, "/");
        let t = target_of(Some("abc123.execute-api.localhost:9000"), "/prod/a/b").unwrap();
        assert_eq!((t.api_id.as_str(), t.stage.as_str(), t.path.as_str()), ("abc123", "prod", "/a/b"));
        assert_eq!(t.domain_name, "abc123.execute-api.localhost:9000");
        let t = target_of(Some("ABC.execute-api.us-east-1.amazonaws.com"), "/prod").unwrap();
        assert_eq!((t.api_id.as_str(), t.path.as_str()), ("abc", "/"));
        // Control-plane and Lambda paths are not the data plane.
        assert_eq!(target_of(Some("127.0.0.1:9000"), "/restapis/abc123/resources/xyz"), None);
        assert_eq!(target_of(Some("127.0.0.1:9000"), "/restapis/abc123/stages"), None);
        assert_eq!(target_of(Some("localhost"), "/2015-03-31/functions"), None);
    }

    #[test]
    fn mapping_expressions_read_the_event() {
        let event = json!({
            "headers": {"x-tenant-id": "Blue"},
            "multiValueHeaders": {"x-tenant-id": ["Blue", "Green"]},
            "queryStringParameters": {"tenant": "Q"},
            "multiValueQueryStringParameters": null,
            "pathParameters": {"tenant": "P"},
            "requestContext": {"requestId": "r", "identity": {"sourceIp": "1.2.3.4"}},
        });
        let vars = BTreeMap::from([("t".to_string(), "S".to_string())]);
        let value = |expr: &str| mapped_value(&MappingSource::parse(expr).unwrap(), &event, &vars);
        assert_eq!(value("method.request.header.X-Tenant-Id").as_deref(), Some("Blue"));
        assert_eq!(value("method.request.multivalueheader.x-tenant-id").as_deref(), Some("Blue,Green"));
        assert_eq!(value("method.request.querystring.tenant").as_deref(), Some("Q"));
        assert_eq!(value("method.request.path.tenant").as_deref(), Some("P"));
        assert_eq!(value("method.request.header.absent"), None);
        assert_eq!(value("method.request.multivaluequerystring.tenant"), None);
        assert_eq!(value("'Fixed'").as_deref(), Some("Fixed"));
        assert_eq!(value("stageVariables.t").as_deref(), Some("S"));
        assert_eq!(value("context.identity.sourceIp").as_deref(), Some("1.2.3.4"));
        assert_eq!(lambda_call::region_of("arn:aws:apigateway:eu-west-1:lambda:path/x"), "eu-west-1");
    }
}
