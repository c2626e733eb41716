//! The one failure type of the SQL layer; each store maps it onto its own error enum.

/// A database call failed: the statement, the connection or the pool.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("no PostgreSQL connection available: {0}")]
    Pool(String),
    #[error("column {index}: {problem}")]
    Column { index: usize, problem: String },
    #[error("the query returned no row")]
    NoRow,
    #[error("the database task ended before finishing: {0}")]
    Task(String),
    #[error("invalid database location {0:?}: {1}")]
    Location(String, String),
}

/// PostgreSQL's own message and detail: `tokio_postgres::Error`'s display is only "db error".
fn postgres_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.code().code(), db.message()),
            None => format!("{}: {}", db.code().code(), db.message()),
        },
        None => error.to_string(),
    }
}

impl SqlError {
    /// Whether a uniqueness or primary-key constraint refused the statement, on either backend.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            SqlError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(
                    e.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
            }
            SqlError::Postgres(e) => e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    /// Whether a foreign-key constraint refused the statement, on either backend.
    pub fn is_foreign_key_violation(&self) -> bool {
        match self {
            SqlError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
            }
            SqlError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
            }
            _ => false,
        }
    }
}
