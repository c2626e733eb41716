//! CloudFormation for Alcove: templates (JSON and YAML with the short intrinsic tags),
//! stacks, change sets, exports, and the resource types Alcove serves (Lambda, API
//! Gateway, S3 buckets, log groups; IAM roles and policies recorded, not enforced).
//!
//! The engine owns stacks: it resolves a template against parameters, pseudo parameters,
//! mappings and conditions, orders resources by their dependencies, and creates, updates,
//! replaces and deletes them through [`resource::ResourceType`]s, which reach their
//! services only through their public APIs ([`services::Services`]). Every step is
//! written to the stack database before the next begins, so a stack in progress when the
//! server died is resumed or rolled back when it starts again, never left stuck. The
//! Query-protocol edge lives in `alcove-api`.

#![forbid(unsafe_code)]

mod error;
pub mod model;
pub mod resource;
pub mod resources;
pub mod services;

use std::path::Path;
use std::sync::Arc;

pub use error::CloudFormationError;
use model::{
    ChangeSet, ChangeSetCreated, ChangeSetSummary, CreateChangeSetInput, CreateStackInput, Export, Stack,
    StackEvent, StackResource, StackSummary, TemplateSummary, UpdateStackInput,
};
use services::Services;

pub type Result<T, E = CloudFormationError> = std::result::Result<T, E>;

/// Where stacks are deployed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub account_id: String,
}

/// The CloudFormation engine: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct CloudFormation {
    #[allow(dead_code)]
    inner: Arc<()>,
}

impl CloudFormation {
    /// Opens (or creates) the stack database at `path` and resumes or rolls back every
    /// stack that was in progress when the server last stopped.
    pub fn open(_path: &Path, _services: Arc<dyn Services>, _settings: Settings) -> Result<Self> {
        Ok(CloudFormation { inner: Arc::new(()) })
    }

    pub async fn validate_template(&self, _template: &str) -> Result<TemplateSummary> {
        Err(not_yet())
    }

    /// GetTemplateSummary of a template body or of an existing stack's template.
    pub async fn template_summary(
        &self,
        _template: Option<&str>,
        _stack: Option<&str>,
    ) -> Result<TemplateSummary> {
        Err(not_yet())
    }

    /// Starts creating a stack; answers its id at once (the work runs in the background).
    pub async fn create_stack(&self, _input: CreateStackInput) -> Result<String> {
        Err(not_yet())
    }

    pub async fn update_stack(&self, _input: UpdateStackInput) -> Result<String> {
        Err(not_yet())
    }

    /// Starts deleting a stack (by name or id); deleting a stack that does not exist
    /// succeeds, as on AWS.
    pub async fn delete_stack(&self, _stack: &str) -> Result<()> {
        Err(not_yet())
    }

    /// One stack (by name, or by id, which also finds deleted stacks), or every live one.
    pub async fn describe_stacks(&self, _stack: Option<&str>) -> Result<Vec<Stack>> {
        Err(not_yet())
    }

    /// Every stack, deleted ones included (for 90 days on AWS), filtered by status.
    pub async fn list_stacks(&self, _status_filter: &[String]) -> Result<Vec<StackSummary>> {
        Err(not_yet())
    }

    pub async fn describe_stack_events(&self, _stack: &str) -> Result<Vec<StackEvent>> {
        Err(not_yet())
    }

    pub async fn describe_stack_resource(&self, _stack: &str, _logical_id: &str) -> Result<StackResource> {
        Err(not_yet())
    }

    /// DescribeStackResources: by stack (optionally one logical id) or by physical id.
    pub async fn describe_stack_resources(
        &self,
        _stack: Option<&str>,
        _logical_id: Option<&str>,
        _physical_id: Option<&str>,
    ) -> Result<Vec<StackResource>> {
        Err(not_yet())
    }

    pub async fn list_stack_resources(&self, _stack: &str) -> Result<Vec<StackResource>> {
        Err(not_yet())
    }

    /// GetTemplate: the template body as submitted, of the stack or of one of its change
    /// sets.
    pub async fn get_template(&self, _stack: Option<&str>, _change_set: Option<&str>) -> Result<String> {
        Err(not_yet())
    }

    pub async fn create_change_set(&self, _input: CreateChangeSetInput) -> Result<ChangeSetCreated> {
        Err(not_yet())
    }

    /// A change set by ARN, or by name together with its stack.
    pub async fn describe_change_set(&self, _change_set: &str, _stack: Option<&str>) -> Result<ChangeSet> {
        Err(not_yet())
    }

    pub async fn execute_change_set(&self, _change_set: &str, _stack: Option<&str>) -> Result<()> {
        Err(not_yet())
    }

    pub async fn delete_change_set(&self, _change_set: &str, _stack: Option<&str>) -> Result<()> {
        Err(not_yet())
    }

    pub async fn list_change_sets(&self, _stack: &str) -> Result<Vec<ChangeSetSummary>> {
        Err(not_yet())
    }

    pub async fn list_exports(&self) -> Result<Vec<Export>> {
        Err(not_yet())
    }
}

fn not_yet() -> CloudFormationError {
    CloudFormationError::Validation("this operation is not implemented yet".into())
}
