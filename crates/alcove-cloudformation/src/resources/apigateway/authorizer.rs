//! `AWS::ApiGateway::Authorizer`: CreateAuthorizer; an update is UpdateAuthorizer with a
//! `replace` of each changed property (a new `RestApiId` replaces the authorizer).
//! `Ref` is the authorizer id, as is `Fn::GetAtt AuthorizerId`.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::api_path;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::ApiGateway::Authorizer";
/// Properties and the API member each becomes.
const MEMBERS: &[(&str, &str)] = &[
    ("Name", "name"),
    ("Type", "type"),
    ("AuthType", "authType"),
    ("AuthorizerUri", "authorizerUri"),
    ("AuthorizerCredentials", "authorizerCredentials"),
    ("IdentitySource", "identitySource"),
    ("IdentityValidationExpression", "identityValidationExpression"),
    ("AuthorizerResultTtlInSeconds", "authorizerResultTtlInSeconds"),
];
const UNSUPPORTED: &[&str] = &["ProviderARNs"];

pub struct Authorizer;

fn check(properties: &Props) -> Result<(), ResourceError> {
    let known: Vec<&str> = MEMBERS.iter().map(|(p, _)| *p).chain(["RestApiId"]).collect();
    props::check(TYPE, properties, &known, UNSUPPORTED)?;
    props::required_str(properties, "Name")?;
    props::required_str(properties, "Type")?;
    Ok(())
}

/// The CreateAuthorizer request.
pub fn create_request(properties: &Props) -> Result<Value, ResourceError> {
    let mut body = Map::new();
    for (property, member) in MEMBERS {
        let Some(value) = properties.get(*property).filter(|v| !v.is_null()) else { continue };
        let value = match *property {
            "AuthorizerResultTtlInSeconds" => props::as_int(value).map(Value::from).ok_or_else(|| {
                ResourceError::InvalidProperties(format!(
                    "Model validation failed (#/{property}: expected type: Integer)"
                ))
            })?,
            _ => props::text(value).map(Value::String).unwrap_or_else(|| value.clone()),
        };
        body.insert((*member).into(), value);
    }
    Ok(Value::Object(body))
}

/// UpdateAuthorizer's operations: a `replace` of each property that changed.
pub fn patch_operations(old: &Props, new: &Props) -> Vec<Value> {
    MEMBERS
        .iter()
        .filter(|(property, _)| props::changed(old, new, property))
        .map(|(property, member)| {
            let value = new.get(*property).and_then(props::text).unwrap_or_default();
            json!({"op": "replace", "path": format!("/{member}"), "value": value})
        })
        .collect()
}

#[async_trait]
impl ResourceType for Authorizer {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property == "RestApiId"
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        check(properties)?;
        let api = props::required_str(properties, "RestApiId")?;
        let path = format!("{}/authorizers", api_path(&api));
        let body = create_request(properties)?;
        let created =
            send(context, ServiceRequest::json(Service::ApiGateway, http::Method::POST, path, &body))
                .await?
                .json();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        Ok(Provisioned::new(&id).with("AuthorizerId", id))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        check(new)?;
        let operations = patch_operations(old, new);
        if !operations.is_empty() {
            let api = props::required_str(new, "RestApiId")?;
            let path = format!("{}/authorizers/{}", api_path(&api), segment(&current.physical_id));
            let body = json!({"patchOperations": operations});
            send(context, ServiceRequest::json(Service::ApiGateway, http::Method::PATCH, path, &body))
                .await?;
        }
        Ok(current.clone())
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        properties: &Props,
    ) -> Result<(), ResourceError> {
        let api = props::required_str(properties, "RestApiId")?;
        let path = format!("{}/authorizers/{}", api_path(&api), segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_become_members_and_patches() {
        let old = json!({"RestApiId": "a", "Name": "n", "Type": "TOKEN", "AuthorizerUri": "u",
            "IdentitySource": "method.request.header.Authorization", "AuthorizerResultTtlInSeconds": "300"});
        let old = old.as_object().unwrap();
        assert_eq!(
            create_request(old).unwrap(),
            json!({"name": "n", "type": "TOKEN", "authorizerUri": "u",
                "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300})
        );
        let mut new = old.clone();
        new.insert("AuthorizerResultTtlInSeconds".into(), json!(0));
        assert_eq!(
            patch_operations(old, &new),
            vec![json!({"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"})]
        );
        assert!(check(
            &json!({"RestApiId": "a", "Name": "n", "Type": "COGNITO_USER_POOLS", "ProviderARNs": ["x"]})
                .as_object()
                .unwrap()
                .clone()
        )
        .is_err());
    }
}
