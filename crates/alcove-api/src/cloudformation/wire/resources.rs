//! A stack's events and resources, each shape naming its time as the model does.

use alcove_cloudformation::model;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ResourceDrift, RESOURCE_DRIFT};
use crate::query::xml::{timestamp, Members};

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackEventsResult {
    pub stack_events: Members<StackEvent>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackEvent {
    stack_id: String,
    event_id: String,
    stack_name: String,
    logical_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_resource_id: Option<String>,
    resource_type: String,
    #[serde(serialize_with = "timestamp")]
    timestamp: DateTime<Utc>,
    resource_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_properties: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_request_token: Option<String>,
}

impl From<model::StackEvent> for StackEvent {
    fn from(e: model::StackEvent) -> Self {
        StackEvent {
            stack_id: e.stack_id,
            event_id: e.event_id,
            stack_name: e.stack_name,
            logical_resource_id: e.logical_resource_id,
            physical_resource_id: e.physical_resource_id,
            resource_type: e.resource_type,
            timestamp: e.timestamp,
            resource_status: e.resource_status,
            resource_status_reason: e.resource_status_reason,
            resource_properties: e.resource_properties,
            client_request_token: e.client_request_token,
        }
    }
}

/// DescribeStackResource: `StackResourceDetail`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourceDetailResult {
    pub stack_resource_detail: StackResourceDetail,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourceDetail {
    stack_name: String,
    stack_id: String,
    logical_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_resource_id: Option<String>,
    resource_type: String,
    #[serde(serialize_with = "timestamp")]
    last_updated_timestamp: DateTime<Utc>,
    resource_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    drift_information: ResourceDrift,
}

impl From<model::StackResource> for StackResourceDetail {
    fn from(r: model::StackResource) -> Self {
        StackResourceDetail {
            stack_name: r.stack_name,
            stack_id: r.stack_id,
            logical_resource_id: r.logical_resource_id,
            physical_resource_id: r.physical_resource_id,
            resource_type: r.resource_type,
            last_updated_timestamp: r.last_updated_timestamp,
            resource_status: r.resource_status,
            resource_status_reason: r.resource_status_reason,
            description: r.description,
            metadata: r.metadata,
            drift_information: RESOURCE_DRIFT,
        }
    }
}

/// DescribeStackResources: `StackResources` of `StackResource` (its time is `Timestamp`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourcesResult {
    pub stack_resources: Members<StackResource>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResource {
    stack_name: String,
    stack_id: String,
    logical_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_resource_id: Option<String>,
    resource_type: String,
    #[serde(serialize_with = "timestamp")]
    timestamp: DateTime<Utc>,
    resource_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    drift_information: ResourceDrift,
}

impl From<model::StackResource> for StackResource {
    fn from(r: model::StackResource) -> Self {
        StackResource {
            stack_name: r.stack_name,
            stack_id: r.stack_id,
            logical_resource_id: r.logical_resource_id,
            physical_resource_id: r.physical_resource_id,
            resource_type: r.resource_type,
            timestamp: r.last_updated_timestamp,
            resource_status: r.resource_status,
            resource_status_reason: r.resource_status_reason,
            description: r.description,
            drift_information: RESOURCE_DRIFT,
        }
    }
}

/// ListStackResources: `StackResourceSummaries`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourceSummariesResult {
    pub stack_resource_summaries: Members<StackResourceSummary>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourceSummary {
    logical_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_resource_id: Option<String>,
    resource_type: String,
    #[serde(serialize_with = "timestamp")]
    last_updated_timestamp: DateTime<Utc>,
    resource_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_status_reason: Option<String>,
    drift_information: ResourceDrift,
}

impl From<model::StackResource> for StackResourceSummary {
    fn from(r: model::StackResource) -> Self {
        StackResourceSummary {
            logical_resource_id: r.logical_resource_id,
            physical_resource_id: r.physical_resource_id,
            resource_type: r.resource_type,
            last_updated_timestamp: r.last_updated_timestamp,
            resource_status: r.resource_status,
            resource_status_reason: r.resource_status_reason,
            drift_information: RESOURCE_DRIFT,
        }
    }
}
