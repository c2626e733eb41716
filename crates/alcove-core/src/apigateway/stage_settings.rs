//! A stage's method settings and the UpdateStage patch operations that change a stage.
//!
//! Settings are kept per `{resourcePath}/{httpMethod}` key (`*/*` for every method), as
//! GetStage answers them; a patch path names a key with the resource path's slashes
//! written `~1` (`/~1counter/GET/throttling/rateLimit`). The rules live here, next to the
//! type, so every stage the store saves went through them. Only throttling is acted on
//! (by the data plane); metrics, logging and data-trace flags are recorded, and caching
//! is refused because there is no cache.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{check_stage_variables, Stage};
use crate::error::{Error, Result};

/// The key of the settings that apply to every method of a stage.
pub const ALL_METHODS: &str = "*/*";

/// `MethodSetting`, with API Gateway's values for a setting first created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSetting {
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: i64,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    pub unauthorized_cache_control_header_strategy: String,
}

impl Default for MethodSetting {
    fn default() -> Self {
        MethodSetting {
            metrics_enabled: false,
            logging_level: "OFF".into(),
            data_trace_enabled: false,
            throttling_burst_limit: 5000,
            throttling_rate_limit: 10000.0,
            caching_enabled: false,
            cache_ttl_in_seconds: 300,
            cache_data_encrypted: false,
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: "SUCCEED_WITH_RESPONSE_HEADER".into(),
        }
    }
}

/// A token bucket's size and refill rate; a negative limit on AWS means "no limit here".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleLimits {
    /// Requests per second.
    pub rate: f64,
    /// Requests at once.
    pub burst: u64,
}

impl MethodSetting {
    /// The throttle this setting imposes, if any.
    pub fn throttle(&self) -> Option<ThrottleLimits> {
        let burst = u64::try_from(self.throttling_burst_limit).ok()?;
        (self.throttling_rate_limit >= 0.0)
            .then_some(ThrottleLimits { rate: self.throttling_rate_limit, burst })
    }
}

/// The settings that govern a method: its own key wins over `*/*`.
pub fn effective<'a>(
    settings: &'a BTreeMap<String, MethodSetting>,
    resource_path: &str,
    http_method: &str,
) -> Option<(&'a str, &'a MethodSetting)> {
    let own = format!("{resource_path}/{http_method}");
    settings
        .get_key_value(own.as_str())
        .or_else(|| settings.get_key_value(ALL_METHODS))
        .map(|(key, setting)| (key.as_str(), setting))
}

/// One element of `patchOperations`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PatchOperation {
    pub op: Option<String>,
    pub path: Option<String>,
    pub value: Option<String>,
    pub from: Option<String>,
}

impl PatchOperation {
    pub fn new(op: &str, path: &str, value: Option<&str>) -> Self {
        PatchOperation {
            op: Some(op.into()),
            path: Some(path.into()),
            value: value.map(Into::into),
            from: None,
        }
    }
}

/// The method-setting paths UpdateStage takes, for the message naming them.
const SETTING_PATHS: &[&str] = &[
    "metrics/enabled",
    "logging/loglevel",
    "logging/dataTrace",
    "throttling/burstLimit",
    "throttling/rateLimit",
    "caching/enabled",
    "caching/ttlInSeconds",
    "caching/dataEncrypted",
    "caching/requireAuthorizationForCacheControl",
    "caching/unauthorizedCacheControlHeaderStrategy",
];

fn invalid_path(path: &str) -> Error {
    let settings: Vec<String> =
        SETTING_PATHS.iter().map(|p| format!("/{{resourcePath}}/{{httpMethod}}/{p}")).collect();
    Error::invalid(format!(
        "Invalid method setting path: {path}. Must be one of: [/deploymentId, /description, /variables/{{name}}, {}]",
        settings.join(", ")
    ))
}

/// A JSON-pointer segment: `~1` is `/`, `~0` is `~`.
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The settings key a patch path's first two segments name.
fn setting_key(resource: &str, method: &str, path: &str) -> Result<String> {
    if resource == "*" && method == "*" {
        return Ok(ALL_METHODS.into());
    }
    let resource = unescape(resource);
    let known = crate::apigateway::HTTP_METHODS.contains(&method) || method == "*";
    if !resource.starts_with('/') || !known {
        return Err(invalid_path(path));
    }
    Ok(format!("{resource}/{method}"))
}

fn value<'a>(op: &'a PatchOperation, path: &str) -> Result<&'a str> {
    op.value.as_deref().ok_or_else(|| Error::invalid(format!("Invalid patch value: {path} needs a value")))
}

fn boolean(raw: &str, path: &str) -> Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::invalid(format!("Invalid Boolean value '{raw}' for {path}"))),
    }
}

fn number<T: std::str::FromStr>(raw: &str, path: &str) -> Result<T> {
    raw.trim().parse().map_err(|_| Error::invalid(format!("Invalid number value '{raw}' for {path}")))
}

/// Sets one member of a method setting from its patch path (`group/leaf`).
fn set_member(setting: &mut MethodSetting, member: &str, raw: &str, path: &str) -> Result<()> {
    match member {
        "metrics/enabled" => setting.metrics_enabled = boolean(raw, path)?,
        "logging/dataTrace" => setting.data_trace_enabled = boolean(raw, path)?,
        "logging/loglevel" => {
            let level = raw.to_ascii_uppercase();
            if !["OFF", "ERROR", "INFO"].contains(&level.as_str()) {
                return Err(Error::invalid(format!(
                    "Invalid value '{raw}' for {path}: must be one of OFF, ERROR, INFO"
                )));
            }
            setting.logging_level = level;
        }
        "throttling/burstLimit" => {
            let burst: i64 = number(raw, path)?;
            if burst < -1 {
                return Err(Error::invalid(format!("Invalid burst limit {raw}: it must be -1 or more")));
            }
            setting.throttling_burst_limit = burst;
        }
        "throttling/rateLimit" => {
            let rate: f64 = number(raw, path)?;
            if !rate.is_finite() || rate < -1.0 {
                return Err(Error::invalid(format!("Invalid rate limit {raw}: it must be -1.0 or more")));
            }
            setting.throttling_rate_limit = rate;
        }
        "caching/enabled" => {
            if boolean(raw, path)? {
                return Err(Error::invalid(
                    "Caching is not supported by this server: there is no stage cache to enable.",
                ));
            }
            setting.caching_enabled = false;
        }
        "caching/ttlInSeconds" => {
            let ttl: i64 = number(raw, path)?;
            if !(0..=3600).contains(&ttl) {
                return Err(Error::invalid(format!(
                    "Invalid cache TTL {raw}: it must be between 0 and 3600 seconds"
                )));
            }
            setting.cache_ttl_in_seconds = ttl;
        }
        "caching/dataEncrypted" => setting.cache_data_encrypted = boolean(raw, path)?,
        "caching/requireAuthorizationForCacheControl" => {
            setting.require_authorization_for_cache_control = boolean(raw, path)?
        }
        "caching/unauthorizedCacheControlHeaderStrategy" => {
            let strategies =
                ["FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER"];
            if !strategies.contains(&raw) {
                return Err(Error::invalid(format!(
                    "Invalid value '{raw}' for {path}: must be one of {}",
                    strategies.join(", ")
                )));
            }
            setting.unauthorized_cache_control_header_strategy = raw.into();
        }
        _ => return Err(invalid_path(path)),
    }
    Ok(())
}

/// A stage member the server does not offer: only its "off" value is taken.
fn refuse_unless_off(op: &PatchOperation, path: &str, what: &str) -> Result<()> {
    match op.value.as_deref() {
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(()),
        None if op.op.as_deref() == Some("remove") => Ok(()),
        _ => Err(Error::invalid(format!("{what} is not supported by this server yet ({path})."))),
    }
}

/// Applies one UpdateStage operation to the stage. Whether a new `deploymentId` names a
/// deployment of the API is the store's check.
pub fn apply(stage: &mut Stage, op: &PatchOperation) -> Result<()> {
    let path =
        op.path.as_deref().ok_or_else(|| Error::invalid("Invalid patch operation: path is required"))?;
    let kind = op.op.as_deref().unwrap_or_default();
    let removing = match kind {
        "replace" | "add" => false,
        "remove" => true,
        other => {
            return Err(Error::invalid(format!(
                "Invalid patch operation specified. Must be one of: [add, remove, replace] (got '{other}' for {path})"
            )))
        }
    };
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or("").split('/').collect();
    match segments.as_slice() {
        ["description"] if removing => stage.description = None,
        ["description"] => stage.description = Some(value(op, path)?.to_owned()),
        ["deploymentId"] if removing => return Err(invalid_path(path)),
        ["deploymentId"] => stage.deployment_id = value(op, path)?.to_owned(),
        ["variables", name] if removing => {
            stage.variables.remove(&unescape(name));
        }
        ["variables", name] => {
            let variables = BTreeMap::from([(unescape(name), value(op, path)?.to_owned())]);
            check_stage_variables(&variables)?;
            stage.variables.extend(variables);
        }
        ["cacheClusterEnabled"] => refuse_unless_off(op, path, "A stage cache")?,
        ["tracingEnabled"] => refuse_unless_off(op, path, "X-Ray tracing")?,
        [resource, method] if removing => {
            let key = setting_key(resource, method, path)?;
            if stage.method_settings.remove(&key).is_none() {
                return Err(Error::invalid(format!(
                    "Cannot remove method setting {key} because there is no method setting for this method "
                )));
            }
        }
        [resource, method, group, leaf] => {
            let key = setting_key(resource, method, path)?;
            let member = format!("{group}/{leaf}");
            if !SETTING_PATHS.contains(&member.as_str()) {
                return Err(invalid_path(path));
            }
            let setting = stage.method_settings.entry(key).or_default();
            if removing {
                // Back to the value a new setting has.
                let defaults = serde_json::to_value(MethodSetting::default()).map_err(Error::internal)?;
                let mut current = serde_json::to_value(&*setting).map_err(Error::internal)?;
                let name = member_name(&member).ok_or_else(|| invalid_path(path))?;
                current[name] = defaults[name].clone();
                *setting = serde_json::from_value(current).map_err(Error::internal)?;
            } else {
                set_member(setting, &member, value(op, path)?, path)?;
            }
        }
        _ => return Err(invalid_path(path)),
    }
    Ok(())
}

/// The `MethodSetting` member a patch path's `group/leaf` sets.
fn member_name(member: &str) -> Option<&'static str> {
    Some(match member {
        "metrics/enabled" => "metricsEnabled",
        "logging/loglevel" => "loggingLevel",
        "logging/dataTrace" => "dataTraceEnabled",
        "throttling/burstLimit" => "throttlingBurstLimit",
        "throttling/rateLimit" => "throttlingRateLimit",
        "caching/enabled" => "cachingEnabled",
        "caching/ttlInSeconds" => "cacheTtlInSeconds",
        "caching/dataEncrypted" => "cacheDataEncrypted",
        "caching/requireAuthorizationForCacheControl" => "requireAuthorizationForCacheControl",
        "caching/unauthorizedCacheControlHeaderStrategy" => "unauthorizedCacheControlHeaderStrategy",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigateway::StageName;

    fn stage() -> Stage {
        Stage {
            name: StageName::parse("prod").unwrap(),
            deployment_id: "d1".into(),
            description: None,
            variables: BTreeMap::new(),
            tags: BTreeMap::new(),
            method_settings: BTreeMap::new(),
            created_date: 0,
            last_updated_date: 0,
        }
    }

    fn patch(stage: &mut Stage, op: &str, path: &str, value: Option<&str>) -> Result<()> {
        apply(stage, &PatchOperation::new(op, path, value))
    }

    #[test]
    fn method_setting_paths_name_keys_with_escaped_slashes() {
        let mut s = stage();
        patch(&mut s, "replace", "/*/*/throttling/rateLimit", Some("2.5")).unwrap();
        patch(&mut s, "replace", "/~1counter~1{id}/GET/throttling/burstLimit", Some("3")).unwrap();
        patch(&mut s, "replace", "/*/*/logging/loglevel", Some("info")).unwrap();
        let all = &s.method_settings["*/*"];
        assert_eq!((all.throttling_rate_limit, all.throttling_burst_limit), (2.5, 5000));
        assert_eq!(all.logging_level, "INFO");
        let own = &s.method_settings["/counter/{id}/GET"];
        assert_eq!((own.throttling_rate_limit, own.throttling_burst_limit), (10000.0, 3));
        patch(&mut s, "remove", "/*/*/logging/loglevel", None).unwrap();
        assert_eq!(s.method_settings["*/*"].logging_level, "OFF");
        patch(&mut s, "remove", "/~1counter~1{id}/GET", None).unwrap();
        assert!(!s.method_settings.contains_key("/counter/{id}/GET"));
        let err = patch(&mut s, "remove", "/~1counter~1{id}/GET", None).unwrap_err();
        assert!(err.to_string().contains("Cannot remove method setting /counter/{id}/GET"), "{err}");
    }

    #[test]
    fn stage_members_and_variables_are_patched() {
        let mut s = stage();
        patch(&mut s, "replace", "/description", Some("hello")).unwrap();
        patch(&mut s, "replace", "/deploymentId", Some("d2")).unwrap();
        patch(&mut s, "add", "/variables/fn", Some("counter")).unwrap();
        assert_eq!((s.description.as_deref(), s.deployment_id.as_str()), (Some("hello"), "d2"));
        assert_eq!(s.variables["fn"], "counter");
        patch(&mut s, "remove", "/variables/fn", None).unwrap();
        patch(&mut s, "remove", "/description", None).unwrap();
        assert!(s.variables.is_empty() && s.description.is_none());
        assert!(patch(&mut s, "add", "/variables/bad-name", Some("x")).is_err());
    }

    #[test]
    fn bad_paths_values_and_caching_are_refused() {
        let mut s = stage();
        let err = patch(&mut s, "replace", "/x", Some("1")).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter(m) if m.starts_with("Invalid method setting path: /x."))
        );
        assert!(patch(&mut s, "replace", "/*/*/throttling/speed", Some("1")).is_err());
        assert!(patch(&mut s, "replace", "/counter/GET/throttling/rateLimit", Some("1")).is_err());
        assert!(patch(&mut s, "replace", "/~1counter/FETCH/throttling/rateLimit", Some("1")).is_err());
        assert!(patch(&mut s, "replace", "/*/*/throttling/rateLimit", Some("fast")).is_err());
        assert!(patch(&mut s, "replace", "/*/*/throttling/burstLimit", Some("-5")).is_err());
        assert!(patch(&mut s, "replace", "/*/*/logging/loglevel", Some("DEBUG")).is_err());
        assert!(patch(&mut s, "move", "/description", Some("x")).is_err());
        let err = patch(&mut s, "replace", "/*/*/caching/enabled", Some("true")).unwrap_err();
        assert!(err.to_string().contains("Caching is not supported"), "{err}");
        patch(&mut s, "replace", "/*/*/caching/enabled", Some("false")).unwrap();
        assert!(patch(&mut s, "replace", "/tracingEnabled", Some("true")).is_err());
        patch(&mut s, "replace", "/tracingEnabled", Some("false")).unwrap();
    }

    #[test]
    fn the_most_specific_setting_governs_a_method() {
        let mut settings = BTreeMap::new();
        let limited = |rate, burst| MethodSetting {
            throttling_rate_limit: rate,
            throttling_burst_limit: burst,
            ..MethodSetting::default()
        };
        settings.insert(ALL_METHODS.to_owned(), limited(1.0, 2));
        settings.insert("/counter/GET".to_owned(), limited(5.0, 10));
        assert_eq!(effective(&settings, "/counter", "GET").unwrap().0, "/counter/GET");
        assert_eq!(effective(&settings, "/counter", "POST").unwrap().0, "*/*");
        assert_eq!(
            effective(&settings, "/counter", "GET").unwrap().1.throttle(),
            Some(ThrottleLimits { rate: 5.0, burst: 10 })
        );
        assert_eq!(limited(-1.0, 10).throttle(), None);
        assert_eq!(limited(1.0, -1).throttle(), None);
        assert!(effective(&BTreeMap::new(), "/", "GET").is_none());
    }
}
