//! `GET /alcove/v1/environments[?function=F]`: the execution environments alive now, with
//! their tenant, state (busy, idle, or frozen between invokes), age, invocations served
//! and current memory use.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct EnvironmentsQuery {
    pub function: Option<String>,
}

pub async fn list(State(state): State<AppState>, Query(query): Query<EnvironmentsQuery>) -> Json<Value> {
    let now = std::time::SystemTime::now();
    let environments: Vec<Value> = state
        .envs
        .environments()
        .into_iter()
        .filter(|env| query.function.as_deref().is_none_or(|f| env.function.as_str() == f))
        .map(|env| {
            json!({
                "Id": env.id,
                "FunctionName": env.function.as_str(),
                "Version": env.version.to_string(),
                "TenantId": env.tenant.as_ref().map(|t| t.as_str()),
                "State": env.state.as_str(),
                "AgeSeconds": now.duration_since(env.started).map(|d| d.as_secs_f64()).unwrap_or(0.0),
                "Invocations": env.invokes,
                "MemoryUsedBytes": env.memory_used_bytes(),
                "Sandboxed": env.sandboxed,
            })
        })
        .collect();
    Json(json!({ "Environments": environments }))
}
