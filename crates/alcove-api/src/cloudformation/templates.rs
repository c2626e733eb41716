//! Templates: GetTemplate, GetTemplateSummary, ValidateTemplate.

use super::inputs;
use super::wire::{GetTemplateResult, TemplateSummaryResult, ValidateTemplateResult};
use crate::query::{Call, QueryError};

pub async fn get(call: &Call<'_>) -> Result<GetTemplateResult, QueryError> {
    let form = call.form;
    let (stack, change_set) = (form.get("StackName"), form.get("ChangeSetName"));
    if stack.is_none() && change_set.is_none() {
        return Err(QueryError::Validation("Either StackName or ChangeSetName must be specified.".into()));
    }
    // `Original` (the default) is the template as submitted; `Processed` is what a
    // transform (SAM's) made of it, the template the stack runs.
    let stage = form.get("TemplateStage");
    let template_body = call.state.cloudformation.get_template_stage(stack, change_set, stage).await?;
    Ok(GetTemplateResult { template_body, stages_available: vec!["Original", "Processed"].into() })
}

pub async fn summary(call: &Call<'_>) -> Result<TemplateSummaryResult, QueryError> {
    let template = inputs::template(call).await?;
    let stack = call.form.get("StackName");
    let given = usize::from(template.is_some()) + usize::from(stack.is_some());
    if given != 1 {
        return Err(QueryError::Validation(
            "Exactly one of TemplateBody, TemplateUrl, StackName or StackSetName must be specified.".into(),
        ));
    }
    let summary = call.state.cloudformation.template_summary(template.as_deref(), stack).await?;
    Ok(summary.into())
}

pub async fn validate(call: &Call<'_>) -> Result<ValidateTemplateResult, QueryError> {
    let template = inputs::required_template(call).await?;
    Ok(call.state.cloudformation.validate_template(&template).await?.into())
}
