//! API Gateway REST APIs (v1), on the same endpoint as the Lambda API. The control plane
//! lives under `/restapis` (botocore's `apigateway` paths, which share nothing with
//! Lambda's `/20xx-xx-xx/...`); the data plane is reached by
//! `/restapis/{api}/{stage}/_user_request_/...` or by a Host header
//! `{api}.execute-api.<domain>` and is picked out before routing, so a stage name can
//! never be mistaken for a control-plane path.
//!
//! - [`control`] and [`deploy`]: the control-plane operations.
//! - [`openapi`]: ImportRestApi / PutRestApi from an OpenAPI document.
//! - [`routing`]: matching a request to a resource and method.
//! - [`event`] and [`response`]: the Lambda proxy integration's event and response.
//! - [`authorizers`]: Lambda authorizers' control plane; [`authorizer_runtime`]: running
//!   them for a request, their policies and their result cache.
//! - [`usage_plans`]: API keys and usage plans (`/apikeys`, `/usageplans`).
//! - [`data_plane`]: a request to a stage, end to end; [`throttle`]: its stage throttles
//!   and the usage plans' per-key buckets.

mod api_keys;
mod authorizer_runtime;
mod authorizers;
mod control;
mod data_plane;
mod deploy;
mod event;
mod lambda_call;
mod openapi;
mod response;
mod routing;
mod throttle;
mod usage_plans;
mod wire;

use axum::routing::{get, post, put};
use axum::Router;

use crate::AppState;

pub use authorizer_runtime::AuthorizerCache;
pub use data_plane::execute_api;

/// Whether a request is for a stage's data plane (public: its protection is the authorizer).
pub fn is_data_plane(host: Option<&str>, path: &str) -> bool {
    data_plane::target_of(host, path).is_some()
}
pub use throttle::Throttles;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/restapis", post(control::create_rest_api).get(control::get_rest_apis))
        .route(
            "/restapis/{api}",
            get(control::get_rest_api)
                .delete(control::delete_rest_api)
                .put(control::put_rest_api)
                .patch(control::update_rest_api),
        )
        .route("/restapis/{api}/resources", get(control::get_resources))
        .route(
            "/restapis/{api}/resources/{resource}",
            get(control::get_resource).post(control::create_resource).delete(control::delete_resource),
        )
        .route(
            "/restapis/{api}/resources/{resource}/methods/{method}",
            put(control::put_method)
                .get(control::get_method)
                .delete(control::delete_method)
                .patch(authorizers::update_method),
        )
        .route(
            "/restapis/{api}/resources/{resource}/methods/{method}/integration",
            put(control::put_integration).get(control::get_integration).delete(control::delete_integration),
        )
        .route(
            "/restapis/{api}/authorizers",
            post(authorizers::create_authorizer).get(authorizers::get_authorizers),
        )
        .route(
            "/restapis/{api}/authorizers/{authorizer}",
            get(authorizers::get_authorizer)
                .patch(authorizers::update_authorizer)
                .delete(authorizers::delete_authorizer),
        )
        .route("/apikeys", post(usage_plans::create_api_key).get(usage_plans::get_api_keys))
        .route(
            "/apikeys/{key}",
            get(usage_plans::get_api_key)
                .patch(usage_plans::update_api_key)
                .delete(usage_plans::delete_api_key),
        )
        .route("/usageplans", post(usage_plans::create_usage_plan).get(usage_plans::get_usage_plans))
        .route(
            "/usageplans/{plan}",
            get(usage_plans::get_usage_plan)
                .patch(usage_plans::update_usage_plan)
                .delete(usage_plans::delete_usage_plan),
        )
        .route(
            "/usageplans/{plan}/keys",
            post(usage_plans::create_usage_plan_key).get(usage_plans::get_usage_plan_keys),
        )
        .route(
            "/usageplans/{plan}/keys/{key}",
            get(usage_plans::get_usage_plan_key).delete(usage_plans::delete_usage_plan_key),
        )
        .route("/usageplans/{plan}/usage", get(usage_plans::get_usage))
        .route("/restapis/{api}/deployments", post(deploy::create_deployment).get(deploy::get_deployments))
        .route(
            "/restapis/{api}/deployments/{deployment}",
            get(deploy::get_deployment).delete(deploy::delete_deployment),
        )
        .route("/restapis/{api}/stages", post(deploy::create_stage).get(deploy::get_stages))
        .route(
            "/restapis/{api}/stages/{stage}",
            get(deploy::get_stage).delete(deploy::delete_stage).patch(deploy::update_stage),
        )
}

/// Whether a path belongs to API Gateway's control plane, for answering unknown
/// operations in its error shape.
pub fn is_control_plane_path(path: &str) -> bool {
    ["/restapis", "/apikeys", "/usageplans"]
        .iter()
        .any(|root| path == *root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/')))
}
