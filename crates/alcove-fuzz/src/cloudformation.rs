//! CloudFormation templates arrive as a request's `TemplateBody` (or an S3 object it
//! names), in JSON or YAML with the short intrinsic tags (`!Ref`, `!Sub`, `!GetAtt`, ...).
//! `template_summary` is GetTemplateSummary: it parses the template, checks its
//! structure and the dependency graph its references, conditions and `DependsOn` form.

use std::sync::Arc;

use alcove_cloudformation::services::{ServiceRequest, ServiceResponse, Services};
use alcove_cloudformation::{CloudFormation, Settings};
use bolero::TypeGenerator;
use serde_json::{json, Map, Value};

use crate::support::{block_on, no_panic};

/// No service is reached while a template is only read.
struct NoServices;

#[async_trait::async_trait]
impl Services for NoServices {
    async fn call(&self, _request: ServiceRequest) -> ServiceResponse {
        ServiceResponse { status: 503, headers: Vec::new(), body: Default::default() }
    }
}

thread_local! {
    static ENGINE: (tempfile::TempDir, CloudFormation) = {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = Settings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            sam_python: "python3".into(),
        };
        let engine = block_on(async {
            CloudFormation::open(&dir.path().join("stacks.db"), Arc::new(NoServices), settings)
        })
        .expect("the stack database opens");
        (dir, engine)
    };
}

fn summarize(body: &str) {
    no_panic(|| {
        ENGINE.with(|(_, engine)| {
            let _ = block_on(engine.template_summary(Some(body), None));
        })
    });
}

/// Any text as a template body: the corpus holds JSON and YAML templates with every
/// intrinsic, anchors and aliases, and deep nesting.
#[test]
fn cloudformation_template_text() {
    bolero::check!().with_max_len(256 * 1024).for_each(|input: &[u8]| {
        if let Ok(body) = std::str::from_utf8(input) {
            summarize(body);
        }
    });
}

/// A logical id, from a small set so that references meet their targets (and cycles form).
#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Name {
    Fn,
    Role,
    Bucket,
    Param,
    Cond,
    Missing,
}

impl Name {
    fn text(self) -> &'static str {
        match self {
            Name::Fn => "Fn",
            Name::Role => "Role",
            Name::Bucket => "Bucket",
            Name::Param => "Param",
            Name::Cond => "Cond",
            Name::Missing => "AWS::NoValue",
        }
    }
}

/// A property value, intrinsics included.
#[derive(Debug, Clone, TypeGenerator)]
enum Expr {
    Text(String),
    Number(i32),
    Ref(Name),
    GetAtt(Name, String),
    Sub(String, Vec<(String, Name)>),
    Join(String, Vec<Name>),
    If(Name, Name, Name),
    Select(i8, Vec<Name>),
    Split(String, String),
    ImportValue(String),
    Base64(String),
    FindInMap(Name, String, String),
    Equals(Name, String),
}

impl Expr {
    fn json(&self) -> Value {
        let r = |n: &Name| json!({ "Ref": n.text() });
        match self {
            Expr::Text(s) => json!(s),
            Expr::Number(n) => json!(n),
            Expr::Ref(n) => r(n),
            Expr::GetAtt(n, a) => json!({ "Fn::GetAtt": [n.text(), a] }),
            Expr::Sub(s, vars) => {
                let vars: Map<String, Value> = vars.iter().take(3).map(|(k, n)| (k.clone(), r(n))).collect();
                json!({ "Fn::Sub": [s, vars] })
            }
            Expr::Join(sep, names) => {
                json!({ "Fn::Join": [sep, names.iter().take(4).map(r).collect::<Vec<_>>()] })
            }
            Expr::If(c, a, b) => json!({ "Fn::If": [c.text(), r(a), r(b)] }),
            Expr::Select(i, names) => {
                json!({ "Fn::Select": [i, names.iter().take(4).map(r).collect::<Vec<_>>()] })
            }
            Expr::Split(sep, s) => json!({ "Fn::Split": [sep, s] }),
            Expr::ImportValue(s) => json!({ "Fn::ImportValue": s }),
            Expr::Base64(s) => json!({ "Fn::Base64": s }),
            Expr::FindInMap(m, a, b) => json!({ "Fn::FindInMap": [m.text(), a, b] }),
            Expr::Equals(n, s) => json!({ "Fn::Equals": [r(n), s] }),
        }
    }
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Kind {
    Function,
    Bucket,
    Parameter,
    Unknown,
}

#[derive(Debug, Clone, TypeGenerator)]
struct Resource {
    name: Name,
    kind: Kind,
    properties: Vec<(String, Expr)>,
    depends_on: Vec<Name>,
    condition: Option<Name>,
}

#[derive(Debug, Clone, TypeGenerator)]
struct Template {
    yaml_tags: bool,
    parameters: Vec<(Name, Option<String>)>,
    conditions: Vec<(Name, Expr)>,
    resources: Vec<Resource>,
    outputs: Vec<(String, Expr)>,
}

impl Template {
    fn json(&self) -> Value {
        let parameters: Map<String, Value> = self
            .parameters
            .iter()
            .take(3)
            .map(|(n, default)| (n.text().into(), json!({ "Type": "String", "Default": default })))
            .collect();
        let conditions: Map<String, Value> =
            self.conditions.iter().take(3).map(|(n, e)| (n.text().into(), e.json())).collect();
        let resources: Map<String, Value> = self
            .resources
            .iter()
            .take(6)
            .map(|r| {
                let kind = match r.kind {
                    Kind::Function => "AWS::Lambda::Function",
                    Kind::Bucket => "AWS::S3::Bucket",
                    Kind::Parameter => "AWS::SSM::Parameter",
                    Kind::Unknown => "AWS::Fuzz::Thing",
                };
                let properties: Map<String, Value> =
                    r.properties.iter().take(6).map(|(k, e)| (k.clone(), e.json())).collect();
                let mut resource = json!({ "Type": kind, "Properties": properties });
                if !r.depends_on.is_empty() {
                    resource["DependsOn"] =
                        json!(r.depends_on.iter().take(3).map(|n| n.text()).collect::<Vec<_>>());
                }
                if let Some(c) = r.condition {
                    resource["Condition"] = json!(c.text());
                }
                (r.name.text().into(), resource)
            })
            .collect();
        let outputs: Map<String, Value> = self
            .outputs
            .iter()
            .take(3)
            .map(|(k, e)| (k.clone(), json!({ "Value": e.json(), "Export": { "Name": e.json() } })))
            .collect();
        json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": parameters,
            "Conditions": conditions,
            "Resources": resources,
            "Outputs": outputs,
        })
    }
}

/// Templates whose intrinsics, conditions and dependencies meet each other, as JSON or as
/// YAML with the short tags.
#[test]
fn cloudformation_templates() {
    bolero::check!().with_type::<Template>().for_each(|template| {
        let json = template.json();
        let body = if template.yaml_tags { yaml(&json, 0) } else { json.to_string() };
        summarize(&body);
    });
}

/// The template as YAML, intrinsics in their short-tag form (`!Ref X`, `!Sub [...]`).
fn yaml(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map)
            if map.len() == 1 && map.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            let (key, argument) = map.iter().next().expect("one member");
            let tag = key.strip_prefix("Fn::").unwrap_or(key);
            format!("!{tag} {}", argument)
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("\n{pad}{}: {}", Value::String(k.clone()), yaml(v, indent + 2)))
            .collect(),
        Value::Array(list) if list.is_empty() => "[]".into(),
        Value::Array(list) => list.iter().map(|v| format!("\n{pad}- {}", yaml(v, indent + 2))).collect(),
        other => other.to_string(),
    }
}
