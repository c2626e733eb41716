//! The documents CloudFormation's operations answer, member for member as botocore's
//! `cloudformation` model names and nests them, built from the engine's model values.
//! [`crate::query::xml`] writes them; only the members Alcove can fill are declared. One
//! module per group of operations; what several share is here.

mod change_sets;
mod resources;
mod stacks;
mod templates;

use alcove_cloudformation::model;
use serde::Serialize;

pub use change_sets::*;
pub use resources::*;
pub use stacks::*;
pub use templates::*;

use crate::query::xml::Members;

/// Drift detection is not run: every stack and resource is `NOT_CHECKED`.
const NOT_CHECKED: &str = "NOT_CHECKED";

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
    /// What an SSM-typed parameter's name resolved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_value: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

fn parameters(parameters: Vec<model::StackParameter>) -> Members<Parameter> {
    parameters
        .into_iter()
        .map(|p| Parameter {
            parameter_key: p.key,
            parameter_value: p.value,
            resolved_value: p.resolved_value,
        })
        .collect()
}

fn tags(tags: Vec<model::Tag>) -> Members<Tag> {
    tags.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()
}
