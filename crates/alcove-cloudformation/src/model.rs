//! What the CloudFormation API reads and answers, as domain values. The HTTP edge
//! (`alcove-api`) turns Query-protocol requests into these inputs and these values into
//! XML; the names follow CloudFormation's API so the mapping is one to one.

use chrono::{DateTime, Utc};

/// A parameter value given by the caller (`Parameters.member.N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInput {
    pub key: String,
    /// `None` together with `use_previous_value`.
    pub value: Option<String>,
    pub use_previous_value: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Where a template comes from. The edge resolves `TemplateURL` to the object's body in
/// Alcove's S3 before it calls the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateInput {
    Body(String),
    /// UpdateStack / CreateChangeSet with `UsePreviousTemplate=true`.
    UsePrevious,
}

/// CreateStack.
#[derive(Debug, Clone)]
pub struct CreateStackInput {
    pub stack_name: String,
    pub template: String,
    pub parameters: Vec<ParameterInput>,
    pub capabilities: Vec<String>,
    pub tags: Vec<Tag>,
    pub disable_rollback: bool,
    /// `OnFailure`: `ROLLBACK` (default), `DELETE` or `DO_NOTHING`.
    pub on_failure: Option<String>,
    pub client_request_token: Option<String>,
    pub description_override: Option<String>,
}

/// UpdateStack.
#[derive(Debug, Clone)]
pub struct UpdateStackInput {
    pub stack_name: String,
    pub template: TemplateInput,
    pub parameters: Vec<ParameterInput>,
    pub capabilities: Vec<String>,
    /// `None` keeps the stack's tags.
    pub tags: Option<Vec<Tag>>,
    pub disable_rollback: bool,
    pub client_request_token: Option<String>,
}

/// CreateChangeSet.
#[derive(Debug, Clone)]
pub struct CreateChangeSetInput {
    pub stack_name: String,
    pub change_set_name: String,
    /// `CREATE` or `UPDATE` (default).
    pub change_set_type: Option<String>,
    pub template: TemplateInput,
    pub parameters: Vec<ParameterInput>,
    pub capabilities: Vec<String>,
    pub tags: Option<Vec<Tag>>,
    pub description: Option<String>,
    pub client_token: Option<String>,
}

/// What CreateChangeSet answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetCreated {
    pub change_set_id: String,
    pub stack_id: String,
}

/// A stack as DescribeStacks shows it.
#[derive(Debug, Clone)]
pub struct Stack {
    pub stack_id: String,
    pub stack_name: String,
    pub change_set_id: Option<String>,
    pub description: Option<String>,
    pub parameters: Vec<StackParameter>,
    pub creation_time: DateTime<Utc>,
    pub last_updated_time: Option<DateTime<Utc>>,
    pub deletion_time: Option<DateTime<Utc>>,
    pub status: String,
    pub status_reason: Option<String>,
    pub disable_rollback: bool,
    pub capabilities: Vec<String>,
    pub outputs: Vec<Output>,
    pub tags: Vec<Tag>,
}

/// A parameter as the stack holds it (`NoEcho` values shown as `****`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackParameter {
    pub key: String,
    pub value: String,
    /// For an `AWS::SSM::Parameter::Value<...>` parameter, the SSM parameter's value its
    /// name (`value`) resolved to when the operation was prepared.
    pub resolved_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

/// ListStacks.
#[derive(Debug, Clone)]
pub struct StackSummary {
    pub stack_id: String,
    pub stack_name: String,
    pub template_description: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub last_updated_time: Option<DateTime<Utc>>,
    pub deletion_time: Option<DateTime<Utc>>,
    pub status: String,
    pub status_reason: Option<String>,
}

/// DescribeStackEvents, newest first.
#[derive(Debug, Clone)]
pub struct StackEvent {
    pub stack_id: String,
    pub event_id: String,
    pub stack_name: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    pub timestamp: DateTime<Utc>,
    pub resource_status: String,
    pub resource_status_reason: Option<String>,
    pub resource_properties: Option<String>,
    pub client_request_token: Option<String>,
}

/// DescribeStackResource(s), ListStackResources.
#[derive(Debug, Clone)]
pub struct StackResource {
    pub stack_id: String,
    pub stack_name: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    pub last_updated_timestamp: DateTime<Utc>,
    pub resource_status: String,
    pub resource_status_reason: Option<String>,
    pub description: Option<String>,
    /// DescribeStackResource's `Metadata` (the template's, as JSON text).
    pub metadata: Option<String>,
}

/// DescribeChangeSet.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub change_set_id: String,
    pub change_set_name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub description: Option<String>,
    pub parameters: Vec<StackParameter>,
    pub creation_time: DateTime<Utc>,
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `DELETE_COMPLETE`, `FAILED`.
    pub status: String,
    pub status_reason: Option<String>,
    /// `UNAVAILABLE`, `AVAILABLE`, `EXECUTE_IN_PROGRESS`, `EXECUTE_COMPLETE`,
    /// `EXECUTE_FAILED`, `OBSOLETE`.
    pub execution_status: String,
    pub capabilities: Vec<String>,
    pub tags: Vec<Tag>,
    pub changes: Vec<ResourceChange>,
}

/// One `Changes.member.N.ResourceChange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`.
    pub action: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    /// `True`, `False`, `Conditional` (Modify only).
    pub replacement: Option<String>,
    /// `Properties`, `Metadata`, `Tags`, ... (Modify only).
    pub scope: Vec<String>,
    /// Top-level property names that changed (Modify only).
    pub changed_properties: Vec<String>,
}

/// ListChangeSets.
#[derive(Debug, Clone)]
pub struct ChangeSetSummary {
    pub change_set_id: String,
    pub change_set_name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub description: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: String,
}

/// ListExports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub exporting_stack_id: String,
    pub name: String,
    pub value: String,
}

/// ValidateTemplate and GetTemplateSummary.
#[derive(Debug, Clone)]
pub struct TemplateSummary {
    pub description: Option<String>,
    pub parameters: Vec<ParameterDeclaration>,
    /// Capabilities the template needs (`CAPABILITY_IAM`, `CAPABILITY_NAMED_IAM`,
    /// `CAPABILITY_AUTO_EXPAND`) and why.
    pub capabilities: Vec<String>,
    pub capabilities_reason: Option<String>,
    /// GetTemplateSummary: the resource types, sorted and distinct.
    pub resource_types: Vec<String>,
    pub version: Option<String>,
    pub declared_transforms: Vec<String>,
    /// GetTemplateSummary: the template's `Metadata` section as JSON text.
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterDeclaration {
    pub key: String,
    pub default_value: Option<String>,
    pub parameter_type: String,
    pub no_echo: bool,
    pub description: Option<String>,
    pub allowed_values: Vec<String>,
}
