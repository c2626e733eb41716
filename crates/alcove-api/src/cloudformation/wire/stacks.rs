//! Stacks: CreateStack, UpdateStack, DescribeStacks, ListStacks, ListExports.

use alcove_cloudformation::model;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{parameters, tags, Parameter, StackDrift, Tag, STACK_DRIFT};
use crate::query::xml::{optional_timestamp, timestamp, Members};

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackIdResult {
    pub stack_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StacksResult {
    pub stacks: Members<Stack>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stack {
    stack_id: String,
    stack_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    change_set_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    parameters: Members<Parameter>,
    #[serde(serialize_with = "timestamp")]
    creation_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_timestamp")]
    deletion_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_timestamp")]
    last_updated_time: Option<DateTime<Utc>>,
    stack_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_status_reason: Option<String>,
    disable_rollback: bool,
    #[serde(rename = "NotificationARNs")]
    notification_arns: Members<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    capabilities: Members<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    outputs: Members<Output>,
    tags: Members<Tag>,
    enable_termination_protection: bool,
    drift_information: StackDrift,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    output_key: String,
    output_value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export_name: Option<String>,
}

impl From<model::Stack> for Stack {
    fn from(s: model::Stack) -> Self {
        Stack {
            stack_id: s.stack_id,
            stack_name: s.stack_name,
            change_set_id: s.change_set_id,
            description: s.description,
            parameters: parameters(s.parameters),
            creation_time: s.creation_time,
            deletion_time: s.deletion_time,
            last_updated_time: s.last_updated_time,
            stack_status: s.status,
            stack_status_reason: s.status_reason,
            disable_rollback: s.disable_rollback,
            notification_arns: Members::from(Vec::new()),
            capabilities: s.capabilities.into(),
            outputs: s
                .outputs
                .into_iter()
                .map(|o| Output {
                    output_key: o.key,
                    output_value: o.value,
                    description: o.description,
                    export_name: o.export_name,
                })
                .collect(),
            tags: tags(s.tags),
            enable_termination_protection: false,
            drift_information: STACK_DRIFT,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackSummariesResult {
    pub stack_summaries: Members<StackSummary>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackSummary {
    stack_id: String,
    stack_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    template_description: Option<String>,
    #[serde(serialize_with = "timestamp")]
    creation_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_timestamp")]
    last_updated_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_timestamp")]
    deletion_time: Option<DateTime<Utc>>,
    stack_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_status_reason: Option<String>,
    drift_information: StackDrift,
}

impl From<model::StackSummary> for StackSummary {
    fn from(s: model::StackSummary) -> Self {
        StackSummary {
            stack_id: s.stack_id,
            stack_name: s.stack_name,
            template_description: s.template_description,
            creation_time: s.creation_time,
            last_updated_time: s.last_updated_time,
            deletion_time: s.deletion_time,
            stack_status: s.status,
            stack_status_reason: s.status_reason,
            drift_information: STACK_DRIFT,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportsResult {
    pub exports: Members<Export>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Export {
    exporting_stack_id: String,
    name: String,
    value: String,
}

impl From<model::Export> for Export {
    fn from(e: model::Export) -> Self {
        Export { exporting_stack_id: e.exporting_stack_id, name: e.name, value: e.value }
    }
}
