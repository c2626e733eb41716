//! Waiting for a function (or one of its versions) to settle, as CloudFormation's Lambda
//! handler does: a create leaves it `Pending` and an update leaves `LastUpdateStatus`
//! `InProgress` for a while, and dependants (an alias, a version, another update) are
//! refused until it is `Active` and `Successful`.

use std::time::Duration;

use http::Method;
use serde_json::Value;

use crate::resource::{Context, ResourceError};
use crate::resources::call::{segment, send};
use crate::services::{Service, ServiceRequest};

/// How long a function may stay unsettled before the resource fails.
const LIMIT: Duration = Duration::from_secs(600);

/// Polls GetFunctionConfiguration until the function settles; answers its configuration.
pub async fn settled(
    context: &Context<'_>,
    function: &str,
    qualifier: Option<&str>,
) -> Result<Value, ResourceError> {
    let mut path = format!("/2015-03-31/functions/{}/configuration", segment(function));
    if let Some(qualifier) = qualifier {
        path.push_str(&format!("?Qualifier={}", segment(qualifier)));
    }
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(25);
    loop {
        let configuration =
            send(context, ServiceRequest::empty(Service::Lambda, Method::GET, path.clone())).await?.json();
        let state = configuration["State"].as_str().unwrap_or("Active");
        let update = configuration["LastUpdateStatus"].as_str().unwrap_or("Successful");
        if state == "Failed" || update == "Failed" {
            let reason = configuration["StateReason"]
                .as_str()
                .or_else(|| configuration["LastUpdateStatusReason"].as_str())
                .unwrap_or("the function failed to settle");
            return Err(ResourceError::Service(format!(
                "Resource handler returned message: \"{reason}\" (RequestToken: {}, HandlerErrorCode: NotStabilized)",
                uuid::Uuid::new_v4()
            )));
        }
        if state != "Pending" && update != "InProgress" {
            return Ok(configuration);
        }
        if started.elapsed() > LIMIT {
            return Err(ResourceError::Service(format!(
                "Exceeded attempts to wait (RequestToken: {}, HandlerErrorCode: NotStabilized)",
                uuid::Uuid::new_v4()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}
