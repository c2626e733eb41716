//! GetAccountSettings.

use alcove_core::LIMITS;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::error::ApiResult;
use crate::AppState;

/// `GetAccountSettings`' answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountSettings {
    pub account_limit: AccountLimit,
    pub account_usage: AccountUsage,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountLimit {
    pub total_code_size: u64,
    pub code_size_unzipped: u64,
    pub code_size_zipped: u64,
    pub concurrent_executions: u64,
    pub unreserved_concurrent_executions: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountUsage {
    pub total_code_size: u64,
    pub function_count: u64,
}

pub async fn settings(State(state): State<AppState>) -> ApiResult<Json<AccountSettings>> {
    let usage = state.store.account_usage().await?;
    let limit = u64::from(state.account.concurrency_limit);
    Ok(Json(AccountSettings {
        account_limit: AccountLimit {
            total_code_size: LIMITS.total_code_size,
            code_size_unzipped: LIMITS.code_size_unzipped,
            code_size_zipped: LIMITS.code_size_zipped,
            concurrent_executions: limit,
            unreserved_concurrent_executions: limit.saturating_sub(usage.reserved_concurrency),
        },
        account_usage: AccountUsage {
            total_code_size: usage.total_code_size,
            function_count: usage.function_count,
        },
    }))
}
