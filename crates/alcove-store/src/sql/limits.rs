//! The limits the admission controller enforces, kept so they survive a restart: a
//! function's reserved concurrency (a column of its `functions` row, bounded by what the
//! account can spare) and its per-tenant concurrency limits (one JSON document in
//! `tenant_limits`). The server reads both at start and mirrors each change.

use alcove_core::{Error, FunctionName, Result, TenantLimits};
use alcove_sql::Tx;

use super::functions::{not_found, require_function};
use super::rows::{from_json, sql, to_json, Query};

/// Reserves `reserved` executions for the function unless every function's reservations
/// together would pass `max_total_reserved`.
pub(crate) fn put_concurrency(
    tx: &dyn Tx,
    name: &FunctionName,
    reserved: u32,
    max_total_reserved: u64,
) -> Result<()> {
    require_function(tx, name)?;
    let others: i64 = tx.row_one(
        "SELECT CAST(COALESCE(SUM(reserved_concurrency), 0) AS BIGINT) FROM functions WHERE name <> ?1",
        &[&name.as_str()],
        |row| row.get(0),
    )?;
    if others as u64 + u64::from(reserved) > max_total_reserved {
        return Err(Error::invalid(
            "Specified ReservedConcurrentExecutions for function decreases account's \
             UnreservedConcurrentExecution below its minimum value of [100].",
        ));
    }
    tx.execute(
        "UPDATE functions SET reserved_concurrency = ?2 WHERE name = ?1",
        &[&name.as_str(), &(i64::from(reserved))],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn get_concurrency(tx: &dyn Tx, name: &FunctionName) -> Result<Option<u32>> {
    tx.row_opt("SELECT reserved_concurrency FROM functions WHERE name = ?1", &[&name.as_str()], |row| {
        row.get::<Option<i64>>(0)
    })?
    .ok_or_else(|| not_found(name))
    .map(|value| value.map(|v| v as u32))
}

pub(crate) fn delete_concurrency(tx: &dyn Tx, name: &FunctionName) -> Result<()> {
    let updated = tx
        .execute("UPDATE functions SET reserved_concurrency = NULL WHERE name = ?1", &[&name.as_str()])
        .map_err(sql)?;
    if updated == 0 {
        return Err(not_found(name));
    }
    Ok(())
}

pub(crate) fn list_concurrency(tx: &dyn Tx) -> Result<Vec<(FunctionName, u32)>> {
    let rows = tx.rows(
        "SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL",
        &[],
        |row| Ok((row.get::<String>(0)?, row.get::<i64>(1)?)),
    )?;
    rows.into_iter().map(|(name, n)| Ok((FunctionName::parse(&name)?, n as u32))).collect()
}

/// Replaces the function's tenant limits; empty limits remove them.
pub(crate) fn put_tenant_limits(tx: &dyn Tx, name: &FunctionName, limits: &TenantLimits) -> Result<()> {
    require_function(tx, name)?;
    if limits.is_empty() {
        tx.execute("DELETE FROM tenant_limits WHERE function = ?1", &[&name.as_str()]).map_err(sql)?;
    } else {
        tx.execute(
            "INSERT INTO tenant_limits (function, limits) VALUES (?1, ?2) \
             ON CONFLICT (function) DO UPDATE SET limits = excluded.limits",
            &[&name.as_str(), &(to_json(limits)?)],
        )
        .map_err(sql)?;
    }
    Ok(())
}

pub(crate) fn get_tenant_limits(tx: &dyn Tx, name: &FunctionName) -> Result<Option<TenantLimits>> {
    require_function(tx, name)?;
    tx.row_opt("SELECT limits FROM tenant_limits WHERE function = ?1", &[&name.as_str()], |row| {
        row.get::<String>(0)
    })?
    .map(|raw| from_json(&raw))
    .transpose()
}

pub(crate) fn list_tenant_limits(tx: &dyn Tx) -> Result<Vec<(FunctionName, TenantLimits)>> {
    let rows = tx.rows("SELECT function, limits FROM tenant_limits", &[], |row| {
        Ok((row.get::<String>(0)?, row.get::<String>(1)?))
    })?;
    rows.into_iter().map(|(name, raw)| Ok((FunctionName::parse(&name)?, from_json(&raw)?))).collect()
}

#[cfg(test)]
mod tests {
    use alcove_core::Store;

    use crate::sql::testing::{config, name};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reserved_concurrency_respects_the_account_pool() {
        for store in crate::sql::testing::stores().await {
            store.create_function(config("a", "aa"), false).await.unwrap();
            store.create_function(config("b", "bb"), false).await.unwrap();
            store.put_concurrency(&name("a"), 600, 900).await.unwrap();
            assert!(store.put_concurrency(&name("b"), 301, 900).await.is_err());
            store.put_concurrency(&name("b"), 300, 900).await.unwrap();
            // Changing a function's own reservation does not count it twice.
            store.put_concurrency(&name("a"), 600, 900).await.unwrap();
            assert_eq!(store.account_usage().await.unwrap().reserved_concurrency, 900);
            store.delete_concurrency(&name("a")).await.unwrap();
            assert_eq!(store.get_concurrency(&name("a")).await.unwrap(), None);
            assert_eq!(store.account_usage().await.unwrap().function_count, 2);
        }
    }
}
