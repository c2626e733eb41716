//! `MethodSettings` (of `AWS::ApiGateway::Stage` and of a Deployment's
//! `StageDescription`) as UpdateStage patch operations, which is how CloudFormation
//! applies them too: CreateStage takes no method settings. A setting's `ResourcePath` is
//! written with `~1` for `/` (`/~1counter`), `/*` with `HttpMethod` `*` for every method.

use serde_json::{json, Map, Value};

use crate::resource::ResourceError;
use crate::resources::props::{self, Props};

/// A setting's CloudFormation property → its member in an UpdateStage patch path.
const MEMBERS: &[(&str, &str)] = &[
    ("ThrottlingBurstLimit", "throttling/burstLimit"),
    ("ThrottlingRateLimit", "throttling/rateLimit"),
    ("LoggingLevel", "logging/loglevel"),
    ("MetricsEnabled", "metrics/enabled"),
    ("DataTraceEnabled", "logging/dataTrace"),
    ("CachingEnabled", "caching/enabled"),
    ("CacheTtlInSeconds", "caching/ttlInSeconds"),
    ("CacheDataEncrypted", "caching/dataEncrypted"),
];

/// The settings members a Deployment's `StageDescription` may carry for `*/*`.
pub fn stage_level_members() -> impl Iterator<Item = &'static str> {
    MEMBERS.iter().map(|(name, _)| *name)
}

fn invalid(message: String) -> ResourceError {
    ResourceError::InvalidProperties(message)
}

/// The patch-path prefix of a setting: `/*/*`, or `/~1counter/GET`.
fn prefix(resource_path: &str, http_method: &str) -> String {
    if resource_path == "/*" || resource_path == "*" {
        return format!("/*/{http_method}");
    }
    let rest = resource_path.strip_prefix('/').unwrap_or(resource_path).replace("~1", "/");
    let decoded = if rest.starts_with('/') { rest } else { format!("/{rest}") };
    format!("/{}/{}", decoded.replace('~', "~0").replace('/', "~1"), http_method.to_ascii_uppercase())
}

/// The replace operations that set the members present in `properties` under `prefix`.
fn member_ops(prefix: &str, properties: &Props) -> Vec<Value> {
    MEMBERS
        .iter()
        .filter_map(|(name, member)| {
            let value = properties.get(*name).filter(|v| !v.is_null()).and_then(props::text)?;
            Some(json!({"op": "replace", "path": format!("{prefix}/{member}"), "value": value}))
        })
        .collect()
}

/// One `MethodSetting` object: its prefix and the operations setting it.
fn setting(item: &Value) -> Result<(String, Vec<Value>), ResourceError> {
    let item = item.as_object().ok_or_else(|| invalid("MethodSettings must be a list of objects".into()))?;
    let mut known: Vec<&str> = stage_level_members().collect();
    known.extend(["ResourcePath", "HttpMethod"]);
    props::check("MethodSetting", item, &known, &[])?;
    let path = props::required_str(item, "ResourcePath")?;
    let method = props::required_str(item, "HttpMethod")?;
    let prefix = prefix(&path, &method);
    let ops = member_ops(&prefix, item);
    Ok((prefix, ops))
}

/// The operations applying a `MethodSettings` list (absent or null: none).
pub fn ops(settings: Option<&Value>) -> Result<Vec<Value>, ResourceError> {
    let Some(list) = settings.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let items = list.as_array().ok_or_else(|| invalid("MethodSettings must be a list".into()))?;
    let mut ops = Vec::new();
    for item in items {
        ops.extend(setting(item)?.1);
    }
    Ok(ops)
}

/// The operations removing every setting a `MethodSettings` list made.
pub fn removal_ops(settings: Option<&Value>) -> Vec<Value> {
    let items = settings.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut prefixes: Vec<String> = items
        .iter()
        .filter_map(|item| setting(item).ok())
        .filter(|(_, ops)| !ops.is_empty())
        .map(|(prefix, _)| prefix)
        .collect();
    prefixes.sort();
    prefixes.dedup();
    prefixes.into_iter().map(|path| json!({"op": "remove", "path": path})).collect()
}

/// The operations for a Deployment's `StageDescription`: its own throttling, logging and
/// metrics members mean `*/*`; its `MethodSettings` follow.
pub fn stage_description_ops(stage: &Map<String, Value>) -> Result<Vec<Value>, ResourceError> {
    let mut ops = member_ops("/*/*", stage);
    ops.extend(self::ops(stage.get("MethodSettings"))?);
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_patch_operations() {
        let list = json!([
            {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingBurstLimit": 2, "ThrottlingRateLimit": "0.5"},
            {"ResourcePath": "/~1counter~1{id}", "HttpMethod": "get", "MetricsEnabled": true},
            {"ResourcePath": "/", "HttpMethod": "POST", "LoggingLevel": "INFO"},
        ]);
        assert_eq!(
            ops(Some(&list)).unwrap(),
            vec![
                json!({"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"}),
                json!({"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.5"}),
                json!({"op": "replace", "path": "/~1counter~1{id}/GET/metrics/enabled", "value": "true"}),
                json!({"op": "replace", "path": "/~1/POST/logging/loglevel", "value": "INFO"}),
            ]
        );
        assert_eq!(prefix("/counter", "GET"), "/~1counter/GET", "an unescaped path is read the same");
        assert_eq!(
            removal_ops(Some(&list)),
            vec![
                json!({"op": "remove", "path": "/*/*"}),
                json!({"op": "remove", "path": "/~1/POST"}),
                json!({"op": "remove", "path": "/~1counter~1{id}/GET"}),
            ]
        );
        assert!(ops(Some(&json!([{"HttpMethod": "*"}]))).is_err(), "ResourcePath is required");
        assert!(ops(Some(&json!([{"ResourcePath": "/*", "HttpMethod": "*", "Speed": 1}]))).is_err());
        let stage = json!({"ThrottlingRateLimit": 5, "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*",
            "DataTraceEnabled": false}]});
        assert_eq!(
            stage_description_ops(stage.as_object().unwrap()).unwrap(),
            vec![
                json!({"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "5"}),
                json!({"op": "replace", "path": "/*/*/logging/dataTrace", "value": "false"}),
            ]
        );
    }
}
