//! [`Tx`] over a PostgreSQL transaction, driven from the blocking thread a store's work
//! runs on: each statement is handed to the async driver on the runtime and waited for.
//!
//! Binding adapts to the type PostgreSQL inferred for each placeholder, so the stores'
//! 64-bit integers and text bind whatever the column is; rows are read by column type.

use std::error::Error as StdError;

use bytes::BytesMut;
use tokio::runtime::Handle;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::{Dialect, Param, Row, SqlError, ToParam, Tx, Value};

pub(crate) struct PgTx<'a> {
    pub(crate) tx: &'a deadpool_postgres::Transaction<'a>,
    pub(crate) handle: Handle,
}

/// Rewrites `?N` (and bare `?`) placeholders as PostgreSQL's `$N`, leaving quoted text,
/// quoted identifiers and comments alone.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next_bare = 1u32;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let number = if digits.is_empty() { next_bare } else { digits.parse().unwrap_or(next_bare) };
                next_bare = number + 1;
                out.push('$');
                out.push_str(&number.to_string());
            }
            other => out.push(other),
        }
    }
    out
}

#[derive(Debug)]
struct Bound<'a>(Param<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
                Type::FLOAT8 => (n as f64).to_sql(ty, out),
                Type::FLOAT4 => (n as f32).to_sql(ty, out),
                Type::BOOL => (n != 0).to_sql(ty, out),
                _ => n.to_string().to_sql(&Type::TEXT, out),
            },
            Param::Real(x) => match *ty {
                Type::FLOAT4 => (x as f32).to_sql(ty, out),
                Type::FLOAT8 => x.to_sql(ty, out),
                _ => x.to_string().to_sql(&Type::TEXT, out),
            },
            Param::Text(s) => match *ty {
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                _ => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
            },
            Param::Blob(b) => match *ty {
                Type::BYTEA => b.to_sql(ty, out),
                _ => {
                    out.extend_from_slice(b);
                    Ok(IsNull::No)
                }
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column read by its type.
struct Column(Value);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Column(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::JSONB => Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or_default())?.to_owned()),
            Type::NUMERIC => return Err("NUMERIC columns are not read: cast the expression to BIGINT".into()),
            _ => Value::Text(std::str::from_utf8(raw)?.to_owned()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Column(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl PgTx<'_> {
    fn run<'p>(
        &self,
        sql: &str,
        params: &'p [&'p dyn ToParam],
    ) -> Result<Vec<tokio_postgres::Row>, SqlError> {
        let bound: Vec<Bound<'p>> = params.iter().map(|p| Bound(p.to_param())).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let sql = placeholders(sql);
        self.handle
            .block_on(async {
                let statement = self.tx.prepare_cached(&sql).await?;
                self.tx.query(&statement, &refs).await
            })
            .map_err(SqlError::from)
    }
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, SqlError> {
        let bound: Vec<Bound<'_>> = params.iter().map(|p| Bound(p.to_param())).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let sql = placeholders(sql);
        self.handle
            .block_on(async {
                let statement = self.tx.prepare_cached(&sql).await?;
                self.tx.execute(&statement, &refs).await
            })
            .map_err(SqlError::from)
    }

    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        Ok(self.handle.block_on(self.tx.batch_execute(sql))?)
    }

    fn query(&self, sql: &str, params: &[&dyn ToParam]) -> Result<Vec<Row>, SqlError> {
        self.run(sql, params)?
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<_, Column>(i)
                            .map(|c| c.0)
                            .map_err(|e| SqlError::Column { index: i, problem: e.to_string() })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row::new)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(placeholders("SELECT ?1, ?2 WHERE a = ?1"), "SELECT $1, $2 WHERE a = $1");
        assert_eq!(
            placeholders("SELECT '?1', \"q?\" FROM t WHERE x = ?"),
            "SELECT '?1', \"q?\" FROM t WHERE x = $1"
        );
        assert_eq!(placeholders("SELECT 1 -- why?\n, ?3"), "SELECT 1 -- why?\n, $3");
        assert_eq!(placeholders("VALUES (?, ?)"), "VALUES ($1, $2)");
    }
}
