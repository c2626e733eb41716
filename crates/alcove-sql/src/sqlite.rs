//! [`Tx`] over a rusqlite transaction.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use crate::{Dialect, Param, Row, SqlError, ToParam, Tx, Value};

pub(crate) struct SqliteTx<'a>(pub(crate) &'a rusqlite::Connection);

struct Bound<'a>(Param<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Param::Null => ValueRef::Null,
            Param::Int(n) => ValueRef::Integer(n),
            Param::Real(x) => ValueRef::Real(x),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn bind<'a>(params: &'a [&'a dyn ToParam]) -> Vec<Bound<'a>> {
    params.iter().map(|p| Bound(p.to_param())).collect()
}

fn value(raw: ValueRef<'_>) -> Result<Value, SqlError> {
    Ok(match raw {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| SqlError::Column { index: 0, problem: format!("text is not UTF-8: {e}") })?
                .to_owned(),
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, SqlError> {
        let mut statement = self.0.prepare_cached(sql)?;
        Ok(statement.execute(rusqlite::params_from_iter(bind(params)))? as u64)
    }

    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, SqlError> {
        let mut statement = self.0.prepare_cached(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(bind(params)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values =
                (0..columns).map(|i| value(row.get_ref(i)?)).collect::<Result<Vec<_>, SqlError>>()?;
            out.push(Row::new(values));
        }
        Ok(out)
    }
}
