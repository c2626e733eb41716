//! The request event a function behind a URL receives: API Gateway's HTTP API payload
//! format 2.0, as Lambda's function URL documentation lists it. Repeated headers and
//! query parameters are joined with commas, cookies are taken out of the headers into
//! `cookies`, members with nothing in them are left out, and bodies that are not text
//! travel base64-encoded.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use base64::Engine as _;
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlEvent {
    pub version: &'static str,
    pub route_key: &'static str,
    pub raw_path: String,
    pub raw_query_string: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
    pub request_context: UrlRequestContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlRequestContext {
    pub account_id: String,
    pub api_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<Authorizer>,
    pub domain_name: String,
    pub domain_prefix: String,
    pub http: HttpContext,
    pub request_id: String,
    pub route_key: &'static str,
    pub stage: &'static str,
    pub time: String,
    pub time_epoch: i64,
}

/// `requestContext.authorizer.iam` for `AWS_IAM` URLs: the access key the caller signed
/// with (the signature itself is not verified yet).
#[derive(Debug, Serialize)]
pub struct Authorizer {
    pub iam: IamIdentity,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamIdentity {
    pub access_key: String,
    pub account_id: String,
    pub caller_id: Option<String>,
    pub cognito_identity: Option<String>,
    pub principal_org_id: Option<String>,
    pub user_arn: Option<String>,
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpContext {
    pub method: String,
    pub path: String,
    pub protocol: String,
    pub source_ip: String,
    pub user_agent: String,
}

/// Everything about one request the event is built from.
pub struct UrlRequest<'a> {
    pub url_id: &'a str,
    pub domain_name: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub protocol: &'a str,
    pub source_ip: &'a str,
    pub request_id: &'a str,
    pub time_ms: i64,
    /// The access key of an `AWS_IAM` caller; None for `NONE` URLs.
    pub access_key: Option<String>,
}

/// Whether a body of this content type is passed as text (otherwise base64).
fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else { return true };
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    media.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "graphql"]
            .iter()
            .any(|kind| media.contains(kind))
}

pub fn build(request: &UrlRequest<'_>) -> UrlEvent {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name.as_str() == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned));
            continue;
        }
        headers.entry(name.as_str().to_owned()).and_modify(|v| *v = format!("{v},{value}")).or_insert(value);
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(request.query.unwrap_or_default().as_bytes()) {
        query
            .entry(name.into_owned())
            .and_modify(|v| *v = format!("{v},{value}"))
            .or_insert(value.into_owned());
    }
    let content_type = headers.get("content-type").map(String::as_str);
    let (body, is_base64_encoded) = if request.body.is_empty() {
        (None, false)
    } else {
        match std::str::from_utf8(request.body) {
            Ok(text) if is_text(content_type) => (Some(text.to_owned()), false),
            _ => (Some(base64::engine::general_purpose::STANDARD.encode(request.body)), true),
        }
    };
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    // An unauthenticated caller's account reads "anonymous" (as AWS sends it for NONE URLs).
    let account_id = if request.access_key.is_some() {
        alcove_core::ACCOUNT_ID.to_owned()
    } else {
        "anonymous".to_owned()
    };
    let authorizer = request.access_key.clone().map(|access_key| Authorizer {
        iam: IamIdentity {
            access_key,
            account_id: alcove_core::ACCOUNT_ID.to_owned(),
            caller_id: None,
            cognito_identity: None,
            principal_org_id: None,
            user_arn: None,
            user_id: None,
        },
    });
    let time = chrono::DateTime::from_timestamp_millis(request.time_ms)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    UrlEvent {
        version: "2.0",
        route_key: "$default",
        raw_path: request.path.to_owned(),
        raw_query_string: request.query.unwrap_or_default().to_owned(),
        cookies: (!cookies.is_empty()).then_some(cookies),
        query_string_parameters: (!query.is_empty()).then_some(query),
        request_context: UrlRequestContext {
            account_id,
            api_id: request.url_id.to_owned(),
            authorizer,
            domain_name: request.domain_name.to_owned(),
            domain_prefix: request.url_id.to_owned(),
            http: HttpContext {
                method: request.method.to_owned(),
                path: request.path.to_owned(),
                protocol: request.protocol.to_owned(),
                source_ip: request.source_ip.to_owned(),
                user_agent,
            },
            request_id: request.request_id.to_owned(),
            route_key: "$default",
            stage: "$default",
            time,
            time_epoch: request.time_ms,
        },
        headers,
        body,
        is_base64_encoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_cookies_query_and_body_as_format_2_0() {
        let mut headers = HeaderMap::new();
        headers.append("x-multi", "a".parse().unwrap());
        headers.append("x-multi", "b".parse().unwrap());
        headers.append("cookie", "c1=v1; c2=v2".parse().unwrap());
        headers.append("content-type", "application/octet-stream".parse().unwrap());
        let event = serde_json::to_value(build(&UrlRequest {
            url_id: "u1",
            domain_name: "u1.lambda-url.us-east-1.localhost:9000",
            method: "POST",
            path: "/p/q",
            query: Some("a=1&a=2&b=x%20y"),
            headers: &headers,
            body: &[0xff, 0x00],
            protocol: "HTTP/1.1",
            source_ip: "127.0.0.1",
            request_id: "r",
            time_ms: 0,
            access_key: None,
        }))
        .unwrap();
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
        assert_eq!(event["queryStringParameters"], json!({"a": "1,2", "b": "x y"}));
        assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
        assert_eq!(event["headers"]["x-multi"], "a,b");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!((event["body"].clone(), event["isBase64Encoded"].clone()), (json!("/wA="), json!(true)));
        assert_eq!(event["requestContext"]["accountId"], "anonymous");
        assert_eq!(event["requestContext"]["time"], "01/Jan/1970:00:00:00 +0000");
        assert!(event["requestContext"].get("authorizer").is_none());
    }
}
