//! Usage and billing: what each (function, tenant) consumed, in hourly buckets, and what
//! it costs under a price table.
//!
//! Counters are kept per (function, tenant, hour, architecture, memory size) because the
//! prices depend on architecture and memory, and a function's memory can change over
//! time. Tenant ids are unbounded, so per-tenant figures live here (queried on demand),
//! never in metric labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Architecture, Error, FunctionName, Result, TenantId};

/// Seconds in a usage bucket.
pub const BUCKET_SECONDS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    pub function: FunctionName,
    pub tenant: Option<TenantId>,
    /// Start of the hour, in seconds since the epoch.
    pub hour: i64,
    pub architecture: Architecture,
    pub memory_mb: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageCounters {
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub cold_starts: u64,
    pub init_ms: f64,
    pub duration_ms: f64,
    pub billed_ms: u64,
}

impl UsageCounters {
    pub fn add(&mut self, other: &UsageCounters) {
        self.invocations += other.invocations;
        self.errors += other.errors;
        self.throttles += other.throttles;
        self.cold_starts += other.cold_starts;
        self.init_ms += other.init_ms;
        self.duration_ms += other.duration_ms;
        self.billed_ms += other.billed_ms;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    pub key: UsageKey,
    pub counters: UsageCounters,
}

/// Which usage to report.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    pub function: Option<FunctionName>,
    pub tenant: Option<TenantId>,
    /// Buckets whose hour starts at or after this (seconds since the epoch).
    pub since: Option<i64>,
}

/// Prices of the public Lambda price list by default (`config/prices.json`), plus the
/// charge for each tenant environment's cold start, per GB of configured memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriceTable {
    pub currency: String,
    pub per_request: f64,
    pub per_gb_second: BTreeMap<String, f64>,
    pub tenant_cold_start_per_gb: BTreeMap<String, f64>,
}

/// What one (function, tenant, architecture, memory) consumed and owes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Charges {
    pub gb_seconds: f64,
    pub request_charge: f64,
    pub duration_charge: f64,
    pub cold_start_charge: f64,
    pub total_charge: f64,
}

impl Charges {
    pub fn add(&mut self, other: &Charges) {
        self.gb_seconds += other.gb_seconds;
        self.request_charge += other.request_charge;
        self.duration_charge += other.duration_charge;
        self.cold_start_charge += other.cold_start_charge;
        self.total_charge += other.total_charge;
    }
}

impl PriceTable {
    pub const DEFAULT_JSON: &'static str = include_str!("../../../config/prices.json");

    pub fn parse(text: &str) -> Result<PriceTable> {
        let table: PriceTable =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("price table: {e}")))?;
        for architecture in [Architecture::X86_64, Architecture::Arm64] {
            for (what, prices) in [
                ("PerGbSecond", &table.per_gb_second),
                ("TenantColdStartPerGb", &table.tenant_cold_start_per_gb),
            ] {
                if !prices.contains_key(architecture.as_str()) {
                    return Err(Error::invalid(format!(
                        "price table: {what} has no price for {}",
                        architecture.as_str()
                    )));
                }
            }
        }
        Ok(table)
    }

    pub fn default_table() -> PriceTable {
        PriceTable::parse(Self::DEFAULT_JSON).expect("the embedded price table is valid")
    }

    /// Charges for `counters` of a function with `architecture` and `memory_mb`; the
    /// cold-start charge applies to tenant environments only.
    pub fn charges(&self, key: &UsageKey, counters: &UsageCounters) -> Charges {
        let arch = key.architecture.as_str();
        let gb = f64::from(key.memory_mb) / 1024.0;
        let gb_seconds = gb * counters.billed_ms as f64 / 1000.0;
        let request_charge = counters.invocations as f64 * self.per_request;
        let duration_charge = gb_seconds * self.per_gb_second.get(arch).copied().unwrap_or(0.0);
        let cold_start_charge = if key.tenant.is_some() {
            counters.cold_starts as f64 * gb * self.tenant_cold_start_per_gb.get(arch).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        Charges {
            gb_seconds,
            request_charge,
            duration_charge,
            cold_start_charge,
            total_charge: request_charge + duration_charge + cold_start_charge,
        }
    }
}

/// The hour bucket a moment (seconds since the epoch) falls in.
pub fn hour_of(seconds: i64) -> i64 {
    seconds - seconds.rem_euclid(BUCKET_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_follow_memory_architecture_and_tenancy() {
        let table = PriceTable::default_table();
        let key = UsageKey {
            function: FunctionName::parse("f").unwrap(),
            tenant: Some(TenantId::parse("t").unwrap()),
            hour: 0,
            architecture: Architecture::Arm64,
            memory_mb: 2048,
        };
        let counters =
            UsageCounters { invocations: 10, cold_starts: 3, billed_ms: 1500, ..Default::default() };
        let charges = table.charges(&key, &counters);
        assert!((charges.gb_seconds - 3.0).abs() < 1e-9);
        assert!((charges.request_charge - 10.0 * 0.0000002).abs() < 1e-15);
        assert!((charges.duration_charge - 3.0 * 0.0000133334).abs() < 1e-15);
        assert!((charges.cold_start_charge - 3.0 * 2.0 * 0.000012).abs() < 1e-15);
        let plain = UsageKey { tenant: None, ..key };
        assert_eq!(table.charges(&plain, &counters).cold_start_charge, 0.0);
    }

    #[test]
    fn price_tables_must_price_both_architectures() {
        assert!(PriceTable::parse(r#"{"Currency":"USD","PerRequest":0,"PerGbSecond":{"x86_64":1},"TenantColdStartPerGb":{"x86_64":1,"arm64":1}}"#).is_err());
        assert_eq!(hour_of(7200 + 59), 7200);
    }
}
