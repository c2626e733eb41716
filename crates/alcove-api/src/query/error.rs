//! What a Query-protocol request can fail with, and the one mapping of each failure to
//! its status, fault and code. CloudFormation's engine errors are mapped here too, so
//! every CloudFormation and STS error leaves in the same `<ErrorResponse>` shape.

use alcove_cloudformation::CloudFormationError;
use axum::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("Missing Action")]
    MissingAction,
    #[error("The action {0} is not valid for this web service.")]
    InvalidAction(String),
    /// `ValidationError`: a missing or malformed member.
    #[error("{0}")]
    Validation(String),
    /// `AccessDenied`: the caller may not do this (STS, a role of another account).
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    CloudFormation(#[from] CloudFormationError),
    #[error("An internal error occurred.")]
    Internal,
    /// An authentication or authorization refusal (see `auth::reject`).
    #[error("{message}")]
    Refused { status: StatusCode, code: &'static str, message: String },
}

/// How an error is written: HTTP status, `Sender`/`Receiver`, code.
pub struct Wire {
    pub status: StatusCode,
    pub fault: &'static str,
    pub code: &'static str,
}

const fn sender(status: StatusCode, code: &'static str) -> Wire {
    Wire { status, fault: "Sender", code }
}

impl QueryError {
    pub fn wire(&self) -> Wire {
        use CloudFormationError as E;
        match self {
            QueryError::Refused { status, code, .. } => sender(*status, code),
            QueryError::MissingAction => sender(StatusCode::BAD_REQUEST, "MissingAction"),
            QueryError::InvalidAction(_) => sender(StatusCode::BAD_REQUEST, "InvalidAction"),
            QueryError::Validation(_)
            | QueryError::CloudFormation(E::Validation(_))
            | QueryError::CloudFormation(E::Transform(_)) => {
                sender(StatusCode::BAD_REQUEST, "ValidationError")
            }
            QueryError::AccessDenied(_) => sender(StatusCode::FORBIDDEN, "AccessDenied"),
            QueryError::CloudFormation(E::AlreadyExists(_)) => {
                sender(StatusCode::BAD_REQUEST, "AlreadyExistsException")
            }
            QueryError::CloudFormation(E::InsufficientCapabilities(_)) => {
                sender(StatusCode::BAD_REQUEST, "InsufficientCapabilitiesException")
            }
            QueryError::CloudFormation(E::ChangeSetNotFound(_)) => {
                sender(StatusCode::NOT_FOUND, "ChangeSetNotFound")
            }
            QueryError::CloudFormation(E::InvalidChangeSetStatus(_)) => {
                sender(StatusCode::BAD_REQUEST, "InvalidChangeSetStatus")
            }
            QueryError::CloudFormation(E::TokenAlreadyExists(_)) => {
                sender(StatusCode::BAD_REQUEST, "TokenAlreadyExistsException")
            }
            QueryError::CloudFormation(E::Storage(_) | E::NewerSchema(_)) | QueryError::Internal => {
                Wire { status: StatusCode::INTERNAL_SERVER_ERROR, fault: "Receiver", code: "InternalFailure" }
            }
        }
    }

    /// The message the caller reads: internal causes are logged, not shown.
    pub fn message(&self) -> String {
        match self {
            QueryError::CloudFormation(
                e @ (CloudFormationError::Storage(_) | CloudFormationError::NewerSchema(_)),
            ) => {
                tracing::error!(error = %e, "CloudFormation failed internally");
                QueryError::Internal.to_string()
            }
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_error_has_its_code_and_status() {
        let cases = [
            (CloudFormationError::Validation("x".into()), 400, "ValidationError"),
            (CloudFormationError::Transform("x".into()), 400, "ValidationError"),
            (CloudFormationError::AlreadyExists("x".into()), 400, "AlreadyExistsException"),
            (
                CloudFormationError::InsufficientCapabilities("x".into()),
                400,
                "InsufficientCapabilitiesException",
            ),
            (CloudFormationError::ChangeSetNotFound("x".into()), 404, "ChangeSetNotFound"),
            (CloudFormationError::InvalidChangeSetStatus("x".into()), 400, "InvalidChangeSetStatus"),
            (CloudFormationError::TokenAlreadyExists("x".into()), 400, "TokenAlreadyExistsException"),
            (CloudFormationError::NewerSchema(9), 500, "InternalFailure"),
        ];
        for (error, status, code) in cases {
            let error = QueryError::from(error);
            let wire = error.wire();
            assert_eq!((wire.status.as_u16(), wire.code), (status, code), "{error:?}");
            assert_eq!(wire.fault, if status == 500 { "Receiver" } else { "Sender" });
        }
        let internal = QueryError::from(CloudFormationError::NewerSchema(9));
        assert_eq!(internal.message(), "An internal error occurred.");
        assert_eq!(QueryError::from(CloudFormationError::Validation("bad".into())).message(), "bad");
    }
}
