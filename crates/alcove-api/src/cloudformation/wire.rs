//! The documents CloudFormation's operations answer, member for member as botocore's
//! `cloudformation` model names and nests them, built from the engine's model values.
//! [`crate::query::xml`] writes them; only the members Alcove can fill are declared.

use alcove_cloudformation::model;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::query::xml::{optional_timestamp, timestamp, Members};

/// Drift detection is not run: every stack and resource is `NOT_CHECKED`.
const NOT_CHECKED: &str = "NOT_CHECKED";

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
struct StackDrift {
    stack_drift_status: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceDrift {
    stack_resource_drift_status: &'static str,
}

const STACK_DRIFT: StackDrift = StackDrift { stack_drift_status: NOT_CHECKED };
const RESOURCE_DRIFT: ResourceDrift = ResourceDrift { stack_resource_drift_status: NOT_CHECKED };

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    parameter_key: String,
    parameter_value: String,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

fn parameters(parameters: Vec<model::StackParameter>) -> Members<Parameter> {
    parameters.into_iter().map(|p| Parameter { parameter_key: p.key, parameter_value: p.value }).collect()
}

fn tags(tags: Vec<model::Tag>) -> Members<Tag> {
    tags.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTemplateResult {
    pub template_body: String,
    pub stages_available: Members<&'static str>,
}

/// ValidateTemplate: `TemplateParameter`s.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateTemplateResult {
    parameters: Members<TemplateParameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    capabilities: Members<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities_reason: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    declared_transforms: Members<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateParameter {
    parameter_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    no_echo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl From<model::TemplateSummary> for ValidateTemplateResult {
    fn from(t: model::TemplateSummary) -> Self {
        ValidateTemplateResult {
            parameters: t
                .parameters
                .into_iter()
                .map(|p| TemplateParameter {
                    parameter_key: p.key,
                    default_value: p.default_value,
                    no_echo: p.no_echo,
                    description: p.description,
                })
                .collect(),
            description: t.description,
            capabilities: t.capabilities.into(),
            capabilities_reason: t.capabilities_reason,
            declared_transforms: t.declared_transforms.into(),
        }
    }
}

/// GetTemplateSummary: `ParameterDeclaration`s and the resource types.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TemplateSummaryResult {
    parameters: Members<ParameterDeclaration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    capabilities: Members<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities_reason: Option<String>,
    resource_types: Members<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    declared_transforms: Members<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterDeclaration {
    parameter_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    parameter_type: String,
    no_echo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    parameter_constraints: ParameterConstraints,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterConstraints {
    #[serde(skip_serializing_if = "Members::is_empty")]
    allowed_values: Members<String>,
}

impl From<model::TemplateSummary> for TemplateSummaryResult {
    fn from(t: model::TemplateSummary) -> Self {
        TemplateSummaryResult {
            parameters: t
                .parameters
                .into_iter()
                .map(|p| ParameterDeclaration {
                    parameter_key: p.key,
                    default_value: p.default_value,
                    parameter_type: p.parameter_type,
                    no_echo: p.no_echo,
                    description: p.description,
                    parameter_constraints: ParameterConstraints { allowed_values: p.allowed_values.into() },
                })
                .collect(),
            description: t.description,
            capabilities: t.capabilities.into(),
            capabilities_reason: t.capabilities_reason,
            resource_types: t.resource_types.into(),
            version: t.version,
            metadata: t.metadata,
            declared_transforms: t.declared_transforms.into(),
        }
    }
}

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
