//! The Conditions section, evaluated once per operation from parameter values: each
//! condition may use `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition` (another
//! condition), `Ref` to parameters and `Fn::FindInMap`, never a resource. The results
//! decide which resources and outputs exist and which branch `Fn::If` takes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::intrinsics::Scope;
use crate::template::Template;

/// Evaluates every condition; the error is the template error CloudFormation reports.
pub fn evaluate(
    template: &Template,
    parameters: &BTreeMap<String, Value>,
    region: &str,
) -> Result<BTreeMap<String, bool>, String> {
    let mut known = BTreeMap::new();
    let empty_resources = BTreeMap::new();
    let empty_exports = BTreeMap::new();
    let mut pending: Vec<(&String, &Value)> = template.conditions.iter().collect();
    for (name, body) in &pending {
        if let Some(resource) = referenced_resource(body, template, parameters) {
            return Err(format!(
                "Template format error: Unresolved dependencies [{resource}]. Cannot reference resources in the Conditions block of the template"
            ));
        }
        for dependency in condition_refs(body) {
            if !template.conditions.contains_key(&dependency) {
                return Err(format!(
                    "Template format error: Unresolved condition dependency {dependency} in Fn::Condition of {name}"
                ));
            }
        }
    }
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for (name, body) in pending {
            if condition_refs(body).iter().any(|d| !known.contains_key(d)) {
                waiting.push((name, body));
                continue;
            }
            let scope = Scope {
                parameters,
                mappings: &template.mappings,
                conditions: &known,
                resources: &empty_resources,
                exports: &empty_exports,
                region,
                unknown_resources: false,
            };
            let value = match scope.eval_value(body)? {
                Value::Bool(b) => b,
                Value::String(s) if s == "true" || s == "false" => s == "true",
                _ => return Err(format!("Template error: Condition {name} must evaluate to a boolean")),
            };
            known.insert(name.clone(), value);
        }
        if waiting.len() == before {
            let names: Vec<&str> = waiting.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "Template error: Circular dependency between conditions: [{}]",
                names.join(", ")
            ));
        }
        pending = waiting;
    }
    Ok(known)
}

fn condition_refs(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    walk(value, &mut |map| {
        if let Some(Value::String(name)) = map.get("Condition") {
            if map.len() == 1 {
                found.insert(name.clone());
            }
        }
    });
    found
}

fn referenced_resource(
    value: &Value,
    template: &Template,
    parameters: &BTreeMap<String, Value>,
) -> Option<String> {
    let mut found = None;
    walk(value, &mut |map| {
        if let (1, Some(Value::String(name))) = (map.len(), map.get("Ref")) {
            if !parameters.contains_key(name) && template.resources.contains_key(name) {
                found = Some(name.clone());
            }
        }
    });
    found
}

/// Calls `visit` on every object inside `value`.
pub fn walk(value: &Value, visit: &mut dyn FnMut(&Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            visit(map);
            for v in map.values() {
                walk(v, visit);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(conditions: &str, env: &str) -> Result<BTreeMap<String, bool>, String> {
        let t = Template::parse(&format!(
            "Conditions:\n{conditions}\nResources:\n  R:\n    Type: AWS::S3::Bucket\n"
        ))
        .unwrap();
        let mut parameters = BTreeMap::new();
        parameters.insert("Env".to_owned(), json!(env));
        evaluate(&t, &parameters, "us-east-1")
    }

    #[test]
    fn conditions_use_each_other_in_any_order() {
        let c = "  A: !And [!Condition B, !Not [!Equals [!Ref Env, dev]]]\n  B: !Or [!Equals [!Ref Env, prod], !Equals [!Ref Env, qa]]\n";
        let prod = run(c, "prod").unwrap();
        assert!(prod["A"] && prod["B"]);
        let dev = run(c, "dev").unwrap();
        assert!(!dev["A"] && !dev["B"]);
    }

    #[test]
    fn cycles_and_resources_are_refused() {
        assert!(run("  A: !Condition B\n  B: !Condition A\n", "x")
            .unwrap_err()
            .contains("Circular dependency"));
        assert!(run("  A: !Equals [!Ref R, x]\n", "x").unwrap_err().contains("Cannot reference resources"));
        assert!(run("  A: !Condition Z\n", "x").unwrap_err().contains("Unresolved condition dependency Z"));
    }
}
