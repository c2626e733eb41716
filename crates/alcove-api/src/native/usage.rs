//! `GET /alcove/v1/usage?function=F&tenant=T&since=S`: per (function, tenant) usage and
//! charges, with totals. `since` is an RFC 3339 time or a span back from now (`90m`,
//! `24h`, `7d`); buckets are hours, so a span starts at the beginning of its hour.

use alcove_core::usage::hour_of;
use alcove_core::{FunctionName, Store, TenantId, UsageCounters, UsageFilter};
use alcove_envs::Manager;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    pub function: Option<String>,
    pub tenant: Option<String>,
    pub since: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsageRow {
    pub function_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub architecture: &'static str,
    pub memory_size: u32,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub cold_starts: u64,
    pub init_duration_ms: f64,
    pub duration_ms: f64,
    pub billed_duration_ms: u64,
    #[serde(flatten)]
    pub charges: alcove_core::Charges,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsageReport {
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    pub rows: Vec<UsageRow>,
    pub totals: UsageRow,
}

/// Moves the meter's counts into the store (back into the meter if the store fails).
pub async fn flush(store: &dyn Store, envs: &Manager) -> alcove_core::Result<()> {
    let records = envs.usage().drain();
    if records.is_empty() {
        return Ok(());
    }
    if let Err(e) = store.add_usage(records.clone()).await {
        envs.usage().restore(records);
        return Err(e);
    }
    Ok(())
}

/// Seconds since the epoch that `since` designates.
fn parse_since(raw: &str, now: i64) -> ApiResult<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(time.timestamp());
    }
    let invalid = || {
        ApiError::invalid_parameter(format!(
            "since must be an RFC 3339 time (2026-11-25T00:00:00Z) or a span such as 90m, 24h or 7d, not '{raw}'."
        ))
    };
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    Ok(now - number.checked_mul(seconds).ok_or_else(invalid)?)
}

pub async fn report(State(state): State<AppState>, Query(query): Query<UsageQuery>) -> ApiResult<Json<UsageReport>> {
    let function = query.function.as_deref().map(FunctionName::parse).transpose()?;
    let tenant = query.tenant.as_deref().map(TenantId::parse).transpose()?;
    let now = chrono::Utc::now().timestamp();
    let since = query.since.as_deref().map(|s| parse_since(s, now)).transpose()?;
    flush(state.store.as_ref(), &state.envs).await?;
    let records = state.store.usage(UsageFilter { function, tenant, since: since.map(hour_of) }).await?;
    let mut totals = UsageRow::empty("*");
    let rows: Vec<UsageRow> = records
        .iter()
        .map(|record| {
            let row = UsageRow::new(record, state.prices.charges(&record.key, &record.counters));
            totals.accumulate(&row);
            row
        })
        .collect();
    Ok(Json(UsageReport {
        currency: state.prices.currency.clone(),
        since: since.and_then(|s| chrono::DateTime::from_timestamp(hour_of(s), 0)).map(|t| t.to_rfc3339()),
        rows,
        totals,
    }))
}

impl UsageRow {
    fn new(record: &alcove_core::UsageRecord, charges: alcove_core::Charges) -> UsageRow {
        let UsageCounters { invocations, errors, throttles, cold_starts, init_ms, duration_ms, billed_ms } = record.counters;
        UsageRow {
            function_name: record.key.function.to_string(),
            tenant_id: record.key.tenant.as_ref().map(ToString::to_string),
            architecture: record.key.architecture.as_str(),
            memory_size: record.key.memory_mb,
            invocations,
            errors,
            throttles,
            cold_starts,
            init_duration_ms: init_ms,
            duration_ms,
            billed_duration_ms: billed_ms,
            charges,
        }
    }

    fn empty(function: &str) -> UsageRow {
        UsageRow {
            function_name: function.to_owned(),
            tenant_id: None,
            architecture: "*",
            memory_size: 0,
            invocations: 0,
            errors: 0,
            throttles: 0,
            cold_starts: 0,
            init_duration_ms: 0.0,
            duration_ms: 0.0,
            billed_duration_ms: 0,
            charges: alcove_core::Charges::default(),
        }
    }

    fn accumulate(&mut self, row: &UsageRow) {
        self.invocations += row.invocations;
        self.errors += row.errors;
        self.throttles += row.throttles;
        self.cold_starts += row.cold_starts;
        self.init_duration_ms += row.init_duration_ms;
        self.duration_ms += row.duration_ms;
        self.billed_duration_ms += row.billed_duration_ms;
        self.charges.gb_seconds += row.charges.gb_seconds;
        self.charges.request_charge += row.charges.request_charge;
        self.charges.duration_charge += row.charges.duration_charge;
        self.charges.cold_start_charge += row.charges.cold_start_charge;
        self.charges.total_charge += row.charges.total_charge;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_and_spans() {
        assert_eq!(parse_since("2026-11-25T00:00:00Z", 0).unwrap(), 1_795_564_800);
        assert_eq!(parse_since("90m", 10_000).unwrap(), 10_000 - 5_400);
        assert_eq!(parse_since("7d", 1_000_000).unwrap(), 1_000_000 - 604_800);
        for bad in ["", "h", "12", "3w", "yesterday"] {
            assert!(parse_since(bad, 0).is_err(), "{bad}");
        }
    }
}
