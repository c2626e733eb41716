//! `AWS::Logs::LogGroup`: CreateLogGroup, Put/DeleteRetentionPolicy and DeleteLogGroup
//! through CloudWatch Logs' JSON 1.1 API. `Ref` is the group's name.

use async_trait::async_trait;
use http::Method;
use serde_json::{json, Value};

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::Logs::LogGroup";
const KNOWN: &[&str] = &["LogGroupName", "RetentionInDays"];
const UNSUPPORTED: &[&str] = &[
    "KmsKeyId",
    "DataProtectionPolicy",
    "FieldIndexPolicies",
    "ResourcePolicyDocument",
    "Tags",
    "DeletionProtectionEnabled",
];

pub struct LogGroup;

/// One JSON 1.1 operation: `POST /`, named by `X-Amz-Target`.
pub fn operation(name: &str, body: &Value) -> ServiceRequest {
    ServiceRequest {
        service: Service::Logs,
        method: Method::POST,
        path_and_query: "/".into(),
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), format!("Logs_20140328.{name}")),
        ],
        body: serde_json::to_vec(body).unwrap_or_default().into(),
    }
}

fn provisioned(context: &Context<'_>, name: &str) -> Provisioned {
    let arn = format!("arn:aws:logs:{}:{}:log-group:{name}:*", context.region, context.account_id);
    Provisioned::new(name).with("Arn", arn)
}

async fn retention(context: &Context<'_>, name: &str, days: Option<i64>) -> Result<(), ResourceError> {
    match days {
        Some(days) => {
            let body = json!({"logGroupName": name, "retentionInDays": days});
            send(context, operation("PutRetentionPolicy", &body)).await.map(drop)
        }
        None => {
            send(context, operation("DeleteRetentionPolicy", &json!({"logGroupName": name}))).await.map(drop)
        }
    }
}

#[async_trait]
impl ResourceType for LogGroup {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        matches!(property, "LogGroupName" | "LogGroupClass")
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let known: Vec<&str> = KNOWN.iter().copied().chain(["LogGroupClass"]).collect();
        props::check(TYPE, properties, &known, UNSUPPORTED)?;
        if props::opt_str(properties, "LogGroupClass")?.is_some_and(|class| class != "STANDARD") {
            return Err(ResourceError::InvalidProperties(format!(
                "Property LogGroupClass of {TYPE} is not supported by this server yet (only STANDARD)"
            )));
        }
        let name = props::opt_str(properties, "LogGroupName")?.unwrap_or_else(|| context.generated_name(512));
        let days = props::opt_int(properties, "RetentionInDays")?;
        send(context, operation("CreateLogGroup", &json!({"logGroupName": name}))).await?;
        if days.is_some() {
            if let Err(error) = retention(context, &name, days).await {
                let _ =
                    send_delete(context, operation("DeleteLogGroup", &json!({"logGroupName": name}))).await;
                return Err(error);
            }
        }
        Ok(provisioned(context, &name))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(TYPE, new, &[KNOWN, &["LogGroupClass"]].concat(), UNSUPPORTED)?;
        if props::changed(old, new, "RetentionInDays") {
            retention(context, &current.physical_id, props::opt_int(new, "RetentionInDays")?).await?;
        }
        Ok(provisioned(context, &current.physical_id))
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
    ) -> Result<(), ResourceError> {
        send_delete(context, operation("DeleteLogGroup", &json!({"logGroupName": current.physical_id}))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_json_11_with_their_target() {
        let request = operation("CreateLogGroup", &json!({"logGroupName": "g"}));
        assert_eq!((request.method.clone(), request.path_and_query.as_str()), (Method::POST, "/"));
        let header = |n: &str| {
            request.headers.iter().filter(|(h, _)| h == n).map(|(_, v)| v.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(header("x-amz-target"), ["Logs_20140328.CreateLogGroup"]);
        assert_eq!(header("content-type"), ["application/x-amz-json-1.1"]);
        assert!(LogGroup.replaces_on_change("LogGroupName"));
        assert!(!LogGroup.replaces_on_change("RetentionInDays"));
    }
}
