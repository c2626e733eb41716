//! Resolving `AWS::SSM::Parameter::Value<T>` template parameters: each one's value names
//! an SSM parameter, read with GetParameter through [`Services`] (as CloudFormation reads
//! Parameter Store) whenever a stack operation or change set is prepared, so every update
//! sees the current value. Names not found fail the operation with AWS's message.

use serde_json::{json, Value};

use crate::model::StackParameter;
use crate::resources::ssm::operation;
use crate::services::Services;
use crate::template::Template;
use crate::{parameters, CloudFormationError};

/// Fills `resolved_value` of every SSM-typed parameter in `values`.
pub async fn resolve(
    services: &dyn Services,
    template: &Template,
    values: &mut [StackParameter],
) -> Result<(), CloudFormationError> {
    let mut missing = Vec::new();
    for parameter in values.iter_mut() {
        let declared = template.parameters.get(&parameter.key);
        if !declared.is_some_and(parameters::is_ssm_typed) {
            parameter.resolved_value = None;
            continue;
        }
        let request = operation("GetParameter", &json!({"Name": parameter.value, "WithDecryption": false}));
        let response = services.call(request).await;
        let body = response.json();
        let found =
            body.pointer("/Parameter/Value").and_then(Value::as_str).filter(|_| response.is_success());
        let secure = body.pointer("/Parameter/Type").and_then(Value::as_str) == Some("SecureString");
        match found {
            Some(_) if secure => {
                return Err(CloudFormationError::Validation(format!(
                    "Parameters [{}] referenced by template have types not supported by CloudFormation.",
                    parameter.value
                )))
            }
            Some(value) => parameter.resolved_value = Some(value.to_owned()),
            None if response.status >= 500 => {
                return Err(CloudFormationError::Validation(format!(
                    "Unable to fetch parameters [{}] from parameter store: the service failed ({})",
                    parameter.value, response.status
                )))
            }
            None => missing.push(parameter.value.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(CloudFormationError::Validation(format!(
            "Unable to fetch parameters [{}] from parameter store for this account.",
            missing.join(",")
        )));
    }
    Ok(())
}
