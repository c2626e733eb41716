//! One synchronous call of a Lambda function named by an API Gateway URI
//! (`arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<fn>/invocations`),
//! through the same path as Lambda's Invoke. Shared by the proxy integration and the
//! Lambda authorizers, which differ only in how they answer the client when it fails.

use std::collections::BTreeMap;
use std::time::Duration;

use alcove_core::apigateway::model::{lambda_function_of, substitute_stage_variables};
use alcove_core::FunctionRef;
use alcove_envs::FunctionFailure;
use bytes::Bytes;

use crate::lambda::invoke::{run_sync, tenant_for, SyncInvoke, SYNC_PAYLOAD_LIMIT};
use crate::lambda::resolve_invocation;
use crate::request::DEFAULT_REGION;
use crate::AppState;

/// Why a call produced no answer from the function.
#[derive(Debug)]
pub enum CallError {
    /// Lambda refused the invocation (no such function, a tenant rule, ...).
    Refused(String),
    /// The function did not answer within the timeout.
    Timeout,
}

/// What to call, with what.
pub struct Call<'a> {
    pub uri: &'a str,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub tenant: Option<String>,
    pub payload: Vec<u8>,
    pub request_id: String,
    pub timeout: Duration,
}

/// The region of an integration URI (`arn:aws:apigateway:<region>:lambda:...`).
pub fn region_of(uri: &str) -> String {
    uri.split(':').nth(3).filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REGION).to_owned()
}

/// Invokes the function and hands back its payload or its error document.
pub async fn call(state: &AppState, call: Call<'_>) -> Result<Result<Bytes, FunctionFailure>, CallError> {
    let refused = |reason: String| CallError::Refused(reason);
    let function = lambda_function_of(call.uri).map_err(|e| refused(e.to_string()))?;
    let function =
        substitute_stage_variables(function, call.stage_variables).map_err(|e| refused(e.to_string()))?;
    let reference = FunctionRef::parse(&function).map_err(|e| refused(e.to_string()))?;
    let region = region_of(call.uri);
    let config = resolve_invocation(state, &reference, &region).await.map_err(|e| refused(e.message))?;
    let arn = match &reference.qualifier {
        Some(q) => format!("{}:{q}", config.arn(&region)),
        None => config.arn(&region),
    };
    // The tenant id is checked exactly as Invoke checks `X-Amz-Tenant-Id`.
    let tenant =
        tenant_for(&config, call.tenant.as_deref(), &config.arn(&region)).map_err(|e| refused(e.message))?;
    if call.payload.len() > SYNC_PAYLOAD_LIMIT {
        return Err(refused(format!(
            "the event is {} bytes, over Lambda's {SYNC_PAYLOAD_LIMIT}",
            call.payload.len()
        )));
    }
    let invoke = run_sync(
        state,
        SyncInvoke {
            config,
            tenant,
            payload: call.payload.into(),
            invoked_function_arn: arn,
            client_context: None,
            want_log_tail: false,
            request_id: call.request_id,
        },
    );
    // On timeout the invoke still runs to its end in the manager; only the caller stops waiting.
    let outcome = tokio::time::timeout(call.timeout, invoke).await.map_err(|_| CallError::Timeout)?;
    Ok(outcome.map_err(|e| refused(format!("{}: {}", e.code, e.message)))?.result)
}
