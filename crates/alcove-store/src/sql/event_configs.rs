//! Event invoke configs: the asynchronous-invocation settings (retries, maximum event age,
//! destinations) of one qualifier of a function, one JSON document per (function,
//! qualifier) in `event_invoke_configs`. The async dispatcher reads them for every event.

use alcove_core::{EventInvokeConfig, FunctionName, Result};
use alcove_sql::Tx;

use super::functions::require_function;
use super::rows::{from_json, sql, to_json, Query};

pub(crate) fn put(
    tx: &dyn Tx,
    name: &FunctionName,
    qualifier: &str,
    config: &EventInvokeConfig,
) -> Result<()> {
    require_function(tx, name)?;
    tx.execute(
        "INSERT INTO event_invoke_configs (function, qualifier, config) VALUES (?1, ?2, ?3) \
         ON CONFLICT (function, qualifier) DO UPDATE SET config = excluded.config",
        &[&name.as_str(), &qualifier, &(to_json(config)?)],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn get(tx: &dyn Tx, name: &FunctionName, qualifier: &str) -> Result<Option<EventInvokeConfig>> {
    tx.row_opt(
        "SELECT config FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
        &[&name.as_str(), &qualifier],
        |row| row.get::<String>(0),
    )?
    .map(|raw| from_json(&raw))
    .transpose()
}

/// Whether there was a config to delete.
pub(crate) fn delete(tx: &dyn Tx, name: &FunctionName, qualifier: &str) -> Result<bool> {
    let deleted = tx
        .execute(
            "DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
            &[&name.as_str(), &qualifier],
        )
        .map_err(sql)?;
    Ok(deleted > 0)
}

pub(crate) fn list(tx: &dyn Tx, name: &FunctionName) -> Result<Vec<(String, EventInvokeConfig)>> {
    let rows = tx.rows(
        "SELECT qualifier, config FROM event_invoke_configs WHERE function = ?1 ORDER BY qualifier",
        &[&name.as_str()],
        |row| Ok((row.get::<String>(0)?, row.get::<String>(1)?)),
    )?;
    rows.into_iter().map(|(qualifier, raw)| Ok((qualifier, from_json(&raw)?))).collect()
}
