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

mod changes;
mod conditions;
mod error;
mod graph;
mod intrinsics;
pub mod model;
mod operation;
mod parameters;
mod plan;
mod prepare;
mod pseudo;
pub mod resource;
pub mod resources;
mod rules;
mod sam;
pub mod services;
mod ssm_values;
mod store;
mod template;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod views;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
pub use error::CloudFormationError;
use model::{
    ChangeSet, ChangeSetCreated, ChangeSetSummary, CreateChangeSetInput, CreateStackInput, Export,
    ParameterInput, ResourceChange, Stack, StackEvent, StackParameter, StackResource, StackSummary,
    TemplateInput, TemplateSummary, UpdateStackInput,
};
use operation::Engine;
use prepare::{Prepared, Target};
use resource::ResourceType;
use services::Services;
use store::{ChangeSetRow, StackRow, Store};
use template::Template;

pub type Result<T, E = CloudFormationError> = std::result::Result<T, E>;

/// Where stacks are deployed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub account_id: String,
    /// The Python interpreter that runs the SAM translator (`aws-sam-translator`).
    pub sam_python: String,
}

/// A template as the engine runs it and, when a transform rewrote it, as submitted.
struct Expanded {
    body: String,
    original: Option<String>,
}

/// Parameter values as the translator sees them: given ones, and previous ones for
/// `UsePreviousValue`.
fn given_values(inputs: &[ParameterInput], previous: &[StackParameter]) -> BTreeMap<String, String> {
    inputs
        .iter()
        .filter_map(|p| {
            let value = match &p.value {
                Some(value) => value.clone(),
                None => previous.iter().find(|q| q.key == p.key)?.value.clone(),
            };
            Some((p.key.clone(), value))
        })
        .collect()
}

/// CreateStack of a template with a transform needs the caller's consent (change sets do
/// not: reviewing the change set is the consent).
fn check_auto_expand(expanded: &Expanded, capabilities: &[String]) -> Result<()> {
    if expanded.original.is_some() && !capabilities.iter().any(|c| c == "CAPABILITY_AUTO_EXPAND") {
        return Err(CloudFormationError::InsufficientCapabilities(
            "Requires capabilities : [CAPABILITY_AUTO_EXPAND]".into(),
        ));
    }
    Ok(())
}

/// The CloudFormation engine: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct CloudFormation {
    engine: Arc<Engine>,
}

fn invalid(message: impl Into<String>) -> CloudFormationError {
    CloudFormationError::Validation(message.into())
}

fn not_found(stack: &str) -> CloudFormationError {
    invalid(format!("Stack with id {stack} does not exist"))
}

const UPDATABLE: &[&str] = &["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"];

fn check_name(value: &str, member: &str) -> Result<()> {
    let mut chars = value.chars();
    let ok = value.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

/// Parses and checks a template as every operation that takes one does.
fn checked(body: &str) -> Result<Template> {
    let template = Template::parse(body)?.transformed()?;
    graph::check(&template).map_err(invalid)?;
    Ok(template)
}

fn summary_of(template: &Template) -> TemplateSummary {
    let capability = prepare::required_capability(template);
    let iam: Vec<String> =
        template.resource_types().into_iter().filter(|t| t.starts_with("AWS::IAM::")).collect();
    TemplateSummary {
        description: template.description.clone(),
        parameters: parameters::declarations(&template.parameters),
        capabilities: capability.map(|c| vec![c.to_owned()]).unwrap_or_default(),
        capabilities_reason: capability
            .map(|_| format!("The following resource(s) require capabilities: [{}]", iam.join(", "))),
        resource_types: template.resource_types(),
        version: template.version.clone(),
        declared_transforms: template.transforms.clone(),
        metadata: template.metadata.as_ref().map(|m| m.to_string()),
    }
}

impl CloudFormation {
    /// Opens (or creates) the stack database at `path` and resumes or rolls back every
    /// stack that was in progress when the server last stopped. Call it from within a
    /// Tokio runtime: the resumed operations are spawned on it.
    pub fn open(path: &Path, services: Arc<dyn Services>, settings: Settings) -> Result<Self> {
        Self::open_with_types(path, services, settings, resources::all())
    }

    fn open_with_types(
        path: &Path,
        services: Arc<dyn Services>,
        settings: Settings,
        types: Vec<Box<dyn ResourceType>>,
    ) -> Result<Self> {
        let engine = Arc::new(Engine::new(Store::open(path)?, services, settings, types));
        engine.resume()?;
        Ok(CloudFormation { engine })
    }

    /// Applies the template's transform, if it declares one: the SAM transform is run by
    /// AWS's own translator; any other is refused by name.
    async fn expand(&self, body: &str, parameters: &BTreeMap<String, String>) -> Result<Expanded> {
        let value = template::parse_value(body)?;
        let transforms = value.as_object().map(template::transforms_of).unwrap_or_default();
        if transforms.is_empty() {
            return Ok(Expanded { body: body.to_owned(), original: None });
        }
        if let Some(other) = transforms.iter().find(|t| *t != sam::SAM_TRANSFORM) {
            return Err(template::unsupported_transform(other));
        }
        let s = &self.engine.settings;
        let translator =
            sam::Translator { python: &s.sam_python, region: &s.region, account_id: &s.account_id };
        let processed = translator.translate(&value, parameters).await?;
        let processed = serde_json::to_string_pretty(&processed).map_err(|e| invalid(e.to_string()))?;
        Ok(Expanded { body: processed, original: Some(body.to_owned()) })
    }

    fn store(&self) -> &Store {
        &self.engine.store
    }

    /// A stack by name (live ones) or by id (deleted ones too).
    fn find(&self, stack: &str) -> Result<Option<StackRow>> {
        if stack.starts_with("arn:") {
            self.store().stack(stack)
        } else {
            self.store().live_stack(stack)
        }
    }

    fn get(&self, stack: &str) -> Result<StackRow> {
        self.find(stack)?.ok_or_else(|| not_found(stack))
    }

    fn new_stack_id(&self, name: &str) -> String {
        let s = &self.engine.settings;
        format!("arn:aws:cloudformation:{}:{}:stack/{name}/{}", s.region, s.account_id, uuid::Uuid::new_v4())
    }

    fn prepared(
        &self,
        body: &str,
        values: &[StackParameter],
        name: &str,
        stack_id: &str,
    ) -> Result<Prepared> {
        let s = &self.engine.settings;
        let target = Target { region: &s.region, account_id: &s.account_id, stack_name: name, stack_id };
        Prepared::new(body, values, &target).map_err(invalid)
    }

    /// Parameter values made final: SSM-typed ones resolved through Parameter Store, then
    /// the template's `Rules` asserted against them.
    async fn resolved(
        &self,
        template: &Template,
        mut values: Vec<StackParameter>,
        name: &str,
        stack_id: &str,
    ) -> Result<Vec<StackParameter>> {
        ssm_values::resolve(&*self.engine.services, template, &mut values).await?;
        let s = &self.engine.settings;
        let typed = pseudo::with_pseudo(
            parameters::values(template, &values),
            &s.region,
            &s.account_id,
            name,
            stack_id,
        );
        rules::evaluate(&template.rules, &typed)?;
        Ok(values)
    }

    /// ValidateTemplate: a template with the SAM transform is translated (so the
    /// translator's refusals surface here) and its processed form summarized.
    pub async fn validate_template(&self, template: &str) -> Result<TemplateSummary> {
        let expanded = self.expand(template, &BTreeMap::new()).await?;
        let mut summary = summary_of(&checked(&expanded.body)?);
        if let Some(original) = &expanded.original {
            summary.declared_transforms = Template::parse(original)?.transforms;
        }
        Ok(summary)
    }

    /// GetTemplateSummary of a template body or of an existing stack's template. A
    /// template declaring a transform is summarized as written (with its
    /// `DeclaredTransforms`), since the summary is how a caller learns it has one.
    pub async fn template_summary(
        &self,
        template: Option<&str>,
        stack: Option<&str>,
    ) -> Result<TemplateSummary> {
        match (template, stack) {
            (Some(body), _) => {
                let parsed = Template::parse(body)?;
                if parsed.transforms.is_empty() {
                    graph::check(&parsed).map_err(invalid)?;
                }
                Ok(summary_of(&parsed))
            }
            (None, Some(stack)) => {
                let row = self.get(stack)?;
                Ok(summary_of(&Template::parse(row.original_template.as_ref().unwrap_or(&row.template))?))
            }
            (None, None) => Err(invalid("Either Template URL or Template Body must be specified.")),
        }
    }

    /// Starts creating a stack; answers its id at once (the work runs in the background).
    pub async fn create_stack(&self, input: CreateStackInput) -> Result<String> {
        check_name(&input.stack_name, "stackName")?;
        if let Some(on_failure) = &input.on_failure {
            if !["ROLLBACK", "DELETE", "DO_NOTHING"].contains(&on_failure.as_str()) {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{on_failure}' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]"
                )));
            }
            if input.disable_rollback {
                return Err(invalid("You cannot specify both DisableRollback and OnFailure."));
            }
        }
        if let Some(existing) = self.store().live_stack(&input.stack_name)? {
            // A retried request (same ClientRequestToken) gets the stack it created.
            if input.client_request_token.is_some() && existing.token == input.client_request_token {
                return Ok(existing.stack_id);
            }
            return Err(CloudFormationError::AlreadyExists(format!(
                "Stack [{}] already exists",
                input.stack_name
            )));
        }
        let expanded = self.expand(&input.template, &given_values(&input.parameters, &[])).await?;
        check_auto_expand(&expanded, &input.capabilities)?;
        let template = checked(&expanded.body)?;
        prepare::check_capabilities(&template, &input.capabilities)?;
        let stack_id = self.new_stack_id(&input.stack_name);
        let values = parameters::resolve(&template, &input.parameters, &[])?;
        let values = self.resolved(&template, values, &input.stack_name, &stack_id).await?;
        self.prepared(&expanded.body, &values, &input.stack_name, &stack_id)?;
        let mut row = StackRow {
            stack_id: stack_id.clone(),
            name: input.stack_name,
            status: "CREATE_IN_PROGRESS".into(),
            reason: None,
            template: expanded.body,
            original_template: expanded.original,
            parameters: values,
            previous_template: None,
            previous_original_template: None,
            previous_parameters: Vec::new(),
            description: input.description_override.or(template.description),
            capabilities: input.capabilities,
            tags: input.tags,
            disable_rollback: input.disable_rollback,
            on_failure: input.on_failure,
            outputs: Vec::new(),
            imports: Vec::new(),
            created: Utc::now(),
            updated: None,
            deleted: None,
            change_set_id: None,
            token: input.client_request_token,
        };
        self.engine.set_status(&mut row, "CREATE_IN_PROGRESS", Some("User Initiated"))?;
        self.engine.spawn(&stack_id, |engine, id| Box::pin(engine.run_create(id)));
        Ok(stack_id)
    }

    /// The resource changes (and whether anything changes at all) of moving `stack` to
    /// `body` with `values`.
    fn changes(
        &self,
        stack: &StackRow,
        body: &str,
        values: &[StackParameter],
    ) -> Result<(Vec<ResourceChange>, bool)> {
        let prepared = self.prepared(body, values, &stack.name, &stack.stack_id)?;
        changes::compute(&self.engine, stack, &prepared, values)
    }

    /// The template (transformed) and parameter values an update or update change set
    /// moves to.
    async fn update_inputs(
        &self,
        stack: &StackRow,
        template: &TemplateInput,
        parameters: &[ParameterInput],
        capabilities: &[String],
    ) -> Result<(Expanded, Vec<StackParameter>)> {
        let body = match template {
            TemplateInput::Body(body) => body.clone(),
            TemplateInput::UsePrevious => {
                stack.original_template.clone().unwrap_or_else(|| stack.template.clone())
            }
        };
        let expanded = self.expand(&body, &given_values(parameters, &stack.parameters)).await?;
        let parsed = checked(&expanded.body)?;
        prepare::check_capabilities(&parsed, capabilities)?;
        let values = parameters::resolve(&parsed, parameters, &stack.parameters)?;
        let values = self.resolved(&parsed, values, &stack.name, &stack.stack_id).await?;
        Ok((expanded, values))
    }

    fn check_updatable(stack: &StackRow) -> Result<()> {
        if UPDATABLE.contains(&stack.status.as_str()) {
            Ok(())
        } else {
            Err(invalid(format!(
                "Stack:{} is in {} state and can not be updated.",
                stack.stack_id, stack.status
            )))
        }
    }

    pub async fn update_stack(&self, input: UpdateStackInput) -> Result<String> {
        let mut stack = self.get(&input.stack_name)?;
        if input.client_request_token.is_some()
            && stack.token == input.client_request_token
            && stack.status.starts_with("UPDATE_")
        {
            return Ok(stack.stack_id);
        }
        Self::check_updatable(&stack)?;
        let (body, values) =
            self.update_inputs(&stack, &input.template, &input.parameters, &input.capabilities).await?;
        check_auto_expand(&body, &input.capabilities)?;
        let (_, anything) = self.changes(&stack, &body.body, &values)?;
        let tags_changed = input.tags.as_ref().is_some_and(|t| *t != stack.tags);
        if !anything && !tags_changed {
            return Err(invalid("No updates are to be performed."));
        }
        stack.disable_rollback = input.disable_rollback;
        stack.token = input.client_request_token;
        self.begin_update(&mut stack, body, values, input.capabilities, input.tags, None)?;
        self.engine.spawn(&stack.stack_id, |engine, id| Box::pin(engine.run_update(id)));
        Ok(stack.stack_id)
    }

    /// Once a stack changes, its change sets (but `except`, the one executing) describe
    /// changes from a state that is gone.
    fn obsolete_change_sets(&self, stack_id: &str, except: Option<&str>) -> Result<()> {
        for mut other in self.store().change_sets(stack_id)? {
            let undecided = matches!(other.execution_status.as_str(), "AVAILABLE" | "UNAVAILABLE");
            if Some(other.change_set_id.as_str()) != except && undecided {
                other.execution_status = "OBSOLETE".into();
                self.store().put_change_set(&other)?;
            }
        }
        Ok(())
    }

    fn begin_update(
        &self,
        stack: &mut StackRow,
        body: Expanded,
        values: Vec<StackParameter>,
        capabilities: Vec<String>,
        tags: Option<Vec<model::Tag>>,
        change_set_id: Option<String>,
    ) -> Result<()> {
        let description = Template::parse(&body.body).ok().and_then(|t| t.description);
        stack.previous_template = Some(std::mem::replace(&mut stack.template, body.body));
        stack.previous_original_template = std::mem::replace(&mut stack.original_template, body.original);
        stack.previous_parameters = std::mem::replace(&mut stack.parameters, values);
        stack.description = description;
        stack.capabilities = capabilities;
        if let Some(tags) = tags {
            stack.tags = tags;
        }
        stack.updated = Some(Utc::now());
        self.obsolete_change_sets(&stack.stack_id, change_set_id.as_deref())?;
        stack.change_set_id = change_set_id;
        self.engine.set_status(stack, "UPDATE_IN_PROGRESS", Some("User Initiated"))
    }

    /// Starts deleting a stack (by name or id); deleting a stack that does not exist
    /// succeeds, as on AWS.
    pub async fn delete_stack(&self, stack: &str) -> Result<()> {
        let Some(mut row) = self.find(stack)? else { return Ok(()) };
        if row.status == "DELETE_COMPLETE" {
            return Ok(());
        }
        // A settled stack shows DELETE_IN_PROGRESS at once; one busy with another
        // operation is deleted when that operation ends.
        let busy = row.status.ends_with("_IN_PROGRESS") && row.status != "REVIEW_IN_PROGRESS";
        if !busy {
            row.token = None;
            self.engine.set_status(&mut row, "DELETE_IN_PROGRESS", Some("User Initiated"))?;
        }
        self.engine.spawn(&row.stack_id, |engine, id| Box::pin(engine.run_delete(id)));
        Ok(())
    }

    /// One stack (by name, or by id, which also finds deleted stacks), or every live one.
    pub async fn describe_stacks(&self, stack: Option<&str>) -> Result<Vec<Stack>> {
        match stack {
            Some(stack) => Ok(vec![views::stack(&self.get(stack)?)]),
            None => Ok(self
                .store()
                .stacks()?
                .iter()
                .rev()
                .filter(|s| s.status != "DELETE_COMPLETE")
                .map(views::stack)
                .collect()),
        }
    }

    /// Every stack, deleted ones included (for 90 days on AWS), filtered by status.
    pub async fn list_stacks(&self, status_filter: &[String]) -> Result<Vec<StackSummary>> {
        Ok(self
            .store()
            .stacks()?
            .iter()
            .rev()
            .filter(|s| status_filter.is_empty() || status_filter.contains(&s.status))
            .map(views::summary)
            .collect())
    }

    pub async fn describe_stack_events(&self, stack: &str) -> Result<Vec<StackEvent>> {
        let row = self.get(stack)?;
        Ok(self.store().events(&row.stack_id)?.into_iter().map(|e| views::event(&row, e)).collect())
    }

    pub async fn describe_stack_resource(&self, stack: &str, logical_id: &str) -> Result<StackResource> {
        let row = self.get(stack)?;
        self.describe_stack_resources(Some(&row.stack_id), Some(logical_id), None)
            .await?
            .pop()
            .ok_or_else(|| invalid(format!("Resource {logical_id} does not exist for stack {stack}")))
    }

    /// DescribeStackResources: by stack (optionally one logical id) or by physical id.
    pub async fn describe_stack_resources(
        &self,
        stack: Option<&str>,
        logical_id: Option<&str>,
        physical_id: Option<&str>,
    ) -> Result<Vec<StackResource>> {
        let row = match (stack, physical_id) {
            (Some(stack), _) => self.get(stack)?,
            (None, Some(physical)) => {
                let resource = self
                    .store()
                    .resource_by_physical_id(physical)?
                    .ok_or_else(|| invalid(format!("Stack for {physical} does not exist")))?;
                self.get(&resource.stack_id)?
            }
            (None, None) => return Err(invalid("Either StackName or PhysicalResourceId must be specified.")),
        };
        let template = Template::parse(&row.template).ok();
        Ok(self
            .store()
            .resources(&row.stack_id)?
            .into_iter()
            .filter(|r| logical_id.is_none_or(|l| r.logical_id == l))
            .filter(|r| physical_id.is_none_or(|p| r.physical_id.as_deref() == Some(p)))
            .map(|r| views::resource(&row, template.as_ref(), r))
            .collect())
    }

    pub async fn list_stack_resources(&self, stack: &str) -> Result<Vec<StackResource>> {
        self.describe_stack_resources(Some(stack), None, None).await
    }

    /// GetTemplate: the template body as submitted, of the stack or of one of its change
    /// sets.
    pub async fn get_template(&self, stack: Option<&str>, change_set: Option<&str>) -> Result<String> {
        self.get_template_stage(stack, change_set, None).await
    }

    /// GetTemplate with its `TemplateStage`: `Original` (the default: as submitted) or
    /// `Processed` (after the transform, what the stack runs).
    pub async fn get_template_stage(
        &self,
        stack: Option<&str>,
        change_set: Option<&str>,
        stage: Option<&str>,
    ) -> Result<String> {
        let processed = match stage {
            None | Some("Original") => false,
            Some("Processed") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]"
                )))
            }
        };
        let (template, original) = match (stack, change_set) {
            (stack, Some(change_set)) => {
                let row = self.find_change_set(change_set, stack)?.1;
                (row.template, row.original_template)
            }
            (Some(stack), None) => {
                let row = self.get(stack)?;
                (row.template, row.original_template)
            }
            (None, None) => return Err(invalid("Either StackName or ChangeSetName must be specified.")),
        };
        Ok(match original {
            Some(original) if !processed => original,
            _ => template,
        })
    }

    pub async fn create_change_set(&self, input: CreateChangeSetInput) -> Result<ChangeSetCreated> {
        if !input.stack_name.starts_with("arn:") {
            check_name(&input.stack_name, "stackName")?;
        }
        check_name(&input.change_set_name, "changeSetName")?;
        let kind = input.change_set_type.clone().unwrap_or_else(|| "UPDATE".into());
        let existing = self.find(&input.stack_name)?;
        let mut stack = match (kind.as_str(), existing) {
            ("CREATE", Some(stack)) if stack.status != "REVIEW_IN_PROGRESS" => {
                return Err(invalid(format!(
                    "Stack [{}] already exists and cannot be created again with the changeSet [{}].",
                    input.stack_name, input.change_set_name
                )))
            }
            ("CREATE", Some(stack)) => stack,
            ("CREATE", None) => {
                let TemplateInput::Body(body) = &input.template else {
                    return Err(invalid("UsePreviousTemplate is not allowed for a change set of type CREATE"));
                };
                StackRow {
                    stack_id: self.new_stack_id(&input.stack_name),
                    name: input.stack_name.clone(),
                    status: "REVIEW_IN_PROGRESS".into(),
                    reason: None,
                    template: body.clone(),
                    original_template: None,
                    parameters: Vec::new(),
                    previous_template: None,
                    previous_original_template: None,
                    previous_parameters: Vec::new(),
                    description: None,
                    capabilities: Vec::new(),
                    tags: Vec::new(),
                    disable_rollback: false,
                    on_failure: None,
                    outputs: Vec::new(),
                    imports: Vec::new(),
                    created: Utc::now(),
                    updated: None,
                    deleted: None,
                    change_set_id: None,
                    token: None,
                }
            }
            ("UPDATE", Some(stack)) => {
                Self::check_updatable(&stack)?;
                stack
            }
            ("UPDATE", None) => return Err(invalid(format!("Stack [{}] does not exist", input.stack_name))),
            (other, _) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [UPDATE, CREATE, IMPORT]"
                )))
            }
        };
        if self.store().change_sets(&stack.stack_id)?.iter().any(|c| c.name == input.change_set_name) {
            return Err(CloudFormationError::AlreadyExists(format!(
                "ChangeSet [{}] already exists",
                input.change_set_name
            )));
        }
        let inputs =
            self.update_inputs(&stack, &input.template, &input.parameters, &input.capabilities).await;
        // A failed transform does not fail the request: the change set is made and
        // settles FAILED with the transform's reason, as on AWS.
        let (body, values, changes, failure) = match inputs {
            Ok((body, values)) => {
                let (changes, anything) = self.changes(&stack, &body.body, &values)?;
                let tags_changed = input.tags.as_ref().is_some_and(|t| *t != stack.tags);
                let empty = (kind == "UPDATE" && !anything && !tags_changed).then(|| {
                    "The submitted information didn't contain changes. Submit different information to create a change set."
                        .to_owned()
                });
                (body, values, changes, empty)
            }
            Err(CloudFormationError::Transform(reason)) => {
                let submitted = match &input.template {
                    TemplateInput::Body(body) => body.clone(),
                    TemplateInput::UsePrevious => {
                        stack.original_template.clone().unwrap_or_else(|| stack.template.clone())
                    }
                };
                (Expanded { body: submitted, original: None }, Vec::new(), Vec::new(), Some(reason))
            }
            Err(other) => return Err(other),
        };
        if stack.status == "REVIEW_IN_PROGRESS" && self.store().stack(&stack.stack_id)?.is_none() {
            stack.description = Template::parse(&body.body).ok().and_then(|t| t.description);
            self.engine.set_status(&mut stack, "REVIEW_IN_PROGRESS", Some("User Initiated"))?;
        }
        let s = &self.engine.settings;
        let change_set_id = format!(
            "arn:aws:cloudformation:{}:{}:changeSet/{}/{}",
            s.region,
            s.account_id,
            input.change_set_name,
            uuid::Uuid::new_v4()
        );
        let row = ChangeSetRow {
            change_set_id: change_set_id.clone(),
            name: input.change_set_name,
            stack_id: stack.stack_id.clone(),
            kind,
            template: body.body,
            original_template: body.original,
            parameters: values,
            capabilities: input.capabilities,
            tags: input.tags,
            description: input.description,
            status: if failure.is_some() { "FAILED" } else { "CREATE_COMPLETE" }.into(),
            execution_status: if failure.is_some() { "UNAVAILABLE" } else { "AVAILABLE" }.into(),
            reason: failure,
            changes,
            created: Utc::now(),
        };
        self.store().put_change_set(&row)?;
        Ok(ChangeSetCreated { change_set_id, stack_id: stack.stack_id })
    }

    /// A change set by ARN, or by name with its stack: `(stack, change set)`.
    fn find_change_set(&self, change_set: &str, stack: Option<&str>) -> Result<(StackRow, ChangeSetRow)> {
        let missing =
            || CloudFormationError::ChangeSetNotFound(format!("ChangeSet [{change_set}] does not exist"));
        let found = if change_set.starts_with("arn:") {
            self.store().change_set(change_set)?
        } else {
            let Some(stack) = stack else {
                return Err(invalid(
                    "StackName must be specified if ChangeSetName is not specified as an ARN.",
                ));
            };
            let stack = self.find(stack)?.ok_or_else(missing)?;
            self.store().change_sets(&stack.stack_id)?.into_iter().find(|c| c.name == change_set)
        };
        let found = found.ok_or_else(missing)?;
        let stack = self.store().stack(&found.stack_id)?.ok_or_else(missing)?;
        Ok((stack, found))
    }

    /// A change set by ARN, or by name together with its stack.
    pub async fn describe_change_set(&self, change_set: &str, stack: Option<&str>) -> Result<ChangeSet> {
        let (stack, row) = self.find_change_set(change_set, stack)?;
        Ok(views::change_set(&stack, row))
    }

    pub async fn execute_change_set(&self, change_set: &str, stack: Option<&str>) -> Result<()> {
        let (mut stack, mut row) = self.find_change_set(change_set, stack)?;
        if row.execution_status != "AVAILABLE" {
            return Err(CloudFormationError::InvalidChangeSetStatus(format!(
                "ChangeSet [{}] cannot be executed in its current execution status of [{}]",
                row.change_set_id, row.execution_status
            )));
        }
        let creating = row.kind == "CREATE";
        if creating && stack.status != "REVIEW_IN_PROGRESS" {
            return Err(invalid(format!(
                "Stack:{} is in {} state and can not be updated.",
                stack.stack_id, stack.status
            )));
        }
        if !creating {
            Self::check_updatable(&stack)?;
        }
        self.obsolete_change_sets(&stack.stack_id, Some(&row.change_set_id))?;
        row.execution_status = "EXECUTE_IN_PROGRESS".into();
        self.store().put_change_set(&row)?;
        stack.token = None;
        if creating {
            stack.template = row.template;
            stack.original_template = row.original_template;
            stack.parameters = row.parameters;
            stack.capabilities = row.capabilities;
            stack.tags = row.tags.unwrap_or_default();
            stack.description = Template::parse(&stack.template).ok().and_then(|t| t.description);
            stack.change_set_id = Some(row.change_set_id);
            self.engine.set_status(&mut stack, "CREATE_IN_PROGRESS", Some("User Initiated"))?;
            self.engine.spawn(&stack.stack_id, |engine, id| Box::pin(engine.run_create(id)));
        } else {
            self.begin_update(
                &mut stack,
                Expanded { body: row.template, original: row.original_template },
                row.parameters,
                row.capabilities,
                row.tags,
                Some(row.change_set_id),
            )?;
            self.engine.spawn(&stack.stack_id, |engine, id| Box::pin(engine.run_update(id)));
        }
        Ok(())
    }

    pub async fn delete_change_set(&self, change_set: &str, stack: Option<&str>) -> Result<()> {
        let (_, row) = self.find_change_set(change_set, stack)?;
        if row.execution_status == "EXECUTE_IN_PROGRESS" {
            return Err(CloudFormationError::InvalidChangeSetStatus(format!(
                "ChangeSet [{}] cannot be deleted in its current execution status of [EXECUTE_IN_PROGRESS]",
                row.change_set_id
            )));
        }
        self.store().remove_change_set(&row.change_set_id)
    }

    /// ListChangeSets: the change sets still to be decided on. Once one is executed, AWS
    /// removes every change set of the stack from the list (an executed or obsolete one
    /// stays readable by its ARN).
    pub async fn list_change_sets(&self, stack: &str) -> Result<Vec<ChangeSetSummary>> {
        let row = self.get(stack)?;
        Ok(self
            .store()
            .change_sets(&row.stack_id)?
            .into_iter()
            .filter(|c| matches!(c.execution_status.as_str(), "AVAILABLE" | "UNAVAILABLE"))
            .map(|c| views::change_set_summary(&row, c))
            .collect())
    }

    pub async fn list_exports(&self) -> Result<Vec<Export>> {
        Ok(self
            .store()
            .exports()?
            .into_iter()
            .map(|(name, exporting_stack_id, value)| Export { exporting_stack_id, name, value })
            .collect())
    }
}
