//! The statement API every store is written against.

use crate::{Row, SqlError, ToParam};

/// Which SQL the transaction speaks, for the few statements the dialects cannot share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One open transaction. Statements use numbered placeholders (`?1`, `?2`...), which each
/// backend binds natively; nothing is committed until the work given to
/// [`crate::Database`] returns `Ok`.
pub trait Tx {
    fn dialect(&self) -> Dialect;

    /// Runs one statement; the number of rows it changed.
    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, SqlError>;

    /// Runs several statements without parameters (schema steps).
    fn execute_batch(&self, sql: &str) -> Result<(), SqlError>;

    /// Every row the statement returns.
    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, SqlError>;

    /// The first row the statement returns, if any.
    fn query_opt(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Option<Row>, SqlError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The one row the statement must return.
    fn query_one(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Row, SqlError> {
        self.query_opt(sql, params)?.ok_or(SqlError::NoRow)
    }
}
