//! `AWS::ApiGateway::Stage`: CreateStage, then UpdateStage for its `MethodSettings`
//! (CreateStage takes none); DeleteStage. An in-place change of the deployment,
//! description, variables or method settings is one UpdateStage, so the stage URL keeps
//! serving; a change of tags deletes the stage and creates it again. `Ref` is the stage
//! name.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{api_path, method_settings};
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::Stage";
const KNOWN: &[&str] =
    &["RestApiId", "DeploymentId", "StageName", "Description", "Variables", "Tags", "MethodSettings"];
const UNSUPPORTED: &[&str] = &[
    "AccessLogSetting",
    "CacheClusterEnabled",
    "CacheClusterSize",
    "CanarySetting",
    "ClientCertificateId",
    "DocumentationVersion",
    "TracingEnabled",
];

pub struct Stage;

/// The CreateStage request.
pub fn create_request(properties: &Props) -> Result<Value, ResourceError> {
    props::check(TYPE, properties, KNOWN, UNSUPPORTED)?;
    let mut body = Map::new();
    body.insert("stageName".into(), props::required_str(properties, "StageName")?.into());
    body.insert("deploymentId".into(), props::required_str(properties, "DeploymentId")?.into());
    if let Some(description) = props::opt_str(properties, "Description")? {
        body.insert("description".into(), description.into());
    }
    if let Some(variables) = properties.get("Variables").filter(|v| !v.is_null()) {
        body.insert("variables".into(), variables.clone());
    }
    let tags = props::tags(properties, "Tags")?;
    if !tags.is_empty() {
        body.insert("tags".into(), Value::Object(tags));
    }
    method_settings::ops(properties.get("MethodSettings"))?;
    Ok(Value::Object(body))
}

/// The UpdateStage operations that turn a stage made from `old` into one made from `new`.
pub fn update_ops(old: &Props, new: &Props) -> Result<Vec<Value>, ResourceError> {
    let mut ops = Vec::new();
    if props::changed(old, new, "DeploymentId") {
        let id = props::required_str(new, "DeploymentId")?;
        ops.push(json!({"op": "replace", "path": "/deploymentId", "value": id}));
    }
    if props::changed(old, new, "Description") {
        ops.push(match props::opt_str(new, "Description")? {
            Some(description) => json!({"op": "replace", "path": "/description", "value": description}),
            None => json!({"op": "remove", "path": "/description"}),
        });
    }
    let variables = |p: &Props| p.get("Variables").and_then(Value::as_object).cloned().unwrap_or_default();
    let (before, after) = (variables(old), variables(new));
    for name in before.keys().filter(|name| !after.contains_key(*name)) {
        ops.push(json!({"op": "remove", "path": format!("/variables/{}", escape(name))}));
    }
    for (name, value) in after.iter().filter(|(name, value)| before.get(*name) != Some(*value)) {
        let value = props::text(value).unwrap_or_default();
        ops.push(json!({"op": "replace", "path": format!("/variables/{}", escape(name)), "value": value}));
    }
    if props::changed(old, new, "MethodSettings") {
        ops.extend(method_settings::removal_ops(old.get("MethodSettings")));
        ops.extend(method_settings::ops(new.get("MethodSettings"))?);
    }
    Ok(ops)
}

/// A JSON-pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// UpdateStage with `ops`, if there are any.
async fn patch(context: &Context<'_>, properties: &Props, ops: Vec<Value>) -> Result<(), ResourceError> {
    if ops.is_empty() {
        return Ok(());
    }
    let api = props::required_str(properties, "RestApiId")?;
    let stage = props::required_str(properties, "StageName")?;
    let path = format!("{}/stages/{}", api_path(&api), segment(&stage));
    let body = json!({ "patchOperations": ops });
    send(context, ServiceRequest::json(Service::ApiGateway, http::Method::PATCH, path, &body)).await?;
    Ok(())
}

#[async_trait]
impl ResourceType for Stage {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        matches!(property, "RestApiId" | "StageName")
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let body = create_request(properties)?;
        let api = props::required_str(properties, "RestApiId")?;
        let path = format!("{}/stages", api_path(&api));
        send(context, ServiceRequest::json(Service::ApiGateway, http::Method::POST, path, &body)).await?;
        let provisioned = Provisioned::new(props::required_str(properties, "StageName")?);
        if let Err(error) =
            patch(context, properties, method_settings::ops(properties.get("MethodSettings"))?).await
        {
            // Leave no half-made stage behind.
            let _ = self.delete(context, &provisioned, properties).await;
            return Err(error);
        }
        Ok(provisioned)
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        create_request(new)?;
        if props::changed(old, new, "Tags") {
            self.delete(context, current, old).await?;
            return self.create(context, new).await;
        }
        patch(context, new, update_ops(old, new)?).await?;
        Ok(current.clone())
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        let api = props::required_str(properties, "RestApiId")?;
        let path = format!("{}/stages/{}", api_path(&api), segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_stage_is_created_from_its_properties_and_unsupported_settings_refused() {
        let p = json!({"RestApiId": "a", "StageName": "prod", "DeploymentId": "d", "Variables": {"v": "1"}});
        assert_eq!(
            create_request(p.as_object().unwrap()).unwrap(),
            json!({"stageName": "prod", "deploymentId": "d", "variables": {"v": "1"}})
        );
        let bad = json!({"RestApiId": "a", "StageName": "p", "DeploymentId": "d", "TracingEnabled": true});
        assert!(create_request(bad.as_object().unwrap()).is_err());
        assert!(Stage.replaces_on_change("StageName") && !Stage.replaces_on_change("DeploymentId"));
        let caching = json!({"RestApiId": "a", "StageName": "p", "DeploymentId": "d",
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "Caching": true}]});
        assert!(create_request(caching.as_object().unwrap()).is_err(), "unknown setting members are refused");
    }

    #[test]
    fn an_update_is_the_difference_as_patch_operations() {
        let old = json!({"RestApiId": "a", "StageName": "prod", "DeploymentId": "d1", "Description": "x",
            "Variables": {"gone": "1", "kept": "2", "changed": "3"},
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingBurstLimit": 1}]});
        let new = json!({"RestApiId": "a", "StageName": "prod", "DeploymentId": "d2",
            "Variables": {"kept": "2", "changed": "4"},
            "MethodSettings": [{"ResourcePath": "/~1c", "HttpMethod": "GET", "ThrottlingRateLimit": 3}]});
        assert_eq!(
            update_ops(old.as_object().unwrap(), new.as_object().unwrap()).unwrap(),
            vec![
                json!({"op": "replace", "path": "/deploymentId", "value": "d2"}),
                json!({"op": "remove", "path": "/description"}),
                json!({"op": "remove", "path": "/variables/gone"}),
                json!({"op": "replace", "path": "/variables/changed", "value": "4"}),
                json!({"op": "remove", "path": "/*/*"}),
                json!({"op": "replace", "path": "/~1c/GET/throttling/rateLimit", "value": "3"}),
            ]
        );
        assert!(update_ops(old.as_object().unwrap(), old.as_object().unwrap()).unwrap().is_empty());
    }
}
