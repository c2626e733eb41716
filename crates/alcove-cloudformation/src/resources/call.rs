//! Sending a resource type's request and reading the answer as CloudFormation's handlers
//! do: a failure becomes the stack event reason CloudFormation shows today
//! (`Resource handler returned message: "..." (RequestToken: ..., HandlerErrorCode: ...)`),
//! whatever protocol the service speaks (REST-JSON, JSON 1.1 or REST-XML errors).

use serde_json::Value;

use crate::resource::{Context, ResourceError};
use crate::services::{Service, ServiceRequest, ServiceResponse};

/// A failed call, as the service answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: String,
}

impl Failure {
    /// Whether the thing addressed does not exist: a 404, or the not-found codes JSON 1.1
    /// services answer with a 400.
    pub fn is_not_found(&self) -> bool {
        self.status == 404
            || matches!(
                self.code.as_str(),
                "ResourceNotFoundException"
                    | "NotFoundException"
                    | "NoSuchBucket"
                    | "NoSuchKey"
                    | "ParameterNotFound"
            )
    }

    /// CloudFormation's handler error code for this failure.
    pub fn handler_error_code(&self) -> &'static str {
        let code = self.code.as_str();
        if self.is_not_found() {
            return "NotFound";
        }
        match self.status {
            _ if code.contains("AlreadyExists") || code == "BucketAlreadyOwnedByYou" => "AlreadyExists",
            // Lambda answers a taken name with its generic conflict code.
            409 if self.message.contains("already exist") => "AlreadyExists",
            409 if code == "ResourceConflictException" || code == "ConflictException" => "ResourceConflict",
            409 => "AlreadyExists",
            429 => "Throttling",
            403 => "AccessDenied",
            500..=599 => "ServiceInternalError",
            _ => "InvalidRequest",
        }
    }

    /// The stack event reason.
    pub fn reason(&self, service: Service) -> String {
        format!(
            "Resource handler returned message: \"{} (Service: {}, Status Code: {}, Request ID: {})\" \
             (RequestToken: {}, HandlerErrorCode: {})",
            self.message,
            service_name(service),
            self.status,
            self.request_id,
            uuid::Uuid::new_v4(),
            self.handler_error_code()
        )
    }
}

fn service_name(service: Service) -> &'static str {
    match service {
        Service::Lambda => "Lambda",
        Service::ApiGateway => "ApiGateway",
        Service::S3 => "S3",
        Service::Logs => "CloudWatchLogs",
        Service::Ssm => "Ssm",
    }
}

/// Reads a failed response in any of the protocols' error shapes.
pub fn failure(response: &ServiceResponse) -> Failure {
    let request_id = response
        .header("x-amzn-RequestId")
        .or_else(|| response.header("x-amz-request-id"))
        .unwrap_or_default()
        .to_owned();
    let text = String::from_utf8_lossy(&response.body);
    let (code, message) = if text.trim_start().starts_with('<') {
        (xml_member(&text, "Code"), xml_member(&text, "Message"))
    } else {
        let body = response.json();
        let member = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        // JSON 1.1 names the error in `__type` (`namespace#Code`); REST-JSON in a header.
        let code =
            response.header("x-amzn-ErrorType").map(str::to_owned).or_else(|| member("__type")).map(|c| {
                c.split(':').next().unwrap_or_default().rsplit('#').next().unwrap_or_default().to_owned()
            });
        (code, member("message").or_else(|| member("Message")))
    };
    Failure {
        status: response.status,
        code: code.unwrap_or_default(),
        message: message.unwrap_or_else(|| format!("The service answered status {}", response.status)),
        request_id,
    }
}

/// The text of the first `<name>` element (REST-XML errors are flat and escaped).
fn xml_member(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(
        text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Sends a request; a failure is returned as it was answered, for callers that treat
/// some failures (a 404 on delete) as success.
pub async fn try_send(context: &Context<'_>, request: ServiceRequest) -> Result<ServiceResponse, Failure> {
    let response = context.services.call(request).await;
    if response.is_success() {
        Ok(response)
    } else {
        Err(failure(&response))
    }
}

/// Sends a request; a failure becomes the resource's failure.
pub async fn send(context: &Context<'_>, request: ServiceRequest) -> Result<ServiceResponse, ResourceError> {
    let service = request.service;
    try_send(context, request).await.map_err(|failure| ResourceError::Service(failure.reason(service)))
}

/// Sends a delete; something already gone is success.
pub async fn send_delete(context: &Context<'_>, request: ServiceRequest) -> Result<(), ResourceError> {
    let service = request.service;
    match try_send(context, request).await {
        Ok(_) => Ok(()),
        Err(failure) if failure.is_not_found() => Ok(()),
        Err(failure) => Err(ResourceError::Service(failure.reason(service))),
    }
}

/// Percent-encodes one path segment (a function ARN's colons and an S3 key's spaces alike).
pub fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// Everything but RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> ServiceResponse {
        ServiceResponse {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.to_owned().into(),
        }
    }

    #[test]
    fn each_protocols_error_shape_is_read() {
        let rest_json = response(
            404,
            &[("x-amzn-ErrorType", "ResourceNotFoundException"), ("x-amzn-RequestId", "r1")],
            r#"{"Type":"User","message":"Function not found: f"}"#,
        );
        let f = failure(&rest_json);
        assert_eq!(
            (f.code.as_str(), f.message.as_str(), f.request_id.as_str()),
            ("ResourceNotFoundException", "Function not found: f", "r1")
        );
        assert_eq!(f.handler_error_code(), "NotFound");
        let json_11 = response(
            400,
            &[],
            r#"{"__type":"com.amazonaws.logs#ResourceAlreadyExistsException","message":"exists"}"#,
        );
        let f = failure(&json_11);
        assert_eq!(
            (f.code.as_str(), f.handler_error_code()),
            ("ResourceAlreadyExistsException", "AlreadyExists")
        );
        let xml = response(
            409,
            &[("x-amz-request-id", "r2")],
            "<?xml version=\"1.0\"?><Error><Code>BucketNotEmpty</Code><Message>The bucket you tried to delete is not empty</Message></Error>",
        );
        let f = failure(&xml);
        assert_eq!(f.code, "BucketNotEmpty");
        assert_eq!(f.message, "The bucket you tried to delete is not empty");
        let gateway =
            response(400, &[("x-amzn-ErrorType", "BadRequestException:http://x")], r#"{"message":"bad"}"#);
        assert_eq!(failure(&gateway).code, "BadRequestException");
        assert_eq!(failure(&gateway).handler_error_code(), "InvalidRequest");
    }

    #[test]
    fn the_reason_reads_as_cloudformation_writes_it() {
        let f = Failure {
            status: 400,
            code: "InvalidParameterValueException".into(),
            message: "bad runtime".into(),
            request_id: "abc".into(),
        };
        let reason = f.reason(Service::Lambda);
        assert!(reason.starts_with(
            "Resource handler returned message: \"bad runtime (Service: Lambda, Status Code: 400, Request ID: abc)\" (RequestToken: "
        ), "{reason}");
        assert!(reason.ends_with(", HandlerErrorCode: InvalidRequest)"), "{reason}");
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(
            segment("arn:aws:lambda:us-east-1:1:function:f"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af"
        );
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }
}
