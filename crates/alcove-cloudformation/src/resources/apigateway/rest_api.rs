//! `AWS::ApiGateway::RestApi`: CreateRestApi, or with `Body` / `BodyS3Location` an
//! ImportRestApi of the OpenAPI definition (fetched from S3 through S3's API), whose
//! `info.title` and `info.description` the template's `Name` and `Description` override
//! as CloudFormation does. A changed definition is re-imported in place (PutRestApi,
//! `overwrite` unless `Mode` says `merge`). Alcove's API Gateway has no UpdateRestApi,
//! so other in-place changes to an API without a definition are refused.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::api_path;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::RestApi";
/// Properties only CreateRestApi takes (not an import).
const CREATE: &[&str] =
    &["EndpointConfiguration", "BinaryMediaTypes", "ApiKeySourceType", "DisableExecuteApiEndpoint", "Tags"];
const DEFINITION: &[&str] = &["Body", "BodyS3Location", "Mode", "FailOnWarnings"];
const UNSUPPORTED: &[&str] = &["Policy", "CloneFrom", "MinimumCompressionSize", "Parameters"];

pub struct RestApi;

fn has(properties: &Props, name: &str) -> bool {
    properties.get(name).is_some_and(|v| !v.is_null())
}

fn check(properties: &Props) -> Result<(), ResourceError> {
    let known: Vec<&str> = ["Name", "Description"]
        .into_iter()
        .chain(CREATE.iter().copied())
        .chain(DEFINITION.iter().copied())
        .collect();
    props::check(TYPE, properties, &known, UNSUPPORTED)?;
    if has(properties, "Body") || has(properties, "BodyS3Location") {
        if let Some(name) = CREATE.iter().find(|name| has(properties, name)) {
            return Err(ResourceError::InvalidProperties(format!(
                "Property {name} of {TYPE} cannot be combined with Body or BodyS3Location on this server yet"
            )));
        }
    } else if !has(properties, "Name") {
        return Err(ResourceError::InvalidProperties(
            "Model validation failed (#: required key [Name] not found)".into(),
        ));
    }
    if let Some(types) = properties.get("EndpointConfiguration").filter(|v| !v.is_null()) {
        props::check(
            "AWS::ApiGateway::RestApi EndpointConfiguration",
            types.as_object().unwrap_or(&Map::new()),
            &["Types"],
            &["VpcEndpointIds", "IpAddressType"],
        )?;
    }
    Ok(())
}

/// The CreateRestApi request of an API without a definition.
pub fn create_request(properties: &Props) -> Result<Value, ResourceError> {
    let mut body = Map::new();
    body.insert("name".into(), props::required_str(properties, "Name")?.into());
    for (property, member) in [("Description", "description"), ("ApiKeySourceType", "apiKeySource")] {
        if let Some(value) = props::opt_str(properties, property)? {
            body.insert(member.into(), value.into());
        }
    }
    if let Some(types) = properties.get("EndpointConfiguration").and_then(|e| e.get("Types")) {
        body.insert("endpointConfiguration".into(), json!({"types": types}));
    }
    if let Some(types) = properties.get("BinaryMediaTypes").filter(|v| !v.is_null()) {
        body.insert("binaryMediaTypes".into(), types.clone());
    }
    if let Some(disabled) = props::opt_bool(properties, "DisableExecuteApiEndpoint")? {
        body.insert("disableExecuteApiEndpoint".into(), disabled.into());
    }
    let tags = props::tags(properties, "Tags")?;
    if !tags.is_empty() {
        body.insert("tags".into(), Value::Object(tags));
    }
    Ok(Value::Object(body))
}

/// The OpenAPI document to import, with `Name` and `Description` written over its title
/// and description.
pub fn definition(properties: &Props, fetched: Option<Vec<u8>>) -> Result<Vec<u8>, ResourceError> {
    let mut document = match (properties.get("Body").filter(|v| !v.is_null()), fetched) {
        (Some(Value::String(text)), _) => serde_json::from_str(text).map_err(|e| {
            ResourceError::InvalidProperties(format!("Body must be an OpenAPI definition in JSON: {e}"))
        })?,
        (Some(body), _) => body.clone(),
        (None, Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(document) => document,
            // Not JSON: imported as fetched, the importer answers for it.
            Err(_) => return Ok(bytes),
        },
        (None, None) => {
            return Err(ResourceError::InvalidProperties("Body or BodyS3Location is required".into()))
        }
    };
    if let Some(info) = document.as_object_mut().map(|d| d.entry("info").or_insert_with(|| json!({}))) {
        if let Some(info) = info.as_object_mut() {
            if let Some(name) = props::opt_str(properties, "Name")? {
                info.insert("title".into(), name.into());
            }
            if let Some(description) = props::opt_str(properties, "Description")? {
                info.insert("description".into(), description.into());
            }
        }
    }
    serde_json::to_vec(&document).map_err(|e| ResourceError::InvalidProperties(e.to_string()))
}

/// The object `BodyS3Location` names, fetched with S3's GetObject.
async fn fetch(context: &Context<'_>, properties: &Props) -> Result<Option<Vec<u8>>, ResourceError> {
    let Some(location) = properties.get("BodyS3Location").and_then(Value::as_object) else { return Ok(None) };
    props::check(
        "AWS::ApiGateway::RestApi BodyS3Location",
        location,
        &["Bucket", "Key", "Version", "ETag"],
        &[],
    )?;
    let bucket = props::required_str(location, "Bucket")?;
    let key = props::required_str(location, "Key")?;
    let key: Vec<String> = key.split('/').map(segment).collect();
    let mut path = format!("/{}/{}", segment(&bucket), key.join("/"));
    if let Some(version) = props::opt_str(location, "Version")? {
        path.push_str(&format!("?versionId={}", segment(&version)));
    }
    let mut request = ServiceRequest::empty(Service::S3, http::Method::GET, path);
    if let Some(etag) = props::opt_str(location, "ETag")? {
        request = request.with_header("if-match", &etag);
    }
    Ok(Some(send(context, request).await?.body.to_vec()))
}

fn query(properties: &Props, mode: &str) -> Result<String, ResourceError> {
    let mut query = format!("mode={mode}");
    if props::opt_bool(properties, "FailOnWarnings")? == Some(true) {
        query.push_str("&failonwarnings=true");
    }
    Ok(query)
}

fn provisioned(api: &Value) -> Provisioned {
    let id = api["id"].as_str().unwrap_or_default();
    Provisioned::new(id).with("RestApiId", id).with("RootResourceId", api["rootResourceId"].clone())
}

fn imported(properties: &Props) -> bool {
    has(properties, "Body") || has(properties, "BodyS3Location")
}

#[async_trait]
impl ResourceType for RestApi {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        false
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        check(properties)?;
        let request = if imported(properties) {
            let document = definition(properties, fetch(context, properties).await?)?;
            let path = format!("/restapis?{}", query(properties, "import")?);
            let mut request = ServiceRequest::empty(Service::ApiGateway, http::Method::POST, path)
                .with_header("content-type", "application/json");
            request.body = document.into();
            request
        } else {
            ServiceRequest::json(
                Service::ApiGateway,
                http::Method::POST,
                "/restapis",
                &create_request(properties)?,
            )
        };
        Ok(provisioned(&send(context, request).await?.json()))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        check(new)?;
        if !imported(new) {
            if let Some(changed) = ["Name", "Description"]
                .iter()
                .chain(CREATE)
                .chain(DEFINITION)
                .find(|p| props::changed(old, new, p))
            {
                return Err(ResourceError::InvalidProperties(format!(
                    "Updating {changed} of an {TYPE} without a Body is not supported by this server yet (no UpdateRestApi)"
                )));
            }
            return Ok(current.clone());
        }
        let document = definition(new, fetch(context, new).await?)?;
        let mode = match props::opt_str(new, "Mode")?.as_deref() {
            None | Some("overwrite") => "overwrite",
            Some("merge") => "merge",
            Some(other) => {
                return Err(ResourceError::InvalidProperties(format!(
                    "Mode must be overwrite or merge, not {other}"
                )))
            }
        };
        let path = format!("{}?{}", api_path(&current.physical_id), query(new, mode)?);
        let mut request = ServiceRequest::empty(Service::ApiGateway, http::Method::PUT, path)
            .with_header("content-type", "application/json");
        request.body = document.into();
        Ok(provisioned(&send(context, request).await?.json()))
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
    ) -> Result<(), ResourceError> {
        let request =
            ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, api_path(&current.physical_id));
        send_delete(context, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(value: Value) -> Props {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn name_and_description_override_the_definitions_info() {
        let p = props(
            json!({"Name": "mine", "Body": {"openapi": "3.0.1", "info": {"title": "theirs", "version": "1"}, "paths": {}}}),
        );
        let document: Value = serde_json::from_slice(&definition(&p, None).unwrap()).unwrap();
        assert_eq!(document["info"], json!({"title": "mine", "version": "1"}));
        let text = props(json!({"Body": "{\"openapi\": \"3.0.1\", \"info\": {\"title\": \"t\"}}"}));
        let document: Value = serde_json::from_slice(&definition(&text, None).unwrap()).unwrap();
        assert_eq!(document["info"]["title"], "t");
    }

    #[test]
    fn an_api_without_a_definition_is_created_from_its_properties() {
        let p =
            props(json!({"Name": "n", "Description": "d", "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "Tags": [{"Key": "k", "Value": "v"}]}));
        assert_eq!(
            create_request(&p).unwrap(),
            json!({"name": "n", "description": "d", "endpointConfiguration": {"types": ["REGIONAL"]}, "tags": {"k": "v"}})
        );
        assert!(check(&props(json!({"Description": "no name"}))).is_err());
        assert!(check(&props(json!({"Body": {}, "Tags": [{"Key": "k", "Value": "v"}]}))).is_err());
        assert!(
            check(&props(json!({"Name": "n", "Policy": {"Statement": []}}))).is_ok(),
            "an empty policy asks for nothing"
        );
        assert!(check(&props(json!({"Name": "n", "Policy": {"Statement": [{"Effect": "Allow"}]}}))).is_err());
    }
}
