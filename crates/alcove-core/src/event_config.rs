//! Asynchronous invocation settings of a function version or alias
//! (Put/Update/Get/Delete/ListFunctionEventInvokeConfigs), and what becomes of an event
//! that cannot be delivered.
//!
//! Destinations are other Lambda functions: Alcove runs on one machine with no SQS, SNS or
//! EventBridge, so those destination types are refused with a clear error. An event that
//! fails for good with no `OnFailure` destination is kept as a dead letter instead of
//! being discarded, readable through Alcove's own API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, FunctionName, FunctionRef, Result, TenantId};

/// Lambda's defaults when a function has no configuration.
pub const DEFAULT_MAXIMUM_RETRY_ATTEMPTS: u32 = 2;
pub const DEFAULT_MAXIMUM_EVENT_AGE_SECS: u32 = 21_600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_secs: Option<u32>,
    /// Function ARNs (optionally qualified).
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub last_modified: DateTime<Utc>,
}

impl EventInvokeConfig {
    pub fn retries(config: Option<&EventInvokeConfig>) -> u32 {
        config.and_then(|c| c.maximum_retry_attempts).unwrap_or(DEFAULT_MAXIMUM_RETRY_ATTEMPTS)
    }

    pub fn max_age_secs(config: Option<&EventInvokeConfig>) -> u32 {
        config.and_then(|c| c.maximum_event_age_secs).unwrap_or(DEFAULT_MAXIMUM_EVENT_AGE_SECS)
    }
}

pub fn validate_retry_attempts(value: i64) -> Result<u32> {
    match u32::try_from(value) {
        Ok(v) if v <= 2 => Ok(v),
        _ => Err(Error::invalid(format!(
            "1 validation error detected: Value '{value}' at 'maximumRetryAttempts' failed to satisfy \
             constraint: Member must have value less than or equal to 2"
        ))),
    }
}

pub fn validate_event_age(value: i64) -> Result<u32> {
    match u32::try_from(value) {
        Ok(v) if (60..=21_600).contains(&v) => Ok(v),
        _ => Err(Error::invalid(format!(
            "1 validation error detected: Value '{value}' at 'maximumEventAgeInSeconds' failed to satisfy \
             constraint: Member must have value between 60 and 21600"
        ))),
    }
}

/// A destination must be a Lambda function's ARN; returns the function it names.
pub fn destination_function(arn: &str) -> Result<FunctionRef> {
    if !arn.starts_with("arn:") || !arn.contains(":lambda:") {
        let kind = arn.split(':').nth(2).unwrap_or("unknown");
        return Err(Error::invalid(format!(
            "The destination ARN {arn} is not supported by this server: destinations must be Lambda functions \
             (this server has no {kind} service)."
        )));
    }
    FunctionRef::parse(arn)
}

/// Why an event ended without running successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureCondition {
    RetriesExhausted,
    EventAgeExceeded,
}

impl FailureCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCondition::RetriesExhausted => "RetriesExhausted",
            FailureCondition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// An event that failed for good and had nowhere to go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub function: FunctionName,
    pub qualifier: Option<String>,
    pub tenant: Option<TenantId>,
    /// The Lambda destination record (request and response) as JSON.
    pub record: serde_json::Value,
    pub failed_ms: i64,
}
