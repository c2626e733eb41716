//! `AWS::ApiGateway::Resource`: one path part under a parent resource (CreateResource /
//! DeleteResource). Every property replaces it; `Ref` is its id.

use async_trait::async_trait;
use serde_json::json;

use super::api_path;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::Resource";

pub struct Resource;

#[async_trait]
impl ResourceType for Resource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        true
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, properties, &["ParentId", "PathPart", "RestApiId"], &[])?;
        let api = props::required_str(properties, "RestApiId")?;
        let parent = props::required_str(properties, "ParentId")?;
        let part = props::required_str(properties, "PathPart")?;
        let path = format!("{}/resources/{}", api_path(&api), segment(&parent));
        let body = json!({"pathPart": part});
        let created =
            send(context, ServiceRequest::json(Service::ApiGateway, http::Method::POST, path, &body))
                .await?
                .json();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        Ok(Provisioned::new(&id).with("ResourceId", id))
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
        let path = format!("{}/resources/{}", api_path(&api), segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}
