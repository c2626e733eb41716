//! The Lambda proxy integration's request event, payload format 1.0: what a function
//! behind a REST API receives. Single-value maps hold the last value of each header or
//! query parameter, the multi-value maps all of them; maps with nothing in them are
//! `null`, as API Gateway sends them. Binary bodies travel base64-encoded.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// Who asked and where, for `requestContext`.
#[derive(Debug, Clone)]
pub struct RequestContext<'a> {
    pub api_id: &'a str,
    pub stage: &'a str,
    pub request_id: &'a str,
    pub source_ip: &'a str,
    pub domain_name: &'a str,
    pub protocol: &'a str,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
}

/// One request, matched to its resource.
#[derive(Debug, Clone)]
pub struct ProxyRequest<'a> {
    pub resource_id: &'a str,
    pub resource_path: &'a str,
    /// The path below the stage, e.g. `/users/42`.
    pub path: &'a str,
    pub http_method: &'a str,
    pub headers: &'a HeaderMap,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The API's binary media types, from the deployment.
    pub binary_media_types: &'a [String],
    pub context: RequestContext<'a>,
}

/// Header values by name (lower case), in arrival order.
pub fn header_values(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        values
            .entry(name.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    values
}

/// Query parameters by name, decoded, in arrival order.
pub fn query_values(query: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        values.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    values
}

/// `{name: last value}` and `{name: [values]}`, or nulls when empty.
fn single_and_multi(values: &BTreeMap<String, Vec<String>>) -> (Value, Value) {
    if values.is_empty() {
        return (Value::Null, Value::Null);
    }
    let single: Map<String, Value> =
        values.iter().filter_map(|(k, v)| v.last().map(|last| (k.clone(), json!(last)))).collect();
    (Value::Object(single), json!(values))
}

fn map_or_null(map: &BTreeMap<String, String>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        json!(map)
    }
}

/// Whether `content_type` is one of `binary_media_types` (`type/subtype`, `type/*`, `*/*`).
pub fn is_binary_media_type(content_type: Option<&str>, binary_media_types: &[String]) -> bool {
    let Some(content_type) = content_type else { return false };
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let (kind, _) = media.split_once('/').unwrap_or((&media, ""));
    binary_media_types.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        pattern == "*/*" || pattern == media || pattern.strip_suffix("/*").is_some_and(|p| p == kind)
    })
}

/// `dd/Mon/yyyy:HH:mm:ss +0000`, API Gateway's `requestTime`.
fn request_time(time_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(time_ms)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string()
}

/// The event, as JSON.
pub fn build(request: &ProxyRequest<'_>) -> Value {
    let headers = header_values(request.headers);
    let (single_headers, multi_headers) = single_and_multi(&headers);
    let (single_query, multi_query) = single_and_multi(&query_values(request.query));
    let content_type = headers.get("content-type").and_then(|v| v.last()).map(String::as_str);
    let (body, is_base64) = if request.body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(request.body) {
            Ok(text) if !is_binary_media_type(content_type, request.binary_media_types) => {
                (json!(text), false)
            }
            _ => (json!(base64::engine::general_purpose::STANDARD.encode(request.body)), true),
        }
    };
    let context = &request.context;
    let user_agent = headers.get("user-agent").and_then(|v| v.last());
    json!({
        "resource": request.resource_path,
        "path": request.path,
        "httpMethod": request.http_method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": map_or_null(request.path_parameters),
        "stageVariables": map_or_null(request.stage_variables),
        "requestContext": {
            "accountId": alcove_core::ACCOUNT_ID,
            "apiId": context.api_id,
            "domainName": context.domain_name,
            "domainPrefix": context.api_id,
            "extendedRequestId": context.request_id,
            "httpMethod": request.http_method,
            "identity": {
                "accessKey": null,
                "accountId": null,
                "caller": null,
                "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null,
                "cognitoIdentityId": null,
                "cognitoIdentityPoolId": null,
                "principalOrgId": null,
                "sourceIp": context.source_ip,
                "user": null,
                "userAgent": user_agent,
                "userArn": null,
            },
            "path": format!("/{}{}", context.stage, request.path),
            "protocol": context.protocol,
            "requestId": context.request_id,
            "requestTime": request_time(context.time_ms),
            "requestTimeEpoch": context.time_ms,
            "resourceId": request.resource_id,
            "resourcePath": request.resource_path,
            "stage": context.stage,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        body: &'a [u8],
        params: &'a BTreeMap<String, String>,
        binary: &'a [String],
    ) -> ProxyRequest<'a> {
        ProxyRequest {
            resource_id: "r1",
            resource_path: "/users/{id}",
            path: "/users/42",
            http_method: "POST",
            headers,
            query,
            path_parameters: params,
            stage_variables: params,
            body,
            binary_media_types: binary,
            context: RequestContext {
                api_id: "api1",
                stage: "prod",
                request_id: "req",
                source_ip: "127.0.0.1",
                domain_name: "localhost",
                protocol: "HTTP/1.1",
                time_ms: 1_700_000_000_000,
            },
        }
    }

    #[test]
    fn headers_queries_and_parameters() {
        let mut headers = HeaderMap::new();
        headers.append("x-tenant-id", "BlueTenant".parse().unwrap());
        headers.append("accept", "a/b".parse().unwrap());
        headers.append("accept", "c/d".parse().unwrap());
        let params = BTreeMap::from([("id".to_string(), "42".to_string())]);
        let event = build(&request(&headers, Some("a=1&b=x%20y&a=2&c"), b"{\"k\":1}", &params, &[]));
        assert_eq!(event["resource"], "/users/{id}");
        assert_eq!(event["path"], "/users/42");
        assert_eq!(event["headers"]["x-tenant-id"], "BlueTenant");
        assert_eq!(event["headers"]["accept"], "c/d");
        assert_eq!(event["multiValueHeaders"]["accept"], json!(["a/b", "c/d"]));
        assert_eq!(event["queryStringParameters"], json!({"a": "2", "b": "x y", "c": ""}));
        assert_eq!(event["multiValueQueryStringParameters"]["a"], json!(["1", "2"]));
        assert_eq!(event["pathParameters"], json!({"id": "42"}));
        assert_eq!(event["body"], "{\"k\":1}");
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["requestContext"]["path"], "/prod/users/42");
        assert_eq!(event["requestContext"]["requestTime"], "14/Nov/2023:22:13:20 +0000");
        assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    }

    #[test]
    fn empty_parts_are_null() {
        let headers = HeaderMap::new();
        let none = BTreeMap::new();
        let event = build(&request(&headers, None, b"", &none, &[]));
        for key in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert_eq!(event[key], Value::Null, "{key}");
        }
    }

    #[test]
    fn binary_bodies_are_base64() {
        let mut headers = HeaderMap::new();
        let none = BTreeMap::new();
        let event = build(&request(&headers, None, &[0xff, 0x00, 0x80], &none, &[]));
        assert_eq!((event["body"].as_str(), event["isBase64Encoded"].as_bool()), (Some("/wCA"), Some(true)));
        // Text declared binary by the API's binaryMediaTypes is encoded too.
        headers.insert("content-type", "image/png; q=1".parse().unwrap());
        let binary = ["image/*".to_string()];
        let event = build(&request(&headers, None, b"png", &none, &binary));
        assert_eq!((event["body"].as_str(), event["isBase64Encoded"].as_bool()), (Some("cG5n"), Some(true)));
        assert!(is_binary_media_type(Some("application/octet-stream"), &["*/*".to_string()]));
        assert!(!is_binary_media_type(Some("text/plain"), &["image/png".to_string()]));
        assert!(!is_binary_media_type(None, &["*/*".to_string()]));
    }
}
