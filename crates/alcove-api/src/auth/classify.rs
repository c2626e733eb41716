//! The one place every request is put in IAM's terms: which surface it addresses, the
//! action (`lambda:InvokeFunction`, `apigateway:POST`, `s3:PutObject`, `alcove:GetUsage`
//! …), the resource ARN it acts on and its condition keys (`alcove:TenantId`). A new
//! operation must be classified here, or it is classified as `<service>:Unknown` on `*`,
//! which only administrators pass.

use alcove_auth::policy::Context;
use axum::http::{HeaderMap, Method};

use super::ACCOUNT_ID;
use crate::service::Service;

/// The condition key naming the tenant a request acts for.
pub const TENANT_KEY: &str = "alcove:TenantId";

/// The API surface a request addresses (which also decides the shape of its errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Lambda,
    ApiGateway,
    Logs,
    Ssm,
    S3,
    Sts,
    CloudFormation,
    /// `/alcove/v1` and `/metrics` (Lambda's error shape).
    Native,
}

/// What a request asks to do, in IAM's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub action: String,
    pub resource: String,
    pub context: Context,
}

impl Target {
    fn new(action: impl Into<String>, resource: impl Into<String>) -> Target {
        Target { action: action.into(), resource: resource.into(), context: Context::new() }
    }

    fn with_tenant(mut self, tenant: Option<&str>) -> Target {
        if let Some(tenant) = tenant {
            self.context.insert(TENANT_KEY, tenant);
        }
        self
    }
}

/// What the classification reads of a request.
pub struct Parts<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The body, for the protocols that carry the operation or its resource there.
    pub body: &'a [u8],
    pub region: &'a str,
}

impl Parts<'_> {
    fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The surface a request addresses: by path for Alcove's own API, by the service it is
/// signed for, else (unsigned) by its shape.
pub fn surface(signed_for: Option<Service>, method: &Method, path: &str, headers: &HeaderMap) -> Surface {
    if path.starts_with("/alcove/") || path == "/metrics" {
        return Surface::Native;
    }
    match signed_for {
        Some(Service::Lambda) => Surface::Lambda,
        Some(Service::ApiGateway) => Surface::ApiGateway,
        Some(Service::Logs) => Surface::Logs,
        Some(Service::Ssm) => Surface::Ssm,
        Some(Service::S3) => Surface::S3,
        Some(Service::Sts) => Surface::Sts,
        Some(Service::CloudFormation) => Surface::CloudFormation,
        None => {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
            if target.starts_with(crate::ssm::TARGET_PREFIX) {
                Surface::Ssm
            } else if !target.is_empty() {
                Surface::Logs
            } else if crate::apigateway::is_control_plane_path(path) {
                Surface::ApiGateway
            } else if path == "/" && method == Method::POST {
                Surface::Sts
            } else if path.starts_with("/20") {
                Surface::Lambda
            } else {
                Surface::S3
            }
        }
    }
}

/// The request in IAM's terms.
pub fn classify(surface: Surface, parts: &Parts<'_>) -> Target {
    match surface {
        Surface::Lambda => lambda(parts),
        Surface::ApiGateway => Target::new(
            format!("apigateway:{}", parts.method.as_str()),
            format!("arn:aws:apigateway:{}::{}", parts.region, decode(parts.path)),
        ),
        Surface::Logs => json11(parts, "logs", |body| {
            let group = body["logGroupName"].as_str().or(body["logGroupIdentifier"].as_str())?;
            Some(format!("arn:aws:logs:{}:{ACCOUNT_ID}:log-group:{group}", parts.region))
        }),
        Surface::Ssm => json11(parts, "ssm", |body| {
            let name = body["Name"].as_str()?;
            Some(format!(
                "arn:aws:ssm:{}:{ACCOUNT_ID}:parameter/{}",
                parts.region,
                name.trim_start_matches('/')
            ))
        }),
        Surface::Sts | Surface::CloudFormation => query(surface, parts),
        Surface::S3 => s3(parts),
        Surface::Native => native(parts),
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// A function's ARN from a path segment (a name, partial or full ARN, each possibly
/// qualified) and a `Qualifier` parameter.
pub fn function_arn(region: &str, raw: &str, qualifier: Option<&str>) -> String {
    let raw = decode(raw);
    let after = raw.split(":function:").nth(1).unwrap_or(&raw);
    let (name, inline) = match after.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (after, None),
    };
    let region = match raw.strip_prefix("arn:aws:lambda:") {
        Some(rest) => rest.split(':').next().unwrap_or(region).to_owned(),
        None => region.to_owned(),
    };
    let base = format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}");
    match inline.or(qualifier).filter(|q| !q.is_empty()) {
        Some(q) => format!("{base}:{q}"),
        None => base,
    }
}

fn lambda(parts: &Parts<'_>) -> Target {
    let segments: Vec<&str> = parts.path.trim_matches('/').split('/').collect();
    let m = parts.method;
    let qualifier = parts.query_param("Qualifier");
    let function = |raw: &str| function_arn(parts.region, raw, qualifier.as_deref());
    let any = |op: &str| Target::new(format!("lambda:{op}"), "*");
    let on = |op: &str, raw: &str| Target::new(format!("lambda:{op}"), function(raw));
    let get = m == Method::GET;
    match segments.as_slice() {
        [_, "functions"] => any(if get { "ListFunctions" } else { "CreateFunction" }),
        [_, "functions", f] => on(if get { "GetFunction" } else { "DeleteFunction" }, f),
        [_, "functions", f, "configuration"] => {
            on(if get { "GetFunctionConfiguration" } else { "UpdateFunctionConfiguration" }, f)
        }
        [_, "functions", f, "code"] => on("UpdateFunctionCode", f),
        [_, "functions", f, "versions"] => {
            on(if get { "ListVersionsByFunction" } else { "PublishVersion" }, f)
        }
        [_, "functions", f, "aliases"] => on(if get { "ListAliases" } else { "CreateAlias" }, f),
        [_, "functions", f, "aliases", alias] => {
            let op = match *m {
                Method::GET => "GetAlias",
                Method::PUT => "UpdateAlias",
                _ => "DeleteAlias",
            };
            Target::new(format!("lambda:{op}"), function_arn(parts.region, f, Some(alias)))
        }
        [_, "functions", f, "concurrency"] => on(
            match *m {
                Method::GET => "GetFunctionConcurrency",
                Method::PUT => "PutFunctionConcurrency",
                _ => "DeleteFunctionConcurrency",
            },
            f,
        ),
        [_, "functions", f, "provisioned-concurrency"] => on(
            match *m {
                Method::GET if qualifier.is_none() => "ListProvisionedConcurrencyConfigs",
                Method::GET => "GetProvisionedConcurrencyConfig",
                Method::PUT => "PutProvisionedConcurrencyConfig",
                _ => "DeleteProvisionedConcurrencyConfig",
            },
            f,
        ),
        // Sync, async (`Event`) and streaming invokes all need lambda:InvokeFunction, for
        // the tenant they name.
        [_, "functions", f, "invocations" | "response-streaming-invocations" | "invoke-async"] => {
            on("InvokeFunction", f).with_tenant(parts.header("x-amz-tenant-id"))
        }
        [_, "functions", f, "event-invoke-config"] => on(
            match *m {
                Method::GET => "GetFunctionEventInvokeConfig",
                Method::PUT => "PutFunctionEventInvokeConfig",
                Method::POST => "UpdateFunctionEventInvokeConfig",
                _ => "DeleteFunctionEventInvokeConfig",
            },
            f,
        ),
        [_, "functions", f, "event-invoke-config", "list"] => on("ListFunctionEventInvokeConfigs", f),
        [_, "functions", f, "policy"] => on(if get { "GetPolicy" } else { "AddPermission" }, f),
        [_, "functions", f, "policy", _] => on("RemovePermission", f),
        [_, "tags", arn] => Target::new(
            match *m {
                Method::GET => "lambda:ListTags",
                Method::POST => "lambda:TagResource",
                _ => "lambda:UntagResource",
            },
            decode(arn),
        ),
        [_, "functions", f, "url"] => on(
            match *m {
                Method::GET => "GetFunctionUrlConfig",
                Method::POST => "CreateFunctionUrlConfig",
                Method::PUT => "UpdateFunctionUrlConfig",
                _ => "DeleteFunctionUrlConfig",
            },
            f,
        ),
        [_, "functions", f, "urls"] => on("ListFunctionUrlConfigs", f),
        [_, "functions", f, "recursion-config"] => {
            on(if get { "GetFunctionRecursionConfig" } else { "PutFunctionRecursionConfig" }, f)
        }
        [_, "functions", f, "code-signing-config"] => on(
            match *m {
                Method::GET => "GetFunctionCodeSigningConfig",
                Method::PUT => "PutFunctionCodeSigningConfig",
                _ => "DeleteFunctionCodeSigningConfig",
            },
            f,
        ),
        [_, "code-signing-configs"] => {
            any(if get { "ListCodeSigningConfigs" } else { "CreateCodeSigningConfig" })
        }
        [_, "code-signing-configs", arn] => Target::new(
            match *m {
                Method::GET => "lambda:GetCodeSigningConfig",
                Method::PUT => "lambda:UpdateCodeSigningConfig",
                _ => "lambda:DeleteCodeSigningConfig",
            },
            decode(arn),
        ),
        [_, "code-signing-configs", arn, "functions"] => {
            Target::new("lambda:ListFunctionsByCodeSigningConfig", decode(arn))
        }
        [_, "account-settings"] => any("GetAccountSettings"),
        _ => any("Unknown"),
    }
}

fn json11(
    parts: &Parts<'_>,
    prefix: &str,
    resource: impl Fn(&serde_json::Value) -> Option<String>,
) -> Target {
    let operation = parts
        .header("x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .filter(|op| !op.is_empty())
        .unwrap_or("Unknown");
    let body: serde_json::Value = serde_json::from_slice(parts.body).unwrap_or_default();
    Target::new(format!("{prefix}:{operation}"), resource(&body).unwrap_or_else(|| "*".into()))
}

fn query(surface: Surface, parts: &Parts<'_>) -> Target {
    let mut form = crate::query::Form::parse(parts.query.unwrap_or_default().as_bytes());
    form.extend(parts.body);
    let action = form.get("Action").unwrap_or("Unknown").to_owned();
    if surface == Surface::Sts {
        let resource = match action.as_str() {
            "AssumeRole" => form.get("RoleArn").unwrap_or("*").to_owned(),
            _ => "*".to_owned(),
        };
        return Target::new(format!("sts:{action}"), resource);
    }
    let resource = match form.get("StackName") {
        Some(stack) if stack.starts_with("arn:") => stack.to_owned(),
        Some(stack) => format!("arn:aws:cloudformation:{}:{ACCOUNT_ID}:stack/{stack}/*", parts.region),
        None => "*".to_owned(),
    };
    Target::new(format!("cloudformation:{action}"), resource)
}

fn s3(parts: &Parts<'_>) -> Target {
    let host = parts.header("host");
    let address = crate::s3::address::resolve(host, parts.path);
    let has = |name: &str| {
        form_urlencoded::parse(parts.query.unwrap_or_default().as_bytes()).any(|(k, _)| k == name)
    };
    let m = parts.method;
    let (action, resource) = match (&address.bucket, &address.key) {
        (None, _) => ("ListAllMyBuckets", "arn:aws:s3:::*".to_owned()),
        (Some(bucket), None) => {
            let action = match *m {
                Method::PUT => "CreateBucket",
                Method::DELETE => "DeleteBucket",
                _ if has("location") => "GetBucketLocation",
                _ if has("encryption") => "GetEncryptionConfiguration",
                _ => "ListBucket",
            };
            (action, format!("arn:aws:s3:::{bucket}"))
        }
        (Some(bucket), Some(key)) => {
            let action = match *m {
                Method::GET if has("uploadId") => "ListMultipartUploadParts",
                Method::GET | Method::HEAD => "GetObject",
                Method::DELETE if has("uploadId") => "AbortMultipartUpload",
                Method::DELETE => "DeleteObject",
                _ => "PutObject",
            };
            (action, format!("arn:aws:s3:::{bucket}/{key}"))
        }
    };
    Target::new(format!("s3:{action}"), resource)
}

fn native(parts: &Parts<'_>) -> Target {
    let segments: Vec<&str> = parts.path.trim_matches('/').split('/').collect();
    let m = parts.method;
    let function = parts.query_param("function");
    let tenant = parts.query_param("tenant");
    let on_function = |op: &str, raw: Option<&str>| {
        Target::new(
            format!("alcove:{op}"),
            raw.map_or_else(|| "*".to_owned(), |f| function_arn(parts.region, f, None)),
        )
    };
    match segments.as_slice() {
        ["metrics"] => Target::new("alcove:GetMetrics", "*"),
        ["alcove", "v1", "usage"] => {
            on_function("GetUsage", function.as_deref()).with_tenant(tenant.as_deref())
        }
        ["alcove", "v1", "environments"] => on_function("ListEnvironments", function.as_deref()),
        ["alcove", "v1", "dead-letters"] => on_function("ListDeadLetters", function.as_deref()),
        ["alcove", "v1", "functions", f, "logs"] => {
            on_function("GetLogEvents", Some(f)).with_tenant(tenant.as_deref())
        }
        ["alcove", "v1", "functions", f, "tenant-limits"] => on_function(
            match *m {
                Method::GET => "GetTenantLimits",
                Method::PUT => "PutTenantLimits",
                _ => "DeleteTenantLimits",
            },
            Some(f),
        ),
        ["alcove", "v1", "functions", f, "tenants", t, "limits"] => {
            on_function(if m == Method::PUT { "PutTenantLimit" } else { "DeleteTenantLimit" }, Some(f))
                .with_tenant(Some(&decode(t)))
        }
        ["alcove", "v1", "keys"] => {
            Target::new(if m == Method::GET { "alcove:ListKeys" } else { "alcove:CreateKey" }, "*")
        }
        ["alcove", "v1", "keys", _] => Target::new("alcove:DeleteKey", "*"),
        ["alcove", "v1", "keys", _, "rotate"] => Target::new("alcove:RotateKey", "*"),
        ["alcove", "v1", "role-policies"] => Target::new("alcove:ListRolePolicies", "*"),
        ["alcove", "v1", "role-policy"] => Target::new(
            match *m {
                Method::GET => "alcove:GetRolePolicy",
                Method::PUT => "alcove:PutRolePolicy",
                _ => "alcove:DeleteRolePolicy",
            },
            parts.query_param("RoleArn").unwrap_or_else(|| "*".into()),
        ),
        _ => Target::new("alcove:Unknown", "*"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_lambda(method: Method, path: &str, query: Option<&str>, headers: &[(&str, &str)]) -> Target {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let parts = Parts { method: &method, path, query, headers: &map, body: b"", region: "us-east-1" };
        classify(Surface::Lambda, &parts)
    }

    #[test]
    fn lambda_operations_name_their_function_and_tenant() {
        let t = classify_lambda(
            Method::POST,
            "/2015-03-31/functions/router/invocations",
            Some("Qualifier=live"),
            &[("x-amz-tenant-id", "blue")],
        );
        assert_eq!(t.action, "lambda:InvokeFunction");
        assert_eq!(t.resource, "arn:aws:lambda:us-east-1:000000000000:function:router:live");
        assert_eq!(t.context.get(TENANT_KEY), Some(&["blue".to_owned()][..]));
        let t = classify_lambda(
            Method::POST,
            "/2021-11-15/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Arouter%3A3/response-streaming-invocations",
            None,
            &[],
        );
        assert_eq!(t.resource, "arn:aws:lambda:eu-west-1:000000000000:function:router:3");
        assert!(t.context.get(TENANT_KEY).is_none());
        assert_eq!(classify_lambda(Method::GET, "/2015-03-31/functions/", None, &[]).resource, "*");
        let t = classify_lambda(Method::DELETE, "/2015-03-31/functions/f/aliases/live", None, &[]);
        assert_eq!(
            (t.action.as_str(), t.resource.as_str()),
            ("lambda:DeleteAlias", "arn:aws:lambda:us-east-1:000000000000:function:f:live")
        );
    }

    #[test]
    fn native_operations_carry_the_tenant_they_name() {
        let map = HeaderMap::new();
        let method = Method::GET;
        let parts = Parts {
            method: &method,
            path: "/alcove/v1/usage",
            query: Some("function=f&tenant=blue"),
            headers: &map,
            body: b"",
            region: "us-east-1",
        };
        let t = classify(Surface::Native, &parts);
        assert_eq!(t.action, "alcove:GetUsage");
        assert_eq!(t.resource, "arn:aws:lambda:us-east-1:000000000000:function:f");
        assert_eq!(t.context.get(TENANT_KEY), Some(&["blue".to_owned()][..]));
        let parts = Parts { path: "/alcove/v1/environments", query: None, ..parts };
        assert_eq!(classify(Surface::Native, &parts).resource, "*");
    }

    #[test]
    fn query_json_s3_and_gateway_requests() {
        let map = HeaderMap::new();
        let post = Method::POST;
        let parts = Parts {
            method: &post,
            path: "/",
            query: None,
            headers: &map,
            body: b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fdeployer",
            region: "us-east-1",
        };
        let t = classify(Surface::Sts, &parts);
        assert_eq!(
            (t.action.as_str(), t.resource.as_str()),
            ("sts:AssumeRole", "arn:aws:iam::000000000000:role/deployer")
        );
        let parts = Parts { body: b"Action=CreateStack&StackName=app", ..parts };
        assert_eq!(
            classify(Surface::CloudFormation, &parts).resource,
            "arn:aws:cloudformation:us-east-1:000000000000:stack/app/*"
        );
        let put = Method::PUT;
        let parts = Parts { method: &put, path: "/bucket/a/b.zip", body: b"", ..parts };
        let t = classify(Surface::S3, &parts);
        assert_eq!((t.action.as_str(), t.resource.as_str()), ("s3:PutObject", "arn:aws:s3:::bucket/a/b.zip"));
        let parts = Parts { method: &post, path: "/restapis/abc/resources", ..parts };
        let t = classify(Surface::ApiGateway, &parts);
        assert_eq!(
            (t.action.as_str(), t.resource.as_str()),
            ("apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis/abc/resources")
        );
    }
}
