//! The Lambda proxy integration's response: the function returns
//! `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` and API Gateway turns
//! it into the HTTP response. Anything else is a malformed proxy response, which the
//! caller answers with 502; the reason returned here goes to the server log.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value};

const MEMBERS: &[&str] =
    &["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"];

/// A header value as API Gateway accepts it: a string, number or boolean.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn status_code(value: Option<&Value>) -> Result<StatusCode, String> {
    let code = match value {
        Some(Value::Number(n)) => n.as_u64(),
        // API Gateway takes "200" as well as 200.
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        None => return Err("statusCode is missing".into()),
        Some(_) => None,
    };
    code.and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| {
            format!(
                "statusCode {} is not an HTTP status code",
                value.map(Value::to_string).unwrap_or_default()
            )
        })
}

fn object<'a>(doc: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!("{key} must be an object")),
    }
}

/// The headers: every value of `multiValueHeaders`, then the `headers` it does not name.
fn headers(doc: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let multi = object(doc, "multiValueHeaders")?;
    if let Some(multi) = multi {
        for (name, values) in multi {
            let values =
                values.as_array().ok_or_else(|| format!("multiValueHeaders.{name} must be a list"))?;
            for value in values {
                out.push((
                    name.clone(),
                    scalar(value)
                        .ok_or_else(|| format!("multiValueHeaders.{name} has a non-scalar value"))?,
                ));
            }
        }
    }
    if let Some(single) = object(doc, "headers")? {
        for (name, value) in single {
            if multi.is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name))) {
                continue;
            }
            if value.is_null() {
                continue;
            }
            out.push((
                name.clone(),
                scalar(value).ok_or_else(|| format!("headers.{name} must be a string"))?,
            ));
        }
    }
    Ok(out)
}

/// Translates the function's payload into the HTTP response, or says why it cannot.
pub fn translate(payload: &[u8]) -> Result<Response, String> {
    let doc: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the function's result is not JSON: {e}"))?;
    let Value::Object(doc) = doc else {
        return Err(format!("the function's result is not a JSON object: {}", truncated(&doc)));
    };
    if let Some(unknown) = doc.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(format!(
            "unexpected member {unknown:?}; a proxy response has only {}",
            MEMBERS.join(", ")
        ));
    }
    let status = status_code(doc.get("statusCode"))?;
    let is_base64 = match doc.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("isBase64Encoded must be a boolean, not {other}")),
    };
    let body = match doc.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if is_base64 => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("body is marked isBase64Encoded but is not base64: {e}"))?,
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => return Err(format!("body must be a string, not {}", truncated(other))),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in headers(&doc)? {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))?;
        let value = HeaderValue::from_str(&value).map_err(|_| format!("invalid value for header {name}"))?;
        response.headers_mut().append(name, value);
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
        for bad in [
            json!({"counter": 0}),
            json!({"statusCode": 200, "body": {"not": "a string"}}),
            json!({"statusCode": 200, "body": 12}),
            json!({"statusCode": "abc"}),
            json!({"statusCode": 99}),
            json!({"statusCode": 200, "headers": ["x"]}),
            json!({"statusCode": 200, "headers": {"x": {"nested": 1}}}),
            json!({"statusCode": 200, "isBase64Encoded": "yes"}),
            json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true}),
            json!({"statusCode": 200, "extra": 1}),
            json!("just a string"),
        ] {
            assert!(translate(bad.to_string().as_bytes()).is_err(), "{bad}");
        }
        assert!(translate(b"not json").is_err());
    }
}
