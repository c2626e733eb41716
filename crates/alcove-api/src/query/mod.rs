//! The Query protocol (form-encoded `Action=...&Version=...` requests, XML answers) of
//! CloudFormation and STS. This module reads the request into a [`Form`], picks the
//! service (by the SigV4 signing name, or for unsigned requests by `Version` and
//! `Action`), hands the form to that service's operation and writes what it answers,
//! result or error, through [`xml`], the one XML writer of the protocol.

mod error;
pub mod form;
pub mod xml;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

pub use error::QueryError;
pub use form::Form;

use crate::service::Service;
use crate::AppState;

/// The largest request body read: a 51,200-byte template, percent-encoded, with room.
const MAX_BODY: usize = 1 << 20;

/// A Query-protocol service and the XML namespace of its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryService {
    CloudFormation,
    Sts,
}

impl QueryService {
    pub fn namespace(self) -> &'static str {
        match self {
            QueryService::CloudFormation => "http://cloudformation.amazonaws.com/doc/2010-05-15/",
            QueryService::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }

    /// An unsigned request: STS by its API version or action, else CloudFormation.
    fn guess(form: &Form) -> QueryService {
        let sts = form.get("Version") == Some("2011-06-15")
            || form.get("Action").is_some_and(crate::sts::is_action);
        if sts {
            QueryService::Sts
        } else {
            QueryService::CloudFormation
        }
    }
}

/// What an operation needs besides its members.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub form: &'a Form,
    pub headers: &'a HeaderMap,
    pub request_id: &'a str,
    /// The verified caller (`sigv4` mode only).
    pub caller: Option<&'a crate::auth::Caller>,
}

impl Call<'_> {
    /// Writes an operation's outcome for `service`.
    pub fn answer<T: Serialize>(
        &self,
        service: QueryService,
        action: &str,
        outcome: Result<T, QueryError>,
    ) -> Response {
        match outcome {
            Ok(result) => xml::success(service.namespace(), action, &result, self.request_id),
            Err(error) => xml::failure(service.namespace(), &error, self.request_id),
        }
    }
}

/// Serves one Query-protocol request for `service` (`None`: unsigned, picked by `Action`).
pub async fn serve(state: AppState, service: Option<Service>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let mut form = Form::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let body = axum::body::to_bytes(body, MAX_BODY).await;
    if let Ok(bytes) = &body {
        form.extend(bytes);
    }
    let target = match service {
        Some(Service::Sts) => QueryService::Sts,
        Some(_) => QueryService::CloudFormation,
        None => QueryService::guess(&form),
    };
    if body.is_err() {
        let error = QueryError::Validation(format!("Request body is larger than {MAX_BODY} bytes"));
        return xml::failure(target.namespace(), &error, &request_id);
    }
    let caller = parts.extensions.get::<crate::auth::Caller>();
    let call = Call { state: &state, form: &form, headers: &parts.headers, request_id: &request_id, caller };
    let action = match form.get("Action") {
        Some(action) if !action.is_empty() => action.to_owned(),
        _ => return xml::failure(target.namespace(), &QueryError::MissingAction, &request_id),
    };
    match target {
        QueryService::CloudFormation => crate::cloudformation::dispatch(&call, &action).await,
        QueryService::Sts => crate::sts::dispatch(&call, &action),
    }
}
