//! A template as submitted, parsed once into its sections. JSON and YAML bodies end up as
//! the same long-form JSON value (`yaml.rs`), and the structural rules CloudFormation
//! checks before anything runs (known sections, a non-empty Resources block, a Type on
//! every resource, well-formed type names, declared parameter types) are checked here so
//! every later stage can rely on them.

mod yaml;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::CloudFormationError;

const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Transform",
    "Rules",
    "Resources",
    "Outputs",
];

/// One entry of the Resources block.
#[derive(Debug, Clone)]
pub struct ResourceDecl {
    pub type_name: String,
    pub properties: Value,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub metadata: Option<Value>,
    pub description: Option<String>,
    /// `Delete` (default), `Retain`, `RetainExceptOnCreate` or `Snapshot` (deleted: no
    /// type Alcove deploys keeps snapshots).
    pub deletion_policy: Option<String>,
}

impl ResourceDecl {
    /// Whether deleting the resource leaves it in place; `rolling_back_creation` is true
    /// when the operation that created it is being rolled back.
    pub fn retained(&self, rolling_back_creation: bool) -> bool {
        match self.deletion_policy.as_deref() {
            Some("Retain") => true,
            Some("RetainExceptOnCreate") => !rolling_back_creation,
            _ => false,
        }
    }
}

/// Attributes a resource entry may carry.
const RESOURCE_ATTRIBUTES: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "CreationPolicy",
    "UpdatePolicy",
    "Description",
    "Version",
];

const DELETION_POLICIES: &[&str] = &["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"];

/// One entry of the Outputs block.
#[derive(Debug, Clone)]
pub struct OutputDecl {
    pub value: Value,
    pub description: Option<String>,
    pub export_name: Option<Value>,
    pub condition: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub version: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Value>,
    pub parameters: Map<String, Value>,
    pub mappings: Map<String, Value>,
    pub conditions: Map<String, Value>,
    /// The `Rules` section, checked in shape (`rules.rs`).
    pub rules: Map<String, Value>,
    pub transforms: Vec<String>,
    pub resources: BTreeMap<String, ResourceDecl>,
    pub outputs: BTreeMap<String, OutputDecl>,
}

fn format_error(message: impl std::fmt::Display) -> CloudFormationError {
    CloudFormationError::Validation(format!("Template format error: {message}"))
}

impl Template {
    /// Parses a template body (JSON when it starts with `{`, YAML otherwise) and checks
    /// its structure. Transforms are parsed but not applied (see [`Template::transformed`]).
    pub fn parse(body: &str) -> Result<Template, CloudFormationError> {
        Self::from_value(parse_value(body)?)
    }

    fn from_value(value: Value) -> Result<Template, CloudFormationError> {
        let Value::Object(root) = value else {
            return Err(format_error("Template must be a JSON or YAML object"));
        };
        // SAM adds a section of its own, read (and removed) by its transform.
        let sam = transforms_of(&root).iter().any(|t| t == crate::sam::SAM_TRANSFORM);
        let unknown: Vec<&str> = root
            .keys()
            .map(String::as_str)
            .filter(|k| !(SECTIONS.contains(k) || (sam && *k == "Globals")))
            .collect();
        if !unknown.is_empty() {
            return Err(format_error(format!(
                "Invalid template property or properties [{}]",
                unknown.join(", ")
            )));
        }
        let version = match root.get("AWSTemplateFormatVersion") {
            None => None,
            Some(Value::String(v)) if v == "2010-09-09" => Some(v.clone()),
            Some(_) => return Err(format_error("'2010-09-09' is the only valid AWSTemplateFormatVersion")),
        };
        let description = match root.get("Description") {
            None => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => return Err(format_error("Every Description member must be a string.")),
        };
        let section = |name: &str| -> Result<Map<String, Value>, CloudFormationError> {
            match root.get(name) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(map)) => Ok(map.clone()),
                Some(_) => Err(format_error(format!("{name} section must be an object"))),
            }
        };
        let parameters = section("Parameters")?;
        let mappings = section("Mappings")?;
        let conditions = section("Conditions")?;
        let rules = section("Rules")?;
        let transforms = transforms_of(&root);
        let resources = parse_resources(&section("Resources")?)?;
        let outputs = parse_outputs(&section("Outputs")?)?;
        for (name, declaration) in &parameters {
            crate::parameters::check_declaration(name, declaration)?;
        }
        crate::rules::check(&rules, &parameters)?;
        for (name, mapping) in &mappings {
            if !mapping.is_object() {
                return Err(format_error(format!("Mappings attribute {name} must be an object")));
            }
        }
        Ok(Template {
            version,
            description,
            metadata: root.get("Metadata").cloned(),
            parameters,
            mappings,
            conditions,
            rules,
            transforms,
            resources,
            outputs,
        })
    }

    /// The template as the engine runs it. The SAM transform is applied before a body is
    /// parsed for running (`CloudFormation::expand`), so a transform still declared here is
    /// one Alcove does not apply, refused by name.
    pub fn transformed(self) -> Result<Template, CloudFormationError> {
        if let Some(transform) = self.transforms.first() {
            return Err(unsupported_transform(transform));
        }
        Ok(self)
    }

    /// Resource types, sorted and distinct.
    pub fn resource_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self.resources.values().map(|r| r.type_name.clone()).collect();
        types.sort();
        types.dedup();
        types
    }
}

/// A transform Alcove does not apply (`AWS::Include`, `AWS::LanguageExtensions`, macros).
pub fn unsupported_transform(transform: &str) -> CloudFormationError {
    CloudFormationError::Transform(format!(
        "Transform {transform} is not supported by Alcove (only {} is applied)",
        crate::sam::SAM_TRANSFORM
    ))
}

/// A template body (JSON when it starts with `{`, YAML otherwise) as long-form JSON.
pub fn parse_value(body: &str) -> Result<Value, CloudFormationError> {
    if body.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(body).map_err(|e| {
            format_error(format!("JSON not well-formed. (line {}, column {})", e.line(), e.column()))
        })
    } else {
        yaml::parse(body).map_err(CloudFormationError::Validation)
    }
}

/// The transforms a template's root declares (`Transform`: a name or a list of them).
pub fn transforms_of(root: &Map<String, Value>) -> Vec<String> {
    match root.get("Transform") {
        None => Vec::new(),
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(items)) => items.iter().map(|t| t.as_str().unwrap_or("?").to_owned()).collect(),
        Some(other) => vec![other.to_string()],
    }
}

fn parse_resources(
    section: &Map<String, Value>,
) -> Result<BTreeMap<String, ResourceDecl>, CloudFormationError> {
    if section.is_empty() {
        return Err(format_error("At least one Resources member must be defined."));
    }
    let mut resources = BTreeMap::new();
    let mut unrecognized = Vec::new();
    for (logical_id, body) in section {
        if logical_id.is_empty() || !logical_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format_error(format!(
                "Resources logical ID {logical_id} must be alphanumeric (A-Za-z0-9)"
            )));
        }
        let Value::Object(body) = body else {
            return Err(format_error(format!("[/Resources/{logical_id}] resource definition is malformed")));
        };
        let Some(type_name) = body.get("Type").and_then(Value::as_str) else {
            return Err(format_error("Every Resources object must contain a Type member."));
        };
        if !well_formed_type(type_name) {
            unrecognized.push(type_name.to_owned());
        }
        if let Some(key) = body.keys().find(|k| !RESOURCE_ATTRIBUTES.contains(&k.as_str())) {
            return Err(format_error(format!("Invalid template resource property '{key}'")));
        }
        let deletion_policy = match body.get("DeletionPolicy") {
            None => None,
            Some(Value::String(p)) if DELETION_POLICIES.contains(&p.as_str()) => Some(p.clone()),
            Some(other) => {
                return Err(format_error(format!(
                    "[/Resources/{logical_id}/DeletionPolicy] Unrecognized DeletionPolicy {other}: expected one of [{}]",
                    DELETION_POLICIES.join(", ")
                )))
            }
        };
        let depends_on = match body.get("DependsOn") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()
            }
            Some(_) => {
                return Err(format_error(format!(
                    "[/Resources/{logical_id}/DependsOn] DependsOn must be a string or a list of strings"
                )))
            }
        };
        let condition = match body.get("Condition") {
            None => None,
            Some(Value::String(c)) => Some(c.clone()),
            Some(_) => {
                return Err(format_error(format!("[/Resources/{logical_id}/Condition] must be a string")))
            }
        };
        let properties = match body.get("Properties") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(p @ Value::Object(_)) => p.clone(),
            Some(_) => {
                return Err(format_error(format!("[/Resources/{logical_id}/Properties] must be an object")))
            }
        };
        resources.insert(
            logical_id.clone(),
            ResourceDecl {
                type_name: type_name.to_owned(),
                properties,
                depends_on,
                condition,
                metadata: body.get("Metadata").cloned(),
                description: body.get("Description").and_then(Value::as_str).map(str::to_owned),
                deletion_policy,
            },
        );
    }
    if !unrecognized.is_empty() {
        return Err(format_error(format!("Unrecognized resource types: [{}]", unrecognized.join(", "))));
    }
    Ok(resources)
}

/// `Vendor::Service::Resource` (or `Custom::Name`): the shape every resource type has.
fn well_formed_type(type_name: &str) -> bool {
    let parts: Vec<&str> = type_name.split("::").collect();
    let word = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric());
    match parts.as_slice() {
        ["Custom", name] => word(name),
        [_, _, _] => parts.iter().all(word),
        _ => false,
    }
}

fn parse_outputs(section: &Map<String, Value>) -> Result<BTreeMap<String, OutputDecl>, CloudFormationError> {
    let mut outputs = BTreeMap::new();
    for (name, body) in section {
        let Value::Object(body) = body else {
            return Err(format_error(format!("[/Outputs/{name}] output definition is malformed")));
        };
        let Some(value) = body.get("Value") else {
            return Err(format_error("Every Outputs member must contain a Value object"));
        };
        let export_name = match body.get("Export") {
            None => None,
            Some(Value::Object(export)) => match export.get("Name") {
                Some(name) => Some(name.clone()),
                None => return Err(format_error("Every Export member must contain a Name object")),
            },
            Some(_) => return Err(format_error(format!("[/Outputs/{name}/Export] must be an object"))),
        };
        outputs.insert(
            name.clone(),
            OutputDecl {
                value: value.clone(),
                description: body.get("Description").and_then(Value::as_str).map(str::to_owned),
                export_name,
                condition: body.get("Condition").and_then(Value::as_str).map(str::to_owned),
            },
        );
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::Template;

    fn error(body: &str) -> String {
        Template::parse(body).unwrap_err().to_string()
    }

    #[test]
    fn json_and_yaml_parse_to_the_same_sections() {
        let json = r#"{"Description": "d", "Resources": {"A": {"Type": "AWS::S3::Bucket", "DependsOn": "B"},
                       "B": {"Type": "AWS::S3::Bucket"}}}"#;
        let yaml = "Description: d\nResources:\n  A:\n    Type: AWS::S3::Bucket\n    DependsOn: [B]\n  B:\n    Type: AWS::S3::Bucket\n";
        for body in [json, yaml] {
            let t = Template::parse(body).unwrap();
            assert_eq!(t.description.as_deref(), Some("d"));
            assert_eq!(t.resources["A"].depends_on, vec!["B".to_owned()]);
            assert_eq!(t.resource_types(), vec!["AWS::S3::Bucket".to_owned()]);
        }
    }

    #[test]
    fn structural_errors_are_worded_as_aws() {
        assert_eq!(
            error(r#"{"Resources": {}}"#),
            "Template format error: At least one Resources member must be defined."
        );
        assert_eq!(
            error("Resources:\n  A:\n    Properties: {}\n"),
            "Template format error: Every Resources object must contain a Type member."
        );
        assert_eq!(
            error("Resources:\n  A:\n    Type: NotAType\n"),
            "Template format error: Unrecognized resource types: [NotAType]"
        );
        assert_eq!(
            error("Foo: 1\nResources:\n  A:\n    Type: AWS::S3::Bucket\n"),
            "Template format error: Invalid template property or properties [Foo]"
        );
        assert!(error("{\"Resources\": ").starts_with("Template format error: JSON not well-formed. (line 1"));
        assert_eq!(
            error("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Propertys: {}\n"),
            "Template format error: Invalid template resource property 'Propertys'"
        );
        assert!(error("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Keep\n")
            .contains("Unrecognized DeletionPolicy"));
        assert_eq!(
            error("Resources:\n  A:\n    Type: AWS::S3::Bucket\nOutputs:\n  O:\n    Description: x\n"),
            "Template format error: Every Outputs member must contain a Value object"
        );
    }

    #[test]
    fn yaml_dates_and_numbers_stay_what_templates_mean() {
        let t = Template::parse(
            "AWSTemplateFormatVersion: 2010-09-09\nResources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      Timeout: 30\n      Version: '1.0'\n",
        )
        .unwrap();
        assert_eq!(t.version.as_deref(), Some("2010-09-09"));
        assert_eq!(t.resources["A"].properties["Timeout"], 30);
        assert_eq!(t.resources["A"].properties["Version"], "1.0");
    }

    #[test]
    fn transforms_left_unapplied_are_refused_by_name() {
        let t = Template::parse("Transform: [AWS::Include]\nResources:\n  A:\n    Type: AWS::S3::Bucket\n")
            .unwrap();
        assert_eq!(t.transforms, vec!["AWS::Include".to_owned()]);
        assert_eq!(
            t.transformed().unwrap_err().to_string(),
            "Transform AWS::Include is not supported by Alcove (only AWS::Serverless-2016-10-31 is applied)"
        );
    }

    #[test]
    fn globals_are_a_section_only_under_the_sam_transform() {
        let body = "Globals:\n  Function:\n    Timeout: 3\nResources:\n  A:\n    Type: AWS::S3::Bucket\n";
        assert!(Template::parse(body).unwrap_err().to_string().contains("[Globals]"));
        let sam = Template::parse(&format!("Transform: AWS::Serverless-2016-10-31\n{body}")).unwrap();
        assert_eq!(sam.transforms, vec!["AWS::Serverless-2016-10-31".to_owned()]);
    }
}
