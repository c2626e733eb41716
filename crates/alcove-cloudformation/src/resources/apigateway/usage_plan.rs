//! `AWS::ApiGateway::ApiKey`, `AWS::ApiGateway::UsagePlan` and
//! `AWS::ApiGateway::UsagePlanKey`, through `/apikeys` and `/usageplans`. An API key's
//! `Name`, `Description`, `Enabled` and `CustomerId` change in place (UpdateApiKey); its
//! value and stage keys replace it. A usage plan and a plan key are replaced on any change
//! (a replaced plan starts its quota counts again). `Ref` is the id of each.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

fn invalid(message: String) -> ResourceError {
    ResourceError::InvalidProperties(message)
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, ResourceError> {
    value
        .as_object()
        .ok_or_else(|| invalid(format!("Model validation failed (#/{name}: expected type: JSONObject)")))
}

pub struct ApiKey;

const KEY_TYPE: &str = "AWS::ApiGateway::ApiKey";
const KEY_IN_PLACE: &[(&str, &str)] =
    &[("Name", "name"), ("Description", "description"), ("Enabled", "enabled"), ("CustomerId", "customerId")];

/// The CreateApiKey request.
pub fn api_key_request(properties: &Props) -> Result<Value, ResourceError> {
    props::check(
        KEY_TYPE,
        properties,
        &["Name", "Description", "Enabled", "CustomerId", "Value", "GenerateDistinctId", "StageKeys", "Tags"],
        &[],
    )?;
    let mut body = Map::new();
    for (property, member) in KEY_IN_PLACE.iter().chain(&[("Value", "value")]) {
        if *property == "Enabled" {
            if let Some(enabled) = props::opt_bool(properties, property)? {
                body.insert((*member).into(), enabled.into());
            }
        } else if let Some(value) = props::opt_str(properties, property)? {
            body.insert((*member).into(), value.into());
        }
    }
    if let Some(stage_keys) = properties.get("StageKeys").and_then(Value::as_array) {
        let keys: Vec<Value> = stage_keys
            .iter()
            .map(|k| json!({"restApiId": k.get("RestApiId"), "stageName": k.get("StageName")}))
            .collect();
        body.insert("stageKeys".into(), Value::Array(keys));
    }
    let tags = props::tags(properties, "Tags")?;
    if !tags.is_empty() {
        body.insert("tags".into(), Value::Object(tags));
    }
    Ok(Value::Object(body))
}

#[async_trait]
impl ResourceType for ApiKey {
    fn type_name(&self) -> &'static str {
        KEY_TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        !KEY_IN_PLACE.iter().any(|(p, _)| *p == property) && property != "Tags"
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let body = api_key_request(properties)?;
        let request = ServiceRequest::json(Service::ApiGateway, http::Method::POST, "/apikeys", &body);
        let created = send(context, request).await?.json();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        Ok(Provisioned::new(&id).with("APIKeyId", id))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        api_key_request(new)?;
        let operations: Vec<Value> = KEY_IN_PLACE
            .iter()
            .filter(|(property, _)| props::changed(old, new, property))
            .map(|(property, member)| {
                let value = new.get(*property).and_then(props::text).unwrap_or_else(|| {
                    if *property == "Enabled" {
                        "false".into()
                    } else {
                        String::new()
                    }
                });
                json!({"op": "replace", "path": format!("/{member}"), "value": value})
            })
            .collect();
        if !operations.is_empty() {
            let path = format!("/apikeys/{}", segment(&current.physical_id));
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
        _: &Props,
    ) -> Result<(), ResourceError> {
        let path = format!("/apikeys/{}", segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

pub struct UsagePlan;

const PLAN_TYPE: &str = "AWS::ApiGateway::UsagePlan";

/// The CreateUsagePlan request.
pub fn usage_plan_request(properties: &Props) -> Result<Value, ResourceError> {
    props::check(
        PLAN_TYPE,
        properties,
        &["UsagePlanName", "Description", "ApiStages", "Throttle", "Quota", "Tags"],
        &[],
    )?;
    let mut body = Map::new();
    let name = props::opt_str(properties, "UsagePlanName")?.unwrap_or_else(|| "usage-plan".into());
    body.insert("name".into(), name.into());
    if let Some(description) = props::opt_str(properties, "Description")? {
        body.insert("description".into(), description.into());
    }
    if let Some(stages) = properties.get("ApiStages").filter(|v| !v.is_null()) {
        let stages = stages.as_array().ok_or_else(|| {
            invalid("Model validation failed (#/ApiStages: expected type: JSONArray)".into())
        })?;
        let mut list = Vec::new();
        for stage in stages {
            let stage = object(stage, "ApiStages")?;
            props::check("AWS::ApiGateway::UsagePlan ApiStage", stage, &["ApiId", "Stage"], &["Throttle"])?;
            list.push(json!({"apiId": props::required_str(stage, "ApiId")?, "stage": props::required_str(stage, "Stage")?}));
        }
        body.insert("apiStages".into(), Value::Array(list));
    }
    if let Some(throttle) = properties.get("Throttle").filter(|v| !v.is_null()) {
        let throttle = object(throttle, "Throttle")?;
        props::check("AWS::ApiGateway::UsagePlan Throttle", throttle, &["BurstLimit", "RateLimit"], &[])?;
        let mut member = Map::new();
        if let Some(burst) = throttle.get("BurstLimit").and_then(props::as_int) {
            member.insert("burstLimit".into(), burst.into());
        }
        if let Some(rate) =
            throttle.get("RateLimit").and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
        {
            member.insert("rateLimit".into(), rate.into());
        }
        body.insert("throttle".into(), Value::Object(member));
    }
    if let Some(quota) = properties.get("Quota").filter(|v| !v.is_null()) {
        let quota = object(quota, "Quota")?;
        props::check("AWS::ApiGateway::UsagePlan Quota", quota, &["Limit", "Offset", "Period"], &[])?;
        let mut member = Map::new();
        for (property, name) in [("Limit", "limit"), ("Offset", "offset")] {
            if let Some(n) = quota.get(property).and_then(props::as_int) {
                member.insert(name.into(), n.into());
            }
        }
        if let Some(period) = props::opt_str(quota, "Period")? {
            member.insert("period".into(), period.into());
        }
        body.insert("quota".into(), Value::Object(member));
    }
    let tags = props::tags(properties, "Tags")?;
    if !tags.is_empty() {
        body.insert("tags".into(), Value::Object(tags));
    }
    Ok(Value::Object(body))
}

#[async_trait]
impl ResourceType for UsagePlan {
    fn type_name(&self) -> &'static str {
        PLAN_TYPE
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        true
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        let body = usage_plan_request(properties)?;
        let request = ServiceRequest::json(Service::ApiGateway, http::Method::POST, "/usageplans", &body);
        let created = send(context, request).await?.json();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        Ok(Provisioned::new(&id).with("Id", id))
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
        _: &Props,
    ) -> Result<(), ResourceError> {
        let path = format!("/usageplans/{}", segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

pub struct UsagePlanKey;

const PLAN_KEY_TYPE: &str = "AWS::ApiGateway::UsagePlanKey";

#[async_trait]
impl ResourceType for UsagePlanKey {
    fn type_name(&self) -> &'static str {
        PLAN_KEY_TYPE
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        true
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(PLAN_KEY_TYPE, properties, &["KeyId", "KeyType", "UsagePlanId"], &[])?;
        let plan = props::required_str(properties, "UsagePlanId")?;
        let body = json!({
            "keyId": props::required_str(properties, "KeyId")?,
            "keyType": props::required_str(properties, "KeyType")?,
        });
        let path = format!("/usageplans/{}/keys", segment(&plan));
        let created =
            send(context, ServiceRequest::json(Service::ApiGateway, http::Method::POST, path, &body))
                .await?
                .json();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        Ok(Provisioned::new(&id).with("Id", id))
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
        let plan = props::required_str(properties, "UsagePlanId")?;
        let path = format!("/usageplans/{}/keys/{}", segment(&plan), segment(&current.physical_id));
        send_delete(context, ServiceRequest::empty(Service::ApiGateway, http::Method::DELETE, path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_plans_become_api_members() {
        let key = json!({"Name": "k", "Enabled": "true", "Value": "v".repeat(20),
            "Tags": [{"Key": "team", "Value": "blue"}]});
        assert_eq!(
            api_key_request(key.as_object().unwrap()).unwrap(),
            json!({"name": "k", "enabled": true, "value": "v".repeat(20), "tags": {"team": "blue"}})
        );
        let plan = json!({"UsagePlanName": "p", "ApiStages": [{"ApiId": "a", "Stage": "prod"}],
            "Throttle": {"BurstLimit": 5, "RateLimit": "2.5"}, "Quota": {"Limit": "100", "Period": "DAY"}});
        assert_eq!(
            usage_plan_request(plan.as_object().unwrap()).unwrap(),
            json!({"name": "p", "apiStages": [{"apiId": "a", "stage": "prod"}],
                "throttle": {"burstLimit": 5, "rateLimit": 2.5}, "quota": {"limit": 100, "period": "DAY"}})
        );
        let per_method =
            json!({"ApiStages": [{"ApiId": "a", "Stage": "s", "Throttle": {"/x/GET": {"RateLimit": 1}}}]});
        assert!(usage_plan_request(per_method.as_object().unwrap()).is_err());
        assert!(ApiKey.replaces_on_change("Value") && !ApiKey.replaces_on_change("Enabled"));
    }
}
