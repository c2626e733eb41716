//! `AWS::Lambda::Version`: PublishVersion of the function's current code and
//! configuration. A version is immutable, so every change but its provisioned concurrency
//! publishes a new one; `Ref` is the version's ARN.

use async_trait::async_trait;
use http::Method;
use serde_json::{Map, Value};

use super::provisioned_concurrency;
use super::settle::settled;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::Lambda::Version";
const KNOWN: &[&str] = &["FunctionName", "CodeSha256", "Description", "ProvisionedConcurrencyConfig"];
const UNSUPPORTED: &[&str] = &["RuntimePolicy", "FunctionScalingConfig"];

pub struct Version;

/// The PublishVersion request.
pub fn publish_request(properties: &Props) -> Result<Value, ResourceError> {
    let mut body = Map::new();
    for member in ["CodeSha256", "Description"] {
        if let Some(value) = props::opt_str(properties, member)? {
            body.insert(member.into(), value.into());
        }
    }
    Ok(Value::Object(body))
}

#[async_trait]
impl ResourceType for Version {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property != "ProvisionedConcurrencyConfig"
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, properties, KNOWN, UNSUPPORTED)?;
        let function = props::required_str(properties, "FunctionName")?;
        let body = publish_request(properties)?;
        let path = format!("/2015-03-31/functions/{}/versions", segment(&function));
        let published =
            send(context, ServiceRequest::json(Service::Lambda, Method::POST, path, &body)).await?.json();
        let version = published["Version"].as_str().unwrap_or_default().to_owned();
        let arn = published["FunctionArn"].as_str().unwrap_or_default().to_owned();
        settled(context, &function, Some(&version)).await?;
        if let Some(config) = properties.get("ProvisionedConcurrencyConfig").filter(|v| !v.is_null()) {
            provisioned_concurrency::apply(context, &function, &version, Some(config)).await?;
        }
        Ok(Provisioned::new(&arn).with("Version", version).with("FunctionArn", arn))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, new, KNOWN, UNSUPPORTED)?;
        if !props::changed(old, new, "ProvisionedConcurrencyConfig") {
            return Ok(current.clone());
        }
        let function = props::required_str(new, "FunctionName")?;
        let version = current.attributes.get("Version").and_then(Value::as_str).unwrap_or_default();
        provisioned_concurrency::apply(context, &function, version, new.get("ProvisionedConcurrencyConfig"))
            .await?;
        Ok(current.clone())
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        let function = props::required_str(properties, "FunctionName")?;
        let version = current.physical_id.rsplit(':').next().unwrap_or_default();
        let path = format!("/2015-03-31/functions/{}?Qualifier={}", segment(&function), segment(version));
        send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn publishing_takes_the_code_hash_and_description() {
        let p = json!({"FunctionName": "f", "CodeSha256": "abc", "Description": "v"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(publish_request(&p).unwrap(), json!({"CodeSha256": "abc", "Description": "v"}));
        assert!(Version.replaces_on_change("Description"));
        assert!(Version.replaces_on_change("CodeSha256"));
        assert!(!Version.replaces_on_change("ProvisionedConcurrencyConfig"));
    }
}
