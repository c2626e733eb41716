//! The function URL data plane. AWS serves a URL at `https://<url-id>.lambda-url.<region>.on.aws/`;
//! Alcove serves the same request on its one endpoint, picked out before routing by the
//! Host header `<url-id>.lambda-url.<region>.<domain>` (`.localhost` resolves to this
//! machine) or, for clients that cannot set Host, by the path prefix `/lambda-url/<url-id>/`.
//!
//! A request is checked as Lambda checks it (the URL's `AuthType` and, for `NONE`, the
//! resource policy), answered by the CORS rules when it is a preflight, turned into a
//! payload format 2.0 event and invoked through the same synchronous path as Invoke, and
//! the function's answer becomes the HTTP response by Lambda's rules ([`response`]).

mod cors;
mod event;
mod response;

use std::net::SocketAddr;

use alcove_core::{AuthType, FunctionRef, FunctionUrlConfig, InvokeMode};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::UrlError;
use crate::lambda::invoke::{run_sync, SyncInvoke, SYNC_PAYLOAD_LIMIT};
use crate::request::{read_limited, DEFAULT_REGION};
use crate::AppState;

const PATH_PREFIX: &str = "/lambda-url/";

/// Which URL a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTarget {
    pub url_id: String,
    pub region: String,
    /// The path below the URL, as sent, starting with `/`.
    pub path: String,
    pub domain_name: String,
}

pub fn target_of(host: Option<&str>, path: &str) -> Option<UrlTarget> {
    if let Some((url_id, rest)) =
        crate::host::service_subdomain(host, ".lambda-url.", FunctionUrlConfig::is_url_id)
    {
        let region = rest.split('.').next().filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REGION).to_owned();
        return Some(UrlTarget { url_id, region, path: path.to_owned(), domain_name: host?.to_owned() });
    }
    let below = path.strip_prefix(PATH_PREFIX)?;
    let (url_id, rest) = below.split_once('/').unwrap_or((below, ""));
    FunctionUrlConfig::is_url_id(url_id).then(|| UrlTarget {
        url_id: url_id.to_owned(),
        region: DEFAULT_REGION.to_owned(),
        path: format!("/{rest}"),
        domain_name: host.unwrap_or_default().to_owned(),
    })
}

/// Middleware in front of every other route: serves function URL requests, passes the rest on.
pub async fn serve_url(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    match target_of(host, request.uri().path()) {
        Some(target) => serve(state, target, request).await.unwrap_or_else(IntoResponse::into_response),
        None => next.run(request).await,
    }
}

/// The access key of a SigV4 `Authorization` header (or presigned query), if any.
fn signed_access_key(request: &Request) -> Option<String> {
    if let Some(auth) = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let credential = auth.strip_prefix("AWS4-HMAC-SHA256 ")?.split("Credential=").nth(1)?;
        return credential.split('/').next().map(str::to_owned);
    }
    form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "X-Amz-Credential")
        .and_then(|(_, value)| value.split('/').next().map(str::to_owned))
}

async fn serve(state: AppState, target: UrlTarget, request: Request) -> Result<Response, UrlError> {
    let time_ms = chrono::Utc::now().timestamp_millis();
    let url = state
        .store
        .function_url_by_id(&target.url_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e.chain(), "reading a function URL");
            UrlError::internal()
        })?
        .ok_or_else(UrlError::not_found)?;
    if let Some(cors) = &url.cors {
        if let Some(answer) = cors::preflight(cors, request.method(), request.headers()) {
            return Ok(answer);
        }
    }
    let access_key = match url.auth_type {
        // Signed callers only. In `sigv4` mode the edge has verified the signature and
        // attached the caller, who needs lambda:InvokeFunctionUrl on the function.
        AuthType::AwsIam if state.auth.mode == crate::auth::Mode::SigV4 => {
            let caller = request.extensions().get::<crate::auth::Caller>().ok_or_else(UrlError::forbidden)?;
            let function = crate::auth::classify::function_arn(
                &target.region,
                &url.function.to_string(),
                (url.qualifier != "$LATEST").then_some(url.qualifier.as_str()),
            );
            crate::auth::check(caller, "lambda:InvokeFunctionUrl", &function, &Default::default())
                .map_err(|_| UrlError::forbidden())?;
            Some(caller.access_key_id().to_owned())
        }
        AuthType::AwsIam => Some(signed_access_key(&request).ok_or_else(UrlError::forbidden)?),
        AuthType::None => {
            let statements = state.store.policy(&url.function, &url.qualifier).await.map_err(|e| {
                tracing::error!(error = %e.chain(), "reading a resource policy");
                UrlError::internal()
            })?;
            if !crate::lambda::policy::admits_public_url(&statements, AuthType::None.as_str()) {
                return Err(UrlError::forbidden());
            }
            None
        }
    };
    let source_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let (parts, body) = request.into_parts();
    let body = read_limited(body, SYNC_PAYLOAD_LIMIT).await.map_err(|_| UrlError::payload_too_large())?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = event::build(&event::UrlRequest {
        url_id: &url.url_id,
        domain_name: &target.domain_name,
        method: parts.method.as_str(),
        path: &target.path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
        protocol: &format!("{:?}", parts.version),
        source_ip: &source_ip,
        request_id: &request_id,
        time_ms,
        access_key,
    });
    let payload = serde_json::to_vec(&event).map_err(|_| UrlError::internal())?;
    if payload.len() > SYNC_PAYLOAD_LIMIT {
        return Err(UrlError::payload_too_large());
    }
    let mut response = invoke(&state, &url, &target.region, payload, request_id.clone()).await?;
    if let Some(cors) = &url.cors {
        cors::apply(cors, &parts.headers, &mut response);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    Ok(response)
}

async fn invoke(
    state: &AppState,
    url: &FunctionUrlConfig,
    region: &str,
    payload: Vec<u8>,
    request_id: String,
) -> Result<Response, UrlError> {
    let qualifier = (url.qualifier != "$LATEST").then_some(url.qualifier.as_str());
    let reference = FunctionRef { name: url.function.clone(), qualifier: None }
        .with_qualifier(qualifier)
        .map_err(|_| UrlError::internal())?;
    let config =
        crate::lambda::resolve(state, &reference, region).await.map_err(|_| UrlError::not_found())?;
    let arn = match qualifier {
        Some(q) => format!("{}:{q}", config.arn(region)),
        None => config.arn(region),
    };
    let invoke = SyncInvoke {
        config,
        tenant: None,
        payload: payload.into(),
        invoked_function_arn: arn,
        client_context: None,
        want_log_tail: false,
        request_id: request_id.clone(),
    };
    let outcome = run_sync(state, invoke).await.map_err(|e| {
        tracing::warn!(function = %url.function, code = e.code, message = %e.message, "function URL invoke refused");
        if e.code == "TooManyRequestsException" {
            UrlError::too_many_requests()
        } else {
            UrlError::internal()
        }
    })?;
    let payload = outcome.result.map_err(|failure| {
        tracing::info!(function = %url.function, %request_id, error_type = %failure.error_type, "function URL invoke failed");
        UrlError::bad_gateway()
    })?;
    let translated = match url.invoke_mode {
        InvokeMode::Buffered => response::translate(&payload),
        InvokeMode::ResponseStream => response::translate_streamed(&payload),
    };
    translated.map_err(|malformed| {
        tracing::info!(function = %url.function, %request_id, reason = %alcove_core::error::chain(&malformed),
            "function URL answer is no response");
        UrlError::bad_gateway()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_host_and_by_path() {
        let id = "0123456789abcdef0123456789abcdef";
        let t = target_of(Some(&format!("{id}.lambda-url.eu-west-1.localhost:9000")), "/a/b").unwrap();
        assert_eq!((t.url_id.as_str(), t.region.as_str(), t.path.as_str()), (id, "eu-west-1", "/a/b"));
        let t = target_of(Some("127.0.0.1:9000"), &format!("/lambda-url/{id}/x?y")).unwrap();
        assert_eq!((t.url_id.as_str(), t.path.as_str()), (id, "/x?y"));
        let t = target_of(Some("127.0.0.1:9000"), &format!("/lambda-url/{id}")).unwrap();
        assert_eq!(t.path, "/");
        assert_eq!(target_of(Some("short.lambda-url.us-east-1.localhost"), "/"), None);
        assert_eq!(target_of(Some("127.0.0.1"), "/2021-10-31/functions/f/url"), None);
    }
}
