//! Which resource needs which: `DependsOn` plus the implicit dependencies of `Ref`,
//! `Fn::GetAtt` and `Fn::Sub` variables. The template's references are checked against
//! what exists (parameters, pseudo parameters, resources, conditions) when it is
//! validated, and resources are created in a topological order (ties broken by name, so
//! the order is stable) and deleted in the reverse one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::conditions::walk;
use crate::intrinsics::{sub_pieces, SubPiece};
use crate::pseudo;
use crate::template::Template;

/// Names a value refers to: `(refs, getatts)` where `refs` are `Ref`s and `Fn::Sub`
/// variables without a dot, `getatts` the resources of `Fn::GetAtt` and dotted `Fn::Sub`
/// variables.
fn references(value: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut refs = BTreeSet::new();
    let mut getatts = BTreeSet::new();
    walk(value, &mut |map| {
        if map.len() != 1 {
            return;
        }
        let (key, argument) = map.iter().next().expect("one entry");
        match (key.as_str(), argument) {
            ("Ref", Value::String(name)) => {
                refs.insert(name.clone());
            }
            ("Fn::GetAtt", Value::Array(items)) => {
                if let Some(Value::String(name)) = items.first() {
                    getatts.insert(name.clone());
                }
            }
            ("Fn::GetAtt", Value::String(dotted)) => {
                getatts.insert(dotted.split('.').next().unwrap_or_default().to_owned());
            }
            ("Fn::Sub", argument) => {
                let (text, variables) = match argument {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(items) => {
                        (items.first().and_then(Value::as_str).unwrap_or(""), items.get(1))
                    }
                    _ => ("", None),
                };
                for piece in sub_pieces(text).unwrap_or_default() {
                    if let SubPiece::Variable(name) = piece {
                        if variables.and_then(|v| v.get(&name)).is_some() {
                            continue;
                        }
                        match name.split_once('.') {
                            Some((resource, _)) => getatts.insert(resource.to_owned()),
                            None => refs.insert(name),
                        };
                    }
                }
            }
            _ => {}
        }
    });
    (refs, getatts)
}

/// `value` with every `Fn::If` replaced by the branch its condition takes, so that the
/// references left are the ones evaluation will follow.
fn taken_branches(value: &Value, conditions: &BTreeMap<String, bool>) -> Value {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::Array(args))) = (map.len(), map.get("Fn::If")) {
                if let (3, Some(Value::String(c))) = (args.len(), args.first()) {
                    if let Some(holds) = conditions.get(c) {
                        return taken_branches(&args[if *holds { 1 } else { 2 }], conditions);
                    }
                }
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), taken_branches(v, conditions))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| taken_branches(i, conditions)).collect()),
        other => other.clone(),
    }
}

/// Refuses a resource or output that exists under the conditions but refers to a
/// resource that does not.
pub fn check_active(
    template: &Template,
    conditions: &BTreeMap<String, bool>,
    active: &BTreeSet<String>,
    outputs: &[&Value],
) -> Result<(), String> {
    let inactive = |name: &String| template.resources.contains_key(name) && !active.contains(name);
    for (block, values) in [
        ("Resources", active.iter().map(|id| &template.resources[id].properties).collect::<Vec<_>>()),
        ("Outputs", outputs.to_vec()),
    ] {
        for value in values {
            let (refs, getatts) = references(&taken_branches(value, conditions));
            if let Some(name) = refs.iter().chain(getatts.iter()).find(|n| inactive(n)) {
                return Err(format!(
                    "Template format error: Unresolved resource dependencies [{name}] in the {block} block of the template"
                ));
            }
        }
    }
    for id in active {
        if let Some(name) = template.resources[id].depends_on.iter().find(|n| inactive(n)) {
            return Err(format!(
                "Template format error: Unresolved resource dependencies [{name}] in the Resources block of the template"
            ));
        }
    }
    Ok(())
}

/// The resources `logical_id` depends on.
pub fn dependencies(template: &Template, logical_id: &str) -> BTreeSet<String> {
    let Some(resource) = template.resources.get(logical_id) else { return BTreeSet::new() };
    let (refs, getatts) = references(&resource.properties);
    refs.into_iter()
        .chain(getatts)
        .chain(resource.depends_on.iter().cloned())
        .filter(|name| template.resources.contains_key(name))
        .collect()
}

/// Checks that every reference resolves and that resources form no cycle.
pub fn check(template: &Template) -> Result<(), String> {
    let mut known: BTreeSet<&str> = pseudo::NAMES.iter().copied().collect();
    known.extend(template.parameters.keys().map(String::as_str));
    known.extend(template.resources.keys().map(String::as_str));
    for (block, values) in [
        ("Resources", template.resources.values().map(|r| &r.properties).collect::<Vec<_>>()),
        ("Outputs", template.outputs.values().map(|o| &o.value).collect()),
    ] {
        let mut unresolved = BTreeSet::new();
        for value in values {
            let (refs, getatts) = references(value);
            for name in refs.iter().filter(|r| !known.contains(r.as_str())) {
                unresolved.insert(name.clone());
            }
            if let Some(missing) = getatts.iter().find(|g| !template.resources.contains_key(*g)) {
                return Err(format!(
                    "Template error: instance of Fn::GetAtt references undefined resource {missing}"
                ));
            }
        }
        if !unresolved.is_empty() {
            let names: Vec<&str> = unresolved.iter().map(String::as_str).collect();
            return Err(format!(
                "Template format error: Unresolved resource dependencies [{}] in the {block} block of the template",
                names.join(", ")
            ));
        }
    }
    for (logical_id, resource) in &template.resources {
        let missing: Vec<&str> = resource
            .depends_on
            .iter()
            .filter(|d| !template.resources.contains_key(*d))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "Template format error: Unresolved resource dependencies [{}] in the Resources block of the template",
                missing.join(", ")
            ));
        }
        if let Some(condition) = &resource.condition {
            if !template.conditions.contains_key(condition) {
                return Err(format!(
                    "Template format error: Unresolved condition dependency {condition} in the Condition of resource {logical_id}"
                ));
            }
        }
    }
    let mut unknown_condition = None;
    let values =
        template.resources.values().map(|r| &r.properties).chain(template.outputs.values().map(|o| &o.value));
    for value in values {
        walk(value, &mut |map| {
            if let (1, Some(Value::Array(args))) = (map.len(), map.get("Fn::If")) {
                if let Some(Value::String(c)) = args.first() {
                    if !template.conditions.contains_key(c) {
                        unknown_condition.get_or_insert_with(|| c.clone());
                    }
                }
            }
        });
    }
    if let Some(condition) = unknown_condition {
        return Err(format!("Template error: unresolved condition dependency {condition} in Fn::If"));
    }
    for (name, output) in &template.outputs {
        if let Some(condition) = &output.condition {
            if !template.conditions.contains_key(condition) {
                return Err(format!(
                    "Template format error: Unresolved condition dependency {condition} in the Condition of output {name}"
                ));
            }
        }
    }
    let all: BTreeSet<String> = template.resources.keys().cloned().collect();
    order(template, &all).map(|_| ())
}

/// The resources of `active` in an order where each comes after everything it depends on.
pub fn order(template: &Template, active: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let mut needs: BTreeMap<&str, BTreeSet<String>> = active
        .iter()
        .map(|id| {
            let deps = dependencies(template, id).into_iter().filter(|d| active.contains(d)).collect();
            (id.as_str(), deps)
        })
        .collect();
    let mut ordered = Vec::new();
    loop {
        let ready: Vec<&str> = needs.iter().filter(|(_, deps)| deps.is_empty()).map(|(id, _)| *id).collect();
        if ready.is_empty() {
            break;
        }
        for id in ready {
            needs.remove(id);
            for deps in needs.values_mut() {
                deps.remove(id);
            }
            ordered.push(id.to_owned());
        }
    }
    if needs.is_empty() {
        return Ok(ordered);
    }
    // What is left either lies on a cycle or depends on one; name the cycle's members.
    let mut cyclic: BTreeSet<&str> = needs.keys().copied().collect();
    loop {
        let depended: BTreeSet<&str> = needs
            .iter()
            .filter(|(id, _)| cyclic.contains(*id))
            .flat_map(|(_, d)| d.iter().map(String::as_str))
            .collect();
        let next: BTreeSet<&str> = cyclic.iter().copied().filter(|id| depended.contains(id)).collect();
        if next == cyclic {
            break;
        }
        cyclic = next;
    }
    let names: Vec<&str> = cyclic.into_iter().collect();
    Err(format!("Circular dependency between resources: [{}]", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(resources: &str) -> Template {
        Template::parse(&format!("Parameters:\n  P:\n    Type: String\nResources:\n{resources}")).unwrap()
    }

    #[test]
    fn implicit_and_explicit_dependencies_order_creation() {
        let t = template(
            "  A:\n    Type: AWS::X::Y\n    Properties:\n      V: !Sub '${B.Arn}-${C}-${P}-${AWS::Region}-${!D}'\n  B:\n    Type: AWS::X::Y\n    DependsOn: D\n  C:\n    Type: AWS::X::Y\n    Properties:\n      V: !GetAtt D.Arn\n  D:\n    Type: AWS::X::Y\n    Properties:\n      V: [!Ref P]\n",
        );
        check(&t).unwrap();
        assert_eq!(dependencies(&t, "A"), ["B", "C"].iter().map(|s| s.to_string()).collect());
        let all = t.resources.keys().cloned().collect();
        assert_eq!(order(&t, &all).unwrap(), vec!["D", "B", "C", "A"]);
    }

    #[test]
    fn cycles_and_unresolved_references() {
        let t = template(
            "  A:\n    Type: AWS::X::Y\n    Properties:\n      V: !Ref B\n  B:\n    Type: AWS::X::Y\n    Properties:\n      V: !GetAtt A.Arn\n  C:\n    Type: AWS::X::Y\n    DependsOn: A\n",
        );
        assert_eq!(check(&t).unwrap_err(), "Circular dependency between resources: [A, B]");
        let t = template("  A:\n    Type: AWS::X::Y\n    Properties:\n      V: !Ref Nope\n");
        assert_eq!(
            check(&t).unwrap_err(),
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        );
        let t = template("  A:\n    Type: AWS::X::Y\n    DependsOn: [Gone]\n");
        assert!(check(&t).unwrap_err().contains("Unresolved resource dependencies [Gone]"));
        let t = template("  A:\n    Type: AWS::X::Y\n    Properties:\n      V: !GetAtt Gone.Arn\n");
        assert_eq!(
            check(&t).unwrap_err(),
            "Template error: instance of Fn::GetAtt references undefined resource Gone"
        );
        let t = Template::parse(
            "Resources:\n  A:\n    Type: AWS::X::Y\nOutputs:\n  O:\n    Value: !Ref Missing\n",
        )
        .unwrap();
        assert!(check(&t).unwrap_err().contains("in the Outputs block"));
        let t = template("  A:\n    Type: AWS::X::Y\n    Properties:\n      V: !If [Nope, 1, 2]\n");
        assert_eq!(check(&t).unwrap_err(), "Template error: unresolved condition dependency Nope in Fn::If");
    }
}
