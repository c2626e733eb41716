//! The Lambda proxy integration's response: the function returns
//! `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` and API Gateway turns
//! it into the HTTP response. Anything else is a [`MalformedProxyResponse`], which the
//! caller answers with 502 and logs with its cause chain.

use axum::body::Body;
use axum::http::header::{InvalidHeaderName, InvalidHeaderValue};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value};

const MEMBERS: &[&str] =
    &["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"];

/// Why a function's answer is no proxy response. The client gets a bare 502; this goes to
/// the server log, with its source.
#[derive(Debug, thiserror::Error)]
pub enum MalformedProxyResponse {
    #[error("the function's result is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the function's result is not a JSON object: {0}")]
    NotAnObject(String),
    #[error("unexpected member {0:?}; a proxy response has only {members}", members = MEMBERS.join(", "))]
    UnexpectedMember(String),
    #[error("statusCode is missing")]
    MissingStatusCode,
    #[error("statusCode {0} is not an HTTP status code")]
    InvalidStatusCode(String),
    /// `headers` or `multiValueHeaders` is not an object.
    #[error("{0} must be an object")]
    HeadersNotAnObject(&'static str),
    #[error("multiValueHeaders.{0} must be a list")]
    MultiValueHeaderNotAList(String),
    #[error("multiValueHeaders.{0} has a non-scalar value")]
    MultiValueHeaderNotScalar(String),
    #[error("headers.{0} must be a string")]
    HeaderNotScalar(String),
    #[error("isBase64Encoded must be a boolean, not {0}")]
    Base64FlagNotBoolean(String),
    #[error("body must be a string, not {0}")]
    BodyNotAString(String),
    #[error("body is marked isBase64Encoded but is not base64")]
    BodyNotBase64(#[source] base64::DecodeError),
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String, #[source] InvalidHeaderName),
    #[error("invalid value for header {0}")]
    InvalidHeaderValue(String, #[source] InvalidHeaderValue),
}

use MalformedProxyResponse as Malformed;

/// A header value as API Gateway accepts it: a string, number or boolean.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn status_code(value: Option<&Value>) -> Result<StatusCode, Malformed> {
    let code = match value {
        Some(Value::Number(n)) => n.as_u64(),
        // API Gateway takes "200" as well as 200.
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        None => return Err(Malformed::MissingStatusCode),
        Some(_) => None,
    };
    code.and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| Malformed::InvalidStatusCode(value.map(truncated).unwrap_or_default()))
}

fn headers_object<'a>(
    doc: &'a Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'a Map<String, Value>>, Malformed> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(Malformed::HeadersNotAnObject(key)),
    }
}

/// The headers: every value of `multiValueHeaders`, then the `headers` it does not name.
fn headers(doc: &Map<String, Value>) -> Result<Vec<(String, String)>, Malformed> {
    let mut out = Vec::new();
    let multi = headers_object(doc, "multiValueHeaders")?;
    if let Some(multi) = multi {
        for (name, values) in multi {
            let values =
                values.as_array().ok_or_else(|| Malformed::MultiValueHeaderNotAList(name.clone()))?;
            for value in values {
                let value =
                    scalar(value).ok_or_else(|| Malformed::MultiValueHeaderNotScalar(name.clone()))?;
                out.push((name.clone(), value));
            }
        }
    }
    if let Some(single) = headers_object(doc, "headers")? {
        for (name, value) in single {
            if multi.is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name))) {
                continue;
            }
            if value.is_null() {
                continue;
            }
            out.push((name.clone(), scalar(value).ok_or_else(|| Malformed::HeaderNotScalar(name.clone()))?));
        }
    }
    Ok(out)
}

/// Translates the function's payload into the HTTP response, or says why it cannot.
pub fn translate(payload: &[u8]) -> Result<Response, MalformedProxyResponse> {
    let doc: Value = serde_json::from_slice(payload).map_err(Malformed::NotJson)?;
    let Value::Object(doc) = doc else {
        return Err(Malformed::NotAnObject(truncated(&doc)));
    };
    if let Some(unknown) = doc.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(Malformed::UnexpectedMember(unknown.clone()));
    }
    let status = status_code(doc.get("statusCode"))?;
    let is_base64 = match doc.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(Malformed::Base64FlagNotBoolean(truncated(other))),
    };
    let body = match doc.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if is_base64 => {
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(Malformed::BodyNotBase64)?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => return Err(Malformed::BodyNotAString(truncated(other))),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in headers(&doc)? {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Malformed::InvalidHeaderName(name.clone(), e))?;
        let value = HeaderValue::from_str(&value).map_err(|e| Malformed::InvalidHeaderValue(name, e))?;
        response.headers_mut().append(header, value);
    }
    if !response.headers().contains_key("content-type") {
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

fn truncated(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn parts(payload: Value) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
        let response = translate(payload.to_string().as_bytes()).unwrap();
        let status = response.status();
        let headers =
            response.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec();
        (status, headers, body)
    }

    #[tokio::test]
    async fn status_headers_and_body() {
        let (status, headers, body) = parts(json!({
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-One": "1", "X-Both": "single"},
            "multiValueHeaders": {"x-both": ["a", "b"], "Set-Cookie": ["c=1", "d=2"]},
            "body": "hello",
        }))
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body, b"hello");
        let values = |name: &str| {
            headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(values("x-both"), ["a", "b"]);
        assert_eq!(values("set-cookie"), ["c=1", "d=2"]);
        assert_eq!(values("content-type"), ["text/plain"]);
        assert_eq!(values("x-one"), ["1"]);
    }

    #[tokio::test]
    async fn defaults_and_base64() {
        let (status, headers, body) = parts(json!({"statusCode": "404"})).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_FOUND, 0));
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
        let (_, _, body) = parts(json!({"statusCode": 200, "body": "/wCA", "isBase64Encoded": true})).await;
        assert_eq!(body, [0xff, 0x00, 0x80]);
    }

    #[test]
    fn malformed_responses_are_refused() {
        for (bad, expected) in [
            (json!({"counter": 0}), "unexpected member \"counter\""),
            (json!({"headers": {}}), "statusCode is missing"),
            (
                json!({"statusCode": 200, "body": {"not": "a string"}}),
                "body must be a string, not {\"not\":\"a string\"}",
            ),
            (json!({"statusCode": 200, "body": 12}), "body must be a string, not 12"),
            (json!({"statusCode": "abc"}), "statusCode \"abc\" is not an HTTP status code"),
            (json!({"statusCode": 99}), "statusCode 99 is not an HTTP status code"),
            (json!({"statusCode": 200, "headers": ["x"]}), "headers must be an object"),
            (
                json!({"statusCode": 200, "multiValueHeaders": {"x": "y"}}),
                "multiValueHeaders.x must be a list",
            ),
            (
                json!({"statusCode": 200, "multiValueHeaders": {"x": [[1]]}}),
                "multiValueHeaders.x has a non-scalar value",
            ),
            (json!({"statusCode": 200, "headers": {"x": {"nested": 1}}}), "headers.x must be a string"),
            (json!({"statusCode": 200, "headers": {"bad name": "v"}}), "invalid header name \"bad name\""),
            (json!({"statusCode": 200, "headers": {"x": "a\nb"}}), "invalid value for header x"),
            (
                json!({"statusCode": 200, "isBase64Encoded": "yes"}),
                "isBase64Encoded must be a boolean, not \"yes\"",
            ),
            (
                json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true}),
                "body is marked isBase64Encoded but is not base64",
            ),
            (json!({"statusCode": 200, "extra": 1}), "unexpected member \"extra\""),
            (json!("just a string"), "the function's result is not a JSON object: \"just a string\""),
        ] {
            let reason = translate(bad.to_string().as_bytes()).unwrap_err().to_string();
            assert!(reason.starts_with(expected), "{bad}: {reason}");
        }
        let error = translate(b"not json").unwrap_err();
        assert!(matches!(error, MalformedProxyResponse::NotJson(_)));
        assert!(alcove_core::error::chain(&error).starts_with("the function's result is not JSON: expected"));
        let error = translate(br#"{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}"#).unwrap_err();
        assert!(std::error::Error::source(&error).is_some(), "the base64 error is kept as the source");
    }
}
