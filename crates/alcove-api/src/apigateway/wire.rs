//! API Gateway's REST-JSON shapes, as botocore's `apigateway` model defines them: request
//! bodies (camelCase members) and the documents we answer with. Listings carry their
//! members under `item`, the model's location name. Timestamps are epoch seconds.

use std::collections::BTreeMap;

use alcove_core::apigateway::{Deployment, Integration, Method, Resource, RestApi, Stage};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::GatewayError;
use crate::request::read_limited;

/// Largest control-plane body: the 6 MB an imported API definition may have.
pub const BODY_LIMIT: usize = 6 * 1024 * 1024;

/// A JSON request body; an empty body reads as `{}`.
pub struct GatewayJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for GatewayJson<T> {
    type Rejection = GatewayError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, GatewayError> {
        let bytes = read_body(request).await?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { &bytes };
        serde_json::from_slice(bytes)
            .map(GatewayJson)
            .map_err(|e| GatewayError::bad_request(format!("Invalid request body: {e}")))
    }
}

pub async fn read_body(request: Request) -> Result<bytes::Bytes, GatewayError> {
    read_limited(request.into_body(), BODY_LIMIT).await.map_err(|e| GatewayError::bad_request(e.message))
}

#[derive(Debug, Default, Deserialize)]
pub struct EndpointConfigurationInput {
    pub types: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestApiRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub clone_from: Option<String>,
    pub binary_media_types: Option<Vec<String>>,
    pub api_key_source: Option<String>,
    pub endpoint_configuration: Option<EndpointConfigurationInput>,
    pub policy: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub disable_execute_api_endpoint: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateResourceRequest {
    pub path_part: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMethodRequest {
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    pub api_key_required: Option<bool>,
    pub operation_name: Option<String>,
    pub request_parameters: Option<BTreeMap<String, Option<bool>>>,
    pub request_models: Option<BTreeMap<String, String>>,
    pub request_validator_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutIntegrationRequest {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `integrationHttpMethod` in the model; `httpMethod` on the wire.
    pub http_method: Option<String>,
    pub uri: Option<String>,
    pub connection_type: Option<String>,
    pub credentials: Option<String>,
    pub request_parameters: Option<BTreeMap<String, String>>,
    pub request_templates: Option<BTreeMap<String, String>>,
    pub passthrough_behavior: Option<String>,
    pub cache_namespace: Option<String>,
    pub cache_key_parameters: Option<Vec<String>>,
    pub content_handling: Option<String>,
    pub timeout_in_millis: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentRequest {
    pub stage_name: Option<String>,
    pub stage_description: Option<String>,
    pub description: Option<String>,
    pub variables: Option<BTreeMap<String, String>>,
    pub canary_settings: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStageRequest {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub variables: Option<BTreeMap<String, String>>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// `position` and `limit` of the listing operations.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub position: Option<String>,
    pub limit: Option<String>,
    pub embed: Option<String>,
    #[serde(rename = "deploymentId")]
    pub deployment_id: Option<String>,
}

/// Query string of ImportRestApi and PutRestApi.
#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    pub mode: Option<String>,
    pub failonwarnings: Option<String>,
}

/// Inserts `key` only when the map is not empty, as API Gateway omits empty maps.
fn put_map<V: serde::Serialize>(doc: &mut Map<String, Value>, key: &str, map: &BTreeMap<String, V>) {
    if !map.is_empty() {
        doc.insert(key.into(), json!(map));
    }
}

fn put_opt(doc: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        doc.insert(key.into(), json!(v));
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `RestApi`.
pub fn rest_api(api: &RestApi) -> Value {
    let mut doc = object(json!({
        "id": api.id,
        "name": api.name,
        "createdDate": api.created_date,
        "apiKeySource": api.api_key_source,
        "endpointConfiguration": { "types": api.endpoint_types },
        "disableExecuteApiEndpoint": api.disable_execute_api_endpoint,
        "rootResourceId": api.root_resource_id,
        "apiStatus": "AVAILABLE",
    }));
    put_opt(&mut doc, "description", &api.description);
    put_opt(&mut doc, "version", &api.version);
    if !api.binary_media_types.is_empty() {
        doc.insert("binaryMediaTypes".into(), json!(api.binary_media_types));
    }
    put_map(&mut doc, "tags", &api.tags);
    Value::Object(doc)
}

/// `Integration`.
pub fn integration(integration: &Integration) -> Value {
    let mut doc = object(json!({
        "type": integration.kind.as_str(),
        "httpMethod": integration.http_method,
        "uri": integration.uri,
        "passthroughBehavior": integration.passthrough_behavior,
        "timeoutInMillis": integration.timeout_ms,
        "cacheNamespace": integration.cache_namespace,
        "cacheKeyParameters": integration.cache_key_parameters,
    }));
    put_map(&mut doc, "requestParameters", &integration.request_parameters);
    put_map(&mut doc, "requestTemplates", &integration.request_templates);
    put_opt(&mut doc, "contentHandling", &integration.content_handling);
    Value::Object(doc)
}

/// `Method`, with its integration.
pub fn method(method: &Method) -> Value {
    let mut doc = object(json!({
        "httpMethod": method.http_method,
        "authorizationType": method.authorization_type,
        "apiKeyRequired": method.api_key_required,
    }));
    put_map(&mut doc, "requestParameters", &method.request_parameters);
    put_map(&mut doc, "requestModels", &method.request_models);
    put_opt(&mut doc, "operationName", &method.operation_name);
    if let Some(i) = &method.integration {
        doc.insert("methodIntegration".into(), integration(i));
    }
    Value::Object(doc)
}

/// `Resource`; its methods in full with `embed=methods`, else as empty objects.
pub fn resource(resource: &Resource, embed_methods: bool) -> Value {
    let mut doc = object(json!({ "id": resource.id, "path": resource.path }));
    if let Some(parent) = &resource.parent_id {
        doc.insert("parentId".into(), json!(parent));
        doc.insert("pathPart".into(), json!(resource.path_part));
    }
    if !resource.methods.is_empty() {
        let methods: Map<String, Value> = resource
            .methods
            .iter()
            .map(|(name, m)| (name.clone(), if embed_methods { method(m) } else { json!({}) }))
            .collect();
        doc.insert("resourceMethods".into(), Value::Object(methods));
    }
    Value::Object(doc)
}

/// `Deployment`.
pub fn deployment(deployment: &Deployment) -> Value {
    let mut doc = object(json!({ "id": deployment.id, "createdDate": deployment.created_date }));
    put_opt(&mut doc, "description", &deployment.description);
    Value::Object(doc)
}

/// `Stage`.
pub fn stage(stage: &Stage) -> Value {
    let mut doc = object(json!({
        "deploymentId": stage.deployment_id,
        "stageName": stage.name.as_str(),
        "cacheClusterEnabled": false,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "methodSettings": {},
        "tracingEnabled": false,
        "createdDate": stage.created_date,
        "lastUpdatedDate": stage.last_updated_date,
    }));
    put_opt(&mut doc, "description", &stage.description);
    put_map(&mut doc, "variables", &stage.variables);
    put_map(&mut doc, "tags", &stage.tags);
    Value::Object(doc)
}

/// A listing page: `{"item": [...], "position": "..."}`, the position only when more follow.
pub fn page(items: Vec<Value>, position: Option<String>) -> Value {
    let mut doc = json!({ "item": items });
    if let Some(p) = position {
        doc["position"] = json!(p);
    }
    doc
}

/// `limit` of the listing operations: 1..=500, default 25.
pub fn page_limit(limit: Option<&str>) -> Result<usize, GatewayError> {
    match limit {
        None => Ok(25),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => Err(GatewayError::bad_request(format!("Invalid limit {raw}: it must be between 1 and 500"))),
        },
    }
}
