//! The one place AWS error responses are made. Every failure of the Lambda API turns
//! into an [`ApiError`], which renders as Lambda does: the status code, the
//! `x-amzn-ErrorType` header naming the error code, and a JSON body with exactly the
//! members of the error's shape in the service model: `Type` and `Message` or `message`
//! as that shape spells it (so botocore fills `Error.Message` and the modelled
//! exception's own members), `Reason` for throttling. Errors the model does not list
//! (`ValidationException`, the front end's `RequestEntityTooLargeException`) carry only
//! their message, as AWS sends them.
//! API Gateway answers in its own shape, a JSON body with only `message`: its control
//! plane's errors and its data plane's gateway responses are [`GatewayError`]s.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Type` in the body: `User` for the caller's faults, `Service` for ours.
    pub fault: &'static str,
    /// `Reason` in the body, for throttling errors.
    pub reason: Option<&'static str>,
    /// What went wrong inside, for the server's log only: the caller sees `message`.
    pub internal: Option<String>,
}

impl ApiError {
    fn user(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), fault: "User", reason: None, internal: None }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::user(StatusCode::BAD_REQUEST, "InvalidParameterValueException", message)
    }

    /// A request that breaks the service model's constraints (see `lambda::validation`).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::user(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    pub fn invalid_content(message: impl Into<String>) -> Self {
        Self::user(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::user(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::user(StatusCode::CONFLICT, "ResourceConflictException", message)
    }

    pub fn code_signing_config_not_found(message: impl Into<String>) -> Self {
        Self::user(StatusCode::NOT_FOUND, "CodeSigningConfigNotFoundException", message)
    }

    pub fn entity_too_large(message: impl Into<String>) -> Self {
        Self::user(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException", message)
    }

    /// Payload over Invoke's limit.
    pub fn request_too_large(message: impl Into<String>) -> Self {
        Self::user(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", message)
    }

    pub fn too_many_requests(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            reason: Some(reason),
            ..Self::user(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", message)
        }
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
            internal: None,
        }
    }

    /// A failure of ours whose cause the caller must not see: a generic message to the
    /// caller, the cause in the log (written once, when the response is made).
    pub fn internal(cause: impl Into<String>) -> Self {
        ApiError {
            internal: Some(cause.into()),
            ..Self::service("An internal error occurred; see the server log.")
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
            error @ E::Internal { .. } => ApiError::internal(error.chain()),
        }
    }
}

/// Alcove's own log endpoint answers in Lambda's shape.
impl From<alcove_logs::LogsError> for ApiError {
    fn from(error: alcove_logs::LogsError) -> Self {
        match error {
            alcove_logs::LogsError::GroupNotFound | alcove_logs::LogsError::StreamNotFound => {
                ApiError::not_found(error.to_string())
            }
            alcove_logs::LogsError::GroupExists
            | alcove_logs::LogsError::StreamExists
            | alcove_logs::LogsError::InvalidParameter(_) => ApiError::invalid_parameter(error.to_string()),
            alcove_logs::LogsError::Storage(_) | alcove_logs::LogsError::NewerSchema(_) => {
                ApiError::internal(alcove_core::error::chain(&error))
            }
        }
    }
}

/// Lambda's error body: the members of the error's shape, e.g.
/// `{"Type": "User", "Message": ...}` for `ResourceNotFoundException`,
/// `{"Type": "User", "message": ..., "Reason": ...}` for `TooManyRequestsException`.
#[derive(Debug, Serialize)]
struct LambdaErrorBody<'a> {
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    fault: Option<&'static str>,
    #[serde(rename = "Message", skip_serializing_if = "Option::is_none")]
    capitalised: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(rename = "Reason", skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

impl<'a> LambdaErrorBody<'a> {
    fn of(error: &'a ApiError) -> Self {
        let model = &crate::lambda::service_model::MODEL;
        let (fault, key) = match model.message_key(error.code) {
            Some(key) => (Some(error.fault), key),
            // Not in the model: AWS answers a constraint violation and its front end's
            // request-size refusal with only a message (the latter spelt `Message`).
            None if error.code == "ValidationException" => (None, "message"),
            None if error.code == "RequestEntityTooLargeException" => (None, "Message"),
            None => (Some(error.fault), "message"),
        };
        let text = error.message.as_str();
        LambdaErrorBody {
            fault,
            capitalised: (key == "Message").then_some(text),
            message: (key == "message").then_some(text),
            reason: error.reason,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The one place a failed request is logged.
        if let Some(cause) = &self.internal {
            tracing::error!(code = self.code, error = %cause, "internal error");
        } else if self.status.is_server_error() {
            tracing::warn!(code = self.code, message = %self.message, "request failed");
        } else {
            tracing::debug!(code = self.code, message = %self.message, "request rejected");
        }
        let mut response = (self.status, Json(LambdaErrorBody::of(&self))).into_response();
        response.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// API Gateway's error shape: the status, `x-amzn-ErrorType` naming the code, and a JSON
/// body `{"message": ...}`. Control-plane errors carry the service model's codes
/// (`BadRequestException`, `NotFoundException`, `ConflictException`); data-plane gateway
/// responses carry API Gateway's fixed messages (`Missing Authentication Token`,
/// `Internal server error`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GatewayError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GatewayError { status, code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestException", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFoundException", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ConflictException", message)
    }

    /// A path under `/restapis` that is no control-plane operation.
    pub fn unknown_operation() -> Self {
        Self::not_found("Unknown operation")
    }

    // Gateway responses of the data plane.

    /// No resource and method of the deployed API matches the request.
    pub fn missing_authentication_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    }

    /// The API exists but has no such stage.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden")
    }

    /// No API has this id.
    pub fn no_such_api() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFoundException", "Not Found")
    }

    /// Required method request parameters are absent.
    pub fn missing_parameters(names: &[String]) -> Self {
        Self::bad_request(format!("Missing required request parameters: [{}]", names.join(", ")))
    }

    pub fn request_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLarge", "Request Too Long")
    }

    /// Lambda refused the invocation (500). The client learns no more; the caller logs why.
    pub fn invocation_refused() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerErrorException", "Internal server error")
    }

    /// The function failed or answered something that is not a proxy response (502). The
    /// client learns no more; the caller logs why.
    pub fn bad_gateway() -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "InternalServerErrorException", "Internal server error")
    }

    /// The stage's throttle for the method has no token left (429).
    pub fn too_many_requests() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", "Too Many Requests")
    }

    /// A Lambda authorizer's identity source is missing or fails its validation
    /// expression, or the authorizer function answered `Unauthorized` (401).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UnauthorizedException", "Unauthorized")
    }

    /// The authorizer's policy denies the method explicitly (403).
    pub fn explicit_deny() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "User is not authorized to access this resource with an explicit deny",
        )
    }

    /// The authorizer's policy allows nothing that covers the method (403).
    pub fn implicit_deny() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "User is not authorized to access this resource",
        )
    }

    /// The authorizer failed or answered something that is no authorizer response (500,
    /// `{"message": null}` as API Gateway answers). The caller logs why.
    pub fn authorizer_configuration() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, AUTHORIZER_CONFIGURATION, "")
    }

    /// A method needs an API key and the request has none that a usage plan of the stage
    /// admits (403).
    pub fn invalid_api_key() -> Self {
        Self::new(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden")
    }

    /// The key's usage plan quota for the period is used up (429).
    pub fn quota_exceeded() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "LimitExceededException", "Limit Exceeded")
    }

    /// The integration did not answer within its timeout (504).
    pub fn integration_timeout() -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "InternalServerErrorException", "Endpoint request timed out")
    }
}

impl From<alcove_core::Error> for GatewayError {
    fn from(error: alcove_core::Error) -> Self {
        use alcove_core::Error as E;
        match error {
            E::InvalidParameter(m) | E::PreconditionFailed(m) | E::TooLarge(m) => {
                GatewayError::bad_request(m)
            }
            E::NotFound(m) => GatewayError::not_found(m),
            E::Conflict(m) => GatewayError::conflict(m),
            error @ E::Internal { .. } => {
                tracing::error!(error = %error.chain(), "internal error");
                GatewayError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalFailure",
                    "An internal error occurred; see the server log.",
                )
            }
        }
    }
}

/// The code of the authorizer failure, whose body carries a null message.
const AUTHORIZER_CONFIGURATION: &str = "AuthorizerConfigurationException";

/// API Gateway's error body: `{"message": ...}`.
#[derive(Debug, Serialize)]
struct GatewayErrorBody<'a> {
    message: Option<&'a str>,
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        tracing::debug!(code = self.code, status = %self.status, message = %self.message, "API Gateway error");
        let message = (self.code != AUTHORIZER_CONFIGURATION).then_some(self.message.as_str());
        let body = GatewayErrorBody { message };
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        response
    }
}

pub type GatewayResult<T> = Result<T, GatewayError>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn rendered(response: Response) -> (StatusCode, String, serde_json::Value) {
        let status = response.status();
        let kind = response.headers()["x-amzn-ErrorType"].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, kind, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn gateway_errors_have_only_a_message() {
        let (status, kind, body) =
            rendered(GatewayError::from(alcove_core::apigateway::api_not_found("x")).into_response()).await;
        assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, "NotFoundException"));
        assert_eq!(body, json!({"message": "Invalid API identifier specified 000000000000:x"}));
        let (status, _, body) =
            rendered(GatewayError::missing_parameters(&["x-tenant-id".into()]).into_response()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"message": "Missing required request parameters: [x-tenant-id]"}));
        let (status, _, body) = rendered(GatewayError::bad_gateway().into_response()).await;
        assert_eq!((status, body), (StatusCode::BAD_GATEWAY, json!({"message": "Internal server error"})));
    }

    #[tokio::test]
    async fn lambda_errors_keep_their_shape() {
        let (status, kind, body) = rendered(ApiError::not_found("gone").into_response()).await;
        assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, "ResourceNotFoundException"));
        assert_eq!(body, json!({"Type": "User", "Message": "gone"}));
        let (status, kind, body) =
            rendered(ApiError::validation("1 validation error detected").into_response()).await;
        assert_eq!((status, kind.as_str()), (StatusCode::BAD_REQUEST, "ValidationException"));
        assert_eq!(body, json!({"message": "1 validation error detected"}));
        let (_, _, body) = rendered(ApiError::invalid_parameter("bad").into_response()).await;
        assert_eq!(body, json!({"Type": "User", "message": "bad"}));
        let (_, _, body) = rendered(ApiError::entity_too_large("big").into_response()).await;
        assert_eq!(body, json!({"Message": "big"}));
        let (status, _, body) = rendered(
            ApiError::too_many_requests("ReservedFunctionConcurrentInvocationLimitExceeded", "slow down")
                .into_response(),
        )
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            body,
            json!({"Type": "User", "message": "slow down", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
        );
    }
}

/// The JSON 1.1 protocol's error (CloudWatch Logs, SSM): HTTP 400 (500 for our
/// faults), the code in `x-amzn-ErrorType` and in the body's `__type`, and `message`;
/// botocore raises the modelled exception class named by `__type`. Each service maps its
/// own failures to codes (`From` impls below); the shape is made here only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json11Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// What went wrong inside, for the server's log only.
    pub internal: Option<String>,
}

impl Json11Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Json11Error { status: StatusCode::BAD_REQUEST, code, message: message.into(), internal: None }
    }

    /// CloudWatch Logs' code for a bad member.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    pub fn unknown_operation() -> Self {
        Self::new("UnknownOperationException", "")
    }

    /// A failure of ours, under the service's own code for it (`ServiceUnavailableException`
    /// for Logs, `InternalServerError` for SSM): a generic message to the caller, the cause
    /// in the log.
    pub fn internal_as(code: &'static str, cause: impl Into<String>) -> Self {
        Json11Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code,
            message: "The service cannot complete the request; see the server log.".into(),
            internal: Some(cause.into()),
        }
    }

    /// A failure of ours in CloudWatch Logs.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::internal_as("ServiceUnavailableException", cause)
    }

    /// A required member is missing, in AWS's validation wording, under `code`.
    pub fn missing_as(code: &'static str, member: &str) -> Self {
        Self::new(
            code,
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
        )
    }

    /// A required member is missing (CloudWatch Logs).
    pub fn missing(member: &str) -> Self {
        Self::missing_as("InvalidParameterException", member)
    }
}

impl From<alcove_logs::LogsError> for Json11Error {
    fn from(error: alcove_logs::LogsError) -> Self {
        use alcove_logs::LogsError as E;
        match error {
            E::GroupNotFound | E::StreamNotFound => Self::new("ResourceNotFoundException", error.to_string()),
            E::GroupExists | E::StreamExists => {
                Self::new("ResourceAlreadyExistsException", error.to_string())
            }
            E::InvalidParameter(message) => Self::invalid_parameter(message),
            E::Storage(_) | E::NewerSchema(_) => Self::internal(alcove_core::error::chain(&error)),
        }
    }
}

impl From<alcove_ssm::SsmError> for Json11Error {
    fn from(error: alcove_ssm::SsmError) -> Self {
        use alcove_ssm::SsmError as E;
        let code = match &error {
            E::Validation(_) => "ValidationException",
            E::NotFound => "ParameterNotFound",
            E::VersionNotFound { .. } => "ParameterVersionNotFound",
            E::AlreadyExists => "ParameterAlreadyExists",
            E::HierarchyTooDeep => "HierarchyLevelLimitExceededException",
            E::PatternMismatch(_) => "ParameterPatternMismatchException",
            E::InvalidAllowedPattern(_) => "InvalidAllowedPatternException",
            E::InvalidNextToken => "InvalidNextToken",
            E::InvalidFilterKey(_) => "InvalidFilterKey",
            E::InvalidFilterOption(_) => "InvalidFilterOption",
            E::InvalidResourceId => "InvalidResourceId",
            E::TooManyTags => "TooManyTagsError",
            E::Storage(_) | E::NewerSchema(_) | E::Io(_) => {
                return Self::internal_as("InternalServerError", alcove_core::error::chain(&error))
            }
        };
        Self::new(code, error.to_string())
    }
}

/// The JSON 1.1 protocol's error body: `{"__type": ..., "message": ...}`.
#[derive(Debug, Serialize)]
struct Json11ErrorBody<'a> {
    #[serde(rename = "__type")]
    code: &'static str,
    message: &'a str,
}

impl IntoResponse for Json11Error {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.internal {
            tracing::error!(code = self.code, error = %cause, "internal error");
        } else {
            tracing::debug!(code = self.code, message = %self.message, "request rejected");
        }
        let body = Json11ErrorBody { code: self.code, message: &self.message };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
        response
    }
}

/// What a function URL answers when it does not reach the function, or the function
/// fails: a status and a JSON body `{"Message": ...}` (`x-amzn-ErrorType` names the
/// kind). These are not Lambda API errors: the caller is any HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: &'static str,
}

impl UrlError {
    /// No resource policy admits the caller, or an `AWS_IAM` URL was called unsigned.
    pub fn forbidden() -> Self {
        UrlError { status: StatusCode::FORBIDDEN, code: "AccessDeniedException", message: "Forbidden" }
    }

    /// No URL has this id.
    pub fn not_found() -> Self {
        UrlError { status: StatusCode::NOT_FOUND, code: "ResourceNotFoundException", message: "Not Found" }
    }

    /// The function failed, timed out or answered something that is no response.
    pub fn bad_gateway() -> Self {
        UrlError {
            status: StatusCode::BAD_GATEWAY,
            code: "InternalServerError",
            message: "Internal Server Error",
        }
    }

    /// The invocation was throttled.
    pub fn too_many_requests() -> Self {
        UrlError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "TooManyRequestsException",
            message: "Rate Exceeded.",
        }
    }

    pub fn payload_too_large() -> Self {
        UrlError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "RequestEntityTooLargeException",
            message: "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        }
    }

    /// Lambda refused the invocation for a reason of its own.
    pub fn internal() -> Self {
        UrlError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "ServiceException",
            message: "Internal Server Error",
        }
    }
}

#[derive(Debug, Serialize)]
struct UrlErrorBody {
    #[serde(rename = "Message")]
    message: &'static str,
}

impl IntoResponse for UrlError {
    fn into_response(self) -> Response {
        tracing::debug!(code = self.code, status = %self.status, "function URL error");
        let mut response = (self.status, Json(UrlErrorBody { message: self.message })).into_response();
        response.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        response
    }
}
