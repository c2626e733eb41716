//! Change sets: CreateChangeSet, DescribeChangeSet (with each resource change and its
//! details), ListChangeSets.

use alcove_cloudformation::model;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{parameters, tags, Parameter, Tag};
use crate::query::xml::{timestamp, Members};

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateChangeSetResult {
    id: String,
    stack_id: String,
}

impl From<model::ChangeSetCreated> for CreateChangeSetResult {
    fn from(c: model::ChangeSetCreated) -> Self {
        CreateChangeSetResult { id: c.change_set_id, stack_id: c.stack_id }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeChangeSetResult {
    change_set_name: String,
    change_set_id: String,
    stack_id: String,
    stack_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    parameters: Members<Parameter>,
    #[serde(serialize_with = "timestamp")]
    creation_time: DateTime<Utc>,
    execution_status: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    #[serde(rename = "NotificationARNs")]
    notification_arns: Members<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    capabilities: Members<String>,
    tags: Members<Tag>,
    changes: Members<Change>,
    include_nested_stacks: bool,
}

/// One `Changes.member`: always a `Resource` change.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Change {
    r#type: &'static str,
    resource_change: ResourceChange,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceChange {
    action: String,
    logical_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_resource_id: Option<String>,
    resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<String>,
    scope: Members<String>,
    details: Members<ResourceChangeDetail>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceChangeDetail {
    target: ResourceTargetDefinition,
    evaluation: &'static str,
    change_source: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceTargetDefinition {
    attribute: &'static str,
    name: String,
    requires_recreation: &'static str,
}

impl From<model::ResourceChange> for Change {
    fn from(c: model::ResourceChange) -> Self {
        // Replacement `True`/`False`/`Conditional` is `Always`/`Never`/`Conditionally` per property.
        let requires_recreation = match c.replacement.as_deref() {
            Some("True") => "Always",
            Some("Conditional") => "Conditionally",
            _ => "Never",
        };
        let details = c
            .changed_properties
            .into_iter()
            .map(|name| ResourceChangeDetail {
                target: ResourceTargetDefinition { attribute: "Properties", name, requires_recreation },
                evaluation: "Static",
                change_source: "DirectModification",
            })
            .collect();
        Change {
            r#type: "Resource",
            resource_change: ResourceChange {
                action: c.action,
                logical_resource_id: c.logical_resource_id,
                physical_resource_id: c.physical_resource_id,
                resource_type: c.resource_type,
                replacement: c.replacement,
                scope: c.scope.into(),
                details,
            },
        }
    }
}

impl From<model::ChangeSet> for DescribeChangeSetResult {
    fn from(c: model::ChangeSet) -> Self {
        DescribeChangeSetResult {
            change_set_name: c.change_set_name,
            change_set_id: c.change_set_id,
            stack_id: c.stack_id,
            stack_name: c.stack_name,
            description: c.description,
            parameters: parameters(c.parameters),
            creation_time: c.creation_time,
            execution_status: c.execution_status,
            status: c.status,
            status_reason: c.status_reason,
            notification_arns: Members::from(Vec::new()),
            capabilities: c.capabilities.into(),
            tags: tags(c.tags),
            changes: c.changes.into_iter().map(Change::from).collect(),
            include_nested_stacks: false,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeSetSummariesResult {
    pub summaries: Members<ChangeSetSummary>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeSetSummary {
    stack_id: String,
    stack_name: String,
    change_set_id: String,
    change_set_name: String,
    execution_status: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    #[serde(serialize_with = "timestamp")]
    creation_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    include_nested_stacks: bool,
}

impl From<model::ChangeSetSummary> for ChangeSetSummary {
    fn from(c: model::ChangeSetSummary) -> Self {
        ChangeSetSummary {
            stack_id: c.stack_id,
            stack_name: c.stack_name,
            change_set_id: c.change_set_id,
            change_set_name: c.change_set_name,
            execution_status: c.execution_status,
            status: c.status,
            status_reason: c.status_reason,
            creation_time: c.creation_time,
            description: c.description,
            include_nested_stacks: false,
        }
    }
}
