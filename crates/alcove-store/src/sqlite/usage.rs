//! Metered usage: counters per (function, tenant, hour, architecture, memory) bucket in
//! `usage`, to which each flush of the in-memory meter adds; and the account-wide totals
//! (function count, code size, reserved concurrency) `GetAccountSettings` reports.
//! A missing tenant is stored as the empty string so it can be part of the key.

use alcove_core::store::AccountUsage;
use alcove_core::{
    Architecture, FunctionName, Result, TenantId, UsageCounters, UsageFilter, UsageKey, UsageRecord,
};
use rusqlite::{params, Transaction};

use super::rows::sql;

/// Adds each record's counters to its bucket.
pub(crate) fn add(tx: &Transaction<'_>, records: &[UsageRecord]) -> Result<()> {
    let mut statement = tx
        .prepare_cached(
            "INSERT INTO usage (function, tenant, hour, architecture, memory_mb, invocations, errors, \
             throttles, cold_starts, init_ms, duration_ms, billed_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (function, tenant, hour, architecture, memory_mb) DO UPDATE SET \
             invocations = invocations + excluded.invocations, errors = errors + excluded.errors, \
             throttles = throttles + excluded.throttles, cold_starts = cold_starts + excluded.cold_starts, \
             init_ms = init_ms + excluded.init_ms, duration_ms = duration_ms + excluded.duration_ms, \
             billed_ms = billed_ms + excluded.billed_ms",
        )
        .map_err(sql)?;
    for UsageRecord { key, counters: c } in records {
        statement
            .execute(params![
                key.function.as_str(),
                key.tenant.as_ref().map(TenantId::as_str).unwrap_or(""),
                key.hour,
                key.architecture.as_str(),
                key.memory_mb,
                c.invocations as i64,
                c.errors as i64,
                c.throttles as i64,
                c.cold_starts as i64,
                c.init_ms,
                c.duration_ms,
                c.billed_ms as i64,
            ])
            .map_err(sql)?;
    }
    Ok(())
}

/// The buckets `filter` selects, summed over hours: one record per (function, tenant,
/// architecture, memory), whose hour is the earliest summed.
pub(crate) fn report(tx: &Transaction<'_>, filter: &UsageFilter) -> Result<Vec<UsageRecord>> {
    let mut statement = tx
        .prepare(
            "SELECT function, tenant, architecture, memory_mb, MIN(hour), SUM(invocations), SUM(errors), \
             SUM(throttles), SUM(cold_starts), SUM(init_ms), SUM(duration_ms), SUM(billed_ms) FROM usage \
             WHERE (?1 IS NULL OR function = ?1) AND (?2 IS NULL OR tenant = ?2) AND hour >= ?3 \
             GROUP BY function, tenant, architecture, memory_mb ORDER BY function, tenant, architecture, memory_mb",
        )
        .map_err(sql)?;
    let rows = statement
        .query_map(
            params![
                filter.function.as_ref().map(FunctionName::as_str),
                filter.tenant.as_ref().map(TenantId::as_str),
                filter.since.unwrap_or(i64::MIN),
            ],
            |row| {
                Ok((
                    (
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                    ),
                    UsageCounters {
                        invocations: row.get::<_, i64>(5)? as u64,
                        errors: row.get::<_, i64>(6)? as u64,
                        throttles: row.get::<_, i64>(7)? as u64,
                        cold_starts: row.get::<_, i64>(8)? as u64,
                        init_ms: row.get(9)?,
                        duration_ms: row.get(10)?,
                        billed_ms: row.get::<_, i64>(11)? as u64,
                    },
                ))
            },
        )
        .map_err(sql)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql)?;
    rows.into_iter()
        .map(|((function, tenant, architecture, memory_mb, hour), counters)| {
            let key = UsageKey {
                function: FunctionName::parse(&function)?,
                tenant: if tenant.is_empty() { None } else { Some(TenantId::parse(&tenant)?) },
                hour,
                architecture: Architecture::parse(&architecture)?,
                memory_mb: memory_mb as u32,
            };
            Ok(UsageRecord { key, counters })
        })
        .collect()
}

pub(crate) fn account(tx: &Transaction<'_>) -> Result<AccountUsage> {
    let (function_count, reserved): (i64, i64) = tx
        .query_row("SELECT COUNT(*), COALESCE(SUM(reserved_concurrency), 0) FROM functions", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .map_err(sql)?;
    let total_code_size: i64 = tx
        .query_row("SELECT COALESCE(SUM(json_extract(latest, '$.code.size')), 0) FROM functions", [], |row| {
            row.get(0)
        })
        .map_err(sql)?;
    let versions_code_size: i64 = tx
        .query_row("SELECT COALESCE(SUM(json_extract(config, '$.code.size')), 0) FROM versions", [], |row| {
            row.get(0)
        })
        .map_err(sql)?;
    Ok(AccountUsage {
        function_count: function_count as u64,
        total_code_size: (total_code_size + versions_code_size) as u64,
        reserved_concurrency: reserved as u64,
    })
}
