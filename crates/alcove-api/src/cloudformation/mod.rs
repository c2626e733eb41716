//! CloudFormation on the Query protocol: one handler per operation, each reading its
//! members from the form, calling the [`alcove_cloudformation::CloudFormation`] engine and
//! answering a document of [`wire`]. The engine owns stacks; this module only translates.

mod change_sets;
mod inputs;
mod resources;
mod stacks;
mod template_url;
mod templates;
mod wire;
#[cfg(test)]
mod wire_tests;

use axum::response::Response;

use crate::query::{Call, QueryError, QueryService};

/// Runs `action` and writes its answer, result or error.
pub async fn dispatch(call: &Call<'_>, action: &str) -> Response {
    macro_rules! answer {
        ($handler:expr) => {
            call.answer(QueryService::CloudFormation, action, $handler.await)
        };
    }
    match action {
        "CreateStack" => answer!(stacks::create(call)),
        "UpdateStack" => answer!(stacks::update(call)),
        "DeleteStack" => answer!(stacks::delete(call)),
        "DescribeStacks" => answer!(stacks::describe(call)),
        "ListStacks" => answer!(stacks::list(call)),
        "ListExports" => answer!(stacks::list_exports(call)),
        "DescribeStackEvents" => answer!(resources::events(call)),
        "DescribeStackResource" => answer!(resources::describe_one(call)),
        "DescribeStackResources" => answer!(resources::describe(call)),
        "ListStackResources" => answer!(resources::list(call)),
        "GetTemplate" => answer!(templates::get(call)),
        "GetTemplateSummary" => answer!(templates::summary(call)),
        "ValidateTemplate" => answer!(templates::validate(call)),
        "CreateChangeSet" => answer!(change_sets::create(call)),
        "DescribeChangeSet" => answer!(change_sets::describe(call)),
        "ExecuteChangeSet" => answer!(change_sets::execute(call)),
        "DeleteChangeSet" => answer!(change_sets::delete(call)),
        "ListChangeSets" => answer!(change_sets::list(call)),
        _ => call.answer::<()>(
            QueryService::CloudFormation,
            action,
            Err(QueryError::InvalidAction(action.to_owned())),
        ),
    }
}
