//! `AWS::ApiGateway::Stage`: CreateStage / DeleteStage. Alcove's API Gateway has no
//! UpdateStage, so an in-place change deletes the stage and creates it again with the
//! new deployment, description or variables (the stage URL answers 403 in between).
//! `Ref` is the stage name.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::api_path;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::Stage";
const KNOWN: &[&str] = &["RestApiId", "DeploymentId", "StageName", "Description", "Variables", "Tags"];
const UNSUPPORTED: &[&str] = &[
    "AccessLogSetting",
    "CacheClusterEnabled",
    "CacheClusterSize",
    "CanarySetting",
    "ClientCertificateId",
    "DocumentationVersion",
    "MethodSettings",
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
    Ok(Value::Object(body))
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
        Ok(Provisioned::new(props::required_str(properties, "StageName")?))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        create_request(new)?;
        self.delete(context, current, old).await?;
        self.create(context, new).await
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
    }
}
