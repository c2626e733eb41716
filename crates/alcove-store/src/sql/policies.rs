//! Resource-based policies: the statements `AddPermission` grants on a qualifier of a
//! function, kept in IAM's JSON format in `policy_statements` and returned in the order
//! they were added (rowid order). They are stored and reported, not enforced.

use alcove_core::{Error, FunctionName, Result};
use alcove_sql::Tx;

use super::functions::require_function;
use super::rows::{from_json, sql, Query};

/// Adds a statement; a statement id the qualifier already has is a conflict.
pub(crate) fn add(
    tx: &dyn Tx,
    name: &FunctionName,
    qualifier: &str,
    statement_id: &str,
    statement: &serde_json::Value,
) -> Result<()> {
    require_function(tx, name)?;
    let inserted = tx
        .execute(
            "INSERT INTO policy_statements (function, qualifier, statement_id, statement) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING",
            &[&name.as_str(), &qualifier, &statement_id, &statement.to_string()],
        )
        .map_err(sql)?;
    if inserted == 0 {
        return Err(Error::Conflict(format!(
            "The statement id ({statement_id}) provided already exists. Please provide a new statement id, \
             or remove the existing statement."
        )));
    }
    Ok(())
}

/// Whether there was a statement with that id to remove.
pub(crate) fn remove(tx: &dyn Tx, name: &FunctionName, qualifier: &str, statement_id: &str) -> Result<bool> {
    let deleted = tx
        .execute(
            "DELETE FROM policy_statements WHERE function = ?1 AND qualifier = ?2 AND statement_id = ?3",
            &[&name.as_str(), &qualifier, &statement_id],
        )
        .map_err(sql)?;
    Ok(deleted > 0)
}

pub(crate) fn statements(
    tx: &dyn Tx,
    name: &FunctionName,
    qualifier: &str,
) -> Result<Vec<serde_json::Value>> {
    let rows = tx.rows(
        "SELECT statement FROM policy_statements WHERE function = ?1 AND qualifier = ?2 ORDER BY rowid",
        &[&name.as_str(), &qualifier],
        |row| row.get::<String>(0),
    )?;
    rows.iter().map(|raw| from_json(raw)).collect()
}
