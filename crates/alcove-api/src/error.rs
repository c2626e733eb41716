//! The one place AWS error responses are made. Every failure of every HTTP surface turns
//! into an [`ApiError`], which renders as Lambda does: the status code, the
//! `x-amzn-ErrorType` header naming the error code, and a JSON body with `Type` and
//! `message`, which botocore and the AWS CLI turn into a `ClientError` with that code.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Type` in the body: `User` for the caller's faults, `Service` for ours.
    pub fault: &'static str,
    /// `Reason` in the body, for throttling errors.
    pub reason: Option<&'static str>,
}

impl ApiError {
    fn user(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), fault: "User", reason: None }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::user(StatusCode::BAD_REQUEST, "InvalidParameterValueException", message)
    }

    pub fn invalid_content(message: impl Into<String>) -> Self {
        Self::user(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::user(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    pub fn entity_too_large(message: impl Into<String>) -> Self {
        Self::user(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException", message)
    }

    /// Payload over Invoke's limit.
    pub fn request_too_large(message: impl Into<String>) -> Self {
        Self::user(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", message)
    }

    pub fn too_many_requests(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { reason: Some(reason), ..Self::user(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", message) }
    }

    pub fn unknown_operation() -> Self {
        Self::user(StatusCode::NOT_FOUND, "UnknownOperationException", "Unknown operation")
    }

    pub fn service(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "ServiceException",
            message: message.into(),
            fault: "Service",
            reason: None,
        }
    }
}

impl From<alcove_core::Error> for ApiError {
    fn from(error: alcove_core::Error) -> Self {
        use alcove_core::Error as E;
        match error {
            E::InvalidParameter(m) => ApiError::invalid_parameter(m),
            E::NotFound(m) => ApiError::not_found(m),
            E::Conflict(m) => ApiError::user(StatusCode::CONFLICT, "ResourceConflictException", m),
            E::PreconditionFailed(m) => {
                ApiError::user(StatusCode::PRECONDITION_FAILED, "PreconditionFailedException", m)
            }
            E::TooLarge(m) => ApiError::entity_too_large(m),
            E::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::service("An internal error occurred; see the server log.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = self.code, message = %self.message, "request failed");
        } else {
            tracing::debug!(code = self.code, message = %self.message, "request rejected");
        }
        let mut body = json!({ "Type": self.fault, "message": self.message });
        if let Some(reason) = self.reason {
            body["Reason"] = json!(reason);
        }
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
