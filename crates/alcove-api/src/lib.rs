//! Alcove's HTTP surfaces. Today: the Lambda API (REST-JSON, as botocore's service model
//! defines it: control plane and Invoke) and the download of stored code packages. Handlers turn wire
//! shapes into domain calls; every failure leaves through [`error::ApiError`].

pub mod error;
mod lambda;
mod native;
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

    /// The most all reservations together may take: what leaves the unreserved minimum
    /// (or, on an account smaller than that minimum, nothing).
    pub fn max_total_reserved(&self) -> u32 {
        self.concurrency_limit.saturating_sub(Self::UNRESERVED_MINIMUM)
    }
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
    /// Prices the usage report charges by.
    pub prices: Arc<alcove_core::PriceTable>,
}

pub use native::usage::flush as flush_usage;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    lambda::routes()
        .merge(native::routes())
        .with_state(state)
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
