//! Metered usage: counters per (function, tenant, hour, architecture, memory) bucket in
//! `usage`, to which each flush of the in-memory meter adds; and the account-wide totals
//! (function count, code size, reserved concurrency) `GetAccountSettings` reports.
//! A missing tenant is stored as the empty string so it can be part of the key.

use alcove_core::store::AccountUsage;
use alcove_core::{
    Architecture, FunctionName, Result, TenantId, UsageCounters, UsageFilter, UsageKey, UsageRecord,
};
use alcove_sql::Tx;

use super::rows::{json_text, sql, Query};

/// Adds each record's counters to its bucket.
pub(crate) fn add(tx: &dyn Tx, records: &[UsageRecord]) -> Result<()> {
    // The target's columns are qualified: PostgreSQL finds a bare name ambiguous beside `excluded`.
    let statement = "INSERT INTO usage (function, tenant, hour, architecture, memory_mb, invocations, errors, \
             throttles, cold_starts, init_ms, duration_ms, billed_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (function, tenant, hour, architecture, memory_mb) DO UPDATE SET \
             invocations = usage.invocations + excluded.invocations, errors = usage.errors + excluded.errors, \
             throttles = usage.throttles + excluded.throttles, \
             cold_starts = usage.cold_starts + excluded.cold_starts, init_ms = usage.init_ms + excluded.init_ms, \
             duration_ms = usage.duration_ms + excluded.duration_ms, billed_ms = usage.billed_ms + excluded.billed_ms";
    for UsageRecord { key, counters: c } in records {
        tx.execute(
            statement,
            &[
                &key.function.as_str(),
                &(key.tenant.as_ref().map(TenantId::as_str).unwrap_or("")),
                &key.hour,
                &key.architecture.as_str(),
                &key.memory_mb,
                &(c.invocations as i64),
                &(c.errors as i64),
                &(c.throttles as i64),
                &(c.cold_starts as i64),
                &c.init_ms,
                &c.duration_ms,
                &(c.billed_ms as i64),
            ],
        )
        .map_err(sql)?;
    }
    Ok(())
}

/// The buckets `filter` selects, summed over hours: one record per (function, tenant,
/// architecture, memory), whose hour is the earliest summed.
pub(crate) fn report(tx: &dyn Tx, filter: &UsageFilter) -> Result<Vec<UsageRecord>> {
    // Sums of BIGINT are NUMERIC on PostgreSQL: cast back.
    let rows = tx.rows(
            "SELECT function, tenant, architecture, memory_mb, MIN(hour), CAST(SUM(invocations) AS BIGINT), \
             CAST(SUM(errors) AS BIGINT), CAST(SUM(throttles) AS BIGINT), CAST(SUM(cold_starts) AS BIGINT), \
             SUM(init_ms), SUM(duration_ms), CAST(SUM(billed_ms) AS BIGINT) FROM usage \
             WHERE (CAST(?1 AS TEXT) IS NULL OR function = ?1) AND (CAST(?2 AS TEXT) IS NULL OR tenant = ?2) AND hour >= ?3 \
             GROUP BY function, tenant, architecture, memory_mb ORDER BY function, tenant, architecture, memory_mb", &[&(filter.function.as_ref().map(FunctionName::as_str)), &(filter.tenant.as_ref().map(TenantId::as_str)), &(filter.since.unwrap_or(i64::MIN))],
            |row| {
                Ok((
                    (
                        row.get::<String>(0)?,
                        row.get::<String>(1)?,
                        row.get::<String>(2)?,
                        row.get::<i64>(3)?,
                        row.get::<i64>(4)?,
                    ),
                    UsageCounters {
                        invocations: row.get::<i64>(5)? as u64,
                        errors: row.get::<i64>(6)? as u64,
                        throttles: row.get::<i64>(7)? as u64,
                        cold_starts: row.get::<i64>(8)? as u64,
                        init_ms: row.get(9)?,
                        duration_ms: row.get(10)?,
                        billed_ms: row.get::<i64>(11)? as u64,
                    },
                ))
            },)?;
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

pub(crate) fn account(tx: &dyn Tx) -> Result<AccountUsage> {
    let (function_count, reserved): (i64, i64) = tx.row_one(
        "SELECT COUNT(*), CAST(COALESCE(SUM(reserved_concurrency), 0) AS BIGINT) FROM functions",
        &[],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let total_code_size: i64 = tx.row_one(&code_size(tx, "latest", "functions"), &[], |row| row.get(0))?;
    let versions_code_size: i64 = tx.row_one(&code_size(tx, "config", "versions"), &[], |row| row.get(0))?;
    Ok(AccountUsage {
        function_count: function_count as u64,
        total_code_size: (total_code_size + versions_code_size) as u64,
        reserved_concurrency: reserved as u64,
    })
}

/// The total code size of the configurations in `column` of `table`.
fn code_size(tx: &dyn Tx, column: &str, table: &str) -> String {
    format!(
        "SELECT CAST(COALESCE(SUM(CAST({} AS BIGINT)), 0) AS BIGINT) FROM {table}",
        json_text(tx, column, &["code", "size"])
    )
}
