//! The usage meter: counts every invocation's outcome in memory, per (function, tenant,
//! hour, architecture, memory), until the server drains it into the store, and keeps
//! per-function totals since start for the metrics endpoint (tenant ids are unbounded, so
//! they never become metric labels).
//!
//! Counting in memory keeps the store off the invoke path; the server drains every second
//! and before it answers a usage query, so reports are exact. A `kill -9` loses at most
//! the last second's counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use alcove_core::usage::hour_of;
use alcove_core::{FunctionConfig, FunctionName, TenantId, UsageCounters, UsageKey, UsageRecord};

use crate::admission::ThrottleReason;
use crate::environment::InvokeReport;

/// What the metrics endpoint shows for one function.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionTotals {
    pub invocations: u64,
    pub errors: u64,
    pub cold_starts: u64,
    pub throttles: BTreeMap<&'static str, u64>,
    pub duration_ms: f64,
}

#[derive(Default)]
struct Meter {
    pending: HashMap<UsageKey, UsageCounters>,
    totals: BTreeMap<FunctionName, FunctionTotals>,
}

#[derive(Default)]
pub struct UsageMeter {
    inner: Mutex<Meter>,
}

fn key(config: &FunctionConfig, tenant: Option<&TenantId>) -> UsageKey {
    let now = chrono::Utc::now().timestamp();
    UsageKey {
        function: config.name.clone(),
        tenant: tenant.cloned(),
        hour: hour_of(now),
        architecture: config.settings.architecture,
        memory_mb: config.settings.memory_mb,
    }
}

impl UsageMeter {
    fn meter(&self) -> std::sync::MutexGuard<'_, Meter> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An invocation that ran (or failed to start its environment).
    pub fn invoked(
        &self,
        config: &FunctionConfig,
        tenant: Option<&TenantId>,
        report: &InvokeReport,
        cold: bool,
        failed: bool,
    ) {
        let key = key(config, tenant);
        let mut meter = self.meter();
        let counters = meter.pending.entry(key).or_default();
        counters.invocations += 1;
        counters.errors += u64::from(failed);
        counters.cold_starts += u64::from(cold);
        counters.init_ms += report.init_duration.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
        counters.duration_ms += report.duration.as_secs_f64() * 1000.0;
        counters.billed_ms += report.billed_ms;
        let totals = meter.totals.entry(config.name.clone()).or_default();
        totals.invocations += 1;
        totals.errors += u64::from(failed);
        totals.cold_starts += u64::from(cold);
        totals.duration_ms += report.duration.as_secs_f64() * 1000.0;
    }

    /// An invocation refused by a concurrency limit.
    pub fn throttled(&self, config: &FunctionConfig, tenant: Option<&TenantId>, reason: ThrottleReason) {
        let key = key(config, tenant);
        let mut meter = self.meter();
        meter.pending.entry(key).or_default().throttles += 1;
        *meter
            .totals
            .entry(config.name.clone())
            .or_default()
            .throttles
            .entry(reason.as_str())
            .or_default() += 1;
    }

    /// Takes the counts not yet stored.
    pub fn drain(&self) -> Vec<UsageRecord> {
        self.meter().pending.drain().map(|(key, counters)| UsageRecord { key, counters }).collect()
    }

    /// Puts counts back after the store refused them, so none are lost.
    pub fn restore(&self, records: Vec<UsageRecord>) {
        let mut meter = self.meter();
        for record in records {
            meter.pending.entry(record.key).or_default().add(&record.counters);
        }
    }

    /// Per-function totals since the server started.
    pub fn totals(&self) -> BTreeMap<FunctionName, FunctionTotals> {
        self.meter().totals.clone()
    }
}
