//! API Gateway's REST-JSON shapes, as botocore's `apigateway` model defines them: request
//! bodies (camelCase members) and the documents we answer with. Listings carry their
//! members under `item`, the model's location name. Timestamps are epoch seconds.

use std::collections::BTreeMap;

use alcove_core::apigateway::{
    Deployment, Integration, Method, MethodSetting, PatchOperation, Resource, RestApi, Stage,
};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// UpdateStage's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStageRequest {
    pub patch_operations: Option<Vec<PatchOperation>>,
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

/// The map, or None when it is empty: API Gateway omits empty maps.
fn non_empty<K: Clone, V: Clone>(map: &BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!map.is_empty()).then(|| map.clone())
}

/// An object with no members, `{}`.
#[derive(Debug, Serialize)]
pub struct NoMembers {}

#[derive(Debug, Serialize)]
pub struct EndpointConfiguration {
    pub types: Vec<String>,
}

/// `RestApi`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApiDocument {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub created_date: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub binary_media_types: Vec<String>,
    pub api_key_source: String,
    pub endpoint_configuration: EndpointConfiguration,
    pub disable_execute_api_endpoint: bool,
    pub root_resource_id: String,
    pub api_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// What ImportRestApi and PutRestApi ignored in the definition.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

pub fn rest_api(api: &RestApi) -> RestApiDocument {
    RestApiDocument {
        id: api.id.clone(),
        name: api.name.clone(),
        description: api.description.clone(),
        version: api.version.clone(),
        created_date: api.created_date,
        binary_media_types: api.binary_media_types.clone(),
        api_key_source: api.api_key_source.clone(),
        endpoint_configuration: EndpointConfiguration { types: api.endpoint_types.clone() },
        disable_execute_api_endpoint: api.disable_execute_api_endpoint,
        root_resource_id: api.root_resource_id.clone(),
        api_status: "AVAILABLE",
        tags: non_empty(&api.tags),
        warnings: Vec::new(),
    }
}

/// `Integration`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationDocument {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub http_method: String,
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_templates: Option<BTreeMap<String, String>>,
    pub passthrough_behavior: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
    pub timeout_in_millis: u32,
    pub cache_namespace: String,
    pub cache_key_parameters: Vec<String>,
}

pub fn integration(integration: &Integration) -> IntegrationDocument {
    IntegrationDocument {
        kind: integration.kind.as_str(),
        http_method: integration.http_method.clone(),
        uri: integration.uri.clone(),
        request_parameters: non_empty(&integration.request_parameters),
        request_templates: non_empty(&integration.request_templates),
        passthrough_behavior: integration.passthrough_behavior.clone(),
        content_handling: integration.content_handling.clone(),
        timeout_in_millis: integration.timeout_ms,
        cache_namespace: integration.cache_namespace.clone(),
        cache_key_parameters: integration.cache_key_parameters.clone(),
    }
}

/// `Method`, with its integration.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodDocument {
    pub http_method: String,
    pub authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    pub api_key_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method_integration: Option<IntegrationDocument>,
}

pub fn method(method: &Method) -> MethodDocument {
    MethodDocument {
        http_method: method.http_method.clone(),
        authorization_type: method.authorization_type.clone(),
        authorizer_id: method.authorizer_id.clone(),
        api_key_required: method.api_key_required,
        operation_name: method.operation_name.clone(),
        request_parameters: non_empty(&method.request_parameters),
        request_models: non_empty(&method.request_models),
        method_integration: method.integration.as_ref().map(integration),
    }
}

/// A method under `resourceMethods`: in full with `embed=methods`, else `{}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ResourceMethod {
    Embedded(Box<MethodDocument>),
    Named(NoMembers),
}

/// `Resource`. The root resource has no `parentId` and no `pathPart`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDocument {
    pub id: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_part: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_methods: BTreeMap<String, ResourceMethod>,
}

/// `Resource`; its methods in full with `embed=methods`, else as empty objects.
pub fn resource(resource: &Resource, embed_methods: bool) -> ResourceDocument {
    ResourceDocument {
        id: resource.id.clone(),
        path: resource.path.clone(),
        parent_id: resource.parent_id.clone(),
        path_part: resource.parent_id.as_ref().map(|_| resource.path_part.clone()),
        resource_methods: resource
            .methods
            .iter()
            .map(|(name, m)| {
                let doc = if embed_methods {
                    ResourceMethod::Embedded(Box::new(method(m)))
                } else {
                    ResourceMethod::Named(NoMembers {})
                };
                (name.clone(), doc)
            })
            .collect(),
    }
}

/// `Deployment`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentDocument {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
}

pub fn deployment(deployment: &Deployment) -> DeploymentDocument {
    DeploymentDocument {
        id: deployment.id.clone(),
        description: deployment.description.clone(),
        created_date: deployment.created_date,
    }
}

/// `Stage`. Caching and tracing are not offered: their members say so. `methodSettings`
/// is always present, `{}` when the stage has none, as API Gateway answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageDocument {
    pub deployment_id: String,
    pub stage_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub cache_cluster_enabled: bool,
    pub cache_cluster_status: &'static str,
    pub method_settings: BTreeMap<String, MethodSetting>,
    pub tracing_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

pub fn stage(stage: &Stage) -> StageDocument {
    StageDocument {
        deployment_id: stage.deployment_id.clone(),
        stage_name: stage.name.as_str().to_owned(),
        description: stage.description.clone(),
        cache_cluster_enabled: false,
        cache_cluster_status: "NOT_AVAILABLE",
        method_settings: stage.method_settings.clone(),
        tracing_enabled: false,
        variables: non_empty(&stage.variables),
        tags: non_empty(&stage.tags),
        created_date: stage.created_date,
        last_updated_date: stage.last_updated_date,
    }
}

/// A listing page: `{"item": [...], "position": "..."}`, the position only when more follow.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub item: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

pub fn page<T>(item: Vec<T>, position: Option<String>) -> Page<T> {
    Page { item, position }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_omit_what_is_empty() {
        let mut api = RestApi::new("api1".into(), "pets".into(), 1_700_000_000);
        let root = api.root_resource_id.clone();
        let doc = serde_json::to_value(rest_api(&api)).unwrap();
        for absent in ["description", "version", "binaryMediaTypes", "tags", "warnings"] {
            assert!(doc.get(absent).is_none(), "{absent}");
        }
        assert_eq!(doc["apiStatus"], "AVAILABLE");
        assert_eq!(doc["endpointConfiguration"], json!({"types": api.endpoint_types}));

        let doc = serde_json::to_value(resource(api.resource(&root).unwrap(), false)).unwrap();
        assert_eq!(doc, json!({"id": root, "path": "/"}));

        api.add_resource_with_id("r1".into(), &root, "pets").unwrap();
        api.put_method("r1", Method::new("GET")).unwrap();
        let listed = serde_json::to_value(resource(api.resource("r1").unwrap(), false)).unwrap();
        assert_eq!(listed["resourceMethods"], json!({"GET": {}}));
        assert_eq!(
            (listed["parentId"].as_str(), listed["pathPart"].as_str()),
            (Some(root.as_str()), Some("pets"))
        );
        let embedded = serde_json::to_value(resource(api.resource("r1").unwrap(), true)).unwrap();
        assert_eq!(embedded["resourceMethods"]["GET"]["httpMethod"], "GET");
        assert!(embedded["resourceMethods"]["GET"].get("methodIntegration").is_none());
    }
}
