//! Stored rows as the API shows them (`model` values): NoEcho parameters masked, the
//! template's description, events and resources in the shapes DescribeStack* answer.

use crate::model::{ChangeSet, ChangeSetSummary, Stack, StackEvent, StackResource, StackSummary};
use crate::parameters;
use crate::store::{ChangeSetRow, EventRow, ResourceRow, StackRow};
use crate::template::Template;

pub fn stack(row: &StackRow) -> Stack {
    let template = Template::parse(&row.template).ok();
    Stack {
        stack_id: row.stack_id.clone(),
        stack_name: row.name.clone(),
        change_set_id: row.change_set_id.clone(),
        description: row.description.clone(),
        parameters: parameters::shown(template.as_ref(), &row.parameters),
        creation_time: row.created,
        last_updated_time: row.updated,
        deletion_time: row.deleted,
        status: row.status.clone(),
        status_reason: row.reason.clone(),
        disable_rollback: row.disable_rollback,
        capabilities: row.capabilities.clone(),
        outputs: row.outputs.clone(),
        tags: row.tags.clone(),
    }
}

pub fn summary(row: &StackRow) -> StackSummary {
    StackSummary {
        stack_id: row.stack_id.clone(),
        stack_name: row.name.clone(),
        template_description: row.description.clone(),
        creation_time: row.created,
        last_updated_time: row.updated,
        deletion_time: row.deleted,
        status: row.status.clone(),
        status_reason: row.reason.clone(),
    }
}

pub fn event(stack: &StackRow, e: EventRow) -> StackEvent {
    StackEvent {
        stack_id: e.stack_id,
        event_id: e.event_id,
        stack_name: stack.name.clone(),
        logical_resource_id: e.logical_id,
        physical_resource_id: e.physical_id,
        resource_type: e.type_name,
        timestamp: e.timestamp,
        resource_status: e.status,
        resource_status_reason: e.reason,
        resource_properties: e.properties,
        client_request_token: e.token,
    }
}

pub fn resource(stack: &StackRow, template: Option<&Template>, r: ResourceRow) -> StackResource {
    let declaration = template.and_then(|t| t.resources.get(&r.logical_id));
    StackResource {
        stack_id: stack.stack_id.clone(),
        stack_name: stack.name.clone(),
        physical_resource_id: r.physical_id,
        resource_type: r.type_name,
        last_updated_timestamp: r.updated,
        resource_status: r.status,
        resource_status_reason: r.reason,
        description: declaration.and_then(|d| d.description.clone()),
        metadata: declaration.and_then(|d| d.metadata.as_ref()).map(|m| m.to_string()),
        logical_resource_id: r.logical_id,
    }
}

pub fn change_set(stack: &StackRow, c: ChangeSetRow) -> ChangeSet {
    let template = Template::parse(&c.template).ok();
    ChangeSet {
        change_set_id: c.change_set_id,
        change_set_name: c.name,
        stack_id: stack.stack_id.clone(),
        stack_name: stack.name.clone(),
        description: c.description,
        parameters: parameters::shown(template.as_ref(), &c.parameters),
        creation_time: c.created,
        status: c.status,
        status_reason: c.reason,
        execution_status: c.execution_status,
        capabilities: c.capabilities,
        tags: c.tags.unwrap_or_else(|| stack.tags.clone()),
        changes: c.changes,
    }
}

pub fn change_set_summary(stack: &StackRow, c: ChangeSetRow) -> ChangeSetSummary {
    ChangeSetSummary {
        change_set_id: c.change_set_id,
        change_set_name: c.name,
        stack_id: stack.stack_id.clone(),
        stack_name: stack.name.clone(),
        description: c.description,
        creation_time: c.created,
        status: c.status,
        status_reason: c.reason,
        execution_status: c.execution_status,
    }
}
