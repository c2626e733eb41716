//! A function's configuration: the settings a user controls, the code it runs, and the
//! identity of the version it belongs to. Creating and updating both go through
//! [`SettingsPatch::apply`], so one set of rules validates every change.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lifecycle::Lifecycle;
use crate::logging::{LoggingConfig, LoggingPatch};
use crate::names::FunctionName;
use crate::recorded::{parse_arn_setting, SnapStartApplyOn, TracingMode};
use crate::runtime::Runtime;
use crate::tags::{NetworkAccess, Tags};
use crate::tenant::TenantIsolationMode;
use crate::vpc::{VpcConfig, VpcPatch};

/// Service limits this server enforces and reports in `GetAccountSettings`.
pub struct Limits {
    pub memory_mb: (u32, u32),
    pub timeout_secs: (u32, u32),
    pub ephemeral_storage_mb: (u32, u32),
    pub environment_bytes: usize,
    pub code_size_zipped: u64,
    pub code_size_unzipped: u64,
    pub total_code_size: u64,
    /// Largest request body accepted by the code-carrying operations.
    pub request_body_bytes: usize,
}

pub const LIMITS: Limits = Limits {
    memory_mb: (128, 10240),
    timeout_secs: (1, 900),
    ephemeral_storage_mb: (512, 10240),
    environment_bytes: 4096,
    code_size_zipped: 52_428_800,
    code_size_unzipped: 262_144_000,
    total_code_size: 80_530_636_800,
    request_body_bytes: 70_167_211,
};

/// Keys the platform sets itself and a function may not override.
const RESERVED_ENV_KEYS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "x86_64" => Ok(Architecture::X86_64),
            "arm64" => Ok(Architecture::Arm64),
            other => Err(Error::invalid(format!(
                "Value '[{other}]' at 'architectures' failed to satisfy constraint: Member must \
                 satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"
            ))),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// `$LATEST` or a published, immutable version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    Latest,
    Published(u64),
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("$LATEST"),
            Version::Published(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        if raw == "$LATEST" {
            return Ok(Version::Latest);
        }
        raw.parse().map(Version::Published).map_err(serde::de::Error::custom)
    }
}

/// The code package a configuration runs: identified by the SHA-256 of the zip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRef {
    pub sha256_hex: String,
    pub size: u64,
}

impl CodeRef {
    /// `CodeSha256` as Lambda reports it: base64 of the raw digest.
    pub fn sha256_base64(&self) -> String {
        let raw = hex::decode(&self.sha256_hex).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

/// What a user sets on a function. Always valid once built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSettings {
    pub runtime: Runtime,
    pub handler: Option<String>,
    pub role: String,
    pub description: String,
    pub timeout_secs: u32,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    /// Whether `Environment` was ever given: Lambda reports `Environment: {"Variables": {}}`
    /// once it is set, even empty, and no `Environment` before.
    #[serde(default)]
    pub environment_set: bool,
    pub architecture: Architecture,
    pub ephemeral_storage_mb: u32,
    /// `LoggingConfig` (absent from versions stored before it existed: Lambda's default).
    #[serde(default)]
    pub logging: LoggingConfig,
    /// `TracingConfig.Mode`: stored and returned, without effect (no X-Ray here).
    #[serde(default)]
    pub tracing_mode: TracingMode,
    /// `SnapStart.ApplyOn`: stored and returned, without effect (no snapshots here).
    #[serde(default)]
    pub snap_start: SnapStartApplyOn,
    /// `KMSKeyArn`: stored and returned, without effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// `DeadLetterConfig.TargetArn`: stored and returned, without effect (failed events go to
    /// Alcove's own dead letters and the event invoke config's destinations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_target: Option<String>,
    /// `VpcConfig`: validated, stored and returned, without network effect (see `crate::vpc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<VpcConfig>,
}

/// A requested change to settings; absent fields keep their value (or take the default on
/// creation). Numbers are wide so that out-of-range input reaches validation intact.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Option<String>,
    pub description: Option<String>,
    pub timeout_secs: Option<i64>,
    pub memory_mb: Option<i64>,
    pub environment: Option<BTreeMap<String, String>>,
    pub architectures: Option<Vec<String>>,
    pub ephemeral_storage_mb: Option<i64>,
    pub logging: Option<LoggingPatch>,
    pub tracing_mode: Option<String>,
    pub snap_start: Option<String>,
    /// The empty string clears it.
    pub kms_key_arn: Option<String>,
    /// The empty string clears it.
    pub dead_letter_target: Option<String>,
    pub vpc: Option<VpcPatch>,
}

impl SettingsPatch {
    /// Builds the settings of a new function.
    pub fn create(self) -> Result<FunctionSettings> {
        let runtime = self.runtime.as_deref().ok_or_else(|| {
            Error::invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
        })?;
        let runtime = Runtime::parse(runtime)?;
        if self.handler.is_none() && !runtime.is_os_only() {
            return Err(Error::invalid(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
            ));
        }
        let role = self.role.clone().ok_or_else(|| Error::invalid("Role is a required parameter."))?;
        let base = FunctionSettings {
            runtime,
            handler: None,
            role,
            description: String::new(),
            timeout_secs: 3,
            memory_mb: 128,
            environment: BTreeMap::new(),
            environment_set: false,
            architecture: Architecture::X86_64,
            ephemeral_storage_mb: 512,
            logging: LoggingConfig::default(),
            tracing_mode: TracingMode::default(),
            snap_start: SnapStartApplyOn::default(),
            kms_key_arn: None,
            dead_letter_target: None,
            vpc: None,
        };
        self.apply(&base)
    }

    /// Applies the patch to existing settings, validating every resulting value.
    pub fn apply(self, current: &FunctionSettings) -> Result<FunctionSettings> {
        let mut next = current.clone();
        if let Some(runtime) = self.runtime {
            next.runtime = Runtime::parse(&runtime)?;
        }
        if let Some(handler) = self.handler {
            validate_handler(&handler)?;
            next.handler = Some(handler);
        }
        if let Some(role) = self.role {
            validate_role(&role)?;
            next.role = role;
        }
        if let Some(description) = self.description {
            if description.chars().count() > 256 {
                return Err(Error::invalid(
                    "Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
                ));
            }
            next.description = description;
        }
        if let Some(t) = self.timeout_secs {
            next.timeout_secs = in_range("timeout", t, LIMITS.timeout_secs)?;
        }
        if let Some(m) = self.memory_mb {
            next.memory_mb = in_range("memorySize", m, LIMITS.memory_mb)?;
        }
        if let Some(e) = self.ephemeral_storage_mb {
            next.ephemeral_storage_mb = in_range("ephemeralStorage.size", e, LIMITS.ephemeral_storage_mb)?;
        }
        if let Some(archs) = self.architectures {
            next.architecture = match archs.as_slice() {
                [one] => Architecture::parse(one)?,
                _ => {
                    return Err(Error::invalid(
                        "Value at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1 and greater than or equal to 1",
                    ))
                }
            };
        }
        if let Some(env) = self.environment {
            validate_environment(&env)?;
            next.environment = env;
            next.environment_set = true;
        }
        if let Some(logging) = self.logging {
            next.logging = logging.apply(&next.logging)?;
        }
        if let Some(mode) = self.tracing_mode {
            next.tracing_mode = TracingMode::parse(&mode)?;
        }
        if let Some(apply_on) = self.snap_start {
            next.snap_start = SnapStartApplyOn::parse(&apply_on)?;
        }
        if let Some(arn) = self.kms_key_arn {
            next.kms_key_arn = parse_arn_setting("kMSKeyArn", &arn)?;
        }
        if let Some(arn) = self.dead_letter_target {
            next.dead_letter_target = parse_arn_setting("deadLetterConfig.targetArn", &arn)?;
        }
        if let Some(vpc) = self.vpc {
            next.vpc = Some(vpc.apply(next.vpc.as_ref())?);
        }
        Ok(next)
    }
}

impl FunctionSettings {
    /// The rules that depend on the function's tenant isolation mode, which is set at
    /// creation and not part of the settings: checked after every create and update.
    pub fn check_tenancy(&self, tenancy: Option<TenantIsolationMode>) -> Result<()> {
        self.snap_start.check(&self.runtime, tenancy)
    }
}

fn in_range(field: &str, value: i64, (min, max): (u32, u32)) -> Result<u32> {
    if value < i64::from(min) || value > i64::from(max) {
        let constraint = if value < i64::from(min) {
            format!("greater than or equal to {min}")
        } else {
            format!("less than or equal to {max}")
        };
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: \
             Member must have value {constraint}"
        )));
    }
    Ok(value as u32)
}

fn validate_handler(handler: &str) -> Result<()> {
    if handler.len() > 128 || handler.is_empty() || handler.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{handler}' at 'handler' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [^\\s]+ and have length \
             less than or equal to 128"
        )));
    }
    Ok(())
}

/// `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
fn validate_role(role: &str) -> Result<()> {
    let invalid = || {
        Error::invalid(format!(
            "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: \
             arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        ))
    };
    let mut parts = role.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let partition_ok = partition.is_empty()
        || (partition.starts_with("aws")
            && partition[3..].chars().all(|c| c.is_ascii_alphabetic() || c == '-'));
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    let path = resource.strip_prefix("role").ok_or_else(invalid)?;
    let path = path.strip_prefix('/').unwrap_or(path);
    let path_ok =
        !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c));
    if partition_ok && account_ok && path_ok && role.len() <= 10_000 {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn validate_environment(env: &BTreeMap<String, String>) -> Result<()> {
    let reserved: Vec<&str> =
        env.keys().map(String::as_str).filter(|k| RESERVED_ENV_KEYS.contains(k)).collect();
    if !reserved.is_empty() {
        return Err(Error::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment \
             variables you have provided contains reserved keys that are currently not supported \
             for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    for key in env.keys() {
        let mut chars = key.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::invalid(format!(
                "Lambda was unable to configure your environment variables because the environment \
                 variables you have provided contains invalid keys: '{key}' must match the pattern \
                 [a-zA-Z]([a-zA-Z0-9_])+"
            )));
        }
    }
    let size = serde_json::to_string(env).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > LIMITS.environment_bytes {
        return Err(Error::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment \
             variables you have provided exceeded the 4KB limit. String measured: {size} bytes"
        )));
    }
    Ok(())
}

/// One version of a function: `$LATEST` (mutable) or a published snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub name: FunctionName,
    pub version: Version,
    pub settings: FunctionSettings,
    /// Set at creation only; every version inherits it.
    pub tenancy: Option<TenantIsolationMode>,
    pub code: CodeRef,
    pub last_modified: DateTime<Utc>,
    pub revision_id: String,
    /// The function's tags (function-level: every version carries the current ones).
    #[serde(default)]
    pub tags: Tags,
    /// `State` and `LastUpdateStatus` (see `crate::lifecycle`); settled when absent.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

impl FunctionConfig {
    /// Whether this function's environments may reach the network beyond loopback.
    pub fn network_access(&self) -> NetworkAccess {
        NetworkAccess::of(&self.tags, self.tenancy)
    }

    /// Whether publishing `self` would deploy nothing new compared to `published`.
    pub fn same_deployment_as(&self, published: &FunctionConfig) -> bool {
        let strip = |s: &FunctionSettings| FunctionSettings { description: String::new(), ..s.clone() };
        self.code == published.code && strip(&self.settings) == strip(&published.settings)
    }

    /// The CloudWatch log group the function's logs belong to: its `LoggingConfig.LogGroup`,
    /// else Lambda's default `/aws/lambda/<name>`.
    pub fn log_group(&self) -> String {
        self.settings.logging.log_group(&self.name)
    }

    /// `LastModified` in Lambda's format, e.g. `2026-11-25T07:00:00.000+0000`.
    pub fn last_modified_string(&self) -> String {
        self.last_modified.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
    }

    pub fn arn(&self, region: &str) -> String {
        self.name.arn(region)
    }

    /// The ARN with this version's qualifier, as Lambda reports for published versions.
    pub fn qualified_arn(&self, region: &str) -> String {
        match self.version {
            Version::Latest => format!("{}:$LATEST", self.name.arn(region)),
            Version::Published(_) => format!("{}:{}", self.name.arn(region), self.version),
        }
    }

    pub fn new_revision_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch() -> SettingsPatch {
        SettingsPatch {
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            role: Some("arn:aws:iam::123456789012:role/lambda-role".into()),
            ..Default::default()
        }
    }

    #[test]
    fn creation_defaults() {
        let s = patch().create().unwrap();
        assert_eq!((s.memory_mb, s.timeout_secs, s.ephemeral_storage_mb), (128, 3, 512));
        assert_eq!(s.architecture, Architecture::X86_64);
    }

    #[test]
    fn ranges_are_enforced_at_both_ends() {
        for (memory, ok) in [(127, false), (128, true), (10240, true), (10241, false)] {
            let r = SettingsPatch { memory_mb: Some(memory), ..patch() }.create();
            assert_eq!(r.is_ok(), ok, "memory {memory}");
        }
        for (timeout, ok) in [(0, false), (1, true), (900, true), (901, false)] {
            let r = SettingsPatch { timeout_secs: Some(timeout), ..patch() }.create();
            assert_eq!(r.is_ok(), ok, "timeout {timeout}");
        }
        for (size, ok) in [(511, false), (512, true), (10240, true), (10241, false)] {
            let r = SettingsPatch { ephemeral_storage_mb: Some(size), ..patch() }.create();
            assert_eq!(r.is_ok(), ok, "storage {size}");
        }
    }

    #[test]
    fn handler_and_runtime_required_except_os_only() {
        assert!(SettingsPatch { handler: None, ..patch() }.create().is_err());
        assert!(SettingsPatch { runtime: None, ..patch() }.create().is_err());
        let os_only = SettingsPatch { handler: None, runtime: Some("provided.al2023".into()), ..patch() };
        assert!(os_only.create().is_ok());
    }

    #[test]
    fn roles() {
        for ok in [
            "arn:aws:iam::123456789012:role/x",
            "arn:aws-cn:iam::123456789012:role/path/to/r",
            "arn:aws:iam::123456789012:role/a+b=c,d.e@f-g_h",
        ] {
            assert!(validate_role(ok).is_ok(), "{ok}");
        }
        for bad in [
            "notarole",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:s3::123456789012:role/x",
        ] {
            assert!(validate_role(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn environment_rules() {
        let env =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(validate_environment(&env(&[("STAGE", "prod"), ("a1_b", "x")])).is_ok());
        let reserved = validate_environment(&env(&[("AWS_REGION", "x")])).unwrap_err().to_string();
        assert!(reserved.contains("AWS_REGION"));
        assert!(validate_environment(&env(&[("1BAD", "x")])).is_err());
        assert!(validate_environment(&env(&[("A", "x")])).is_err());
        assert!(validate_environment(&env(&[("BIG", &"x".repeat(5000))])).is_err());
    }

    #[test]
    fn architectures() {
        let r = SettingsPatch { architectures: Some(vec!["arm64".into()]), ..patch() }.create().unwrap();
        assert_eq!(r.architecture, Architecture::Arm64);
        assert!(SettingsPatch { architectures: Some(vec!["mips".into()]), ..patch() }.create().is_err());
        assert!(SettingsPatch { architectures: Some(vec![]), ..patch() }.create().is_err());
    }

    #[test]
    fn settings_stored_before_logging_config_still_load() {
        let old = r#"{"runtime":"python3.12","handler":"app.handler","role":"arn:aws:iam::123456789012:role/lambda-role",
            "description":"","timeout_secs":3,"memory_mb":128,"environment":{},"architecture":"x86_64",
            "ephemeral_storage_mb":512}"#;
        let settings: FunctionSettings = serde_json::from_str(old).unwrap();
        assert_eq!(settings.logging, LoggingConfig::default());
        assert_eq!(
            (settings.tracing_mode, settings.snap_start),
            (TracingMode::PassThrough, SnapStartApplyOn::None)
        );
        assert_eq!(settings, patch().create().unwrap());
    }

    #[test]
    fn recorded_settings_round_trip_and_clear() {
        let s = SettingsPatch {
            tracing_mode: Some("Active".into()),
            kms_key_arn: Some("arn:aws:kms:us-east-1:000000000000:key/k".into()),
            dead_letter_target: Some("arn:aws:sqs:us-east-1:000000000000:dlq".into()),
            ..patch()
        }
        .create()
        .unwrap();
        assert_eq!(s.tracing_mode, TracingMode::Active);
        let cleared =
            SettingsPatch { kms_key_arn: Some(String::new()), ..Default::default() }.apply(&s).unwrap();
        assert_eq!((cleared.kms_key_arn, cleared.dead_letter_target.is_some()), (None, true));
        let json: FunctionSettings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(json, s);
    }

    #[test]
    fn snap_start_is_refused_for_tenant_isolation() {
        let s = SettingsPatch { snap_start: Some("PublishedVersions".into()), ..patch() }.create().unwrap();
        assert!(s.check_tenancy(None).is_ok());
        assert!(s.check_tenancy(Some(TenantIsolationMode::PerTenant)).is_err());
    }

    #[test]
    fn version_round_trips_as_string() {
        assert_eq!(serde_json::to_string(&Version::Published(3)).unwrap(), "\"3\"");
        assert_eq!(serde_json::from_str::<Version>("\"$LATEST\"").unwrap(), Version::Latest);
    }

    #[test]
    fn code_sha_is_base64_of_digest() {
        let code = CodeRef { sha256_hex: "00ff".into(), size: 2 };
        assert_eq!(code.sha256_base64(), "AP8=");
    }
}
