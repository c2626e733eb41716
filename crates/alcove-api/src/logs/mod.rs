//! The CloudWatch Logs API subset, on the same endpoint as Lambda: `POST /` with
//! `X-Amz-Target: Logs_20140328.<Operation>` and a JSON 1.1 body, as botocore's `logs`
//! model defines it, so `aws logs ...` and `boto3.client("logs")` work unchanged. Each
//! operation is a function of its JSON request to its JSON answer (`operations.rs`); the
//! members are read and rendered in `wire.rs`; every failure leaves as a
//! [`Json11Error`]. `json11.rs` reads the request and writes the answer.

mod operations;
mod wire;

use serde_json::Value;

use crate::error::Json11Error;
use crate::AppState;

/// The target prefix of every CloudWatch Logs operation.
pub const TARGET_PREFIX: &str = "Logs_20140328.";

/// Runs one operation (the name after [`TARGET_PREFIX`]) on the log store.
pub async fn run(
    state: &AppState,
    region: String,
    operation: String,
    request: Value,
) -> Result<Value, Json11Error> {
    let store = state.envs.log_store().clone();
    let context = operations::Context { store, region };
    let answer = tokio::task::spawn_blocking(move || operations::run(&context, &operation, &request)).await;
    answer.unwrap_or_else(|join| Err(Json11Error::internal(format!("the logs task failed: {join}"))))
}
