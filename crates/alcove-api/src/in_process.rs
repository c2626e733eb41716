//! The services a CloudFormation stack's resources live in, reached in-process through
//! the router a client would reach. Until the router is attached every call answers
//! 503 `ServiceUnavailable`.

use std::sync::{Arc, OnceLock};

use alcove_cloudformation::services::{ServiceRequest, ServiceResponse, Services};
use async_trait::async_trait;
use axum::Router;

pub struct InProcessServices {
    #[allow(dead_code)]
    region: String,
    router: OnceLock<Router>,
}

impl InProcessServices {
    pub fn new(region: impl Into<String>) -> Arc<InProcessServices> {
        Arc::new(InProcessServices { region: region.into(), router: OnceLock::new() })
    }

    /// Hands over the application once it is built (it holds these services itself).
    pub fn attach(&self, router: Router) {
        let _ = self.router.set(router);
    }
}

#[async_trait]
impl Services for InProcessServices {
    async fn call(&self, _request: ServiceRequest) -> ServiceResponse {
        ServiceResponse {
            status: 503,
            headers: Vec::new(),
            body: bytes::Bytes::from_static(b"{\"message\":\"ServiceUnavailable\"}"),
        }
    }
}
