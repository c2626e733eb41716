//! The one place Query-protocol answers become XML. Results are `#[derive(Serialize)]`
//! structs serialized by quick-xml's serde support under the operation's
//! `<{Op}Result>` element; this module wraps them in the envelope botocore's `query`
//! parser reads (`<{Op}Response xmlns=...>`, `<ResponseMetadata><RequestId>`), and writes
//! errors as `<ErrorResponse>`. Lists are [`Members`], timestamps ISO 8601 UTC with
//! milliseconds.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// A Query-protocol list: `<Name><member>...</member>...</Name>`.
#[derive(Debug, Serialize)]
pub struct Members<T> {
    pub member: Vec<T>,
}

impl<T> Members<T> {
    pub fn is_empty(&self) -> bool {
        self.member.is_empty()
    }
}

impl<T> From<Vec<T>> for Members<T> {
    fn from(member: Vec<T>) -> Self {
        Members { member }
    }
}

impl<T> FromIterator<T> for Members<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Members { member: iter.into_iter().collect() }
    }
}

/// A result without members (DeleteStack, ExecuteChangeSet, ...).
#[derive(Debug, Serialize)]
pub struct Empty {}

/// `2026-12-01T02:03:04.567Z`.
pub fn timestamp<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// [`timestamp`] of an optional member (with `skip_serializing_if = "Option::is_none"`).
pub fn optional_timestamp<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => timestamp(time, serializer),
        None => serializer.serialize_none(),
    }
}

/// A successful answer: `<{action}Response xmlns="{namespace}"><{action}Result>...`.
pub fn success<T: Serialize>(namespace: &str, action: &str, result: &T, request_id: &str) -> Response {
    let body = match quick_xml::se::to_string_with_root(&format!("{action}Result"), result) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, action, "cannot serialize a Query-protocol result");
            return failure(namespace, &super::QueryError::Internal, request_id);
        }
    };
    let document = format!(
        "<{action}Response xmlns=\"{namespace}\">{body}<ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></{action}Response>"
    );
    reply(StatusCode::OK, document, request_id)
}

#[derive(Serialize)]
#[serde(rename = "ErrorResponse")]
struct ErrorResponse<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'a str,
    #[serde(rename = "Error")]
    error: ErrorBody<'a>,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    /// `Sender` or `Receiver`.
    r#type: &'a str,
    code: &'a str,
    message: String,
}

/// An error answer: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.
pub fn failure(namespace: &str, error: &super::QueryError, request_id: &str) -> Response {
    let wire = error.wire();
    let document = ErrorResponse {
        xmlns: namespace,
        error: ErrorBody { r#type: wire.fault, code: wire.code, message: error.message() },
        request_id,
    };
    let body = quick_xml::se::to_string(&document).unwrap_or_default();
    let mut response = reply(wire.status, body, request_id);
    if let Ok(code) = HeaderValue::from_str(wire.code) {
        response.headers_mut().insert("x-amzn-ErrorType", code);
    }
    response
}

fn reply(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-RequestId", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::query::QueryError;

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Sample {
        stack_id: String,
        #[serde(serialize_with = "timestamp")]
        creation_time: DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_timestamp")]
        deletion_time: Option<DateTime<Utc>>,
        disable_rollback: bool,
        capabilities: Members<String>,
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_result_is_wrapped_in_the_envelope_botocore_reads() {
        let sample = Sample {
            stack_id: "arn:aws:cloudformation:us-east-1:000000000000:stack/a&b/1".into(),
            creation_time: Utc.with_ymd_and_hms(2026, 12, 1, 2, 3, 4).unwrap()
                + chrono::Duration::milliseconds(567),
            deletion_time: None,
            disable_rollback: false,
            capabilities: vec!["CAPABILITY_IAM".to_owned(), "CAPABILITY_AUTO_EXPAND".to_owned()].into(),
        };
        let response = success("http://ns/", "DescribeStacks", &sample, "rid-1");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/xml");
        assert_eq!(response.headers()["x-amzn-requestid"], "rid-1");
        assert_eq!(
            text(response).await,
            "<DescribeStacksResponse xmlns=\"http://ns/\"><DescribeStacksResult>\
             <StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/a&amp;b/1</StackId>\
             <CreationTime>2026-12-01T02:03:04.567Z</CreationTime><DisableRollback>false</DisableRollback>\
             <Capabilities><member>CAPABILITY_IAM</member><member>CAPABILITY_AUTO_EXPAND</member></Capabilities>\
             </DescribeStacksResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>\
             </DescribeStacksResponse>"
        );
    }

    #[tokio::test]
    async fn an_error_is_an_error_response_with_its_status() {
        let error = QueryError::InvalidAction("Frobnicate".into());
        let response = failure("http://ns/", &error, "rid-2");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["x-amzn-errortype"], "InvalidAction");
        assert_eq!(
            text(response).await,
            "<ErrorResponse xmlns=\"http://ns/\"><Error><Type>Sender</Type><Code>InvalidAction</Code>\
             <Message>The action Frobnicate is not valid for this web service.</Message></Error>\
             <RequestId>rid-2</RequestId></ErrorResponse>"
        );
        let response = failure("http://ns/", &QueryError::Internal, "rid-3");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(text(response).await.contains("<Type>Receiver</Type><Code>InternalFailure</Code>"));
    }
}
