//! Alcove's own API, under `/alcove/v1`: what Lambda has no operation for. Per-tenant
//! concurrency limits, usage and billing reports, the live list of environments, the
//! dead letters of async invocation, a function's logs with their tenants; and `/metrics` for Prometheus. The
//! wire style follows Lambda's (PascalCase JSON, the same error shapes), so the same
//! clients and habits work.

mod dead_letters;
mod environments;
mod keys;
mod logs;
mod metrics;
mod tenant_limits;
pub mod usage;

use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/alcove/v1/functions/{function}/tenant-limits",
            get(tenant_limits::get).put(tenant_limits::put).delete(tenant_limits::delete),
        )
        .route(
            "/alcove/v1/functions/{function}/tenants/{tenant}/limits",
            put(tenant_limits::put_tenant).delete(tenant_limits::delete_tenant),
        )
        .route("/alcove/v1/usage", get(usage::report))
        .route("/alcove/v1/environments", get(environments::list))
        .route("/alcove/v1/functions/{function}/logs", get(logs::events))
        .route("/alcove/v1/dead-letters", get(dead_letters::list))
        .route("/alcove/v1/keys", get(keys::list).post(keys::create))
        .route("/alcove/v1/keys/{id}", delete(keys::delete))
        .route("/alcove/v1/keys/{id}/rotate", post(keys::rotate))
        .route("/alcove/v1/role-policies", get(keys::list_role_policies))
        .route(
            "/alcove/v1/role-policy",
            get(keys::get_role_policy).put(keys::put_role_policy).delete(keys::delete_role_policy),
        )
        .route("/metrics", get(metrics::render))
}
