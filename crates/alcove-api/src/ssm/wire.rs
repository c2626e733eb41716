//! SSM's request and answer documents, with botocore's member names. Timestamps are
//! epoch seconds, as JSON 1.1 sends them.

use alcove_core::ACCOUNT_ID;
use alcove_ssm::Parameter;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub value: Option<String>,
    #[serde(rename = "Type")]
    pub parameter_type: Option<String>,
    pub key_id: Option<String>,
    pub overwrite: Option<bool>,
    pub allowed_pattern: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub tier: Option<String>,
    pub policies: Option<String>,
    pub data_type: Option<String>,
}

/// A `{Key, Value}` tag, as requests carry and ListTagsForResource answers them.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// AddTagsToResource, RemoveTagsFromResource and ListTagsForResource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsRequest {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceResult {
    pub tag_list: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterRequest {
    pub name: Option<String>,
    pub with_decryption: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersRequest {
    pub names: Option<Vec<String>>,
    pub with_decryption: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathRequest {
    pub path: Option<String>,
    pub recursive: Option<bool>,
    pub parameter_filters: Option<Vec<ParameterStringFilter>>,
    pub with_decryption: Option<bool>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameterRequest {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersRequest {
    pub names: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersRequest {
    pub filters: Option<Vec<ParametersFilter>>,
    pub parameter_filters: Option<Vec<ParameterStringFilter>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersFilter {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterStringFilter {
    pub key: String,
    pub option: Option<String>,
    pub values: Option<Vec<String>>,
}

fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{}", name.trim_start_matches('/'))
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The `Parameter` shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterOut {
    pub name: String,
    #[serde(rename = "Type")]
    pub parameter_type: &'static str,
    pub value: String,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub last_modified_date: f64,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub data_type: String,
}

impl ParameterOut {
    pub fn new(parameter: &Parameter, region: &str, with_decryption: bool) -> Self {
        ParameterOut {
            name: parameter.name.clone(),
            parameter_type: parameter.parameter_type.as_str(),
            value: parameter.value_seen(with_decryption),
            version: parameter.version,
            selector: parameter.selector.clone(),
            last_modified_date: seconds(parameter.modified_ms),
            arn: arn(region, &parameter.name),
            data_type: parameter.data_type.clone(),
        }
    }
}

/// The `ParameterMetadata` shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetadataOut {
    pub name: String,
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Type")]
    pub parameter_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<&'static str>,
    pub last_modified_date: f64,
    pub last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    pub version: u64,
    pub tier: &'static str,
    pub policies: Vec<()>,
    pub data_type: String,
}

impl MetadataOut {
    pub fn new(parameter: &Parameter, region: &str) -> Self {
        let secure = parameter.parameter_type == alcove_ssm::ParameterType::SecureString;
        MetadataOut {
            name: parameter.name.clone(),
            arn: arn(region, &parameter.name),
            parameter_type: parameter.parameter_type.as_str(),
            key_id: secure.then_some("alias/aws/ssm"),
            last_modified_date: seconds(parameter.modified_ms),
            last_modified_user: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
            description: parameter.description.clone(),
            allowed_pattern: parameter.allowed_pattern.clone(),
            version: parameter.version,
            tier: "Standard",
            policies: Vec::new(),
            data_type: parameter.data_type.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterResult {
    pub version: u64,
    pub tier: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterResult {
    pub parameter: ParameterOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersResult {
    pub parameters: Vec<ParameterOut>,
    pub invalid_parameters: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathResult {
    pub parameters: Vec<ParameterOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersResult {
    pub deleted_parameters: Vec<String>,
    pub invalid_parameters: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersResult {
    pub parameters: Vec<MetadataOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
