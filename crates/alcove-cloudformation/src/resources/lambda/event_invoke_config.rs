//! `AWS::Lambda::EventInvokeConfig`: the asynchronous invocation settings of one version
//! or alias (PutFunctionEventInvokeConfig replaces them whole, so an update is another
//! put). Its physical id is `{function}|{qualifier}`, the type's primary identifier.

use async_trait::async_trait;
use http::Method;
use serde_json::{Map, Value};

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::Lambda::EventInvokeConfig";
const SETTINGS: &[&str] = &["MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"];

pub struct EventInvokeConfig;

pub fn put_request(properties: &Props) -> Value {
    let body: Map<String, Value> = SETTINGS
        .iter()
        .filter_map(|m| properties.get(*m).filter(|v| !v.is_null()).map(|v| ((*m).to_owned(), v.clone())))
        .collect();
    Value::Object(body)
}

fn path(properties: &Props) -> Result<String, ResourceError> {
    let function = props::required_str(properties, "FunctionName")?;
    let qualifier = props::required_str(properties, "Qualifier")?;
    Ok(format!(
        "/2019-09-25/functions/{}/event-invoke-config?Qualifier={}",
        segment(&function),
        segment(&qualifier)
    ))
}

async fn put(context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
    let known: Vec<&str> = SETTINGS.iter().copied().chain(["FunctionName", "Qualifier"]).collect();
    props::check(TYPE, properties, &known, &[])?;
    let request =
        ServiceRequest::json(Service::Lambda, Method::PUT, path(properties)?, &put_request(properties));
    send(context, request).await?;
    let id = format!(
        "{}|{}",
        props::required_str(properties, "FunctionName")?,
        props::required_str(properties, "Qualifier")?
    );
    Ok(Provisioned::new(id))
}

#[async_trait]
impl ResourceType for EventInvokeConfig {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        matches!(property, "FunctionName" | "Qualifier")
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        put(context, properties).await
    }

    async fn update(
        &self,
        context: &Context<'_>,
        _: &Provisioned,
        _: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        put(context, new).await
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        _: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path(properties)?)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_settings_pass_through_on_the_qualifier() {
        let p = json!({"FunctionName": "f", "Qualifier": "$LATEST", "MaximumRetryAttempts": 0});
        let p = p.as_object().unwrap();
        assert_eq!(put_request(p), json!({"MaximumRetryAttempts": 0}));
        assert_eq!(path(p).unwrap(), "/2019-09-25/functions/f/event-invoke-config?Qualifier=%24LATEST");
        assert!(EventInvokeConfig.replaces_on_change("Qualifier"));
        assert!(!EventInvokeConfig.replaces_on_change("MaximumRetryAttempts"));
    }
}
