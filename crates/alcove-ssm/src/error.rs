//! What the parameter store can refuse or fail at, one variant per Parameter Store error
//! code; `alcove-api` maps each to its JSON 1.1 error in one place.

#[derive(Debug, thiserror::Error)]
pub enum SsmError {
    /// A request member breaks a constraint (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    #[error("")]
    NotFound,
    #[error("Version {version} of parameter {name} not found.")]
    VersionNotFound { name: String, version: u64 },
    #[error("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")]
    AlreadyExists,
    #[error("Parameter name: The parameter name can't contain more than 15 levels of hierarchy.")]
    HierarchyTooDeep,
    #[error("Parameter value, cannot be validated against allowedPattern: {0}")]
    PatternMismatch(String),
    #[error("The allowed pattern {0} is not a valid regular expression.")]
    InvalidAllowedPattern(String),
    #[error("The next token is not valid.")]
    InvalidNextToken,
    #[error("The filter key {0} is not valid.")]
    InvalidFilterKey(String),
    #[error("{0}")]
    InvalidFilterOption(String),
    /// AddTagsToResource and friends on a parameter that does not exist.
    #[error("The parameter doesn't exist.")]
    InvalidResourceId,
    /// A parameter would carry more than [`crate::store::MAX_TAGS`] tags.
    #[error("You have exceeded the number of tags allowed for a resource. For the number of tags allowed for a resource, see Service Quotas.")]
    TooManyTags,
    #[error("parameter storage failed")]
    Storage(#[from] rusqlite::Error),
    #[error("the parameter store's database was written by a newer Alcove (schema version {0})")]
    NewerSchema(i64),
    #[error("creating the parameter store's directory failed")]
    Io(#[from] std::io::Error),
}
