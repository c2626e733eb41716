//! Lambda's REST-JSON shapes: request bodies as they arrive and the documents we answer
//! with. Field names follow botocore's service model; conversion to and from domain types
//! happens here and nowhere else.

use std::collections::BTreeMap;

use alcove_core::{Alias, FunctionConfig, SettingsPatch, Version};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentInput {
    pub variables: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorageInput {
    pub size: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenancyConfigInput {
    pub tenant_isolation_mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeInput {
    pub zip_file: Option<String>,
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Option<String>,
    pub image_uri: Option<String>,
}

/// The settings members shared by CreateFunction and UpdateFunctionConfiguration.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SettingsInput {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub environment: Option<EnvironmentInput>,
    pub ephemeral_storage: Option<EphemeralStorageInput>,
    pub layers: Option<Vec<String>>,
}

impl SettingsInput {
    pub fn into_patch(self, architectures: Option<Vec<String>>) -> alcove_core::Result<SettingsPatch> {
        if self.layers.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(alcove_core::Error::invalid("Layers are not supported by this server yet."));
        }
        let ephemeral_storage_mb = match self.ephemeral_storage {
            Some(EphemeralStorageInput { size: Some(size) }) => Some(size),
            Some(EphemeralStorageInput { size: None }) => {
                return Err(alcove_core::Error::invalid(
                    "EphemeralStorage.Size is required when EphemeralStorage is given.",
                ))
            }
            None => None,
        };
        Ok(SettingsPatch {
            runtime: self.runtime,
            handler: self.handler,
            role: self.role,
            description: self.description,
            timeout_secs: self.timeout,
            memory_mb: self.memory_size,
            environment: self.environment.map(|e| e.variables.unwrap_or_default()),
            architectures,
            ephemeral_storage_mb,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionRequest {
    pub function_name: Option<String>,
    pub code: Option<CodeInput>,
    pub publish: Option<bool>,
    pub package_type: Option<String>,
    pub architectures: Option<Vec<String>>,
    pub tenancy_config: Option<TenancyConfigInput>,
    pub tags: Option<alcove_core::Tags>,
    #[serde(flatten)]
    pub settings: SettingsInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionCodeRequest {
    pub zip_file: Option<String>,
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Option<String>,
    pub image_uri: Option<String>,
    pub architectures: Option<Vec<String>>,
    pub publish: Option<bool>,
    pub dry_run: Option<bool>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionConfigurationRequest {
    pub revision_id: Option<String>,
    #[serde(flatten)]
    pub settings: SettingsInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishVersionRequest {
    pub code_sha256: Option<String>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoutingConfigInput {
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    pub name: Option<String>,
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<RoutingConfigInput>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutConcurrencyRequest {
    pub reserved_concurrent_executions: Option<i64>,
}

/// Query string of the listing operations.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQuery {
    pub marker: Option<String>,
    pub max_items: Option<String>,
    pub function_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QualifierQuery {
    pub qualifier: Option<String>,
}

/// `FunctionConfiguration` as botocore expects it.
pub fn function_configuration(config: &FunctionConfig, region: &str) -> Value {
    let s = &config.settings;
    let arn = match config.version {
        Version::Latest => config.arn(region),
        Version::Published(_) => config.qualified_arn(region),
    };
    let mut doc = json!({
        "FunctionName": config.name.as_str(),
        "FunctionArn": arn,
        "Runtime": s.runtime.as_str(),
        "Role": s.role,
        "Handler": s.handler,
        "CodeSize": config.code.size,
        "Description": s.description,
        "Timeout": s.timeout_secs,
        "MemorySize": s.memory_mb,
        "LastModified": config.last_modified_string(),
        "CodeSha256": config.code.sha256_base64(),
        "Version": config.version.to_string(),
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": config.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": [s.architecture.as_str()],
        "EphemeralStorage": { "Size": s.ephemeral_storage_mb },
        "SnapStart": { "ApplyOn": "None", "OptimizationStatus": "Off" },
        "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", config.name) },
    });
    let fields = doc.as_object_mut().expect("a JSON object");
    if s.handler.is_none() {
        fields.remove("Handler");
    }
    if !s.environment.is_empty() {
        fields.insert("Environment".into(), json!({ "Variables": s.environment }));
    }
    if let Some(mode) = config.tenancy {
        fields.insert("TenancyConfig".into(), json!({ "TenantIsolationMode": mode.as_str() }));
    }
    doc
}

/// A listing page: `{"<key>": [...], "NextMarker": "..."}`, the marker only when more
/// items follow.
pub fn page_document(key: &str, items: Vec<Value>, next_marker: Option<String>) -> Value {
    let mut doc = json!({ key: items });
    if let Some(marker) = next_marker {
        doc["NextMarker"] = json!(marker);
    }
    doc
}

/// `AliasConfiguration`.
pub fn alias_configuration(alias: &Alias, region: &str) -> Value {
    json!({
        "AliasArn": format!("{}:{}", alias.function.arn(region), alias.name),
        "Name": alias.name.as_str(),
        "FunctionVersion": alias.version.to_string(),
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    })
}

/// The answer of `PutFunctionConcurrency` and `GetFunctionConcurrency`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConcurrencyDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<u32>,
}
