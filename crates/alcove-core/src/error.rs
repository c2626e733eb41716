//! The domain's error kinds. Each maps to exactly one AWS error code at the HTTP edge;
//! nothing below the edge knows about status codes.

use std::sync::Arc;

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an internal error was caused by, kept for the log (shared, so errors stay `Clone`).
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, Error, Clone)]
pub enum Error {
    /// A request value breaks a rule (`InvalidParameterValueException`).
    #[error("{0}")]
    InvalidParameter(String),
    /// The named function, version or alias does not exist (`ResourceNotFoundException`).
    #[error("{0}")]
    NotFound(String),
    /// The resource exists already or is in use (`ResourceConflictException`).
    #[error("{0}")]
    Conflict(String),
    /// A `RevisionId` or `CodeSha256` precondition did not hold (`PreconditionFailedException`).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The request or its code package is larger than the service accepts.
    #[error("{0}")]
    TooLarge(String),
    /// A fault of ours: storage failure and the like (`ServiceException`). `context`
    /// says what was being done; `source`, when there is one, is the failure itself (a
    /// database or file error, with its own chain), for the server's log only.
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        source: Option<Cause>,
    },
}

/// Equal kinds with equal messages; an internal error's cause is not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Error::InvalidParameter(a), Error::InvalidParameter(b))
            | (Error::NotFound(a), Error::NotFound(b))
            | (Error::Conflict(a), Error::Conflict(b))
            | (Error::PreconditionFailed(a), Error::PreconditionFailed(b))
            | (Error::TooLarge(a), Error::TooLarge(b)) => a == b,
            (Error::Internal { context: a, .. }, Error::Internal { context: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Eq for Error {}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidParameter(msg.into())
    }
    /// A `RevisionId` precondition that no longer holds.
    pub fn revision_mismatch() -> Self {
        Error::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the \
             GetFunction/GetAlias API to retrieve the latest Revision Id"
                .into(),
        )
    }
    /// An internal error described by `msg` alone.
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal { context: msg.to_string(), source: None }
    }

    /// An internal error: `context` (what was being done) caused by `source`.
    pub fn caused(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Internal { context: context.into(), source: Some(Arc::new(source)) }
    }

    /// The error and every cause under it, `: `-separated, for a log line.
    pub fn chain(&self) -> String {
        chain(self)
    }
}

/// Any error and every cause under it, `: `-separated.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_cause_for_the_log_only() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let error = Error::caused("writing /data/code/x.zip", io);
        assert_eq!(error.to_string(), "writing /data/code/x.zip", "the message names no cause");
        assert_eq!(error.chain(), "writing /data/code/x.zip: denied");
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(error, Error::internal("writing /data/code/x.zip"), "causes are not compared");
        assert_ne!(error, Error::NotFound("writing /data/code/x.zip".into()));
        assert_eq!(Error::internal("plain").chain(), "plain");
    }
}
