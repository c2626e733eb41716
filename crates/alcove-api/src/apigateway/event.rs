//! The Lambda proxy integration's request event, payload format 1.0: what a function
//! behind a REST API receives. Single-value maps hold the last value of each header or
//! query parameter, the multi-value maps all of them; maps with nothing in them are
//! `null`, as API Gateway sends them. Binary bodies travel base64-encoded.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use base64::Engine as _;
use serde::Serialize;

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

/// Values by name, each with its last value.
type SingleValues = BTreeMap<String, String>;
/// Values by name, each with all of its values.
type MultiValues = BTreeMap<String, Vec<String>>;

/// `{name: last value}` and `{name: [values]}`, or nulls when empty.
fn single_and_multi(values: MultiValues) -> (Option<SingleValues>, Option<MultiValues>) {
    if values.is_empty() {
        return (None, None);
    }
    let single = values.iter().filter_map(|(k, v)| v.last().map(|last| (k.clone(), last.clone()))).collect();
    (Some(single), Some(values))
}

fn map_or_null(map: &BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then(|| map.clone())
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

/// The event (payload format 1.0). Absent maps and bodies are `null`, not omitted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyEvent {
    pub resource: String,
    pub path: String,
    pub http_method: String,
    pub headers: Option<SingleValues>,
    pub multi_value_headers: Option<MultiValues>,
    pub query_string_parameters: Option<SingleValues>,
    pub multi_value_query_string_parameters: Option<MultiValues>,
    pub path_parameters: Option<BTreeMap<String, String>>,
    pub stage_variables: Option<BTreeMap<String, String>>,
    pub request_context: ProxyRequestContext,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

/// `requestContext`: the API, stage and resource, and who called.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyRequestContext {
    pub account_id: &'static str,
    pub api_id: String,
    pub domain_name: String,
    pub domain_prefix: String,
    pub extended_request_id: String,
    pub http_method: String,
    pub identity: Identity,
    pub path: String,
    pub protocol: String,
    pub request_id: String,
    pub request_time: String,
    pub request_time_epoch: i64,
    pub resource_id: String,
    pub resource_path: String,
    pub stage: String,
}

/// `requestContext.identity`. There is no IAM or Cognito caller: only the source address
/// and user agent are known; the other members are `null`, as for an unauthenticated call.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub access_key: Option<String>,
    pub account_id: Option<String>,
    pub caller: Option<String>,
    pub cognito_authentication_provider: Option<String>,
    pub cognito_authentication_type: Option<String>,
    pub cognito_identity_id: Option<String>,
    pub cognito_identity_pool_id: Option<String>,
    pub principal_org_id: Option<String>,
    pub source_ip: String,
    pub user: Option<String>,
    pub user_agent: Option<String>,
    pub user_arn: Option<String>,
}

pub fn build(request: &ProxyRequest<'_>) -> ProxyEvent {
    let headers = header_values(request.headers);
    let content_type = headers.get("content-type").and_then(|v| v.last()).cloned();
    let user_agent = headers.get("user-agent").and_then(|v| v.last()).cloned();
    let (single_headers, multi_headers) = single_and_multi(headers);
    let (single_query, multi_query) = single_and_multi(query_values(request.query));
    let (body, is_base64) = if request.body.is_empty() {
        (None, false)
    } else {
        match std::str::from_utf8(request.body) {
            Ok(text) if !is_binary_media_type(content_type.as_deref(), request.binary_media_types) => {
                (Some(text.to_owned()), false)
            }
            _ => (Some(base64::engine::general_purpose::STANDARD.encode(request.body)), true),
        }
    };
    let context = &request.context;
    ProxyEvent {
        resource: request.resource_path.to_owned(),
        path: request.path.to_owned(),
        http_method: request.http_method.to_owned(),
        headers: single_headers,
        multi_value_headers: multi_headers,
        query_string_parameters: single_query,
        multi_value_query_string_parameters: multi_query,
        path_parameters: map_or_null(request.path_parameters),
        stage_variables: map_or_null(request.stage_variables),
        request_context: ProxyRequestContext {
            account_id: alcove_core::ACCOUNT_ID,
            api_id: context.api_id.to_owned(),
            domain_name: context.domain_name.to_owned(),
            domain_prefix: context.api_id.to_owned(),
            extended_request_id: context.request_id.to_owned(),
            http_method: request.http_method.to_owned(),
            identity: Identity {
                access_key: None,
                account_id: None,
                caller: None,
                cognito_authentication_provider: None,
                cognito_authentication_type: None,
                cognito_identity_id: None,
                cognito_identity_pool_id: None,
                principal_org_id: None,
                source_ip: context.source_ip.to_owned(),
                user: None,
                user_agent,
                user_arn: None,
            },
            path: format!("/{}{}", context.stage, request.path),
            protocol: context.protocol.to_owned(),
            request_id: context.request_id.to_owned(),
            request_time: request_time(context.time_ms),
            request_time_epoch: context.time_ms,
            resource_id: request.resource_id.to_owned(),
            resource_path: request.resource_path.to_owned(),
            stage: context.stage.to_owned(),
        },
        body,
        is_base64_encoded: is_base64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn build(request: &ProxyRequest<'_>) -> Value {
        serde_json::to_value(super::build(request)).unwrap()
    }

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
