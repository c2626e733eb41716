//! What every feature module shares to turn rows into domain values and back: the one
//! mapping of database failures to the domain's error, the query shapes the modules use,
//! the JSON codec of the stored documents, and the look-ahead pagination the listings use.
//!
//! A failure here is always ours (`Internal`, a `ServiceException` at the edge): the
//! request was valid and the database could not serve it, or a stored document no longer
//! parses, which is reported as a corrupt record rather than guessed around.

use alcove_core::{Error, Page, Result};
use alcove_sql::{Dialect, Row, SqlError, ToParam, Tx};

/// The domain error for a failed database call.
pub(crate) fn sql(e: SqlError) -> Error {
    Error::caused("database", e)
}

/// Queries mapped row by row, failing with the domain's error.
pub(crate) trait Query {
    /// The first row the statement returns, mapped, if any.
    fn row_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        map: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<Option<T>>;

    /// The one row the statement must return, mapped.
    fn row_one<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        map: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<T>;

    /// Every row the statement returns, mapped.
    fn rows<T>(
        &self,
        sql: &str,
        params: &[&dyn ToParam],
        map: impl FnMut(&Row) -> Result<T, SqlError>,
    ) -> Result<Vec<T>>;
}

impl Query for dyn Tx + '_ {
    fn row_opt<T>(
        &self,
        statement: &str,
        params: &[&dyn ToParam],
        map: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<Option<T>> {
        self.query_opt(statement, params).and_then(|row| row.as_ref().map(map).transpose()).map_err(sql)
    }

    fn row_one<T>(
        &self,
        statement: &str,
        params: &[&dyn ToParam],
        map: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<T> {
        self.query_one(statement, params).and_then(|row| map(&row)).map_err(sql)
    }

    fn rows<T>(
        &self,
        statement: &str,
        params: &[&dyn ToParam],
        map: impl FnMut(&Row) -> Result<T, SqlError>,
    ) -> Result<Vec<T>> {
        self.query(statement, params).and_then(|rows| rows.iter().map(map).collect()).map_err(sql)
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::caused("encoding a record", e))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::caused("corrupt record", e))
}

/// Splits a listing fetched with one row of look-ahead into a page and its next marker.
pub(crate) fn paginate<T>(mut items: Vec<T>, limit: usize, marker_of: impl Fn(&T) -> String) -> Page<T> {
    let next_marker = if items.len() > limit {
        items.truncate(limit);
        items.last().map(marker_of)
    } else {
        None
    };
    Page { items, next_marker }
}

/// The value at `path` (`["lifecycle", "state"]`) of the JSON document stored as text in
/// `column`, as an SQL expression: the text of a string, the digits of a number. The
/// dialects spell it differently; the stored documents are the same.
pub(crate) fn json_text(tx: &dyn Tx, column: &str, path: &[&str]) -> String {
    match tx.dialect() {
        Dialect::Sqlite => format!("CAST(json_extract({column}, '$.{}') AS TEXT)", path.join(".")),
        Dialect::Postgres => format!("(CAST({column} AS jsonb) #>> '{{{}}}')", path.join(",")),
    }
}
