//! `ProvisionedConcurrencyConfig` of a version or an alias: PutProvisionedConcurrencyConfig
//! on the qualifier, or its removal when the template drops it.

use http::Method;
use serde_json::{json, Value};

use crate::resource::{Context, ResourceError};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props;
use crate::services::{Service, ServiceRequest};

pub async fn apply(
    context: &Context<'_>,
    function: &str,
    qualifier: &str,
    config: Option<&Value>,
) -> Result<(), ResourceError> {
    let path = format!(
        "/2019-09-30/functions/{}/provisioned-concurrency?Qualifier={}",
        segment(function),
        segment(qualifier)
    );
    match config.filter(|v| !v.is_null()) {
        Some(config) => {
            let count = config.get("ProvisionedConcurrentExecutions").and_then(props::as_int).ok_or_else(|| {
                ResourceError::InvalidProperties(
                    "Model validation failed (#/ProvisionedConcurrencyConfig: required key [ProvisionedConcurrentExecutions] not found)".into(),
                )
            })?;
            let body = json!({"ProvisionedConcurrentExecutions": count});
            send(context, ServiceRequest::json(Service::Lambda, Method::PUT, path, &body)).await.map(drop)
        }
        None => send_delete(context, ServiceRequest::empty(Service::Lambda, Method::DELETE, path)).await,
    }
}
