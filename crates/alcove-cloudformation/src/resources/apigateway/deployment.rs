//! `AWS::ApiGateway::Deployment`: CreateDeployment, optionally creating (or moving) the
//! stage `StageName`, then UpdateStage for the method settings of its `StageDescription`
//! (its throttling, logging and metrics members mean `*/*`). Alcove's API Gateway cannot update a deployment, so every change
//! makes a new one, which takes over the stage; deleting a deployment first deletes the
//! stage it created if that stage still points at it, as CloudFormation does.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{api_path, method_settings};
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete, try_send};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::Deployment";

pub struct Deployment;

/// The CreateDeployment request.
pub fn create_request(properties: &Props) -> Result<Value, ResourceError> {
    props::check(
        TYPE,
        properties,
        &["RestApiId", "Description", "StageName", "StageDescription"],
        &["DeploymentCanarySettings"],
    )?;
    let mut body = Map::new();
    if let Some(description) = props::opt_str(properties, "Description")? {
        body.insert("description".into(), description.into());
    }
    if let Some(stage) = props::opt_str(properties, "StageName")? {
        body.insert("stageName".into(), stage.into());
    }
    if let Some(stage) = properties.get("StageDescription").and_then(Value::as_object) {
        let unsupported = [
            "AccessLogSetting",
            "CacheClusterEnabled",
            "CacheClusterSize",
            "CanarySetting",
            "ClientCertificateId",
            "DocumentationVersion",
            "Tags",
            "TracingEnabled",
        ];
        let mut known = vec!["Description", "Variables", "MethodSettings"];
        known.extend(method_settings::stage_level_members());
        props::check("AWS::ApiGateway::Deployment StageDescription", stage, &known, &unsupported)?;
        let settings = method_settings::stage_description_ops(stage)?;
        if props::opt_str(properties, "StageName")?.is_none() && !settings.is_empty() {
            return Err(ResourceError::InvalidProperties(
                "StageDescription's method settings need a StageName to apply to".into(),
            ));
        }
        if let Some(description) = props::opt_str(stage, "Description")? {
            body.insert("stageDescription".into(), description.into());
        }
        if let Some(variables) = stage.get("Variables").filter(|v| !v.is_null()) {
            body.insert("variables".into(), variables.clone());
        }
    }
    Ok(Value::Object(body))
}

#[async_trait]
impl ResourceType for Deployment {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        true
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let body = create_request(properties)?;
        let api = props::required_str(properties, "RestApiId")?;
        let path = format!("{}/deployments", api_path(&api));
        let created =
            send(context, ServiceRequest::json(Service::ApiGateway, http::Method::POST, path, &body))
                .await?
                .json();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let provisioned = Provisioned::new(&id).with("DeploymentId", id);
        let ops = match properties.get("StageDescription").and_then(Value::as_object) {
            Some(stage) => method_settings::stage_description_ops(stage)?,
            None => Vec::new(),
        };
        if let (Some(stage), false) = (props::opt_str(properties, "StageName")?, ops.is_empty()) {
            let path = format!("{}/stages/{}", api_path(&api), segment(&stage));
            let body = serde_json::json!({ "patchOperations": ops });
            let patched =
                send(context, ServiceRequest::json(Service::ApiGateway, http::Method::PATCH, path, &body))
                    .await;
            if let Err(error) = patched {
                // Leave no half-made deployment (and its stage) behind.
                let _ = self.delete(context, &provisioned, properties).await;
                return Err(error);
            }
        }
        Ok(provisioned)
    }

    async fn update(
        &self,
        _: &Context<'_>,
        current: &Provisioned,
        _: &Props,
        _: &Props,
    ) -> Result<Provisioned, ResourceError> {
        Ok(current.clone())
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        let api = props::required_str(properties, "RestApiId")?;
        if let Some(stage) = props::opt_str(properties, "StageName")? {
            let path = format!("{}/stages/{}", api_path(&api), segment(&stage));
            let found = try_send(
                context,
                ServiceRequest::empty(Service::ApiGateway, http::Method::GET, path.clone()),
            )
            .await;
            if found.is_ok_and(|stage| {
                stage.json()["deploymentId"].as_str() == Some(current.physical_id.as_str())
            }) {
                send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path))
                    .await?;
            }
        }
        let path = format!("{}/deployments/{}", api_path(&api), segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_stage_description_maps_to_the_new_stage() {
        let p = json!({"RestApiId": "a", "StageName": "prod", "Description": "d",
            "StageDescription": {"Description": "sd", "Variables": {"v": "1"}}});
        assert_eq!(
            create_request(p.as_object().unwrap()).unwrap(),
            json!({"description": "d", "stageName": "prod", "stageDescription": "sd", "variables": {"v": "1"}})
        );
        let bad = json!({"RestApiId": "a", "StageName": "p",
            "StageDescription": {"MethodSettings": [{"HttpMethod": "*"}]}});
        assert!(create_request(bad.as_object().unwrap()).is_err(), "a setting needs its ResourcePath");
        let no_stage = json!({"RestApiId": "a", "StageDescription": {"ThrottlingRateLimit": 1}});
        assert!(create_request(no_stage.as_object().unwrap()).is_err(), "settings need a stage");
        let fine = json!({"RestApiId": "a", "StageName": "p", "StageDescription": {"ThrottlingRateLimit": 1,
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": true}]}});
        assert!(create_request(fine.as_object().unwrap()).is_ok());
        let tracing =
            json!({"RestApiId": "a", "StageName": "p", "StageDescription": {"TracingEnabled": true}});
        assert!(create_request(tracing.as_object().unwrap()).is_err());
    }
}
