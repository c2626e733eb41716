//! What the engine refuses or fails at. The edge maps each variant to CloudFormation's
//! error code and HTTP status in one place (`alcove-api`).

#[derive(Debug, thiserror::Error)]
pub enum CloudFormationError {
    /// CloudFormation's `ValidationError` (400): a bad template, parameter or request, a
    /// stack that does not exist, a stack in a state that forbids the operation, "No
    /// updates are to be performed.".
    #[error("{0}")]
    Validation(String),
    /// The template's transform failed or is not served: a `ValidationError` (400) where
    /// the request runs it (CreateStack, UpdateStack, ValidateTemplate); a change set
    /// records it instead, settling `FAILED` with this reason, as AWS's do.
    #[error("{0}")]
    Transform(String),
    /// `AlreadyExistsException` (400).
    #[error("{0}")]
    AlreadyExists(String),
    /// `InsufficientCapabilitiesException` (400).
    #[error("{0}")]
    InsufficientCapabilities(String),
    /// `ChangeSetNotFound` (404).
    #[error("{0}")]
    ChangeSetNotFound(String),
    /// `InvalidChangeSetStatus` (400).
    #[error("{0}")]
    InvalidChangeSetStatus(String),
    /// `TokenAlreadyExistsException` (400).
    #[error("{0}")]
    TokenAlreadyExists(String),
    /// The engine's own storage failed (500 `InternalFailure`).
    #[error("stack storage failed")]
    Storage(#[from] rusqlite::Error),
    #[error("the stack database was written by a newer Alcove (schema version {0})")]
    NewerSchema(i64),
}
