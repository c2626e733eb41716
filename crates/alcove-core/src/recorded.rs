//! Function settings Alcove validates, stores and returns exactly as given, but that have
//! no effect on this server: X-Ray tracing, SnapStart, the KMS key for environment
//! variables and the dead-letter queue. Tools that deploy to Lambda set them, and a dev
//! platform should accept their templates unchanged; what it must not do is drop them
//! silently, so each is validated with Lambda's rules and comes back in every
//! `FunctionConfiguration`. `docs/API.md` lists them as accepted without effect.
//!
//! SnapStart also has rules that do bind here: it is refused for `PER_TENANT` functions and
//! for runtimes Lambda does not snapshot, as Lambda refuses them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::tenant::TenantIsolationMode;

/// `TracingConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TracingMode {
    #[default]
    PassThrough,
    Active,
}

impl TracingMode {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "PassThrough" => Ok(TracingMode::PassThrough),
            "Active" => Ok(TracingMode::Active),
            other => Err(Error::invalid(format!(
                "1 validation error detected: Value '{other}' at 'tracingConfig.mode' failed to satisfy \
                 constraint: Member must satisfy enum value set: [Active, PassThrough]"
            ))),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            TracingMode::PassThrough => "PassThrough",
            TracingMode::Active => "Active",
        }
    }
}

/// `SnapStart.ApplyOn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SnapStartApplyOn {
    #[default]
    None,
    PublishedVersions,
}

impl SnapStartApplyOn {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "None" => Ok(SnapStartApplyOn::None),
            "PublishedVersions" => Ok(SnapStartApplyOn::PublishedVersions),
            other => Err(Error::invalid(format!(
                "1 validation error detected: Value '{other}' at 'snapStart.applyOn' failed to satisfy \
                 constraint: Member must satisfy enum value set: [PublishedVersions, None]"
            ))),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            SnapStartApplyOn::None => "None",
            SnapStartApplyOn::PublishedVersions => "PublishedVersions",
        }
    }

    /// Lambda's rules for SnapStart on `runtime` and `tenancy`: it snapshots Java, Python
    /// 3.12 and later, and .NET 8 and later only, and not functions with tenant isolation.
    pub fn check(self, runtime: &Runtime, tenancy: Option<TenantIsolationMode>) -> Result<()> {
        if self == SnapStartApplyOn::None {
            return Ok(());
        }
        if tenancy.is_some() {
            return Err(Error::invalid(
                "SnapStart is not supported for functions with tenant isolation mode.",
            ));
        }
        if !supports_snap_start(runtime.as_str()) {
            return Err(Error::invalid(format!(
                "{} is not supported for SnapStart enabled functions.",
                runtime.as_str()
            )));
        }
        Ok(())
    }
}

/// Java 11 and later, Python 3.12 and later, .NET 8 and later.
fn supports_snap_start(runtime: &str) -> bool {
    let version = |prefix: &str| -> Option<(u32, u32)> {
        let rest = runtime.strip_prefix(prefix)?;
        let mut parts = rest.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Some((major, minor))
    };
    if let Some((major, _)) = version("java") {
        return major >= 11;
    }
    if let Some((major, minor)) = version("python") {
        return (major, minor) >= (3, 12);
    }
    if let Some((major, _)) = version("dotnet") {
        return major >= 8;
    }
    false
}

/// `KMSKeyArn` and `DeadLetterConfig.TargetArn`: `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`.
/// The empty string clears the setting, as on Lambda; returns the value to keep.
pub fn parse_arn_setting(field: &str, value: &str) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let mut parts = value.splitn(4, ':');
    let ok = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(partition), Some(service), Some(_)) => {
            (partition.is_empty()
                || (partition.starts_with("aws")
                    && partition[3..].chars().all(|c| c.is_ascii_alphabetic() || c == '-')))
                && !service.is_empty()
                && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
        }
        _ => false,
    };
    if ok {
        Ok(Some(value.to_owned()))
    } else {
        Err(Error::invalid(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(r: &str) -> Runtime {
        Runtime::parse(r).unwrap()
    }

    #[test]
    fn enums() {
        assert_eq!(TracingMode::parse("Active").unwrap(), TracingMode::Active);
        assert!(TracingMode::parse("active").unwrap_err().to_string().contains("[Active, PassThrough]"));
        assert_eq!(
            SnapStartApplyOn::parse("PublishedVersions").unwrap(),
            SnapStartApplyOn::PublishedVersions
        );
        assert!(SnapStartApplyOn::parse("Always").is_err());
    }

    #[test]
    fn snap_start_rules() {
        let on = SnapStartApplyOn::PublishedVersions;
        assert!(on.check(&runtime("python3.12"), None).is_ok());
        assert!(on.check(&runtime("python3.13"), None).is_ok());
        assert_eq!(
            on.check(&runtime("python3.11"), None).unwrap_err().to_string(),
            "python3.11 is not supported for SnapStart enabled functions."
        );
        assert!(on.check(&runtime("nodejs22.x"), None).is_err());
        let tenant = on.check(&runtime("python3.12"), Some(TenantIsolationMode::PerTenant)).unwrap_err();
        assert!(tenant.to_string().contains("tenant isolation"), "{tenant}");
        assert!(SnapStartApplyOn::None
            .check(&runtime("nodejs22.x"), Some(TenantIsolationMode::PerTenant))
            .is_ok());
    }

    #[test]
    fn arns() {
        assert_eq!(parse_arn_setting("kMSKeyArn", "").unwrap(), None);
        assert!(parse_arn_setting("kMSKeyArn", "arn:aws:kms:us-east-1:000000000000:key/abc")
            .unwrap()
            .is_some());
        assert!(parse_arn_setting("kMSKeyArn", "not-an-arn").is_err());
        assert!(parse_arn_setting("kMSKeyArn", "arn:aws:KMS:x").is_err());
    }
}
