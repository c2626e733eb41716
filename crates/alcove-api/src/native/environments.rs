//! `GET /alcove/v1/environments[?function=F]`: the execution environments alive now, with
//! their tenant, state (busy, idle, or frozen between invokes), age, invocations served
//! and current memory use.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct EnvironmentsQuery {
    pub function: Option<String>,
}

/// The answer: `{"Environments": [...]}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentsResponse {
    pub environments: Vec<EnvironmentDocument>,
}

/// One execution environment. `TenantId` is `null` for a function without tenant
/// isolation; `MemoryUsedBytes` is `null` when the sandbox cannot tell.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentDocument {
    pub id: String,
    pub function_name: String,
    pub version: String,
    pub tenant_id: Option<String>,
    pub state: &'static str,
    pub age_seconds: f64,
    pub invocations: u64,
    pub memory_used_bytes: Option<u64>,
    pub sandboxed: bool,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<EnvironmentsQuery>,
) -> Json<EnvironmentsResponse> {
    let now = std::time::SystemTime::now();
    let environments = state
        .envs
        .environments()
        .into_iter()
        .filter(|env| query.function.as_deref().is_none_or(|f| env.function.as_str() == f))
        .map(|env| EnvironmentDocument {
            id: env.id.clone(),
            function_name: env.function.as_str().to_owned(),
            version: env.version.to_string(),
            tenant_id: env.tenant.as_ref().map(|t| t.as_str().to_owned()),
            state: env.state.as_str(),
            age_seconds: now.duration_since(env.started).map(|d| d.as_secs_f64()).unwrap_or(0.0),
            invocations: env.invokes,
            memory_used_bytes: env.memory_used_bytes(),
            sandboxed: env.sandboxed,
        })
        .collect();
    Json(EnvironmentsResponse { environments })
}
