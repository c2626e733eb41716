//! Alcove's HTTP surfaces: the Lambda API (REST-JSON, as botocore's service model
//! defines it: control plane and Invoke), the download of stored code packages, API
//! Gateway REST APIs (control plane and the stage URLs that invoke functions), CloudWatch
//! Logs and SSM Parameter Store (JSON 1.1 on `POST /`, by `X-Amz-Target`), CloudFormation and STS (the Query
//! protocol, `query/`), and Alcove's own API under
//! `/alcove/v1` (tenant limits, usage, environments, logs by tenant) and `/metrics`.
//! Handlers turn wire shapes into domain calls; every failure leaves through
//! [`error::ApiError`] or, for API Gateway and the JSON 1.1 services (Logs, SSM), [`error::GatewayError`]
//! and [`error::Json11Error`].

#![forbid(unsafe_code)]

mod apigateway;
pub mod auth;
mod cloudformation;
mod cluster;
pub mod error;
mod function_callers;
mod function_url;
mod host;
mod in_process;
mod json11;
mod lambda;
mod logs;
mod native;
mod query;
mod request;
mod s3;
mod service;
mod ssm;
mod sts;
mod wire;

use std::sync::Arc;

use alcove_async::Dispatcher;
use alcove_core::Store;
use alcove_envs::Manager;
use alcove_store::CodeStore;
use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
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
    /// API Gateway stage throttles: token buckets shared by every caller of a stage.
    pub throttles: apigateway::Throttles,
    /// Lambda authorizers' results, by identity, for their TTL.
    pub authorizer_cache: apigateway::AuthorizerCache,
    /// How long after a create, publish or update commits its version settles (`State`
    /// `Pending` → `Active`, `LastUpdateStatus` `InProgress` → `Successful`).
    pub state_transition_delay: std::time::Duration,
    /// The CloudFormation engine (stacks, change sets, exports).
    pub cloudformation: alcove_cloudformation::CloudFormation,
    /// Every service, reached in-process as a client reaches it (a `TemplateURL`'s
    /// object is read from S3 through it).
    pub services: Arc<dyn alcove_cloudformation::services::Services>,
    /// The S3 subset's buckets and objects (deployment packages, templates).
    pub objects: alcove_s3::ObjectStore,
    /// The SSM Parameter Store subset's parameters.
    pub parameters: alcove_ssm::ParameterStore,
    /// Who may call, and the access keys and role policies that say so.
    pub auth: auth::AuthState,
    /// The other nodes sharing this node's store, when it runs in a cluster.
    pub cluster: Option<ClusterRouting>,
}

/// The parsers behind the HTTP surfaces, reachable for the fuzz targets of `alcove-fuzz`
/// (which feed them hostile bytes); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::apigateway::fuzzing::*;
    pub use crate::query::Form;
    pub use crate::s3::fuzzing::*;
}

pub use cluster::ClusterRouting;
pub use function_callers::{FunctionCallers, DEFAULT_CREDENTIALS_LIFETIME};
pub use in_process::InProcessServices;
pub use lambda::provisioned::restore as restore_provisioned_concurrency;
pub use native::usage::flush as flush_usage;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let services = lambda::routes()
        .route("/", axum::routing::post(json11::dispatch))
        .merge(apigateway::routes())
        .merge(native::routes())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .with_state(state.clone());
    // The API Gateway data plane is picked out before routing (by path or Host header);
    // everything else goes to the routes above.
    let api = Router::new()
        .fallback_service(services)
        .layer(middleware::from_fn_with_state(state.clone(), apigateway::execute_api))
        .layer(middleware::from_fn_with_state(state.clone(), function_url::serve_url))
        .layer(middleware::from_fn_with_state(state.clone(), by_service))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn(request_id))
        .layer(TraceLayer::new_for_http());
    // Invokes forwarded by the other nodes of a cluster were authenticated where they
    // arrived; they carry the cluster's secret instead (see `cluster`).
    Router::new()
        .route(cluster::FORWARD_PATH, axum::routing::post(cluster::serve_forwarded))
        .with_state(state)
        .fallback_service(api)
}

/// Services whose requests cannot be told apart by path (S3's `/{bucket}/{key}`, the
/// Query protocol's `POST /`) are picked out here, by the service the request is signed
/// for or, unsigned, by its shape; the rest go on to the routes.
async fn by_service(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match service::signed_for(request.headers(), request.uri()) {
        Some(service::Service::S3) => s3::serve(state, request).await,
        Some(service @ (service::Service::Sts | service::Service::CloudFormation)) => {
            query::serve(state, Some(service), request).await
        }
        Some(_) => next.run(request).await,
        None if is_query_protocol(&request) => query::serve(state, None, request).await,
        None => next.run(request).await,
    }
}

/// An unsigned `POST /` with a form body and no JSON target is a Query-protocol call.
fn is_query_protocol(request: &Request) -> bool {
    let form = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    request.method() == axum::http::Method::POST
        && request.uri().path() == "/"
        && form
        && !request.headers().contains_key("x-amz-target")
}

/// A path or method no operation serves, answered in the shape of the service the path
/// belongs to.
async fn unknown_operation(uri: Uri) -> Response {
    if apigateway::is_control_plane_path(uri.path()) {
        error::GatewayError::unknown_operation().into_response()
    } else {
        error::ApiError::unknown_operation().into_response()
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alcove_envs::{ManagerSettings, RuntimeSettings};
    use alcove_store::SqlStore;
    use axum::body::Body;
    use axum::http::{Method, StatusCode};
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use super::*;

    pub(crate) async fn state(dir: &std::path::Path) -> AppState {
        let store = Arc::new(SqlStore::open_in_memory().await.unwrap());
        let code = CodeStore::open(dir.join("code")).unwrap();
        let envs = Manager::new(ManagerSettings {
            runtimes: RuntimeSettings {
                node: "node".into(),
                node_bootstrap: dir.join("bootstrap.mjs"),
                python: "python3".into(),
                region: "us-east-1".into(),
                sandbox: None,
                function_access: None,
            },
            logs_root: dir.to_path_buf(),
            log_store: alcove_envs::LogStore::open(&dir.join("logs.db"), Default::default()).unwrap(),
            idle_timeout: Duration::from_secs(60),
            max_environments: 1,
            tenant_isolation_unavailable: None,
            account_concurrency: 1000,
            queue_wait: Duration::ZERO,
            log_limits: Default::default(),
        });
        let events =
            Dispatcher::start(store.clone(), store.clone(), code.clone(), envs.clone(), Default::default());
        let prices = Arc::new(alcove_core::PriceTable::default_table());
        let services = InProcessServices::new("us-east-1");
        let settings = alcove_cloudformation::Settings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            sam_python: "python3".into(),
        };
        let cloudformation =
            alcove_cloudformation::CloudFormation::open(&dir.join("stacks.db"), services.clone(), settings)
                .unwrap();
        AppState {
            store,
            code,
            account: AccountConfig::default(),
            envs,
            events,
            prices,
            throttles: Default::default(),
            authorizer_cache: Default::default(),
            state_transition_delay: Duration::ZERO,
            cloudformation,
            services,
            objects: alcove_s3::ObjectStore::open(&dir.join("s3")).unwrap(),
            parameters: alcove_ssm::ParameterStore::open(&dir.join("ssm")).unwrap(),
            auth: auth::AuthState::open(auth::Mode::None, &dir.join("auth")).unwrap(),
            cluster: None,
        }
    }

    async fn call(
        app: &Router,
        method: Method,
        uri: &str,
        host: &str,
        body: &str,
    ) -> (StatusCode, String, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("x-amzn-ErrorType")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, kind, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn each_surface_answers_in_its_own_shape() {
        let dir = tempfile::tempdir().unwrap();
        let app = router(state(dir.path()).await);
        let local = "127.0.0.1:9000";
        // Lambda keeps its error shape; API Gateway's control plane has its own.
        let (status, kind, body) = call(&app, Method::GET, "/2015-03-31/nothing", local, "").await;
        assert_eq!(
            (status, kind.as_str(), &body["Type"]),
            (StatusCode::NOT_FOUND, "UnknownOperationException", &json!("User"))
        );
        let (status, kind, body) = call(&app, Method::GET, "/restapis/abc/unknown/a/b", local, "").await;
        assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, "NotFoundException"));
        assert_eq!(body, json!({"message": "Unknown operation"}));
        let (status, kind, _) = call(&app, Method::DELETE, "/restapis", local, "").await;
        assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, "NotFoundException"));
        let (status, _, body) = call(&app, Method::GET, "/restapis/nosuchapi", local, "").await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                json!({"message": "Invalid API identifier specified 000000000000:nosuchapi"})
            )
        );
        // A new API, not deployed: its stage URLs answer Forbidden, by path and by host.
        let (status, _, api) = call(&app, Method::POST, "/restapis", local, r#"{"name": "t"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        let id = api["id"].as_str().unwrap();
        let (status, _, body) =
            call(&app, Method::GET, &format!("/restapis/{id}/prod/_user_request_/x"), local, "").await;
        assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({"message": "Forbidden"})));
        let host = format!("{id}.execute-api.localhost:9000");
        let (status, _, _) = call(&app, Method::GET, "/prod/x", &host, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = call(&app, Method::GET, "/prod/x", "other.execute-api.localhost", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // The control plane still reads the API: a stage named like a collection is no clash.
        let (status, _, resources) =
            call(&app, Method::GET, &format!("/restapis/{id}/resources"), local, "").await;
        assert_eq!((status, resources["item"][0]["path"].clone()), (StatusCode::OK, json!("/")));
    }
    async fn post_form(app: &Router, signed_for: Option<&str>, form: &str) -> (StatusCode, String, String) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("host", "127.0.0.1:9000")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        if let Some(service) = signed_for {
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261201/us-east-1/{service}/aws4_request, \
                 SignedHeaders=host, Signature=0"
            );
            request = request.header("authorization", auth);
        }
        let response = app.clone().oneshot(request.body(Body::from(form.to_owned())).unwrap()).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, kind, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn query_protocol_calls_reach_their_service_by_signature_or_version() {
        let dir = tempfile::tempdir().unwrap();
        let app = router(state(dir.path()).await);
        let (status, kind, body) =
            post_form(&app, Some("cloudformation"), "Action=Frobnicate&Version=2010-05-15").await;
        assert_eq!((status, kind.as_str()), (StatusCode::BAD_REQUEST, "text/xml"));
        assert!(body.starts_with(
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
             <Code>InvalidAction</Code>"
        ));
        let (status, _, body) =
            post_form(&app, Some("sts"), "Action=GetCallerIdentity&Version=2011-06-15").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<UserId>AKIDTEST</UserId>"), "{body}");
        let (status, _, body) = post_form(&app, None, "Action=GetCallerIdentity&Version=2011-06-15").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body
            .starts_with("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
        let (status, _, body) = post_form(&app, None, "Action=DescribeStackEvents&Version=2010-05-15").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("<Message>1 validation error detected: Value null at 'stackName' failed"),
            "{body}"
        );
        // Signed for Lambda, the same form is not a Query-protocol call.
        let (_, kind, _) = post_form(&app, Some("lambda"), "Action=Frobnicate&Version=2010-05-15").await;
        assert_ne!(kind, "text/xml");
    }
}
