//! Tenant isolation: the tenancy mode a function is created with and the tenant id an
//! invoke carries. A `TenantId` can only be built through validation, so any value of the
//! type is a well-formed id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `TenancyConfig.TenantIsolationMode`. The service defines a single mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TenantIsolationMode {
    #[serde(rename = "PER_TENANT")]
    PerTenant,
}

impl TenantIsolationMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            TenantIsolationMode::PerTenant => "PER_TENANT",
        }
    }

    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "PER_TENANT" => Ok(TenantIsolationMode::PerTenant),
            other => Err(Error::invalid(format!(
                "Value '{other}' at 'tenancyConfig.tenantIsolationMode' failed to satisfy constraint: \
                 Member must satisfy enum value set: [PER_TENANT]"
            ))),
        }
    }
}

/// A validated tenant id: 1..=256 characters of `[a-zA-Z0-9._:/=+\-@ ]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub const MAX_LEN: usize = 256;

    pub fn parse(value: &str) -> Result<Self> {
        let len = value.chars().count();
        if len == 0 || len > Self::MAX_LEN {
            return Err(Error::invalid(format!(
                "TenantId must be between 1 and {} characters long, got {len}.",
                Self::MAX_LEN
            )));
        }
        if let Some(bad) = value.chars().find(|c| !Self::allowed(*c)) {
            return Err(Error::invalid(format!(
                "TenantId contains the character {bad:?}, which is not allowed: \
                 it must match the pattern [a-zA-Z0-9\\._:\\/=+\\-@ ]+."
            )));
        }
        Ok(TenantId(value.to_owned()))
    }

    fn allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || "._:/=+-@ ".contains(c)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        TenantId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_allowed_character() {
        for id in ["BlueTenant", "a", "org:42/team=x+y-z@example.com", "with space", "a.b_c"] {
            assert_eq!(TenantId::parse(id).unwrap().as_str(), id);
        }
        assert!(TenantId::parse(&"x".repeat(256)).is_ok());
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse(&"x".repeat(257)).is_err());
        for id in ["a#b", "tab\there", "new\nline", "é", "semi;colon", "q?", "../x*"] {
            assert!(TenantId::parse(id).is_err(), "{id:?} should be rejected");
        }
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<TenantId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<TenantId>("\"no#\"").is_err());
    }

    #[test]
    fn isolation_mode_has_one_value() {
        assert_eq!(TenantIsolationMode::parse("PER_TENANT").unwrap(), TenantIsolationMode::PerTenant);
        assert!(TenantIsolationMode::parse("per_tenant").is_err());
        assert!(TenantIsolationMode::parse("SHARED").is_err());
    }
}
