//! Change sets: CreateChangeSet, DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet,
//! ListChangeSets. A change set is named by its ARN, or by its name with its stack.

use alcove_cloudformation::model::CreateChangeSetInput;

use super::inputs;
use super::wire::{ChangeSetSummariesResult, CreateChangeSetResult, DescribeChangeSetResult};
use crate::query::xml::Empty;
use crate::query::{Call, QueryError};

pub async fn create(call: &Call<'_>) -> Result<CreateChangeSetResult, QueryError> {
    let form = call.form;
    let stack_name = form.required("StackName")?.to_owned();
    let change_set_name = inputs::new_name(form, "ChangeSetName")?;
    let change_set_type = form.get("ChangeSetType").map(str::to_owned);
    if let Some(kind) = change_set_type.as_deref().filter(|k| !matches!(*k, "CREATE" | "UPDATE" | "IMPORT")) {
        return Err(QueryError::Validation(format!(
            "1 validation error detected: Value '{kind}' at 'changeSetType' failed to satisfy constraint: \
             Member must satisfy enum value set: [IMPORT, UPDATE, CREATE]"
        )));
    }
    let input = CreateChangeSetInput {
        stack_name,
        change_set_name,
        change_set_type,
        template: inputs::template_or_previous(call).await?,
        parameters: inputs::parameters(form)?,
        capabilities: inputs::capabilities(form),
        tags: inputs::tags(form)?,
        description: form.get("Description").map(str::to_owned),
        client_token: form.get("ClientToken").map(str::to_owned),
    };
    Ok(call.state.cloudformation.create_change_set(input).await?.into())
}

pub async fn describe(call: &Call<'_>) -> Result<DescribeChangeSetResult, QueryError> {
    let change_set = call.form.required("ChangeSetName")?;
    let stack = call.form.get("StackName");
    Ok(call.state.cloudformation.describe_change_set(change_set, stack).await?.into())
}

pub async fn execute(call: &Call<'_>) -> Result<Empty, QueryError> {
    let change_set = call.form.required("ChangeSetName")?;
    call.state.cloudformation.execute_change_set(change_set, call.form.get("StackName")).await?;
    Ok(Empty {})
}

pub async fn delete(call: &Call<'_>) -> Result<Empty, QueryError> {
    let change_set = call.form.required("ChangeSetName")?;
    call.state.cloudformation.delete_change_set(change_set, call.form.get("StackName")).await?;
    Ok(Empty {})
}

pub async fn list(call: &Call<'_>) -> Result<ChangeSetSummariesResult, QueryError> {
    let stack_name = call.form.required("StackName")?;
    let summaries = call.state.cloudformation.list_change_sets(stack_name).await?;
    Ok(ChangeSetSummariesResult { summaries: summaries.into_iter().map(Into::into).collect() })
}
