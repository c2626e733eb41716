//! Lambda's REST-JSON shapes: request bodies as they arrive and the documents we answer
//! with. Field names follow botocore's service model; conversion to and from domain types
//! happens here and nowhere else.

use std::collections::BTreeMap;

use alcove_core::{Alias, FunctionConfig, SettingsPatch, Version};
use serde::{Deserialize, Serialize};

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

/// `FunctionConfiguration` as botocore expects it. Members that describe features this
/// server does not offer (tracing, SnapStart, log formats) carry Lambda's defaults.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    pub function_name: String,
    /// Unqualified for `$LATEST` (qualified in a version listing), qualified for a version.
    pub function_arn: String,
    pub runtime: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    pub code_size: u64,
    pub description: String,
    pub timeout: u32,
    pub memory_size: u32,
    pub last_modified: String,
    pub code_sha256: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentResponse>,
    pub tracing_config: TracingConfig,
    pub revision_id: String,
    pub state: &'static str,
    pub last_update_status: &'static str,
    pub package_type: &'static str,
    pub architectures: [&'static str; 1],
    pub ephemeral_storage: EphemeralStorage,
    pub snap_start: SnapStartResponse,
    pub logging_config: LoggingConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenancy_config: Option<TenancyConfig>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentResponse {
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    pub size: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStartResponse {
    pub apply_on: &'static str,
    pub optimization_status: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: &'static str,
    pub log_group: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenancyConfig {
    pub tenant_isolation_mode: &'static str,
}

pub fn function_configuration(config: &FunctionConfig, region: &str) -> FunctionConfiguration {
    let s = &config.settings;
    let function_arn = match config.version {
        Version::Latest => config.arn(region),
        Version::Published(_) => config.qualified_arn(region),
    };
    FunctionConfiguration {
        function_name: config.name.as_str().to_owned(),
        function_arn,
        runtime: s.runtime.as_str().to_owned(),
        role: s.role.clone(),
        handler: s.handler.clone(),
        code_size: config.code.size,
        description: s.description.clone(),
        timeout: s.timeout_secs,
        memory_size: s.memory_mb,
        last_modified: config.last_modified_string(),
        code_sha256: config.code.sha256_base64(),
        version: config.version.to_string(),
        environment: (!s.environment.is_empty())
            .then(|| EnvironmentResponse { variables: s.environment.clone() }),
        tracing_config: TracingConfig { mode: "PassThrough" },
        revision_id: config.revision_id.clone(),
        state: "Active",
        last_update_status: "Successful",
        package_type: "Zip",
        architectures: [s.architecture.as_str()],
        ephemeral_storage: EphemeralStorage { size: s.ephemeral_storage_mb },
        snap_start: SnapStartResponse { apply_on: "None", optimization_status: "Off" },
        logging_config: LoggingConfig {
            log_format: "Text",
            log_group: format!("/aws/lambda/{}", config.name),
        },
        tenancy_config: config.tenancy.map(|mode| TenancyConfig { tenant_isolation_mode: mode.as_str() }),
    }
}

/// `GetFunction`'s answer: the configuration, where the code is, and the function's
/// reserved concurrency and tags when it has them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFunctionResponse {
    pub configuration: FunctionConfiguration,
    pub code: FunctionCodeLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<ConcurrencyDocument>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<alcove_core::Tags>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCodeLocation {
    pub repository_type: &'static str,
    pub location: String,
}

/// `ListFunctions`' answer; `NextMarker` only when more functions follow.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionsResponse {
    pub functions: Vec<FunctionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// `ListVersionsByFunction`'s answer; `NextMarker` only when more versions follow.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVersionsResponse {
    pub versions: Vec<FunctionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// `AliasConfiguration`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasConfiguration {
    pub alias_arn: String,
    pub name: String,
    pub function_version: String,
    pub description: String,
    pub revision_id: String,
}

pub fn alias_configuration(alias: &Alias, region: &str) -> AliasConfiguration {
    AliasConfiguration {
        alias_arn: format!("{}:{}", alias.function.arn(region), alias.name),
        name: alias.name.as_str().to_owned(),
        function_version: alias.version.to_string(),
        description: alias.description.clone(),
        revision_id: alias.revision_id.clone(),
    }
}

/// `ListAliases`' answer; `NextMarker` only when more aliases follow.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    pub aliases: Vec<AliasConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// The answer of `PutFunctionConcurrency` and `GetFunctionConcurrency`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConcurrencyDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<u32>,
}
