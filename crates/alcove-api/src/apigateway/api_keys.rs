//! The data plane's API key check for a method with `apiKeyRequired`: the key comes from
//! the `x-api-key` header (the API's `apiKeySource` `HEADER`) or from the authorizer's
//! `usageIdentifierKey` (`AUTHORIZER`). A missing, unknown or disabled key, or one no
//! usage plan of this stage admits, is 403 `Forbidden`. The plan's per-key token bucket
//! then gives 429 `Too Many Requests`, and its quota 429 `Limit Exceeded`; the quota is
//! counted in the store, so it survives a restart, while the buckets live in memory with
//! the stage throttles.

use std::time::Instant;

use alcove_core::apigateway::ApiKey;

use crate::error::{GatewayError, GatewayResult};
use crate::AppState;

/// Admits the request's key for `api_id`'s `stage`, or answers as API Gateway does.
pub async fn admit(
    state: &AppState,
    api_id: &str,
    stage: &str,
    value: Option<&str>,
) -> GatewayResult<ApiKey> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Err(GatewayError::invalid_api_key());
    };
    let key = match state.store.api_key_by_value(value).await? {
        Some(key) if key.enabled => key,
        _ => return Err(GatewayError::invalid_api_key()),
    };
    let plans = state.store.list_usage_plans().await?;
    let Some(plan) = plans.into_iter().find(|p| p.covers(api_id, stage) && p.key_ids.contains(&key.id))
    else {
        tracing::debug!(api = %api_id, stage, key = %key.id, "no usage plan of the stage admits the API key");
        return Err(GatewayError::invalid_api_key());
    };
    if let Some(limits) = plan.throttle.and_then(|t| t.limits()) {
        let bucket = (format!("usageplan:{}", plan.id), key.id.clone(), String::new());
        if !state.throttles.admit(bucket, limits, Instant::now()) {
            tracing::debug!(plan = %plan.id, key = %key.id, "usage plan throttle exceeded");
            return Err(GatewayError::too_many_requests());
        }
    }
    if let Some(quota) = plan.quota {
        let period_start = quota.period.start_of(alcove_core::clock::epoch_secs());
        let limit = plan.quota_limit(period_start).unwrap_or(quota.limit);
        if state.store.consume_quota(&plan.id, &key.id, period_start, limit).await?.is_none() {
            tracing::debug!(plan = %plan.id, key = %key.id, "usage plan quota exhausted");
            return Err(GatewayError::quota_exceeded());
        }
    }
    Ok(key)
}
