//! How resource types reach the services they manage: as CloudFormation's own handlers
//! do on AWS, through each service's public API. Alcove's HTTP edge implements
//! [`Services`] by dispatching the request in-process to the same handlers a client would
//! reach, so a stack's function is validated, stored and settled exactly as one created
//! with the CLI, and this crate depends on no service's internals.

use async_trait::async_trait;
use bytes::Bytes;

/// The AWS service a request is addressed to; it picks the protocol the edge parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// REST-JSON, `/2015-03-31/...`.
    Lambda,
    /// REST-JSON, `/restapis/...`.
    ApiGateway,
    /// REST-XML, path-style `/{bucket}/{key}`.
    S3,
    /// JSON 1.1, `POST /` with `X-Amz-Target: Logs_20140328.<Operation>`.
    Logs,
    /// JSON 1.1, `POST /` with `X-Amz-Target: AmazonSSM.<Operation>`.
    Ssm,
}

/// One request to a service's public API.
#[derive(Debug, Clone)]
pub struct ServiceRequest {
    pub service: Service,
    pub method: http::Method,
    /// Path and query, already percent-encoded.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ServiceRequest {
    /// A request with a JSON body (`Content-Type: application/json`).
    pub fn json(
        service: Service,
        method: http::Method,
        path_and_query: impl Into<String>,
        body: &serde_json::Value,
    ) -> Self {
        ServiceRequest {
            service,
            method,
            path_and_query: path_and_query.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
        }
    }

    /// A request without a body.
    pub fn empty(service: Service, method: http::Method, path_and_query: impl Into<String>) -> Self {
        ServiceRequest {
            service,
            method,
            path_and_query: path_and_query.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A service's answer, as a client would read it.
#[derive(Debug, Clone)]
pub struct ServiceResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ServiceResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is empty or not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The services a stack's resources live in.
#[async_trait]
pub trait Services: Send + Sync + 'static {
    async fn call(&self, request: ServiceRequest) -> ServiceResponse;
}
