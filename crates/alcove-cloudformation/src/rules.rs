//! The `Rules` section: each rule's optional `RuleCondition` and its `Assertions`,
//! checked against the parameter values (SSM-typed ones resolved) before a stack is
//! created or updated or a change set made. A failed assertion refuses the operation with
//! its `AssertDescription`. The section's shape is checked when the template is parsed,
//! so a malformed rule is a template format error even where no values are known
//! (ValidateTemplate).
//!
//! Rule functions: `Fn::And`, `Fn::Or`, `Fn::Not`, `Fn::Equals`, `Fn::Contains`,
//! `Fn::EachMemberEquals`, `Fn::EachMemberIn` and `Ref` to parameters. `Fn::RefAll`,
//! `Fn::ValueOf` and `Fn::ValueOfAll` ask about the account's EC2 and VPC inventory,
//! which Alcove has none of: they are refused by name.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::CloudFormationError;

const FUNCTIONS: &[&str] = &[
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
    "Fn::Equals",
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
];
const REFUSED: &[&str] = &["Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll"];

fn format_error(message: impl std::fmt::Display) -> CloudFormationError {
    CloudFormationError::Validation(format!("Template format error: {message}"))
}

/// Checks the section's shape and that every `Ref` names a declared parameter.
pub fn check(rules: &Map<String, Value>, parameters: &Map<String, Value>) -> Result<(), CloudFormationError> {
    for (name, rule) in rules {
        let Value::Object(rule) = rule else {
            return Err(format_error(format!("Every Rules member must be an object ({name})")));
        };
        if let Some(other) = rule.keys().find(|k| !matches!(k.as_str(), "RuleCondition" | "Assertions")) {
            return Err(format_error(format!("Invalid rule property {other} in rule {name}")));
        }
        if let Some(condition) = rule.get("RuleCondition") {
            check_expression(name, condition, parameters)?;
        }
        let Some(Value::Array(assertions)) = rule.get("Assertions") else {
            return Err(format_error(format!("Rule {name} must contain an Assertions list")));
        };
        for assertion in assertions {
            let Some(assert) = assertion.get("Assert") else {
                return Err(format_error(format!(
                    "Every Assertions member of rule {name} must contain an Assert"
                )));
            };
            if let Some(other) = assertion
                .as_object()
                .and_then(|a| a.keys().find(|k| !matches!(k.as_str(), "Assert" | "AssertDescription")))
            {
                return Err(format_error(format!("Invalid assertion property {other} in rule {name}")));
            }
            if assertion.get("AssertDescription").is_some_and(|d| !d.is_string()) {
                return Err(format_error(format!("AssertDescription of rule {name} must be a string")));
            }
            check_expression(name, assert, parameters)?;
        }
    }
    Ok(())
}

fn check_expression(
    rule: &str,
    value: &Value,
    parameters: &Map<String, Value>,
) -> Result<(), CloudFormationError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| check_expression(rule, item, parameters)),
        Value::Object(map) if map.len() == 1 => {
            let (function, argument) = map.iter().next().expect("one member");
            if function == "Ref" {
                return match argument.as_str() {
                    Some(name) if parameters.contains_key(name) || name.starts_with("AWS::") => Ok(()),
                    Some(name) => Err(format_error(format!(
                        "Unresolved dependencies [{name}]. Cannot reference resources in the Rules block of the template"
                    ))),
                    None => Err(format_error(format!("Ref in rule {rule} must name a parameter"))),
                };
            }
            if REFUSED.contains(&function.as_str()) {
                return Err(format_error(format!(
                    "{function} (in rule {rule}) is not supported by Alcove: it reads an EC2 and VPC inventory this server does not have"
                )));
            }
            if !FUNCTIONS.contains(&function.as_str()) {
                return Err(format_error(format!("Unrecognized function {function} in rule {rule}")));
            }
            check_expression(rule, argument, parameters)
        }
        Value::Object(_) => {
            Err(format_error(format!("Rule {rule} has an object that is not a rule function")))
        }
        _ => Ok(()),
    }
}

/// Evaluates every rule against the parameters' values (as `Ref` gives them); the first
/// failed assertion's description is the error.
pub fn evaluate(
    rules: &Map<String, Value>,
    parameters: &BTreeMap<String, Value>,
) -> Result<(), CloudFormationError> {
    for (name, rule) in rules {
        let holds = match rule.get("RuleCondition") {
            Some(condition) => truth(name, &eval(name, condition, parameters)?)?,
            None => true,
        };
        if !holds {
            continue;
        }
        for assertion in rule.get("Assertions").and_then(Value::as_array).into_iter().flatten() {
            let assert = assertion.get("Assert").unwrap_or(&Value::Null);
            if !truth(name, &eval(name, assert, parameters)?)? {
                let description = assertion.get("AssertDescription").and_then(Value::as_str);
                return Err(CloudFormationError::Validation(match description {
                    Some(description) => description.to_owned(),
                    None => format!("Template error: assertion of rule {name} failed"),
                }));
            }
        }
    }
    Ok(())
}

fn invalid_argument(rule: &str, function: &str) -> CloudFormationError {
    format_error(format!("Invalid arguments to {function} in rule {rule}"))
}

fn truth(rule: &str, value: &Value) -> Result<bool, CloudFormationError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        _ => Err(format_error(format!(
            "Every rule condition and assertion of rule {rule} must be true or false"
        ))),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(rule: &str, function: &str, value: &Value) -> Result<Vec<String>, CloudFormationError> {
    match value {
        Value::Array(items) => {
            items.iter().map(|i| text(i).ok_or_else(|| invalid_argument(rule, function))).collect()
        }
        _ => Err(invalid_argument(rule, function)),
    }
}

fn eval(
    rule: &str,
    value: &Value,
    parameters: &BTreeMap<String, Value>,
) -> Result<Value, CloudFormationError> {
    let Value::Object(map) = value else {
        return match value {
            Value::Array(items) => {
                Ok(Value::Array(items.iter().map(|i| eval(rule, i, parameters)).collect::<Result<_, _>>()?))
            }
            other => Ok(other.clone()),
        };
    };
    let Some((function, argument)) = map.iter().next().filter(|_| map.len() == 1) else {
        return Err(format_error(format!("Rule {rule} has an object that is not a rule function")));
    };
    if function == "Ref" {
        let name = argument.as_str().unwrap_or_default();
        return parameters.get(name).cloned().ok_or_else(|| {
            format_error(format!("Unresolved dependencies [{name}]. Cannot reference resources in the Rules block of the template"))
        });
    }
    let arguments = match eval(rule, argument, parameters)? {
        Value::Array(items) => items,
        _ => return Err(invalid_argument(rule, function)),
    };
    let result = match (function.as_str(), arguments.as_slice()) {
        ("Fn::And", items) if (2..=10).contains(&items.len()) => {
            items.iter().map(|i| truth(rule, i)).collect::<Result<Vec<_>, _>>()?.into_iter().all(|b| b)
        }
        ("Fn::Or", items) if (2..=10).contains(&items.len()) => {
            items.iter().map(|i| truth(rule, i)).collect::<Result<Vec<_>, _>>()?.into_iter().any(|b| b)
        }
        ("Fn::Not", [one]) => !truth(rule, one)?,
        ("Fn::Equals", [a, b]) => match (text(a), text(b)) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
        ("Fn::Contains", [list, item]) => {
            let item = text(item).ok_or_else(|| invalid_argument(rule, function))?;
            strings(rule, function, list)?.contains(&item)
        }
        ("Fn::EachMemberEquals", [list, item]) => {
            let item = text(item).ok_or_else(|| invalid_argument(rule, function))?;
            strings(rule, function, list)?.iter().all(|member| *member == item)
        }
        ("Fn::EachMemberIn", [list, allowed]) => {
            let allowed = strings(rule, function, allowed)?;
            strings(rule, function, list)?.iter().all(|member| allowed.contains(member))
        }
        _ => return Err(invalid_argument(rule, function)),
    };
    Ok(Value::Bool(result))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn cdk_rule() -> Map<String, Value> {
        rules(json!({"CheckBootstrapVersion": {"Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
            "AssertDescription": "CDK bootstrap stack version 6 required."
        }]}}))
    }

    #[test]
    fn the_cdk_bootstrap_version_rule() {
        let declared = rules(json!({"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}}));
        check(&cdk_rule(), &declared).unwrap();
        assert!(evaluate(&cdk_rule(), &params(&[("BootstrapVersion", json!("33"))])).is_ok());
        let failed = evaluate(&cdk_rule(), &params(&[("BootstrapVersion", json!("5"))])).unwrap_err();
        assert_eq!(failed.to_string(), "CDK bootstrap stack version 6 required.");
    }

    #[test]
    fn conditions_and_member_functions() {
        let r = rules(json!({"ProdNeedsLarge": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "Assertions": [
                {"Assert": {"Fn::EachMemberIn": [{"Ref": "Sizes"}, ["large", "xlarge"]]}},
                {"Assert": {"Fn::Or": [{"Fn::EachMemberEquals": [{"Ref": "Sizes"}, "large"]}, true]}}
            ]
        }}));
        let dev = params(&[("Env", json!("dev")), ("Sizes", json!(["small"]))]);
        assert!(evaluate(&r, &dev).is_ok(), "the condition does not hold: no assertion runs");
        let prod_small = params(&[("Env", json!("prod")), ("Sizes", json!(["large", "small"]))]);
        assert_eq!(
            evaluate(&r, &prod_small).unwrap_err().to_string(),
            "Template error: assertion of rule ProdNeedsLarge failed"
        );
        let prod_large = params(&[("Env", json!("prod")), ("Sizes", json!(["large", "xlarge"]))]);
        assert!(evaluate(&r, &prod_large).is_ok());
        let and =
            rules(json!({"R": {"Assertions": [{"Assert": {"Fn::And": [true, {"Fn::Not": [false]}]}}]}}));
        assert!(evaluate(&and, &params(&[])).is_ok());
    }

    #[test]
    fn malformed_rules_are_format_errors() {
        let declared = rules(json!({"P": {"Type": "String"}}));
        let bad = |r: Value| check(&rules(r), &declared).unwrap_err().to_string();
        assert!(bad(json!({"R": {"Assertions": [{"Assert": {"Ref": "Nope"}}]}}))
            .contains("Unresolved dependencies [Nope]"));
        assert!(bad(json!({"R": {"Assertions": [{"Assert": {"Fn::RefAll": "AWS::EC2::VPC::Id"}}]}}))
            .contains("not supported"));
        assert!(bad(json!({"R": {"Assertions": [{"Assert": {"Fn::Sub": "x"}}]}}))
            .contains("Unrecognized function Fn::Sub"));
        assert!(bad(json!({"R": {"Assertions": [{"AssertDescription": "d"}]}}))
            .contains("must contain an Assert"));
        assert!(bad(json!({"R": {"Other": 1, "Assertions": []}})).contains("Invalid rule property Other"));
        assert!(bad(json!({"R": {}})).contains("Assertions list"));
        let not_boolean = rules(json!({"R": {"Assertions": [{"Assert": {"Ref": "P"}}]}}));
        assert!(evaluate(&not_boolean, &params(&[("P", json!("x"))]))
            .unwrap_err()
            .to_string()
            .contains("true or false"));
    }
}
