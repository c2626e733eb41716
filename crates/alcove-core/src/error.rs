//! The domain's error kinds. Each maps to exactly one AWS error code at the HTTP edge;
//! nothing below the edge knows about status codes.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
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
    /// A fault of ours: storage failure and the like (`ServiceException`).
    #[error("{0}")]
    Internal(String),
}

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
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}
