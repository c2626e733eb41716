//! `AWS::ApiGateway::Method`: PutMethod and, with `Integration`, PutIntegration. API
//! Gateway refuses to put a method that exists, so an update deletes the method and puts
//! it again (at its new resource or verb when those changed, as CloudFormation updates
//! them in place). The physical id is a generated name, as on AWS.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::api_path;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::Method";
const KNOWN: &[&str] = &[
    "RestApiId",
    "ResourceId",
    "HttpMethod",
    "AuthorizationType",
    "AuthorizerId",
    "ApiKeyRequired",
    "OperationName",
    "RequestParameters",
    "RequestModels",
    "Integration",
];
const UNSUPPORTED: &[&str] = &["AuthorizationScopes", "RequestValidatorId", "MethodResponses"];

/// Integration properties and the PutIntegration member each becomes.
const INTEGRATION: &[(&str, &str)] = &[
    ("Type", "type"),
    ("IntegrationHttpMethod", "httpMethod"),
    ("Uri", "uri"),
    ("RequestParameters", "requestParameters"),
    ("RequestTemplates", "requestTemplates"),
    ("PassthroughBehavior", "passthroughBehavior"),
    ("ContentHandling", "contentHandling"),
    ("TimeoutInMillis", "timeoutInMillis"),
    ("CacheNamespace", "cacheNamespace"),
    ("CacheKeyParameters", "cacheKeyParameters"),
    ("ConnectionType", "connectionType"),
    ("Credentials", "credentials"),
];
const INTEGRATION_UNSUPPORTED: &[&str] =
    &["ConnectionId", "IntegrationResponses", "IntegrationTarget", "ResponseTransferMode"];

pub struct Method;

/// The PutMethod request.
pub fn method_request(properties: &Props) -> Result<Value, ResourceError> {
    let mut body = Map::new();
    let authorization = props::opt_str(properties, "AuthorizationType")?.unwrap_or_else(|| "NONE".into());
    body.insert("authorizationType".into(), authorization.into());
    if let Some(authorizer) = props::opt_str(properties, "AuthorizerId")? {
        body.insert("authorizerId".into(), authorizer.into());
    }
    if let Some(required) = props::opt_bool(properties, "ApiKeyRequired")? {
        body.insert("apiKeyRequired".into(), required.into());
    }
    if let Some(name) = props::opt_str(properties, "OperationName")? {
        body.insert("operationName".into(), name.into());
    }
    if let Some(parameters) = properties.get("RequestParameters").and_then(Value::as_object) {
        // CloudFormation writes `true`/`false` or their text; the API takes booleans.
        let parameters: Map<String, Value> = parameters
            .iter()
            .map(|(k, v)| (k.clone(), Value::Bool(v.as_bool().unwrap_or_else(|| v.as_str() == Some("true")))))
            .collect();
        body.insert("requestParameters".into(), Value::Object(parameters));
    }
    if let Some(models) = properties.get("RequestModels").filter(|v| !v.is_null()) {
        body.insert("requestModels".into(), models.clone());
    }
    Ok(Value::Object(body))
}

/// The PutIntegration request, if the method has an integration.
pub fn integration_request(properties: &Props) -> Result<Option<Value>, ResourceError> {
    let Some(integration) = properties.get("Integration").filter(|v| !v.is_null()) else { return Ok(None) };
    let integration = integration.as_object().ok_or_else(|| {
        ResourceError::InvalidProperties(
            "Model validation failed (#/Integration: expected type: JSONObject)".into(),
        )
    })?;
    let known: Vec<&str> = INTEGRATION.iter().map(|(name, _)| *name).collect();
    props::check("AWS::ApiGateway::Method Integration", integration, &known, INTEGRATION_UNSUPPORTED)?;
    props::required_str(integration, "Type")?;
    let mut body = Map::new();
    for (property, member) in INTEGRATION {
        if let Some(value) = integration.get(*property).filter(|v| !v.is_null()) {
            let value = match *property {
                "TimeoutInMillis" => props::as_int(value).map(Value::from).unwrap_or_else(|| value.clone()),
                _ => value.clone(),
            };
            body.insert((*member).into(), value);
        }
    }
    Ok(Some(Value::Object(body)))
}

fn method_path(properties: &Props) -> Result<String, ResourceError> {
    let api = props::required_str(properties, "RestApiId")?;
    let resource = props::required_str(properties, "ResourceId")?;
    let verb = props::required_str(properties, "HttpMethod")?.to_ascii_uppercase();
    Ok(format!("{}/resources/{}/methods/{}", api_path(&api), segment(&resource), segment(&verb)))
}

async fn put(context: &Context<'_>, properties: &Props) -> Result<(), ResourceError> {
    props::check(TYPE, properties, KNOWN, UNSUPPORTED)?;
    let path = method_path(properties)?;
    let method = method_request(properties)?;
    let integration = integration_request(properties)?;
    send(context, ServiceRequest::json(Service::ApiGateway, http::Method::PUT, path.clone(), &method))
        .await?;
    if let Some(integration) = integration {
        let request = ServiceRequest::json(
            Service::ApiGateway,
            http::Method::PUT,
            format!("{path}/integration"),
            &integration,
        );
        send(context, request).await?;
    }
    Ok(())
}

#[async_trait]
impl ResourceType for Method {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property == "RestApiId"
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        put(context, properties).await?;
        Ok(Provisioned::new(context.generated_name(64)))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, new, KNOWN, UNSUPPORTED)?;
        self.delete(context, current, old).await?;
        put(context, new).await?;
        Ok(current.clone())
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        _: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        let path = method_path(properties)?;
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_method_and_its_integration_are_mapped_to_the_api_members() {
        let p = json!({
            "RestApiId": "a", "ResourceId": "r", "HttpMethod": "get",
            "RequestParameters": {"method.request.header.x-tenant-id": "true"},
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": "arn:u",
                "RequestParameters": {"integration.request.header.X-Amz-Tenant-Id": "method.request.header.x-tenant-id"},
                "TimeoutInMillis": "5000"}
        });
        let p = p.as_object().unwrap();
        assert_eq!(
            method_request(p).unwrap(),
            json!({"authorizationType": "NONE", "requestParameters": {"method.request.header.x-tenant-id": true}})
        );
        assert_eq!(
            integration_request(p).unwrap().unwrap(),
            json!({"type": "AWS_PROXY", "httpMethod": "POST", "uri": "arn:u", "timeoutInMillis": 5000,
                "requestParameters": {"integration.request.header.X-Amz-Tenant-Id": "method.request.header.x-tenant-id"}})
        );
        assert_eq!(method_path(p).unwrap(), "/restapis/a/resources/r/methods/GET");
    }

    #[test]
    fn what_the_gateway_cannot_honour_is_refused() {
        let p = json!({"Integration": {"Type": "AWS", "IntegrationResponses": [{"StatusCode": "200"}]}});
        let err = integration_request(p.as_object().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Property IntegrationResponses of AWS::ApiGateway::Method Integration is not supported by this server yet"
        );
    }
}
