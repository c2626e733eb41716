//! The services a CloudFormation stack's resources live in, reached in-process through
//! Alcove's own HTTP application: each request is dispatched through the full router,
//! middleware included, so a stack's function or API is parsed, validated and stored
//! exactly as one a client creates. Requests carry a SigV4-shaped `Authorization` header
//! whose credential scope names the service and region, because that is what the edge
//! dispatches S3 and reads the region by; nothing checks the signature.
//!
//! The engine needs its services when it opens (it resumes unfinished stacks at once),
//! before the router that serves the engine exists; so the handle is created first and
//! the router attached afterwards, and calls made before that wait for it.

use alcove_cloudformation::services::{Service, ServiceRequest, ServiceResponse, Services};
use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use std::sync::Arc;
use tokio::sync::watch;
use tower::ServiceExt;

/// [`Services`] served by this server's own router.
pub struct InProcessServices {
    region: String,
    router: watch::Sender<Option<Router>>,
}

impl InProcessServices {
    pub fn new(region: impl Into<String>) -> Arc<Self> {
        Arc::new(InProcessServices { region: region.into(), router: watch::Sender::new(None) })
    }

    /// Makes `router` the application requests are sent through; calls waiting for it
    /// proceed.
    pub fn attach(&self, router: Router) {
        self.router.send_replace(Some(router));
    }

    async fn router(&self) -> Router {
        let mut attached = self.router.subscribe();
        // The sender lives as long as `self`, so the wait ends only with a router.
        let router = match attached.wait_for(Option::is_some).await {
            Ok(router) => router.clone().unwrap_or_default(),
            Err(_) => Router::new(),
        };
        router
    }

    fn authorization(&self, service: Service) -> String {
        let date = chrono::Utc::now().format("%Y%m%d");
        format!(
            "AWS4-HMAC-SHA256 Credential=cloudformation/{date}/{}/{}/aws4_request, SignedHeaders=host, Signature=0",
            self.region,
            signing_name(service)
        )
    }
}

/// The SigV4 signing name of each service.
fn signing_name(service: Service) -> &'static str {
    match service {
        Service::Lambda => "lambda",
        Service::ApiGateway => "apigateway",
        Service::S3 => "s3",
        Service::Logs => "logs",
        Service::Ssm => "ssm",
    }
}

/// An answer made here rather than by a service (the request could not be built, or the
/// router failed); shaped as a service's 500 so callers report it as such.
fn internal_failure(message: &str) -> ServiceResponse {
    ServiceResponse {
        status: 500,
        headers: vec![("x-amzn-ErrorType".into(), "InternalFailure".into())],
        body: serde_json::to_vec(&serde_json::json!({ "message": message })).unwrap_or_default().into(),
    }
}

#[async_trait]
impl Services for InProcessServices {
    async fn call(&self, request: ServiceRequest) -> ServiceResponse {
        let mut builder = Request::builder()
            .method(request.method)
            .uri(request.path_and_query)
            .header("host", "localhost")
            .header("authorization", self.authorization(request.service));
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut http_request = match builder.body(Body::from(request.body)) {
            Ok(built) => built,
            Err(error) => return internal_failure(&format!("the request could not be built: {error}")),
        };
        // The engine's own calls are trusted: an extension no client can set.
        http_request.extensions_mut().insert(crate::auth::Trusted);
        let response = match self.router().await.oneshot(http_request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        match axum::body::to_bytes(response.into_body(), usize::MAX).await {
            Ok(body) => ServiceResponse { status, headers, body },
            Err(error) => internal_failure(&format!("the response could not be read: {error}")),
        }
    }
}
