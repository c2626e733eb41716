//! Running a Lambda authorizer for a request, as API Gateway does for a `CUSTOM` method:
//!
//! 1. The identity sources are read; a missing one (or, for `TOKEN`, a token that fails
//!    `identityValidationExpression`) is 401 `Unauthorized` without calling the function.
//! 2. With a TTL above 0, a result cached for (deployment, authorizer, identity values) is
//!    used; else the function is called with the `TOKEN` event
//!    `{type, authorizationToken, methodArn}` or the `REQUEST` event (the proxy event's
//!    headers, query, path, stage variables and request context, plus `type` and
//!    `methodArn`). It answering `Unauthorized` as its error is 401; any other failure,
//!    or an answer without `principalId` and `policyDocument`, or a `context` value that
//!    is not a string, number or boolean, is 500 `AuthorizerConfigurationException`.
//! 3. The policy (cached or fresh) is evaluated against this method's ARN
//!    `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`: a matching
//!    `Deny` wins (403 "... with an explicit deny"), else a matching `Allow` passes, else
//!    403 "User is not authorized to access this resource".
//!
//! The authorizer function is called without a tenant id: a `PER_TENANT` authorizer
//! cannot be invoked (Lambda requires the id), so it fails as a configuration error (500)
//! with a log line saying so. The tenant comes *out* of an authorizer, never into it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alcove_auth::policy::{Context, Decision, Request};
use alcove_auth::Policy;
use alcove_core::apigateway::{Authorizer, AuthorizerType, IdentitySource};
use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::lambda_call::{self, CallError};
use crate::error::GatewayError;
use crate::AppState;

/// How long an authorizer function may take.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(29);

/// What an authorizer decided for an identity: kept in the cache and evaluated per method.
#[derive(Debug, Clone)]
pub struct AuthorizerResult {
    pub principal_id: String,
    /// The returned policy, in IAM's grammar, evaluated by the same engine as callers'
    /// policies.
    policy: Policy,
    /// `context`, each value as text (`$context.authorizer.<key>`).
    pub context: BTreeMap<String, String>,
    pub usage_identifier_key: Option<String>,
}

/// Reads the authorizer's answer; Err says why it is no authorizer response.
pub fn parse_response(payload: &[u8]) -> Result<AuthorizerResult, String> {
    let doc: Value = serde_json::from_slice(payload).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let principal_id = match doc.get("principalId") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("the answer has no principalId".into()),
    };
    let policy = doc.get("policyDocument").ok_or("the answer has no policyDocument")?;
    let policy = match policy {
        // A policy may arrive as a JSON string.
        Value::String(text) => serde_json::from_str(text).map_err(|e| format!("policyDocument: {e}"))?,
        other => other.clone(),
    };
    let policy = Policy::from_value(policy).map_err(|e| format!("policyDocument: {e}"))?;
    let mut context = BTreeMap::new();
    if let Some(map) = doc.get("context").filter(|c| !c.is_null()) {
        let map = map.as_object().ok_or("context is not an object")?;
        for (key, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(format!("context.{key} is not a string, number or boolean")),
            };
            context.insert(key.clone(), text);
        }
    }
    let usage_identifier_key = doc.get("usageIdentifierKey").and_then(Value::as_str).map(str::to_owned);
    Ok(AuthorizerResult { principal_id, policy, context, usage_identifier_key })
}

impl AuthorizerResult {
    /// The policy's decision on invoking `method_arn`: a matching Deny wins.
    pub fn decide(&self, method_arn: &str) -> Decision {
        let request =
            Request { action: "execute-api:Invoke", resource: method_arn, context: &Context::new() };
        self.policy.evaluate(&request)
    }

    /// `requestContext.authorizer` of the proxy event: the context and `principalId`.
    pub fn event_value(&self, latency_ms: u64) -> Value {
        let mut map: Map<String, Value> =
            self.context.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        map.insert("principalId".into(), Value::String(self.principal_id.clone()));
        map.insert("integrationLatency".into(), Value::from(latency_ms));
        Value::Object(map)
    }
}

type CacheKey = (String, String, String, Vec<String>);

/// Authorizer results by (API, deployment, authorizer, identity values), each until its TTL.
/// In memory: a restart calls the authorizers again, as a redeploy does on AWS.
#[derive(Debug, Clone, Default)]
pub struct AuthorizerCache(Arc<Mutex<HashMap<CacheKey, (Instant, AuthorizerResult)>>>);

impl AuthorizerCache {
    fn get(&self, key: &CacheKey, now: Instant) -> Option<AuthorizerResult> {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((until, result)) if *until > now => Some(result.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: CacheKey, until: Instant, result: AuthorizerResult) {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Expired entries go when the cache grows, so it holds only live identities.
        if entries.len() >= 10_000 {
            let now = Instant::now();
            entries.retain(|_, (until, _)| *until > now);
        }
        entries.insert(key, (until, result));
    }
}

/// The request, as the authorizer sees it.
pub struct AuthorizerRequest<'a> {
    pub api_id: &'a str,
    pub deployment_id: &'a str,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
    /// The proxy event built for the integration (the REQUEST event is made from it).
    pub event: &'a Value,
    pub method_arn: &'a str,
    pub request_id: &'a str,
}

/// The value of one identity source for this request, if present and non-empty.
fn identity_value(source: &IdentitySource, request: &AuthorizerRequest<'_>) -> Option<String> {
    let value = match source {
        IdentitySource::Header(name) => {
            request.headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned)
        }
        IdentitySource::QueryString(name) => request
            .event
            .pointer(&format!("/queryStringParameters/{}", name.replace('~', "~0").replace('/', "~1")))
            .and_then(Value::as_str)
            .map(str::to_owned),
        IdentitySource::StageVariable(name) => request.stage_variables.get(name).cloned(),
        IdentitySource::Context(name) => request
            .event
            .pointer(&format!("/requestContext/{}", name.replace('.', "/")))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
    };
    value.filter(|v| !v.is_empty())
}

fn configuration_error(
    authorizer: &Authorizer,
    request: &AuthorizerRequest<'_>,
    reason: &str,
) -> GatewayError {
    tracing::warn!(api = %request.api_id, authorizer = %authorizer.id, name = %authorizer.name,
        request_id = %request.request_id, %reason, "Lambda authorizer failed");
    GatewayError::authorizer_configuration()
}

/// The event the authorizer function receives.
fn authorizer_event(authorizer: &Authorizer, request: &AuthorizerRequest<'_>, token: Option<&str>) -> Value {
    match authorizer.kind {
        AuthorizerType::Token => serde_json::json!({
            "type": "TOKEN",
            "authorizationToken": token.unwrap_or_default(),
            "methodArn": request.method_arn,
        }),
        AuthorizerType::Request => {
            let mut event = request.event.clone();
            if let Value::Object(map) = &mut event {
                map.remove("body");
                map.remove("isBase64Encoded");
                map.insert("type".into(), Value::String("REQUEST".into()));
                map.insert("methodArn".into(), Value::String(request.method_arn.to_owned()));
            }
            event
        }
    }
}

/// Authorizes the request (see the module docs): the result on Allow, else the
/// gateway response to send.
pub async fn authorize(
    state: &AppState,
    authorizer: &Authorizer,
    request: &AuthorizerRequest<'_>,
) -> Result<AuthorizerResult, GatewayError> {
    let sources = authorizer.sources();
    let mut values = Vec::with_capacity(sources.len());
    for source in &sources {
        match identity_value(source, request) {
            Some(value) => values.push(value),
            None => return Err(GatewayError::unauthorized()),
        }
    }
    let token = (authorizer.kind == AuthorizerType::Token).then(|| values.first().cloned()).flatten();
    if let (Some(token), Some(expression)) = (&token, &authorizer.identity_validation_expression) {
        let matched = fancy_regex::Regex::new(&format!("^(?:{expression})$"))
            .ok()
            .and_then(|re| re.is_match(token).ok())
            .unwrap_or(false);
        if !matched {
            return Err(GatewayError::unauthorized());
        }
    }
    let cache_key =
        (request.api_id.to_owned(), request.deployment_id.to_owned(), authorizer.id.clone(), values);
    let now = Instant::now();
    let cached =
        if authorizer.result_ttl_seconds > 0 { state.authorizer_cache.get(&cache_key, now) } else { None };
    let result = match cached {
        Some(result) => result,
        None => {
            let result = call_authorizer(state, authorizer, request, token.as_deref()).await?;
            if authorizer.result_ttl_seconds > 0 {
                let until = now + Duration::from_secs(u64::from(authorizer.result_ttl_seconds));
                state.authorizer_cache.put(cache_key, until, result.clone());
            }
            result
        }
    };
    match result.decide(request.method_arn) {
        Decision::Allow => Ok(result),
        Decision::ExplicitDeny => Err(GatewayError::explicit_deny()),
        Decision::ImplicitDeny => Err(GatewayError::implicit_deny()),
    }
}

async fn call_authorizer(
    state: &AppState,
    authorizer: &Authorizer,
    request: &AuthorizerRequest<'_>,
    token: Option<&str>,
) -> Result<AuthorizerResult, GatewayError> {
    let event = authorizer_event(authorizer, request, token);
    let payload =
        serde_json::to_vec(&event).map_err(|e| configuration_error(authorizer, request, &e.to_string()))?;
    let call = lambda_call::Call {
        uri: &authorizer.authorizer_uri,
        stage_variables: request.stage_variables,
        tenant: None,
        payload,
        request_id: uuid::Uuid::new_v4().to_string(),
        timeout: AUTHORIZER_TIMEOUT,
    };
    let answer = match lambda_call::call(state, call).await {
        Ok(answer) => answer,
        Err(CallError::Refused(reason)) => {
            return Err(configuration_error(
                authorizer,
                request,
                &format!("Lambda refused the authorizer's invocation (a PER_TENANT function cannot be an authorizer: it is called without a tenant id): {reason}"),
            ))
        }
        Err(CallError::Timeout) => return Err(configuration_error(authorizer, request, "the authorizer timed out")),
    };
    match answer {
        Ok(payload) => {
            parse_response(&payload).map_err(|reason| configuration_error(authorizer, request, &reason))
        }
        Err(failure) => {
            let message = serde_json::from_slice::<Value>(&failure.body)
                .ok()
                .and_then(|doc| doc.get("errorMessage").and_then(Value::as_str).map(str::to_owned));
            if message.as_deref() == Some("Unauthorized") {
                return Err(GatewayError::unauthorized());
            }
            Err(configuration_error(
                authorizer,
                request,
                &format!("function error {}: {}", failure.error_type, String::from_utf8_lossy(&failure.body)),
            ))
        }
    }
}

/// The ARN a policy is evaluated against: `{api}/{stage}/{METHOD}/{path without /}`.
pub fn method_arn(region: &str, api_id: &str, stage: &str, http_method: &str, path: &str) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{api_id}/{stage}/{http_method}/{}",
        alcove_core::ACCOUNT_ID,
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(effect: &str, resource: Value) -> Vec<u8> {
        json!({
            "principalId": "user-a",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"tenantId": "Blue", "n": 3, "admin": true},
            "usageIdentifierKey": "k"
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn policies_decide_per_method() {
        let arn = method_arn("us-east-1", "abc", "prod", "GET", "/pets/1");
        assert_eq!(arn, "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/1");
        let allow =
            parse_response(&answer("Allow", json!("arn:aws:execute-api:*:*:abc/prod/GET/*"))).unwrap();
        assert_eq!(allow.decide(&arn), Decision::Allow);
        assert_eq!(
            allow.decide(&method_arn("us-east-1", "abc", "prod", "POST", "/pets/1")),
            Decision::ImplicitDeny
        );
        let deny = parse_response(&answer("Deny", json!(["*"]))).unwrap();
        assert_eq!(deny.decide(&arn), Decision::ExplicitDeny);
        assert_eq!(allow.context.get("n").map(String::as_str), Some("3"));
        assert_eq!(allow.context.get("admin").map(String::as_str), Some("true"));
        assert_eq!(allow.usage_identifier_key.as_deref(), Some("k"));
        let value = allow.event_value(5);
        assert_eq!(
            (value["principalId"].as_str(), value["tenantId"].as_str()),
            (Some("user-a"), Some("Blue"))
        );
        // Deny wins over Allow.
        let both = json!({"principalId": "u", "policyDocument": {"Statement": [
            {"Action": "*", "Effect": "Allow", "Resource": "*"},
            {"Action": ["execute-api:*"], "Effect": "Deny", "Resource": [arn.clone()]}
        ]}});
        assert_eq!(parse_response(both.to_string().as_bytes()).unwrap().decide(&arn), Decision::ExplicitDeny);
        // `?` is one character; actions match case-insensitively.
        let one = |resource: &str| {
            let doc = json!({"principalId": "u", "policyDocument": {"Statement": [
                {"Action": "Execute-API:invoke", "Effect": "Allow", "Resource": resource}]}});
            parse_response(doc.to_string().as_bytes()).unwrap().decide(&arn)
        };
        assert_eq!(one("arn:aws:execute-api:*:*:abc/prod/*/pets/?"), Decision::Allow);
        assert_eq!(one("arn:aws:execute-api:*:*:abc/prod/*/pets/??"), Decision::ImplicitDeny);
    }

    #[test]
    fn malformed_answers_are_refused() {
        for bad in [
            json!({"policyDocument": {"Statement": []}}),
            json!({"principalId": "u"}),
            json!({"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Maybe"}]}}),
            json!({"principalId": "u", "policyDocument": {"Statement": []}, "context": {"o": {"x": 1}}}),
        ] {
            assert!(parse_response(bad.to_string().as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_response(b"not json").is_err());
    }

    #[test]
    fn the_cache_expires() {
        let cache = AuthorizerCache::default();
        let result = parse_response(&answer("Allow", json!("*"))).unwrap();
        let key: CacheKey = ("a".into(), "d".into(), "z".into(), vec!["t".into()]);
        let now = Instant::now();
        cache.put(key.clone(), now + Duration::from_secs(10), result.clone());
        assert_eq!(cache.get(&key, now).map(|r| r.principal_id), Some(result.principal_id));
        assert!(cache.get(&key, now + Duration::from_secs(11)).is_none());
    }
}
