//! Per-tenant concurrency limits of a PER_TENANT function: a default for every tenant and
//! overrides for named ones. Lambda has nothing like it; Alcove's own API sets them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, TenantId};

/// Highest per-tenant limit accepted (an account's concurrency cannot exceed it usefully).
pub const MAX_TENANT_CONCURRENCY: u32 = 100_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLimits {
    /// Applies to every tenant without an override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<u32>,
    #[serde(default)]
    pub overrides: BTreeMap<TenantId, u32>,
}

impl TenantLimits {
    pub fn limit_for(&self, tenant: &TenantId) -> Option<u32> {
        self.overrides.get(tenant).copied().or(self.default)
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.overrides.is_empty()
    }

    /// Checks one limit value.
    pub fn validate_limit(value: i64) -> Result<u32> {
        match u32::try_from(value) {
            Ok(v) if (1..=MAX_TENANT_CONCURRENCY).contains(&v) => Ok(v),
            _ => Err(Error::invalid(format!(
                "A tenant concurrency limit must be between 1 and {MAX_TENANT_CONCURRENCY}, got {value}."
            ))),
        }
    }
}
