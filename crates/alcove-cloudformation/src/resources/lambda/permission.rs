//! `AWS::Lambda::Permission`: one statement of a function's resource policy
//! (AddPermission / RemovePermission). A statement cannot be changed, so every property
//! replaces it. Its statement id is generated (`{stack}-{logical id}-{suffix}`, the `Id`
//! attribute); the physical id is the type's primary identifier, `{function}|{id}`.

use async_trait::async_trait;
use http::Method;
use serde_json::{Map, Value};

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::Lambda::Permission";
const PASSED: &[&str] = &[
    "Action",
    "Principal",
    "SourceArn",
    "SourceAccount",
    "EventSourceToken",
    "PrincipalOrgID",
    "FunctionUrlAuthType",
    "InvokedViaFunctionUrl",
];

pub struct Permission;

/// The AddPermission request for statement `id`.
pub fn add_request(id: &str, properties: &Props) -> Result<Value, ResourceError> {
    props::required_str(properties, "Action")?;
    props::required_str(properties, "Principal")?;
    let mut body = Map::new();
    body.insert("StatementId".into(), id.into());
    for member in PASSED {
        if let Some(value) = properties.get(*member).filter(|v| !v.is_null()) {
            body.insert((*member).into(), value.clone());
        }
    }
    Ok(Value::Object(body))
}

#[async_trait]
impl ResourceType for Permission {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        true
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let known: Vec<&str> = PASSED.iter().copied().chain(["FunctionName"]).collect();
        props::check(TYPE, properties, &known, &[])?;
        let function = props::required_str(properties, "FunctionName")?;
        let id = context.generated_name(100);
        let body = add_request(&id, properties)?;
        let path = format!("/2015-03-31/functions/{}/policy", segment(&function));
        send(context, ServiceRequest::json(Service::Lambda, Method::POST, path, &body)).await?;
        Ok(Provisioned::new(format!("{function}|{id}")).with("Id", id))
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
        let function = props::required_str(properties, "FunctionName")?;
        let id = match current.attributes.get("Id").and_then(Value::as_str) {
            Some(id) => id,
            None => current.physical_id.rsplit('|').next().unwrap_or_default(),
        };
        let path = format!("/2015-03-31/functions/{}/policy/{}", segment(&function), segment(id));
        send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_statement_carries_the_template_conditions() {
        let p = json!({"FunctionName": "f", "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com", "SourceArn": "arn:aws:execute-api:us-east-1:1:a/*"});
        let body = add_request("s-P-1", p.as_object().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"StatementId": "s-P-1", "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com", "SourceArn": "arn:aws:execute-api:us-east-1:1:a/*"})
        );
        let missing = json!({"FunctionName": "f", "Action": "lambda:InvokeFunction"});
        assert!(add_request("s", missing.as_object().unwrap()).is_err());
        assert!(Permission.replaces_on_change("SourceArn"));
    }
}
