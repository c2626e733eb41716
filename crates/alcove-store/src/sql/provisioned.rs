//! Provisioned concurrency configurations, one `provisioned_concurrency` row per
//! qualifier. The allocation rule is checked in the same transaction as the write, so two
//! concurrent requests cannot together allocate more than the limits allow.

use alcove_core::provisioned::{below_unreserved_minimum, OVER_RESERVED};
use alcove_core::{Error, FunctionName, ProvisionedConcurrency, ProvisionedLimits, Result};
use alcove_sql::{SqlError, ToParam, Tx};

use super::functions::require_function;
use super::rows::{sql, Query};

type Row = (String, String, i64, String);

fn from_row(row: &alcove_sql::Row) -> std::result::Result<Row, SqlError> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn from_parts((function, qualifier, requested, last_modified): Row) -> Result<ProvisionedConcurrency> {
    Ok(ProvisionedConcurrency {
        function: FunctionName::parse(&function)?,
        qualifier,
        requested: requested as u32,
        last_modified,
    })
}

fn sum(tx: &dyn Tx, query: &str, args: &[&dyn ToParam]) -> Result<u64> {
    let total: i64 = tx.row_one(query, args, |row| row.get(0))?;
    Ok(total as u64)
}

pub(crate) fn put(
    tx: &dyn Tx,
    config: ProvisionedConcurrency,
    limits: ProvisionedLimits,
) -> Result<ProvisionedConcurrency> {
    require_function(tx, &config.function)?;
    let name = config.function.as_str();
    let others_of_function = sum(
        tx,
        "SELECT CAST(COALESCE(SUM(requested), 0) AS BIGINT) FROM provisioned_concurrency WHERE function = ?1 AND qualifier <> ?2",
        &[&name, &config.qualifier],
    )?;
    let function_total = others_of_function + u64::from(config.requested);
    let reserved: Option<i64> =
        tx.row_one("SELECT reserved_concurrency FROM functions WHERE name = ?1", &[&name], |row| row.get(0))?;
    match reserved {
        Some(reserved) if function_total > reserved as u64 => return Err(Error::invalid(OVER_RESERVED)),
        Some(_) => {}
        None => {
            // Taken from the unreserved pool: every reservation, plus the provisioned
            // concurrency of the other functions without one, plus this function's.
            let reserved_total =
                sum(tx, "SELECT CAST(COALESCE(SUM(reserved_concurrency), 0) AS BIGINT) FROM functions", &[])?;
            let provisioned_elsewhere = sum(
                tx,
                "SELECT CAST(COALESCE(SUM(p.requested), 0) AS BIGINT) FROM provisioned_concurrency p \
                 JOIN functions f ON f.name = p.function \
                 WHERE f.reserved_concurrency IS NULL AND p.function <> ?1",
                &[&name],
            )?;
            let taken = reserved_total + provisioned_elsewhere + function_total;
            if taken + limits.unreserved_minimum > limits.account_concurrency {
                return Err(Error::invalid(below_unreserved_minimum(limits.unreserved_minimum)));
            }
        }
    }
    tx.execute(
        "INSERT INTO provisioned_concurrency (function, qualifier, requested, last_modified) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (function, qualifier) DO UPDATE SET \
         requested = excluded.requested, last_modified = excluded.last_modified",
        &[&name, &config.qualifier, &(i64::from(config.requested)), &config.last_modified],
    )
    .map_err(sql)?;
    Ok(config)
}

pub(crate) fn get(
    tx: &dyn Tx,
    function: &FunctionName,
    qualifier: &str,
) -> Result<Option<ProvisionedConcurrency>> {
    tx.row_opt(
        "SELECT function, qualifier, requested, last_modified FROM provisioned_concurrency \
         WHERE function = ?1 AND qualifier = ?2",
        &[&function.as_str(), &qualifier],
        from_row,
    )?
    .map(from_parts)
    .transpose()
}

pub(crate) fn delete(tx: &dyn Tx, function: &FunctionName, qualifier: &str) -> Result<bool> {
    let deleted = tx
        .execute(
            "DELETE FROM provisioned_concurrency WHERE function = ?1 AND qualifier = ?2",
            &[&function.as_str(), &qualifier],
        )
        .map_err(sql)?;
    Ok(deleted > 0)
}

/// Ordered by function, then qualifier.
pub(crate) fn list(tx: &dyn Tx, function: Option<&FunctionName>) -> Result<Vec<ProvisionedConcurrency>> {
    let rows = tx.rows(
        "SELECT function, qualifier, requested, last_modified FROM provisioned_concurrency \
             WHERE CAST(?1 AS TEXT) IS NULL OR function = ?1 ORDER BY function, qualifier",
        &[&(function.map(FunctionName::as_str))],
        from_row,
    )?;
    rows.into_iter().map(from_parts).collect()
}

#[cfg(test)]
mod tests {
    use alcove_core::Store;

    use super::*;
    use crate::sql::testing::{config, name};

    fn provisioned(function: &str, qualifier: &str, requested: u32) -> ProvisionedConcurrency {
        ProvisionedConcurrency {
            function: name(function),
            qualifier: qualifier.into(),
            requested,
            last_modified: "2026-01-01T00:00:00.000+0000".into(),
        }
    }

    const LIMITS: ProvisionedLimits =
        ProvisionedLimits { account_concurrency: 1000, unreserved_minimum: 100 };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn allocations_fit_within_reserved_or_the_unreserved_pool() {
        for store in crate::sql::testing::stores().await {
            store.create_function(config("a", "aa"), true).await.unwrap();
            store.create_function(config("b", "bb"), true).await.unwrap();
            store.put_concurrency(&name("a"), 10, 900).await.unwrap();
            store.put_provisioned_concurrency(provisioned("a", "1", 10), LIMITS).await.unwrap();
            let over = store.put_provisioned_concurrency(provisioned("a", "live", 1), LIMITS).await;
            assert!(matches!(over, Err(Error::InvalidParameter(m)) if m == OVER_RESERVED));
            // Replacing a config does not count it twice.
            store.put_provisioned_concurrency(provisioned("a", "1", 8), LIMITS).await.unwrap();
            // b has no reservation: 1000 - 10 reserved - 100 minimum leaves 890.
            let too_much = store.put_provisioned_concurrency(provisioned("b", "1", 891), LIMITS).await;
            assert!(
                matches!(too_much, Err(Error::InvalidParameter(m)) if m.contains("minimum value of [100]"))
            );
            store.put_provisioned_concurrency(provisioned("b", "1", 890), LIMITS).await.unwrap();
            let all = store.list_provisioned_concurrency(None).await.unwrap();
            assert_eq!(
                all.iter().map(|p| (p.function.as_str(), p.requested)).collect::<Vec<_>>(),
                [("a", 8), ("b", 890)]
            );
            assert!(store.delete_provisioned_concurrency(&name("b"), "1").await.unwrap());
            assert!(!store.delete_provisioned_concurrency(&name("b"), "1").await.unwrap());
            store.delete_function(&name("a")).await.unwrap();
            assert!(store.list_provisioned_concurrency(None).await.unwrap().is_empty());
        }
    }
}
