//! Alcove's HTTP surfaces: the Lambda API (REST-JSON, as botocore's service model
//! defines it: control plane and Invoke), the download of stored code packages, and API
//! Gateway REST APIs (control plane and the stage URLs that invoke functions). Handlers
//! turn wire shapes into domain calls; every failure leaves through [`error::ApiError`]
//! or, for API Gateway, [`error::GatewayError`].

mod apigateway;
pub mod error;
mod lambda;
mod request;
mod wire;

use std::sync::Arc;

use alcove_core::Store;
use alcove_async::Dispatcher;
use alcove_envs::Manager;
use alcove_store::CodeStore;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::trace::TraceLayer;

/// Account-level settings of this server.
#[derive(Debug, Clone, Copy)]
pub struct AccountConfig {
    /// The account's concurrency limit, shared by all functions.
    pub concurrency_limit: u32,
}

impl AccountConfig {
    /// Concurrency Lambda keeps unreserved for functions without a reservation.
    pub const UNRESERVED_MINIMUM: u32 = 100;
}

impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig { concurrency_limit: 1000 }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub code: CodeStore,
    pub account: AccountConfig,
    pub envs: Manager,
    pub events: Dispatcher,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let services = lambda::routes().merge(apigateway::routes()).with_state(state.clone());
    // The API Gateway data plane is picked out before routing (by path or Host header);
    // everything else goes to the routes above.
    Router::new()
        .fallback_service(services)
        .layer(middleware::from_fn_with_state(state, apigateway::execute_api))
        .layer(middleware::from_fn(request_id))
        .layer(TraceLayer::new_for_http())
}

/// Every response carries a request id, as AWS's do.
async fn request_id(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key("x-amzn-requestid") {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert("x-amzn-RequestId", value);
        }
    }
    response
}
