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
            missing.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::services::{ServiceRequest, ServiceResponse};

    /// Parameter Store holding `/v` = `33` and the SecureString `/s`.
    struct Store;

    #[async_trait]
    impl Services for Store {
        async fn call(&self, request: ServiceRequest) -> ServiceResponse {
            let name =
                serde_json::from_slice::<Value>(&request.body).unwrap()["Name"].as_str().unwrap().to_owned();
            let (status, body) = match name.as_str() {
                "/v" => (200, json!({"Parameter": {"Name": "/v", "Type": "String", "Value": "33"}})),
                "/s" => (200, json!({"Parameter": {"Name": "/s", "Type": "SecureString", "Value": "x"}})),
                _ => (400, json!({"__type": "ParameterNotFound"})),
            };
            ServiceResponse { status, headers: Vec::new(), body: serde_json::to_vec(&body).unwrap().into() }
        }
    }

    fn parameter(key: &str, value: &str) -> StackParameter {
        StackParameter { key: key.into(), value: value.into(), resolved_value: Some("stale".into()) }
    }

    #[tokio::test]
    async fn ssm_typed_parameters_are_resolved_and_others_left_alone() {
        let template = Template::parse(
            "Parameters:\n  V:\n    Type: AWS::SSM::Parameter::Value<String>\n  P:\n    Type: String\nResources:\n  R:\n    Type: AWS::S3::Bucket\n",
        )
        .unwrap();
        let mut values = vec![parameter("V", "/v"), parameter("P", "/v")];
        resolve(&Store, &template, &mut values).await.unwrap();
        assert_eq!(values[0].resolved_value.as_deref(), Some("33"));
        assert_eq!(values[1].resolved_value, None);
        let mut missing = vec![parameter("V", "/nowhere")];
        assert_eq!(
            resolve(&Store, &template, &mut missing).await.unwrap_err().to_string(),
            "Unable to fetch parameters [/nowhere] from parameter store for this account."
        );
        let mut secure = vec![parameter("V", "/s")];
        assert!(resolve(&Store, &template, &mut secure)
            .await
            .unwrap_err()
            .to_string()
            .contains("not supported"));
    }
}
