//! Stacks: CreateStack, UpdateStack, DeleteStack, DescribeStacks, ListStacks, and the
//! exports stacks publish (ListExports).

use alcove_cloudformation::model::{CreateStackInput, UpdateStackInput};

use super::inputs;
use super::wire::{ExportsResult, StackIdResult, StackSummariesResult, StacksResult};
use crate::query::xml::Empty;
use crate::query::{Call, QueryError};

pub async fn create(call: &Call<'_>) -> Result<StackIdResult, QueryError> {
    let form = call.form;
    let stack_name = inputs::new_name(form, "StackName")?;
    let template = inputs::required_template(call).await?;
    let disable_rollback = form.flag("DisableRollback")?;
    let on_failure = form.get("OnFailure").map(str::to_owned);
    if disable_rollback && on_failure.is_some() {
        return Err(QueryError::Validation("You cannot specify both OnFailure and DisableRollback.".into()));
    }
    let input = CreateStackInput {
        stack_name,
        template,
        parameters: inputs::parameters(form)?,
        capabilities: inputs::capabilities(form),
        tags: inputs::tags(form)?.unwrap_or_default(),
        disable_rollback,
        on_failure,
        client_request_token: form.get("ClientRequestToken").map(str::to_owned),
        description_override: None,
    };
    let stack_id = call.state.cloudformation.create_stack(input).await?;
    Ok(StackIdResult { stack_id })
}

pub async fn update(call: &Call<'_>) -> Result<StackIdResult, QueryError> {
    let form = call.form;
    let stack_name = form.required("StackName")?.to_owned();
    let input = UpdateStackInput {
        stack_name,
        template: inputs::template_or_previous(call).await?,
        parameters: inputs::parameters(form)?,
        capabilities: inputs::capabilities(form),
        tags: inputs::tags(form)?,
        disable_rollback: form.flag("DisableRollback")?,
        client_request_token: form.get("ClientRequestToken").map(str::to_owned),
    };
    let stack_id = call.state.cloudformation.update_stack(input).await?;
    Ok(StackIdResult { stack_id })
}

pub async fn delete(call: &Call<'_>) -> Result<Empty, QueryError> {
    let stack_name = call.form.required("StackName")?;
    call.state.cloudformation.delete_stack(stack_name).await?;
    Ok(Empty {})
}

pub async fn describe(call: &Call<'_>) -> Result<StacksResult, QueryError> {
    let stacks = call.state.cloudformation.describe_stacks(call.form.get("StackName")).await?;
    Ok(StacksResult { stacks: stacks.into_iter().map(Into::into).collect() })
}

pub async fn list(call: &Call<'_>) -> Result<StackSummariesResult, QueryError> {
    let filter = call.form.strings("StackStatusFilter");
    let summaries = call.state.cloudformation.list_stacks(&filter).await?;
    Ok(StackSummariesResult { stack_summaries: summaries.into_iter().map(Into::into).collect() })
}

pub async fn list_exports(call: &Call<'_>) -> Result<ExportsResult, QueryError> {
    let exports = call.state.cloudformation.list_exports().await?;
    Ok(ExportsResult { exports: exports.into_iter().map(Into::into).collect() })
}
