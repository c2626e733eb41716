//! A stack's resources and its event log: DescribeStackEvents, DescribeStackResource,
//! DescribeStackResources, ListStackResources.

use super::wire::{
    StackEventsResult, StackResourceDetailResult, StackResourceSummariesResult, StackResourcesResult,
};
use crate::query::{Call, QueryError};

pub async fn events(call: &Call<'_>) -> Result<StackEventsResult, QueryError> {
    let stack_name = call.form.required("StackName")?;
    let events = call.state.cloudformation.describe_stack_events(stack_name).await?;
    Ok(StackEventsResult { stack_events: events.into_iter().map(Into::into).collect() })
}

pub async fn describe_one(call: &Call<'_>) -> Result<StackResourceDetailResult, QueryError> {
    let stack_name = call.form.required("StackName")?;
    let logical_id = call.form.required("LogicalResourceId")?;
    let resource = call.state.cloudformation.describe_stack_resource(stack_name, logical_id).await?;
    Ok(StackResourceDetailResult { stack_resource_detail: resource.into() })
}

pub async fn describe(call: &Call<'_>) -> Result<StackResourcesResult, QueryError> {
    let form = call.form;
    let (stack, logical_id, physical_id) =
        (form.get("StackName"), form.get("LogicalResourceId"), form.get("PhysicalResourceId"));
    if stack.is_none() && physical_id.is_none() {
        return Err(QueryError::Validation(
            "Either StackName or PhysicalResourceId must be specified.".into(),
        ));
    }
    let resources =
        call.state.cloudformation.describe_stack_resources(stack, logical_id, physical_id).await?;
    Ok(StackResourcesResult { stack_resources: resources.into_iter().map(Into::into).collect() })
}

pub async fn list(call: &Call<'_>) -> Result<StackResourceSummariesResult, QueryError> {
    let stack_name = call.form.required("StackName")?;
    let resources = call.state.cloudformation.list_stack_resources(stack_name).await?;
    Ok(StackResourceSummariesResult {
        stack_resource_summaries: resources.into_iter().map(Into::into).collect(),
    })
}
