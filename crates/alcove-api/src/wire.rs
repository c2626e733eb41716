//! Lambda's REST-JSON shapes: request bodies as they arrive and the documents we answer
//! with. Field names follow botocore's service model; conversion to and from domain types
//! happens here and nowhere else.

use std::collections::BTreeMap;

use alcove_core::{Alias, FunctionConfig, LoggingPatch, SettingsPatch, SnapStartApplyOn, Version};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfigInput {
    pub log_format: Option<String>,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub log_group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfigInput {
    pub mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStartInput {
    pub apply_on: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfigInput {
    pub target_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcConfigInput {
    pub subnet_ids: Option<Vec<String>>,
    pub security_group_ids: Option<Vec<String>>,
    pub ipv6_allowed_for_dual_stack: Option<bool>,
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
    #[serde(rename = "S3Key")]
    pub s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    pub s3_object_version: Option<String>,
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
    pub logging_config: Option<LoggingConfigInput>,
    pub tracing_config: Option<TracingConfigInput>,
    pub snap_start: Option<SnapStartInput>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub dead_letter_config: Option<DeadLetterConfigInput>,
    pub vpc_config: Option<VpcConfigInput>,
    pub file_system_configs: Option<Vec<Value>>,
    pub image_config: Option<Value>,
    pub capacity_provider_config: Option<Value>,
    pub durable_config: Option<Value>,
}

/// Whether a member that names a feature this server does not have asks for it: present
/// and not empty (`{}`, `[]` and `null` ask for nothing, and clear nothing that exists).
fn asks_for(value: &Option<Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(members)) => members.values().any(|v| asks_for(&Some(v.clone()))),
        Some(_) => true,
    }
}

impl SettingsInput {
    /// Refuses members whose feature this server does not have, with a message that says
    /// so, rather than ignoring them.
    fn refuse_unsupported(&self) -> alcove_core::Result<()> {
        let refuse = |what: &str| Err(alcove_core::Error::invalid(what.to_owned()));
        if self.layers.as_ref().is_some_and(|l| !l.is_empty()) {
            return refuse("Layers are not supported by this server yet.");
        }
        if self.file_system_configs.as_ref().is_some_and(|f| !f.is_empty()) {
            return refuse("FileSystemConfigs are not supported by this server: it has no EFS file systems.");
        }
        if asks_for(&self.image_config) {
            return refuse("ImageConfig is not supported for functions with package type Zip.");
        }
        if asks_for(&self.capacity_provider_config) {
            return refuse(
                "CapacityProviderConfig is not supported by this server: Lambda Managed Instances do \
                 not exist here.",
            );
        }
        if asks_for(&self.durable_config) {
            return refuse(
                "DurableConfig is not supported by this server: durable functions do not exist here.",
            );
        }
        Ok(())
    }

    pub fn into_patch(self, architectures: Option<Vec<String>>) -> alcove_core::Result<SettingsPatch> {
        self.refuse_unsupported()?;
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
            logging: self.logging_config.map(|l| LoggingPatch {
                log_format: l.log_format,
                application_log_level: l.application_log_level,
                system_log_level: l.system_log_level,
                log_group: l.log_group,
            }),
            tracing_mode: self.tracing_config.and_then(|t| t.mode),
            snap_start: self.snap_start.and_then(|s| s.apply_on),
            kms_key_arn: self.kms_key_arn,
            dead_letter_target: self.dead_letter_config.map(|d| d.target_arn.unwrap_or_default()),
            vpc: self.vpc_config.map(|v| alcove_core::VpcPatch {
                subnet_ids: v.subnet_ids,
                security_group_ids: v.security_group_ids,
                ipv6_allowed_for_dual_stack: v.ipv6_allowed_for_dual_stack,
            }),
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
    pub code_signing_config_arn: Option<String>,
    pub publish_to: Option<String>,
    #[serde(flatten)]
    pub settings: SettingsInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionCodeRequest {
    pub zip_file: Option<String>,
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    pub s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    pub s3_object_version: Option<String>,
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

/// `FunctionConfiguration` as botocore expects it. Settings this server accepts without
/// effect (tracing, SnapStart, the KMS key, the dead-letter target) are returned as given.
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
    /// The lifecycle members (see `alcove_core::lifecycle`); absent from list entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason_code: Option<&'static str>,
    /// Absent from list entries, as on Lambda.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_version_config: Option<RuntimeVersionConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfigResponse>,
    pub package_type: &'static str,
    pub architectures: [&'static str; 1],
    pub ephemeral_storage: EphemeralStorage,
    pub snap_start: SnapStartResponse,
    pub logging_config: LoggingConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenancy_config: Option<TenancyConfig>,
    #[serde(rename = "KMSKeyArn", skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeVersionConfig {
    pub runtime_version_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcConfigResponse {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub vpc_id: String,
    pub ipv6_allowed_for_dual_stack: bool,
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

/// `LoggingConfig`: the levels only for JSON, as Lambda reports them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_log_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_log_level: Option<&'static str>,
    pub log_group: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    pub target_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenancyConfig {
    pub tenant_isolation_mode: &'static str,
}

pub fn function_configuration(config: &FunctionConfig, region: &str) -> FunctionConfiguration {
    let s = &config.settings;
    let lifecycle = config.lifecycle;
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
        environment: (s.environment_set || !s.environment.is_empty())
            .then(|| EnvironmentResponse { variables: s.environment.clone() }),
        tracing_config: TracingConfig { mode: s.tracing_mode.as_str() },
        revision_id: config.revision_id.clone(),
        state: Some(lifecycle.state.as_str()),
        state_reason: lifecycle.state_reason().map(|(reason, _)| reason),
        state_reason_code: lifecycle.state_reason().map(|(_, code)| code),
        last_update_status: lifecycle.last_update.map(|status| status.as_str()),
        last_update_status_reason: lifecycle.update_reason().map(|(reason, _)| reason),
        last_update_status_reason_code: lifecycle.update_reason().map(|(_, code)| code),
        runtime_version_config: Some(RuntimeVersionConfig {
            runtime_version_arn: s.runtime.version_arn(region),
        }),
        vpc_config: s.vpc.as_ref().map(|vpc| VpcConfigResponse {
            subnet_ids: vpc.subnet_ids.clone(),
            security_group_ids: vpc.security_group_ids.clone(),
            vpc_id: vpc.vpc_id(),
            ipv6_allowed_for_dual_stack: vpc.ipv6_allowed_for_dual_stack,
        }),
        package_type: "Zip",
        architectures: [s.architecture.as_str()],
        ephemeral_storage: EphemeralStorage { size: s.ephemeral_storage_mb },
        snap_start: SnapStartResponse {
            apply_on: s.snap_start.as_str(),
            optimization_status: snap_start_status(config),
        },
        logging_config: LoggingConfig {
            log_format: s.logging.format.as_str(),
            application_log_level: s.logging.application_level.map(|level| level.as_str()),
            system_log_level: s.logging.system_level.map(|level| level.as_str()),
            log_group: config.log_group(),
        },
        tenancy_config: config.tenancy.map(|mode| TenancyConfig { tenant_isolation_mode: mode.as_str() }),
        kms_key_arn: s.kms_key_arn.clone(),
        dead_letter_config: s.dead_letter_target.clone().map(|target_arn| DeadLetterConfig { target_arn }),
    }
}

impl FunctionConfiguration {
    /// The same document naming the function by `arn`: Lambda qualifies `FunctionArn` by
    /// the qualifier the request used, not by the version it found.
    pub fn with_arn(self, arn: String) -> Self {
        FunctionConfiguration { function_arn: arn, ..self }
    }

    /// An entry of `ListFunctions`: Lambda lists no lifecycle members and no runtime version.
    pub fn list_entry(self) -> Self {
        FunctionConfiguration {
            state: None,
            state_reason: None,
            state_reason_code: None,
            last_update_status: None,
            last_update_status_reason: None,
            last_update_status_reason_code: None,
            runtime_version_config: None,
            ..self
        }
    }
}

/// `SnapStart.OptimizationStatus`: Lambda snapshots published versions only, so `$LATEST`
/// always reports `Off`, and a version published with `PublishedVersions` reports `On`.
fn snap_start_status(config: &FunctionConfig) -> &'static str {
    match (config.version, config.settings.snap_start) {
        (Version::Published(_), SnapStartApplyOn::PublishedVersions) => "On",
        _ => "Off",
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_config: Option<RoutingConfigOutput>,
}

/// `AliasRoutingConfiguration`: the additional version and its weight.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoutingConfigOutput {
    pub additional_version_weights: BTreeMap<String, f64>,
}

pub fn alias_configuration(alias: &Alias, region: &str) -> AliasConfiguration {
    AliasConfiguration {
        routing_config: alias.routing.map(|r| RoutingConfigOutput {
            additional_version_weights: BTreeMap::from([(r.version.to_string(), r.weight)]),
        }),
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
