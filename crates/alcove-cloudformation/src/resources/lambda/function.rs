//! `AWS::Lambda::Function`: CreateFunction with the template's properties (CloudFormation
//! names them as the Lambda API does, so most pass through and Lambda validates them),
//! then the calls CloudFormation's handler makes around it: the reserved concurrency,
//! and a wait until the function has settled so that dependants see it `Active`. An
//! update changes only what changed: configuration, code, code signing, tags, reserved
//! concurrency, each through its own operation.

use async_trait::async_trait;
use http::Method;
use serde_json::{json, Map, Value};

use super::inline_code;
use super::settle::settled;
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::Lambda::Function";

/// Configuration members UpdateFunctionConfiguration changes, with the value that puts
/// each back to Lambda's default when the template drops it.
/// The value that resets a setting, given the function's name.
type Reset = fn(&str) -> Value;

const SETTINGS: &[(&str, Reset)] = &[
    ("Runtime", |_| Value::Null),
    ("Handler", |_| Value::Null),
    ("Role", |_| Value::Null),
    ("Description", |_| json!("")),
    ("Timeout", |_| json!(3)),
    ("MemorySize", |_| json!(128)),
    ("Environment", |_| json!({"Variables": {}})),
    ("EphemeralStorage", |_| json!({"Size": 512})),
    ("Layers", |_| json!([])),
    ("LoggingConfig", |name| json!({"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{name}")})),
    ("TracingConfig", |_| json!({"Mode": "PassThrough"})),
    ("SnapStart", |_| json!({"ApplyOn": "None"})),
    ("KMSKeyArn", |_| json!("")),
    ("DeadLetterConfig", |_| json!({"TargetArn": ""})),
    ("VpcConfig", |_| json!({"SubnetIds": [], "SecurityGroupIds": []})),
    ("FileSystemConfigs", |_| json!([])),
    ("ImageConfig", |_| json!({})),
];

/// Members only CreateFunction takes (changed later by their own operations, or by
/// replacement).
const CREATE_ONLY: &[&str] = &["Architectures", "TenancyConfig", "PackageType", "CodeSigningConfigArn"];
const OWN: &[&str] =
    &["FunctionName", "Code", "Tags", "ReservedConcurrentExecutions", "RuntimeManagementConfig"];
const UNSUPPORTED: &[&str] =
    &["CapacityProviderConfig", "DurableConfig", "FunctionScalingConfig", "PublishToLatestPublished"];
const REPLACING: &[&str] = &["FunctionName", "TenancyConfig", "PackageType"];
const CODE_MEMBERS: &[&str] =
    &["ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri", "SourceKMSKeyArn"];

pub struct Function;

fn check(properties: &Props) -> Result<(), ResourceError> {
    let known: Vec<&str> = SETTINGS
        .iter()
        .map(|(name, _)| *name)
        .chain(CREATE_ONLY.iter().copied())
        .chain(OWN.iter().copied())
        .collect();
    props::check(TYPE, properties, &known, UNSUPPORTED)?;
    // Alcove's runtimes are managed as `Auto` is; anything else asks for what it cannot do.
    if let Some(config) = properties.get("RuntimeManagementConfig").filter(|v| !v.is_null()) {
        if config.get("UpdateRuntimeOn").and_then(Value::as_str) != Some("Auto") {
            return Err(ResourceError::InvalidProperties(format!(
                "Property RuntimeManagementConfig of {TYPE} is not supported by this server yet (only UpdateRuntimeOn Auto)"
            )));
        }
    }
    Ok(())
}

/// `Code` as CreateFunction and UpdateFunctionCode take it: inline source zipped, S3 and
/// image locations passed through.
pub fn code(properties: &Props) -> Result<Map<String, Value>, ResourceError> {
    let code = props::required(properties, "Code")?.as_object().ok_or_else(|| {
        ResourceError::InvalidProperties("Model validation failed (#/Code: expected type: JSONObject)".into())
    })?;
    props::check("AWS::Lambda::Function Code", code, CODE_MEMBERS, &[])?;
    let mut out = Map::new();
    if let Some(source) = props::opt_str(code, "ZipFile")? {
        if code.keys().any(|k| k != "ZipFile") {
            return Err(ResourceError::InvalidProperties(
                "Please do not provide other properties in Code if ZipFile is provided".into(),
            ));
        }
        let runtime = props::opt_str(properties, "Runtime")?;
        out.insert("ZipFile".into(), inline_code::archive(runtime.as_deref(), &source)?.into());
    } else {
        out.extend(code.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(out)
}

/// The CreateFunction request for a function named `name`.
pub fn create_request(name: &str, properties: &Props) -> Result<Value, ResourceError> {
    let mut body = Map::new();
    body.insert("FunctionName".into(), name.into());
    for (member, _) in SETTINGS {
        if let Some(value) = properties.get(*member) {
            body.insert((*member).into(), value.clone());
        }
    }
    for member in CREATE_ONLY {
        if let Some(value) = properties.get(*member) {
            body.insert((*member).into(), value.clone());
        }
    }
    body.insert("Code".into(), Value::Object(code(properties)?));
    let tags = props::tags(properties, "Tags")?;
    if !tags.is_empty() {
        body.insert("Tags".into(), Value::Object(tags));
    }
    Ok(Value::Object(body))
}

/// The UpdateFunctionConfiguration request from `old` to `new`, if any setting changed.
pub fn configuration_update(name: &str, old: &Props, new: &Props) -> Option<Value> {
    let mut body = Map::new();
    for (member, default) in SETTINGS {
        if props::changed(old, new, member) {
            let value = new.get(*member).cloned().unwrap_or_else(|| default(name));
            if !value.is_null() {
                body.insert((*member).into(), value);
            }
        }
    }
    (!body.is_empty()).then_some(Value::Object(body))
}

fn function_path(name: &str) -> String {
    format!("/2015-03-31/functions/{}", segment(name))
}

async fn put_concurrency(context: &Context<'_>, name: &str, value: Option<i64>) -> Result<(), ResourceError> {
    let path = format!("/2017-10-31/functions/{}/concurrency", segment(name));
    match value {
        Some(n) => {
            let body = json!({"ReservedConcurrentExecutions": n});
            send(context, ServiceRequest::json(Service::Lambda, Method::PUT, path, &body)).await.map(drop)
        }
        None => send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path)).await,
    }
}

fn provisioned(name: &str, configuration: &Value) -> Provisioned {
    Provisioned::new(name).with("Arn", configuration["FunctionArn"].clone())
}

async fn update_tags(
    context: &Context<'_>,
    arn: &str,
    old: &Props,
    new: &Props,
) -> Result<(), ResourceError> {
    let (old, new) = (props::tags(old, "Tags")?, props::tags(new, "Tags")?);
    let path = format!("/2017-03-31/tags/{}", segment(arn));
    let removed: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
    if !removed.is_empty() {
        let query: Vec<String> = removed.iter().map(|k| format!("tagKeys={}", segment(k))).collect();
        let request =
            ServiceRequest::empty(Service::Lambda, Method::DELETE, format!("{path}?{}", query.join("&")));
        send(context, request).await?;
    }
    let added: Map<String, Value> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !added.is_empty() {
        send(context, ServiceRequest::json(Service::Lambda, Method::POST, path, &json!({"Tags": added})))
            .await?;
    }
    Ok(())
}

#[async_trait]
impl ResourceType for Function {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        REPLACING.contains(&property)
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        check(properties)?;
        let name = props::opt_str(properties, "FunctionName")?.unwrap_or_else(|| context.generated_name(64));
        let concurrency = props::opt_int(properties, "ReservedConcurrentExecutions")?;
        let body = create_request(&name, properties)?;
        send(context, ServiceRequest::json(Service::Lambda, Method::POST, "/2015-03-31/functions", &body))
            .await?;
        context.claim(&name);
        let finish = async {
            let configuration = settled(context, &name, None).await?;
            if concurrency.is_some() {
                put_concurrency(context, &name, concurrency).await?;
            }
            Ok(provisioned(&name, &configuration))
        };
        match finish.await {
            Ok(done) => Ok(done),
            Err(error) => {
                // The function exists but the resource failed: do not leave it behind.
                let _ = self.delete(context, &Provisioned::new(&name), properties).await;
                Err(error)
            }
        }
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        check(new)?;
        let name = current.physical_id.as_str();
        let mut configuration = settled(context, name, None).await?;
        if let Some(body) = configuration_update(name, old, new) {
            let path = format!("{}/configuration", function_path(name));
            send(context, ServiceRequest::json(Service::Lambda, Method::PUT, path, &body)).await?;
            configuration = settled(context, name, None).await?;
        }
        // Inline code is named for its runtime, so a new runtime rewrites the archive too.
        let inline = new.get("Code").and_then(|c| c.get("ZipFile")).is_some();
        if props::changed(old, new, "Code")
            || props::changed(old, new, "Architectures")
            || (inline && props::changed(old, new, "Runtime"))
        {
            let mut body = code(new)?;
            if let Some(architectures) = new.get("Architectures") {
                body.insert("Architectures".into(), architectures.clone());
            }
            let path = format!("{}/code", function_path(name));
            send(context, ServiceRequest::json(Service::Lambda, Method::PUT, path, &Value::Object(body)))
                .await?;
            configuration = settled(context, name, None).await?;
        }
        if props::changed(old, new, "CodeSigningConfigArn") {
            let path = format!("/2020-06-30/functions/{}/code-signing-config", segment(name));
            match props::opt_str(new, "CodeSigningConfigArn")? {
                Some(arn) => {
                    let body = json!({"CodeSigningConfigArn": arn});
                    send(context, ServiceRequest::json(Service::Lambda, Method::PUT, path, &body)).await?;
                }
                None => {
                    send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path)).await?
                }
            }
        }
        let arn = configuration["FunctionArn"].as_str().unwrap_or(name).to_owned();
        if props::changed(old, new, "Tags") {
            update_tags(context, &arn, old, new).await?;
        }
        if props::changed(old, new, "ReservedConcurrentExecutions") {
            put_concurrency(context, name, props::opt_int(new, "ReservedConcurrentExecutions")?).await?;
        }
        Ok(provisioned(name, &configuration))
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
    ) -> Result<(), ResourceError> {
        let request =
            ServiceRequest::empty(Service::Lambda, Method::DELETE, function_path(&current.physical_id));
        send_delete(context, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(value: Value) -> Props {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_create_request_passes_settings_zips_inline_code_and_maps_tags() {
        let p = props(json!({
            "Runtime": "python3.12", "Handler": "index.handler", "Role": "arn:aws:iam::1:role/r",
            "MemorySize": 256, "TenancyConfig": {"TenantIsolationMode": "PER_TENANT"},
            "Code": {"ZipFile": "def handler(e, c): return 1"},
            "Tags": [{"Key": "team", "Value": "a"}], "ReservedConcurrentExecutions": 5
        }));
        let body = create_request("f", &p).unwrap();
        assert_eq!(body["FunctionName"], "f");
        assert_eq!(body["MemorySize"], 256);
        assert_eq!(body["TenancyConfig"], json!({"TenantIsolationMode": "PER_TENANT"}));
        assert_eq!(body["Tags"], json!({"team": "a"}));
        assert!(body["Code"]["ZipFile"].as_str().unwrap().len() > 20);
        assert!(body.get("ReservedConcurrentExecutions").is_none(), "concurrency is its own call");
    }

    #[test]
    fn s3_code_passes_through_and_zipfile_excludes_other_members() {
        let p = props(json!({"Code": {"S3Bucket": "b", "S3Key": "k", "S3ObjectVersion": "1"}}));
        assert_eq!(code(&p).unwrap(), props(json!({"S3Bucket": "b", "S3Key": "k", "S3ObjectVersion": "1"})));
        let both = props(json!({"Runtime": "nodejs22.x", "Code": {"ZipFile": "x", "S3Bucket": "b"}}));
        assert!(matches!(code(&both), Err(ResourceError::InvalidProperties(_))));
        let missing = props(json!({}));
        assert_eq!(
            code(&missing).unwrap_err().to_string(),
            "Model validation failed (#: required key [Code] not found)"
        );
    }

    #[test]
    fn a_configuration_update_carries_changes_and_resets_dropped_settings() {
        let old = props(json!({"Timeout": 10, "MemorySize": 256, "Description": "d", "Role": "r"}));
        let new = props(json!({"Timeout": 20, "MemorySize": 256, "Role": "r"}));
        assert_eq!(configuration_update("f", &old, &new), Some(json!({"Timeout": 20, "Description": ""})));
        assert_eq!(configuration_update("f", &new, &new), None);
    }

    #[test]
    fn replacement_follows_cloudformations_update_behaviours() {
        for property in ["FunctionName", "TenancyConfig", "PackageType"] {
            assert!(Function.replaces_on_change(property), "{property}");
        }
        for property in
            ["Code", "Runtime", "Environment", "Tags", "ReservedConcurrentExecutions", "Architectures"]
        {
            assert!(!Function.replaces_on_change(property), "{property}");
        }
    }

    #[test]
    fn unknown_and_unsupported_properties_are_refused() {
        assert!(check(&props(json!({"Bogus": 1}))).is_err());
        assert!(check(&props(json!({"RuntimeManagementConfig": {"UpdateRuntimeOn": "Auto"}}))).is_ok());
        assert!(check(&props(json!({"RuntimeManagementConfig": {"UpdateRuntimeOn": "Manual"}}))).is_err());
    }
}
