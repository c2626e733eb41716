//! What the log store can refuse or fail at. The API maps each to CloudWatch Logs'
//! error codes in one place (`alcove-api`'s `error.rs`).

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    #[error("The specified log group already exists")]
    GroupExists,
    #[error("The specified log stream already exists")]
    StreamExists,
    /// A parameter the store itself checks (tokens, names, retention, patterns).
    #[error("{0}")]
    InvalidParameter(String),
    #[error("log storage failed")]
    Storage(#[from] rusqlite::Error),
    #[error("the log store's database was written by a newer Alcove (schema version {0})")]
    NewerSchema(i64),
}

impl From<crate::filter::PatternError> for LogsError {
    fn from(error: crate::filter::PatternError) -> Self {
        LogsError::InvalidParameter(error.to_string())
    }
}
