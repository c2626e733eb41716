//! `AWS::Lambda::Alias`: CreateAlias, UpdateAlias (version, description, weighted
//! routing), DeleteAlias; its provisioned concurrency on the alias as qualifier. `Ref`
//! is the alias ARN.

use async_trait::async_trait;
use http::Method;
use serde_json::{json, Map, Value};

use super::provisioned_concurrency;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::Lambda::Alias";
const KNOWN: &[&str] = &[
    "FunctionName",
    "FunctionVersion",
    "Name",
    "Description",
    "RoutingConfig",
    "ProvisionedConcurrencyConfig",
];

pub struct Alias;

/// The CreateAlias (with `Name`) or UpdateAlias request; an update clears a dropped
/// description or routing.
pub fn alias_request(properties: &Props, with_name: bool) -> Result<Value, ResourceError> {
    let mut body = Map::new();
    if with_name {
        body.insert("Name".into(), props::required_str(properties, "Name")?.into());
    }
    body.insert("FunctionVersion".into(), props::required_str(properties, "FunctionVersion")?.into());
    match props::opt_str(properties, "Description")? {
        Some(description) => body.insert("Description".into(), description.into()),
        None if !with_name => body.insert("Description".into(), "".into()),
        None => None,
    };
    match properties.get("RoutingConfig").filter(|v| !v.is_null()) {
        Some(routing) => body.insert("RoutingConfig".into(), routing_config(routing)?),
        None if !with_name => body.insert("RoutingConfig".into(), json!({"AdditionalVersionWeights": {}})),
        None => None,
    };
    Ok(Value::Object(body))
}

/// CloudFormation lists the weights (`[{FunctionVersion, FunctionWeight}]`); the Lambda
/// API maps version to weight.
pub fn routing_config(routing: &Value) -> Result<Value, ResourceError> {
    let bad = || {
        ResourceError::InvalidProperties(
            "Model validation failed (#/RoutingConfig/AdditionalVersionWeights: expected a list of {FunctionVersion, FunctionWeight})".into(),
        )
    };
    let mut weights = Map::new();
    if let Some(list) = routing.get("AdditionalVersionWeights").filter(|v| !v.is_null()) {
        for weight in list.as_array().ok_or_else(bad)? {
            let version = weight.get("FunctionVersion").and_then(props::text).ok_or_else(bad)?;
            let value = weight.get("FunctionWeight").and_then(|w| match w {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            });
            weights.insert(version, json!(value.ok_or_else(bad)?));
        }
    }
    Ok(json!({"AdditionalVersionWeights": weights}))
}

fn aliases_path(function: &str) -> String {
    format!("/2015-03-31/functions/{}/aliases", segment(function))
}

#[async_trait]
impl ResourceType for Alias {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        matches!(property, "Name" | "FunctionName")
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, properties, KNOWN, &[])?;
        let function = props::required_str(properties, "FunctionName")?;
        let body = alias_request(properties, true)?;
        let created = send(
            context,
            ServiceRequest::json(Service::Lambda, Method::POST, aliases_path(&function), &body),
        )
        .await?
        .json();
        let arn = created["AliasArn"].as_str().unwrap_or_default().to_owned();
        if let Some(config) = properties.get("ProvisionedConcurrencyConfig").filter(|v| !v.is_null()) {
            let name = props::required_str(properties, "Name")?;
            provisioned_concurrency::apply(context, &function, &name, Some(config)).await?;
        }
        Ok(Provisioned::new(&arn).with("AliasArn", arn))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, new, KNOWN, &[])?;
        let function = props::required_str(new, "FunctionName")?;
        let name = props::required_str(new, "Name")?;
        let body = alias_request(new, false)?;
        let path = format!("{}/{}", aliases_path(&function), segment(&name));
        send(context, ServiceRequest::json(Service::Lambda, Method::PUT, path, &body)).await?;
        if props::changed(old, new, "ProvisionedConcurrencyConfig") {
            provisioned_concurrency::apply(
                context,
                &function,
                &name,
                new.get("ProvisionedConcurrencyConfig"),
            )
            .await?;
        }
        Ok(current.clone())
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        _: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        let function = props::required_str(properties, "FunctionName")?;
        let name = props::required_str(properties, "Name")?;
        let path = format!("{}/{}", aliases_path(&function), segment(&name));
        send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_names_the_alias_and_update_clears_what_was_dropped() {
        let p = json!({"FunctionName": "f", "Name": "live", "FunctionVersion": "1",
            "RoutingConfig": {"AdditionalVersionWeights": [{"FunctionVersion": "2", "FunctionWeight": 0.1}]}});
        let p = p.as_object().unwrap().clone();
        let create = alias_request(&p, true).unwrap();
        assert_eq!(create["Name"], "live");
        assert_eq!(create["RoutingConfig"], json!({"AdditionalVersionWeights": {"2": 0.1}}));
        let plain =
            json!({"FunctionName": "f", "Name": "live", "FunctionVersion": "3"}).as_object().unwrap().clone();
        assert_eq!(
            alias_request(&plain, false).unwrap(),
            json!({"FunctionVersion": "3", "Description": "", "RoutingConfig": {"AdditionalVersionWeights": {}}})
        );
        assert!(Alias.replaces_on_change("Name") && Alias.replaces_on_change("FunctionName"));
        assert!(!Alias.replaces_on_change("FunctionVersion"));
    }
}
