//! Templates: GetTemplate, ValidateTemplate, GetTemplateSummary.

use alcove_cloudformation::model;
use serde::Serialize;

use crate::query::xml::Members;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTemplateResult {
    pub template_body: String,
    pub stages_available: Members<&'static str>,
}

/// ValidateTemplate: `TemplateParameter`s.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateTemplateResult {
    parameters: Members<TemplateParameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    capabilities: Members<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities_reason: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    declared_transforms: Members<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateParameter {
    parameter_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    no_echo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl From<model::TemplateSummary> for ValidateTemplateResult {
    fn from(t: model::TemplateSummary) -> Self {
        ValidateTemplateResult {
            parameters: t
                .parameters
                .into_iter()
                .map(|p| TemplateParameter {
                    parameter_key: p.key,
                    default_value: p.default_value,
                    no_echo: p.no_echo,
                    description: p.description,
                })
                .collect(),
            description: t.description,
            capabilities: t.capabilities.into(),
            capabilities_reason: t.capabilities_reason,
            declared_transforms: t.declared_transforms.into(),
        }
    }
}

/// GetTemplateSummary: `ParameterDeclaration`s and the resource types.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TemplateSummaryResult {
    parameters: Members<ParameterDeclaration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    capabilities: Members<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities_reason: Option<String>,
    resource_types: Members<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(skip_serializing_if = "Members::is_empty")]
    declared_transforms: Members<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterDeclaration {
    parameter_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    parameter_type: String,
    no_echo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    parameter_constraints: ParameterConstraints,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterConstraints {
    #[serde(skip_serializing_if = "Members::is_empty")]
    allowed_values: Members<String>,
}

impl From<model::TemplateSummary> for TemplateSummaryResult {
    fn from(t: model::TemplateSummary) -> Self {
        TemplateSummaryResult {
            parameters: t
                .parameters
                .into_iter()
                .map(|p| ParameterDeclaration {
                    parameter_key: p.key,
                    default_value: p.default_value,
                    parameter_type: p.parameter_type,
                    no_echo: p.no_echo,
                    description: p.description,
                    parameter_constraints: ParameterConstraints { allowed_values: p.allowed_values.into() },
                })
                .collect(),
            description: t.description,
            capabilities: t.capabilities.into(),
            capabilities_reason: t.capabilities_reason,
            resource_types: t.resource_types.into(),
            version: t.version,
            metadata: t.metadata,
            declared_transforms: t.declared_transforms.into(),
        }
    }
}
