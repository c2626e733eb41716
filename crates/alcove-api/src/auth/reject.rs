//! Refusals, each in the shape of the service the request addressed, with AWS's codes:
//! Lambda, API Gateway and Alcove's own API answer `UnrecognizedClientException`,
//! `InvalidSignatureException`, `AccessDeniedException` (403, `x-amzn-ErrorType`);
//! Logs and SSM the same codes in JSON 1.1 (400); STS and CloudFormation
//! `InvalidClientTokenId`, `SignatureDoesNotMatch`, `AccessDenied` in `<ErrorResponse>`;
//! S3 `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `RequestTimeTooSkewed`,
//! `AccessDenied` in its XML.

use alcove_auth::sigv4::SigV4Error;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::classify::Surface;
use crate::error::{ApiError, GatewayError, Json11Error};
use crate::query::{QueryError, QueryService};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    SigV4(SigV4Error),
    /// The caller's policy does not allow the request.
    Denied {
        caller: String,
        action: String,
        resource: String,
        explicit: bool,
    },
    /// The key store failed.
    Internal(String),
}

impl From<SigV4Error> for Failure {
    fn from(error: SigV4Error) -> Failure {
        Failure::SigV4(error)
    }
}

impl Failure {
    /// AWS's message for a denial.
    pub fn denial_message(caller: &str, action: &str, resource: &str, explicit: bool) -> String {
        if explicit {
            format!(
                "User: {caller} is not authorized to perform: {action} on resource: {resource} with an explicit \
                 deny in an identity-based policy"
            )
        } else {
            format!(
                "User: {caller} is not authorized to perform: {action} on resource: {resource} because no \
                 identity-based policy allows the {action} action"
            )
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::SigV4(error) => error.to_string(),
            Failure::Denied { caller, action, resource, explicit } => {
                Failure::denial_message(caller, action, resource, *explicit)
            }
            Failure::Internal(_) => "An internal error occurred; see the server log.".into(),
        }
    }

    /// The code of a JSON service (Lambda, API Gateway, Logs, SSM, Alcove).
    fn json_code(&self) -> &'static str {
        match self {
            Failure::SigV4(SigV4Error::Missing) => "MissingAuthenticationTokenException",
            Failure::SigV4(SigV4Error::Malformed(_)) => "IncompleteSignatureException",
            Failure::SigV4(SigV4Error::UnknownKey | SigV4Error::InvalidToken) => {
                "UnrecognizedClientException"
            }
            Failure::SigV4(SigV4Error::ExpiredToken) => "ExpiredTokenException",
            Failure::SigV4(SigV4Error::Mismatch | SigV4Error::Skewed(_) | SigV4Error::PresignedExpired) => {
                "InvalidSignatureException"
            }
            Failure::Denied { .. } => "AccessDeniedException",
            Failure::Internal(_) => "ServiceException",
        }
    }

    /// The code of a Query service (STS, CloudFormation).
    fn query_code(&self) -> (&'static str, StatusCode) {
        match self {
            Failure::SigV4(SigV4Error::Missing) => ("MissingAuthenticationToken", StatusCode::FORBIDDEN),
            Failure::SigV4(SigV4Error::Malformed(_)) => ("IncompleteSignature", StatusCode::BAD_REQUEST),
            Failure::SigV4(SigV4Error::UnknownKey | SigV4Error::InvalidToken) => {
                ("InvalidClientTokenId", StatusCode::FORBIDDEN)
            }
            Failure::SigV4(SigV4Error::ExpiredToken) => ("ExpiredToken", StatusCode::BAD_REQUEST),
            Failure::SigV4(SigV4Error::Mismatch | SigV4Error::Skewed(_) | SigV4Error::PresignedExpired) => {
                ("SignatureDoesNotMatch", StatusCode::FORBIDDEN)
            }
            Failure::Denied { .. } => ("AccessDenied", StatusCode::FORBIDDEN),
            Failure::Internal(_) => ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// S3's code and message.
    fn s3(&self) -> (StatusCode, &'static str, String) {
        let forbidden = StatusCode::FORBIDDEN;
        match self {
            Failure::SigV4(SigV4Error::Missing) | Failure::Denied { .. } => {
                (forbidden, "AccessDenied", "Access Denied".into())
            }
            Failure::SigV4(SigV4Error::Malformed(m)) => {
                (StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed", m.clone())
            }
            Failure::SigV4(SigV4Error::UnknownKey) => (
                forbidden,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.".into(),
            ),
            Failure::SigV4(SigV4Error::InvalidToken) => (
                StatusCode::BAD_REQUEST,
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.".into(),
            ),
            Failure::SigV4(SigV4Error::ExpiredToken) => {
                (StatusCode::BAD_REQUEST, "ExpiredToken", "The provided token has expired.".into())
            }
            Failure::SigV4(SigV4Error::Mismatch) => (
                forbidden,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key \
                 and signing method."
                    .into(),
            ),
            Failure::SigV4(SigV4Error::Skewed(_)) => (
                forbidden,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.".into(),
            ),
            Failure::SigV4(SigV4Error::PresignedExpired) => (forbidden, "AccessDenied", "Request has expired".into()),
            Failure::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.".into(),
            ),
        }
    }
}

/// The refusal as `surface` sends it.
pub fn render(surface: Surface, failure: &Failure) -> Response {
    if let Failure::Internal(cause) = failure {
        tracing::error!(error = %cause, "authentication failed internally");
    }
    let message = failure.message();
    let status = match failure {
        Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Failure::SigV4(SigV4Error::Malformed(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    match surface {
        Surface::Lambda | Surface::Native => ApiError {
            status,
            code: failure.json_code(),
            message,
            fault: "User",
            reason: None,
            internal: None,
        }
        .into_response(),
        Surface::ApiGateway => GatewayError::new(status, failure.json_code(), message).into_response(),
        Surface::Logs | Surface::Ssm => {
            let mut error = Json11Error::new(failure.json_code(), message);
            error.status = if status.is_server_error() { status } else { StatusCode::BAD_REQUEST };
            error.into_response()
        }
        Surface::Sts | Surface::CloudFormation => {
            let (code, status) = failure.query_code();
            let service =
                if surface == Surface::Sts { QueryService::Sts } else { QueryService::CloudFormation };
            let request_id = uuid::Uuid::new_v4().to_string();
            crate::query::xml::failure(
                service.namespace(),
                &QueryError::Refused { status, code, message },
                &request_id,
            )
        }
        Surface::S3 => {
            let (status, code, message) = failure.s3();
            let request_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase();
            crate::s3::refusal(status, code, message, &request_id)
        }
    }
}
