//! A template made ready to run against one stack: parameters typed, pseudo parameters
//! added, conditions evaluated, the resources whose condition holds put in dependency
//! order. Every operation (create, update, rollback, change set) starts from this.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::conditions::walk;
use crate::intrinsics::{Known, Scope};
use crate::model::StackParameter;
use crate::template::Template;
use crate::{conditions, graph, parameters, pseudo};

pub struct Prepared {
    pub template: Template,
    pub parameters: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    /// Resources whose condition holds.
    pub active: BTreeSet<String>,
    /// `active` in creation order.
    pub order: Vec<String>,
    pub region: String,
}

pub struct Target<'a> {
    pub region: &'a str,
    pub account_id: &'a str,
    pub stack_name: &'a str,
    pub stack_id: &'a str,
}

impl Prepared {
    pub fn new(body: &str, values: &[StackParameter], target: &Target<'_>) -> Result<Prepared, String> {
        let template =
            Template::parse(body).map_err(|e| e.to_string())?.transformed().map_err(|e| e.to_string())?;
        graph::check(&template)?;
        let typed = parameters::values(&template, values);
        let parameters =
            pseudo::with_pseudo(typed, target.region, target.account_id, target.stack_name, target.stack_id);
        let conditions = conditions::evaluate(&template, &parameters, target.region)?;
        let active: BTreeSet<String> = template
            .resources
            .iter()
            .filter(|(_, r)| {
                r.condition.as_ref().map(|c| conditions.get(c).copied().unwrap_or(false)).unwrap_or(true)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let outputs: Vec<&Value> = template
            .outputs
            .values()
            .filter(|o| o.condition.as_ref().is_none_or(|c| conditions.get(c).copied().unwrap_or(false)))
            .map(|o| &o.value)
            .collect();
        graph::check_active(&template, &conditions, &active, &outputs)?;
        let order = graph::order(&template, &active)?;
        Ok(Prepared { template, parameters, conditions, active, order, region: target.region.to_owned() })
    }

    pub fn scope<'a>(
        &'a self,
        resources: &'a BTreeMap<String, Known>,
        exports: &'a BTreeMap<String, String>,
        unknown_resources: bool,
    ) -> Scope<'a> {
        Scope {
            parameters: &self.parameters,
            mappings: &self.template.mappings,
            conditions: &self.conditions,
            resources,
            exports,
            region: &self.region,
            unknown_resources,
        }
    }

    /// Whether an output's condition holds.
    pub fn output_active(&self, condition: Option<&String>) -> bool {
        condition.map(|c| self.conditions.get(c).copied().unwrap_or(false)).unwrap_or(true)
    }

    /// Export names the active part of the template imports.
    pub fn imports(&self, exports: &BTreeMap<String, String>) -> Vec<String> {
        let none = BTreeMap::new();
        let scope = self.scope(&none, exports, true);
        let mut names = BTreeSet::new();
        let mut visit = |map: &serde_json::Map<String, Value>| {
            if let (1, Some(argument)) = (map.len(), map.get("Fn::ImportValue")) {
                if let Ok(Value::String(name)) = scope.eval_value(argument) {
                    names.insert(name);
                }
            }
        };
        for id in &self.active {
            walk(&self.template.resources[id].properties, &mut visit);
        }
        for output in self.template.outputs.values() {
            if self.output_active(output.condition.as_ref()) {
                walk(&output.value, &mut visit);
            }
        }
        names.into_iter().collect()
    }
}

/// The capability a template's IAM resources need, if any.
pub fn required_capability(template: &Template) -> Option<&'static str> {
    const NAMES: &[&str] = &["RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"];
    let iam: Vec<_> = template.resources.values().filter(|r| r.type_name.starts_with("AWS::IAM::")).collect();
    if iam.is_empty() {
        None
    } else if iam.iter().any(|r| NAMES.iter().any(|n| r.properties.get(*n).is_some())) {
        Some("CAPABILITY_NAMED_IAM")
    } else {
        Some("CAPABILITY_IAM")
    }
}

/// Refuses a template whose IAM resources need a capability the caller did not give.
pub fn check_capabilities(template: &Template, given: &[String]) -> Result<(), crate::CloudFormationError> {
    let has = |c: &str| given.iter().any(|g| g == c);
    match required_capability(template) {
        Some("CAPABILITY_IAM") if has("CAPABILITY_IAM") || has("CAPABILITY_NAMED_IAM") => Ok(()),
        Some("CAPABILITY_NAMED_IAM") if has("CAPABILITY_NAMED_IAM") => Ok(()),
        Some(needed) => Err(crate::CloudFormationError::InsufficientCapabilities(format!(
            "Requires capabilities : [{needed}]"
        ))),
        None => Ok(()),
    }
}
