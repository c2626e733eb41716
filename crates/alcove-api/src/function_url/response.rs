//! The function's answer as a function URL returns it (Lambda's documented rules): a
//! JSON object with `statusCode` is a response (`statusCode`, `headers`, `cookies`,
//! `body`, `isBase64Encoded`); any other JSON value is the body of a 200 with
//! `content-type: application/json`. A streamed answer (`RESPONSE_STREAM`) starts with a
//! JSON prelude `{statusCode, headers, cookies}` and eight NUL bytes, then the body.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum MalformedUrlResponse {
    #[error("the function's result is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("statusCode {0} is not an HTTP status code")]
    InvalidStatusCode(String),
    #[error("{0} has the wrong type")]
    WrongType(&'static str),
    #[error("body is marked isBase64Encoded but is not base64")]
    BodyNotBase64(#[source] base64::DecodeError),
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
}

use MalformedUrlResponse as Malformed;

fn status(value: &Value) -> Result<StatusCode, Malformed> {
    let code = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    code.and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| Malformed::InvalidStatusCode(value.to_string()))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Status, headers and cookies of a response document (or a streaming prelude).
fn head(doc: &Map<String, Value>, body: Body) -> Result<Response, Malformed> {
    let mut response = Response::new(body);
    *response.status_mut() = match doc.get("statusCode") {
        Some(code) => status(code)?,
        None => StatusCode::OK,
    };
    let headers = response.headers_mut();
    match doc.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let value = scalar(value).ok_or(Malformed::WrongType("headers"))?;
                let (Ok(name), Ok(value)) =
                    (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
                else {
                    return Err(Malformed::InvalidHeader(name.clone()));
                };
                headers.append(name, value);
            }
        }
        Some(_) => return Err(Malformed::WrongType("headers")),
    }
    match doc.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                let cookie = cookie.as_str().ok_or(Malformed::WrongType("cookies"))?;
                let value = HeaderValue::from_str(cookie)
                    .map_err(|_| Malformed::InvalidHeader("set-cookie".into()))?;
                headers.append("set-cookie", value);
            }
        }
        Some(_) => return Err(Malformed::WrongType("cookies")),
    }
    if !headers.contains_key("content-type") {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

/// A buffered answer.
pub fn translate(payload: &[u8]) -> Result<Response, MalformedUrlResponse> {
    let value: Value = serde_json::from_slice(payload).map_err(Malformed::NotJson)?;
    let doc = match value {
        Value::Object(doc) if doc.contains_key("statusCode") => doc,
        // Any other JSON value is the body itself.
        _ => return head(&Map::new(), Body::from(payload.to_vec())),
    };
    let is_base64 = match doc.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Malformed::WrongType("isBase64Encoded")),
    };
    let body = match doc.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if is_base64 => {
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(Malformed::BodyNotBase64)?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return Err(Malformed::WrongType("body")),
    };
    head(&doc, Body::from(body))
}

/// A streamed answer, whole: the prelude sets the head, the rest is the body. Without a
/// prelude the bytes are the body of a 200.
pub fn translate_streamed(payload: &[u8]) -> Result<Response, MalformedUrlResponse> {
    const SEPARATOR: &[u8] = &[0u8; 8];
    if let Some(at) = payload.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        if let Ok(Value::Object(prelude)) = serde_json::from_slice::<Value>(&payload[..at]) {
            return head(&prelude, Body::from(payload[at + SEPARATOR.len()..].to_vec()));
        }
    }
    let mut response = Response::new(Body::from(payload.to_vec()));
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/octet-stream"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn parts(response: Response) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
        let status = response.status();
        let headers =
            response.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
        (status, headers, axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
    }

    #[tokio::test]
    async fn a_value_without_status_code_is_the_json_body() {
        for payload in [json!({"message": "hi"}), json!("text"), json!([1, 2])] {
            let bytes = payload.to_string().into_bytes();
            let (status, headers, body) = parts(translate(&bytes).unwrap()).await;
            assert_eq!((status, body), (StatusCode::OK, bytes));
            assert!(headers.contains(&("content-type".into(), "application/json".into())));
        }
    }

    #[tokio::test]
    async fn a_response_document_sets_status_headers_cookies_and_body() {
        let doc = json!({"statusCode": 201, "headers": {"x-a": "1", "content-type": "text/plain"},
                         "cookies": ["a=1", "b=2; Path=/"], "body": "aGk=", "isBase64Encoded": true});
        let (status, headers, body) = parts(translate(doc.to_string().as_bytes()).unwrap()).await;
        assert_eq!((status, body), (StatusCode::CREATED, b"hi".to_vec()));
        let cookies: Vec<&str> =
            headers.iter().filter(|(k, _)| k == "set-cookie").map(|(_, v)| v.as_str()).collect();
        assert_eq!(cookies, ["a=1", "b=2; Path=/"]);
        assert!(headers.contains(&("content-type".into(), "text/plain".into())));
        assert!(translate(br#"{"statusCode": 42}"#).is_err());
        assert!(translate(b"not json").is_err());
    }

    #[tokio::test]
    async fn a_streamed_prelude_sets_the_head() {
        let mut payload = br#"{"statusCode": 404, "headers": {"x-s": "1"}}"#.to_vec();
        payload.extend_from_slice(&[0; 8]);
        payload.extend_from_slice(b"gone");
        let (status, headers, body) = parts(translate_streamed(&payload).unwrap()).await;
        assert_eq!((status, body), (StatusCode::NOT_FOUND, b"gone".to_vec()));
        assert!(headers.contains(&("x-s".into(), "1".into())));
    }
}
