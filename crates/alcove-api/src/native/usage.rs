//! `GET /alcove/v1/usage?function=F&tenant=T&since=S`: per (function, tenant) usage and
//! charges, with totals. `since` is an RFC 3339 time or a span back from now (`90m`,
//! `24h`, `7d`); buckets are hours, so a span starts at the beginning of its hour.

use alcove_core::usage::hour_of;
use alcove_core::{Charges, FunctionName, Store, TenantId, UsageCounters, UsageFilter};
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
    pub charges: Charges,
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

pub async fn report(
    State(state): State<AppState>,
    Query(query): Query<UsageQuery>,
) -> ApiResult<Json<UsageReport>> {
    let function = query.function.as_deref().map(FunctionName::parse).transpose()?;
    let tenant = query.tenant.as_deref().map(TenantId::parse).transpose()?;
    let now = chrono::Utc::now().timestamp();
    let since = query.since.as_deref().map(|s| parse_since(s, now)).transpose()?;
    flush(state.store.as_ref(), &state.envs).await?;
    let records = state.store.usage(UsageFilter { function, tenant, since: since.map(hour_of) }).await?;
    let (mut total_counters, mut total_charges) = (UsageCounters::default(), Charges::default());
    let rows: Vec<UsageRow> = records
        .iter()
        .map(|record| {
            let charges = state.prices.charges(&record.key, &record.counters);
            total_counters.add(&record.counters);
            total_charges.add(&charges);
            let key = &record.key;
            UsageRow::new(
                key.function.as_str(),
                key.tenant.as_ref(),
                key.architecture.as_str(),
                key.memory_mb,
                &record.counters,
                charges,
            )
        })
        .collect();
    let totals = UsageRow::new("*", None, "*", 0, &total_counters, total_charges);
    Ok(Json(UsageReport {
        currency: state.prices.currency.clone(),
        since: since.and_then(|s| chrono::DateTime::from_timestamp(hour_of(s), 0)).map(|t| t.to_rfc3339()),
        rows,
        totals,
    }))
}

impl UsageRow {
    fn new(
        function: &str,
        tenant: Option<&TenantId>,
        architecture: &'static str,
        memory_size: u32,
        counters: &UsageCounters,
        charges: Charges,
    ) -> UsageRow {
        let UsageCounters { invocations, errors, throttles, cold_starts, init_ms, duration_ms, billed_ms } =
            *counters;
        UsageRow {
            function_name: function.to_owned(),
            tenant_id: tenant.map(ToString::to_string),
            architecture,
            memory_size,
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
