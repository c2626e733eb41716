//! The SSM Parameter Store subset, on the same endpoint: `POST /` with
//! `X-Amz-Target: AmazonSSM.<Operation>` and a JSON 1.1 body, as botocore's `ssm` model
//! defines it, so `aws ssm ...`, `boto3.client("ssm")` and the CDK's bootstrap-version
//! lookup work unchanged. Requests are read into the model's shapes (`wire.rs`), run on
//! the store (`alcove-ssm`) on a blocking thread, and answered; every failure leaves as a
//! [`Json11Error`].

mod wire;

use alcove_ssm::{Filter, FilterKey, ParameterStore, ParameterType, PutInput};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Json11Error;
use crate::AppState;
use wire::*;

/// The target prefix of every SSM operation.
pub const TARGET_PREFIX: &str = "AmazonSSM.";

type Answer = Result<Value, Json11Error>;

/// Runs one operation (the name after [`TARGET_PREFIX`]) on the parameter store.
pub async fn run(state: &AppState, region: String, operation: String, request: Value) -> Answer {
    let store = state.parameters.clone();
    let answer =
        tokio::task::spawn_blocking(move || operation_of(&store, &region, &operation, request)).await;
    answer.unwrap_or_else(|join| Err(Json11Error::internal_as("InternalServerError", format!("{join}"))))
}

fn read<T: DeserializeOwned>(request: Value) -> Result<T, Json11Error> {
    serde_json::from_value(request).map_err(|e| Json11Error::serialization(e.to_string()))
}

fn required<T>(value: Option<T>, member: &str) -> Result<T, Json11Error> {
    value.ok_or_else(|| Json11Error::missing_as("ValidationException", member))
}

fn validation(message: impl Into<String>) -> Json11Error {
    Json11Error::new("ValidationException", message)
}

fn answer<T: serde::Serialize>(document: &T) -> Answer {
    serde_json::to_value(document).map_err(|e| Json11Error::internal_as("InternalServerError", e.to_string()))
}

fn max_results(given: Option<i64>, max: i64, default: i64) -> Result<usize, Json11Error> {
    match given {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {max}"
        ))),
    }
}

fn operation_of(store: &ParameterStore, region: &str, operation: &str, request: Value) -> Answer {
    let render = |p: &alcove_ssm::Parameter, decrypt: bool| ParameterOut::new(p, region, decrypt);
    match operation {
        "PutParameter" => {
            let input: PutParameterRequest = read(request)?;
            let name = required(input.name, "name")?;
            let value = required(input.value, "value")?;
            match input.tier.as_deref() {
                None | Some("Standard") => {}
                Some(tier @ ("Advanced" | "Intelligent-Tiering")) => {
                    return Err(validation(format!("The {tier} tier is not supported by this server (only Standard)")))
                }
                Some(other) => {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{other}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]"
                    )))
                }
            }
            if input.policies.as_deref().is_some_and(|p| !p.is_empty() && p != "[]") {
                return Err(Json11Error::new(
                    "InvalidPolicyTypeException",
                    "Parameter policies are not supported by this server",
                ));
            }
            if input.key_id.is_some() && input.parameter_type.as_deref() != Some("SecureString") {
                return Err(validation("KeyId is required for SecureString type parameter only."));
            }
            if input.tags.as_ref().is_some_and(|t| !t.is_empty()) && input.overwrite.unwrap_or(false) {
                return Err(validation(
                    "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
                ));
            }
            let put = PutInput {
                name,
                value,
                parameter_type: input.parameter_type.as_deref().map(ParameterType::parse).transpose()?,
                description: input.description,
                allowed_pattern: input.allowed_pattern,
                data_type: input.data_type,
                overwrite: input.overwrite.unwrap_or(false),
                tags: tag_map(input.tags.unwrap_or_default())?,
            };
            let version = store.put(&put)?;
            answer(&PutParameterResult { version, tier: "Standard" })
        }
        "GetParameter" => {
            let input: GetParameterRequest = read(request)?;
            let name = required(input.name, "name")?;
            let parameter = store.get(&name)?;
            answer(&GetParameterResult {
                parameter: render(&parameter, input.with_decryption.unwrap_or(false)),
            })
        }
        "GetParameters" => {
            let input: GetParametersRequest = read(request)?;
            let names = required(input.names, "names")?;
            if names.is_empty() || names.len() > 10 {
                return Err(validation(format!(
                    "1 validation error detected: Value '[{}]' at 'names' failed to satisfy constraint: Member must have length between 1 and 10",
                    names.join(", ")
                )));
            }
            let decrypt = input.with_decryption.unwrap_or(false);
            let (found, invalid_parameters) = store.get_many(&names)?;
            let parameters = found.iter().map(|p| render(p, decrypt)).collect();
            answer(&GetParametersResult { parameters, invalid_parameters })
        }
        "GetParametersByPath" => {
            let input: GetParametersByPathRequest = read(request)?;
            let path = required(input.path, "path")?;
            if input.parameter_filters.as_ref().is_some_and(|f| !f.is_empty()) {
                return Err(Json11Error::new(
                    "InvalidFilterKey",
                    "ParameterFilters on GetParametersByPath are not supported by this server",
                ));
            }
            let max = max_results(input.max_results, 10, 10)?;
            let decrypt = input.with_decryption.unwrap_or(false);
            let page =
                store.by_path(&path, input.recursive.unwrap_or(false), max, input.next_token.as_deref())?;
            let parameters = page.parameters.iter().map(|p| render(p, decrypt)).collect();
            answer(&GetParametersByPathResult { parameters, next_token: page.next_token })
        }
        "DeleteParameter" => {
            let input: DeleteParameterRequest = read(request)?;
            store.delete(&required(input.name, "name")?)?;
            answer(&serde_json::Map::new())
        }
        "DeleteParameters" => {
            let input: DeleteParametersRequest = read(request)?;
            let names = required(input.names, "names")?;
            let (mut deleted_parameters, mut invalid_parameters) = (Vec::new(), Vec::new());
            for name in names {
                match store.delete(&name) {
                    Ok(()) => deleted_parameters.push(name),
                    Err(alcove_ssm::SsmError::NotFound) => invalid_parameters.push(name),
                    Err(other) => return Err(other.into()),
                }
            }
            answer(&DeleteParametersResult { deleted_parameters, invalid_parameters })
        }
        "DescribeParameters" => {
            let input: DescribeParametersRequest = read(request)?;
            let mut filters = Vec::new();
            for filter in input.filters.unwrap_or_default() {
                filters.push(filter_of(&filter.key, Some("Equals"), filter.values)?);
            }
            for filter in input.parameter_filters.unwrap_or_default() {
                filters.push(filter_of(
                    &filter.key,
                    filter.option.as_deref(),
                    filter.values.unwrap_or_default(),
                )?);
            }
            let max = max_results(input.max_results, 50, 50)?;
            let page = store.describe(&filters, max, input.next_token.as_deref())?;
            let parameters = page.parameters.iter().map(|p| MetadataOut::new(p, region)).collect();
            answer(&DescribeParametersResult { parameters, next_token: page.next_token })
        }
        "AddTagsToResource" | "RemoveTagsFromResource" | "ListTagsForResource" => {
            let input: TagsRequest = read(request)?;
            let name = tagged_parameter(input.resource_type, input.resource_id)?;
            match operation {
                "AddTagsToResource" => {
                    store.add_tags(&name, &tag_map(required(input.tags, "tags")?)?)?;
                    answer(&serde_json::Map::new())
                }
                "RemoveTagsFromResource" => {
                    store.remove_tags(&name, &required(input.tag_keys, "tagKeys")?)?;
                    answer(&serde_json::Map::new())
                }
                _ => {
                    let tag_list =
                        store.tags(&name)?.into_iter().map(|(key, value)| Tag { key, value }).collect();
                    answer(&ListTagsForResourceResult { tag_list })
                }
            }
        }
        _ => Err(Json11Error::unknown_operation()),
    }
}

/// The parameter a tagging request addresses: only the `Parameter` resource type is
/// served (documents, maintenance windows and the like do not exist here).
fn tagged_parameter(
    resource_type: Option<String>,
    resource_id: Option<String>,
) -> Result<String, Json11Error> {
    let resource_type = required(resource_type, "resourceType")?;
    let name = required(resource_id, "resourceId")?;
    if resource_type != "Parameter" {
        return Err(Json11Error::new(
            "InvalidResourceType",
            format!("The resource type {resource_type} is not served by this server (only Parameter)"),
        ));
    }
    Ok(name)
}

/// Tags as a map; keys and values within Parameter Store's lengths (1–128, 0–256).
fn tag_map(tags: Vec<Tag>) -> Result<std::collections::BTreeMap<String, String>, Json11Error> {
    let mut map = std::collections::BTreeMap::new();
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 || tag.value.chars().count() > 256 {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have a key of 1 to 128 characters and a value of at most 256",
                tag.key
            )));
        }
        map.insert(tag.key, tag.value);
    }
    Ok(map)
}

/// A DescribeParameters filter this server applies: `Name` (`Equals`, `BeginsWith`) and
/// `Type` (`Equals`).
fn filter_of(key: &str, option: Option<&str>, values: Vec<String>) -> Result<Filter, Json11Error> {
    let key = match key {
        "Name" => FilterKey::Name,
        "Type" => FilterKey::Type,
        other => {
            return Err(alcove_ssm::SsmError::InvalidFilterKey(format!(
                "{other} (this server filters on Name and Type only)"
            ))
            .into())
        }
    };
    let begins_with = match (option.unwrap_or("Equals"), &key) {
        ("Equals", _) => false,
        ("BeginsWith", FilterKey::Name) => true,
        (other, _) => {
            return Err(alcove_ssm::SsmError::InvalidFilterOption(format!(
                "The filter option {other} is not valid for this key."
            ))
            .into())
        }
    };
    Ok(Filter { key, begins_with, values })
}
