//! Template parameters: their declared types and constraints, the values a caller gives
//! (or the previous stack's, with `UsePreviousValue`), and what `Ref` returns for each.
//! Values are stored as the strings the caller sent; the typed value (a list for
//! `CommaDelimitedList` and `List<...>` types) is derived from the declaration when a
//! template is resolved, so NoEcho masking and DescribeStacks see the same text AWS shows.
//! An `AWS::SSM::Parameter::Value<T>` parameter's value is an SSM parameter's name; what
//! it resolves to (`ssm_values.rs`) is kept beside it and is what `Ref` gives, typed as `T`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::{ParameterDeclaration, ParameterInput, StackParameter};
use crate::template::Template;
use crate::CloudFormationError;

fn invalid(message: impl Into<String>) -> CloudFormationError {
    CloudFormationError::Validation(message.into())
}

/// Checks one entry of the Parameters section.
pub fn check_declaration(name: &str, declaration: &Value) -> Result<(), CloudFormationError> {
    let Some(parameter_type) = declaration.get("Type").and_then(Value::as_str) else {
        return Err(invalid(format!(
            "Template format error: Every Parameters object must contain a Type member. ({name})"
        )));
    };
    let known = match ssm_value_type(parameter_type) {
        Some(inner) => {
            matches!(inner, "String" | "List<String>" | "CommaDelimitedList")
                || (inner.starts_with("AWS::") && !inner.contains('<'))
                || (inner.starts_with("List<AWS::") && inner.ends_with('>'))
        }
        None => {
            matches!(parameter_type, "String" | "Number" | "List<Number>" | "CommaDelimitedList")
                || (parameter_type.starts_with("AWS::") && !parameter_type.contains('<'))
                || (parameter_type.starts_with("List<AWS::") && parameter_type.ends_with('>'))
        }
    };
    if !known {
        return Err(invalid(format!("Template format error: Unrecognized parameter type: {parameter_type}")));
    }
    if let Some(pattern) = declaration.get("AllowedPattern").and_then(Value::as_str) {
        if fancy_regex::Regex::new(pattern).is_err() {
            return Err(invalid(format!(
                "Template format error: Parameter '{name}' AllowedPattern {pattern} is not a valid pattern"
            )));
        }
    }
    Ok(())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => Some(items.iter().filter_map(text).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

fn parameter_type(declaration: &Value) -> &str {
    declaration.get("Type").and_then(Value::as_str).unwrap_or("String")
}

/// `T` of an `AWS::SSM::Parameter::Value<T>` type.
pub fn ssm_value_type(parameter_type: &str) -> Option<&str> {
    parameter_type.strip_prefix("AWS::SSM::Parameter::Value<")?.strip_suffix('>')
}

/// Whether a declared parameter's value is an SSM parameter's name to resolve.
pub fn is_ssm_typed(declaration: &Value) -> bool {
    ssm_value_type(parameter_type(declaration)).is_some()
}

fn is_list(parameter_type: &str) -> bool {
    let parameter_type = ssm_value_type(parameter_type).unwrap_or(parameter_type);
    parameter_type == "CommaDelimitedList" || parameter_type.starts_with("List<")
}

/// The value each declared parameter takes: given, previous (`UsePreviousValue`), or
/// default; every constraint checked. The answer is in declaration order.
pub fn resolve(
    template: &Template,
    given: &[ParameterInput],
    previous: &[StackParameter],
) -> Result<Vec<StackParameter>, CloudFormationError> {
    let unknown: Vec<&str> =
        given.iter().map(|p| p.key.as_str()).filter(|key| !template.parameters.contains_key(*key)).collect();
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for (name, declaration) in &template.parameters {
        let input = given.iter().find(|p| &p.key == name);
        let value = match input {
            Some(ParameterInput { use_previous_value: true, .. }) => {
                match previous.iter().find(|p| &p.key == name) {
                    Some(p) => Some(p.value.clone()),
                    None => {
                        return Err(invalid(format!(
                            "Invalid input for parameter key {name}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                        )))
                    }
                }
            }
            Some(ParameterInput { value: Some(v), .. }) => Some(v.clone()),
            _ => declaration.get("Default").and_then(text),
        };
        match value {
            Some(value) => values.push(StackParameter { key: name.clone(), value, resolved_value: None }),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(invalid(format!("Parameters: [{}] must have values", missing.join(", "))));
    }
    if !unknown.is_empty() {
        return Err(invalid(format!("Parameters: [{}] do not exist in the template", unknown.join(", "))));
    }
    for parameter in &values {
        check_value(&parameter.key, &template.parameters[&parameter.key], &parameter.value)?;
    }
    Ok(values)
}

fn check_value(name: &str, declaration: &Value, value: &str) -> Result<(), CloudFormationError> {
    let parameter_type = parameter_type(declaration);
    if ssm_value_type(parameter_type).is_some() {
        // The value is a name; what it resolves to is SSM's to have checked.
        return Ok(());
    }
    let constraint = declaration.get("ConstraintDescription").and_then(Value::as_str);
    let fail = |default: String| {
        invalid(match constraint {
            Some(description) => format!("Parameter '{name}' failed to satisfy constraint: {description}"),
            None => default,
        })
    };
    let items: Vec<&str> = if is_list(parameter_type) { split(value) } else { vec![value] };
    for item in items {
        let number = item.trim().parse::<f64>().ok();
        if (parameter_type == "Number" || parameter_type == "List<Number>") && number.is_none() {
            return Err(invalid(format!("Parameter '{name}' must be a number.")));
        }
        if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
            if !allowed.iter().filter_map(text).any(|a| a == item) {
                return Err(fail(format!("Parameter '{name}' must be one of AllowedValues")));
            }
        }
        if let Some(pattern) = declaration.get("AllowedPattern").and_then(Value::as_str) {
            let whole = fancy_regex::Regex::new(&format!("^(?:{pattern})$"));
            if !whole.map(|re| re.is_match(item).unwrap_or(false)).unwrap_or(false) {
                return Err(fail(format!("Parameter '{name}' must match pattern {pattern}")));
            }
        }
        let bound = |key: &str| declaration.get(key).and_then(|v| text(v)?.parse::<f64>().ok());
        let length = item.chars().count() as f64;
        if let Some(min) = bound("MinLength").filter(|min| length < *min) {
            return Err(fail(format!("Parameter '{name}' must contain at least {min} characters")));
        }
        if let Some(max) = bound("MaxLength").filter(|max| length > *max) {
            return Err(fail(format!("Parameter '{name}' must contain at most {max} characters")));
        }
        if let Some(number) = number {
            if let Some(min) = bound("MinValue").filter(|min| number < *min) {
                return Err(fail(format!("Parameter '{name}' must be a number not less than {min}")));
            }
            if let Some(max) = bound("MaxValue").filter(|max| number > *max) {
                return Err(fail(format!("Parameter '{name}' must be a number not greater than {max}")));
            }
        }
    }
    Ok(())
}

fn split(value: &str) -> Vec<&str> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(',').map(str::trim).collect()
}

/// What `Ref` returns for each parameter: a string, or a list for list types.
pub fn values(template: &Template, parameters: &[StackParameter]) -> BTreeMap<String, Value> {
    parameters
        .iter()
        .map(|p| {
            let declared = template.parameters.get(&p.key).map(parameter_type).unwrap_or("String");
            let text = p.resolved_value.as_ref().unwrap_or(&p.value);
            let value = if is_list(declared) {
                Value::Array(split(text).into_iter().map(Value::from).collect())
            } else {
                Value::String(text.clone())
            };
            (p.key.clone(), value)
        })
        .collect()
}

/// Parameters as DescribeStacks shows them: NoEcho values as `****`.
pub fn shown(template: Option<&Template>, parameters: &[StackParameter]) -> Vec<StackParameter> {
    parameters
        .iter()
        .map(|p| {
            let no_echo = template.and_then(|t| t.parameters.get(&p.key)).map(is_no_echo).unwrap_or(false);
            let mask = |value: &String| if no_echo { "****".into() } else { value.clone() };
            StackParameter {
                key: p.key.clone(),
                value: mask(&p.value),
                resolved_value: p.resolved_value.as_ref().map(mask),
            }
        })
        .collect()
}

fn is_no_echo(declaration: &Value) -> bool {
    match declaration.get("NoEcho") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// ValidateTemplate's and GetTemplateSummary's view of the Parameters section.
pub fn declarations(parameters: &Map<String, Value>) -> Vec<ParameterDeclaration> {
    parameters
        .iter()
        .map(|(key, d)| ParameterDeclaration {
            key: key.clone(),
            default_value: d.get("Default").and_then(text),
            parameter_type: parameter_type(d).to_owned(),
            no_echo: is_no_echo(d),
            description: d.get("Description").and_then(Value::as_str).map(str::to_owned),
            allowed_values: d
                .get("AllowedValues")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(parameters: &str) -> Template {
        Template::parse(&format!("Parameters:\n{parameters}\nResources:\n  A:\n    Type: AWS::S3::Bucket\n"))
            .unwrap()
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<ParameterInput> {
        pairs
            .iter()
            .map(|(k, v)| ParameterInput {
                key: (*k).into(),
                value: Some((*v).into()),
                use_previous_value: false,
            })
            .collect()
    }

    fn err(t: &Template, pairs: &[(&str, &str)]) -> String {
        resolve(t, &given(pairs), &[]).unwrap_err().to_string()
    }

    #[test]
    fn missing_and_unknown_parameters() {
        let t = template("  A:\n    Type: String\n  B:\n    Type: String\n    Default: b\n");
        assert_eq!(err(&t, &[]), "Parameters: [A] must have values");
        assert_eq!(err(&t, &[("A", "a"), ("Z", "z")]), "Parameters: [Z] do not exist in the template");
        let values = resolve(&t, &given(&[("A", "a")]), &[]).unwrap();
        assert_eq!(
            values,
            vec![
                StackParameter { key: "A".into(), value: "a".into(), resolved_value: None },
                StackParameter { key: "B".into(), value: "b".into(), resolved_value: None }
            ]
        );
    }

    #[test]
    fn constraints() {
        let t = template(
            "  S:\n    Type: String\n    AllowedValues: [dev, prod]\n    Default: dev\n  P:\n    Type: String\n    AllowedPattern: '[a-z]+'\n    Default: abc\n  N:\n    Type: Number\n    MinValue: 1\n    MaxValue: 10\n    Default: 5\n  L:\n    Type: String\n    MinLength: 2\n    MaxLength: 3\n    Default: ab\n  C:\n    Type: String\n    AllowedPattern: '[0-9]+'\n    ConstraintDescription: digits only\n    Default: '1'\n",
        );
        assert!(resolve(&t, &[], &[]).is_ok());
        assert_eq!(err(&t, &[("S", "qa")]), "Parameter 'S' must be one of AllowedValues");
        assert_eq!(err(&t, &[("P", "abc1")]), "Parameter 'P' must match pattern [a-z]+");
        assert_eq!(err(&t, &[("N", "x")]), "Parameter 'N' must be a number.");
        assert_eq!(err(&t, &[("N", "0")]), "Parameter 'N' must be a number not less than 1");
        assert_eq!(err(&t, &[("N", "11")]), "Parameter 'N' must be a number not greater than 10");
        assert_eq!(err(&t, &[("L", "a")]), "Parameter 'L' must contain at least 2 characters");
        assert_eq!(err(&t, &[("L", "abcd")]), "Parameter 'L' must contain at most 3 characters");
        assert_eq!(err(&t, &[("C", "x")]), "Parameter 'C' failed to satisfy constraint: digits only");
    }

    #[test]
    fn types_and_refs() {
        let t = template(
            "  L:\n    Type: CommaDelimitedList\n    Default: 'a, b,c'\n  N:\n    Type: List<Number>\n    Default: '1,2'\n  V:\n    Type: AWS::EC2::VPC::Id\n    Default: vpc-1\n  S:\n    Type: String\n    NoEcho: true\n    Default: secret\n",
        );
        let resolved = resolve(&t, &[], &[]).unwrap();
        let refs = values(&t, &resolved);
        assert_eq!(refs["L"], json!(["a", "b", "c"]));
        assert_eq!(refs["N"], json!(["1", "2"]));
        assert_eq!(refs["V"], json!("vpc-1"));
        let shown = shown(Some(&t), &resolved);
        assert_eq!(shown.iter().find(|p| p.key == "S").unwrap().value, "****");
        assert_eq!(err(&t, &[("N", "1,x")]), "Parameter 'N' must be a number.");
    }

    #[test]
    fn previous_values_and_bad_types() {
        let t = template("  A:\n    Type: String\n");
        let previous = vec![StackParameter { key: "A".into(), value: "old".into(), resolved_value: None }];
        let input = vec![ParameterInput { key: "A".into(), value: None, use_previous_value: true }];
        assert_eq!(resolve(&t, &input, &previous).unwrap()[0].value, "old");
        let bad = Template::parse(
            "Parameters:\n  A:\n    Type: Strin\nResources:\n  R:\n    Type: AWS::S3::Bucket\n",
        );
        assert_eq!(bad.unwrap_err().to_string(), "Template format error: Unrecognized parameter type: Strin");
        let ssm = Template::parse(
            "Parameters:\n  A:\n    Type: AWS::SSM::Parameter::Value<Strin>\nResources:\n  R:\n    Type: AWS::S3::Bucket\n",
        );
        assert!(ssm.unwrap_err().to_string().contains("Unrecognized parameter type"));
    }

    #[test]
    fn ssm_typed_parameters_ref_their_resolved_value() {
        let t = template(
            "  V:\n    Type: AWS::SSM::Parameter::Value<String>\n    Default: /cdk-bootstrap/hnb659fds/version\n  L:\n    Type: AWS::SSM::Parameter::Value<List<String>>\n    Default: /list\n  I:\n    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>\n    Default: /ami\n",
        );
        let mut resolved = resolve(&t, &[], &[]).unwrap();
        let v = resolved.iter().find(|p| p.key == "V").unwrap();
        assert_eq!(v.value, "/cdk-bootstrap/hnb659fds/version");
        assert!(is_ssm_typed(&t.parameters["V"]) && !is_ssm_typed(&json!({"Type": "String"})));
        for parameter in resolved.iter_mut() {
            let value = match parameter.key.as_str() {
                "V" => "33",
                "L" => "a,b",
                _ => "ami-1",
            };
            parameter.resolved_value = Some(value.into());
        }
        let refs = values(&t, &resolved);
        assert_eq!(
            (refs["V"].clone(), refs["L"].clone(), refs["I"].clone()),
            (json!("33"), json!(["a", "b"]), json!("ami-1"))
        );
    }
}
