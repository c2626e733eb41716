//! Intrinsic functions, evaluated against a [`Scope`]: what parameters, pseudo parameters,
//! mappings, conditions, already-provisioned resources and other stacks' exports hold at
//! the moment a value is needed. `AWS::NoValue` evaluates to `None`, which removes the
//! property or list item that held it. The same walk serves change sets: with
//! `unknown_resources` set, a resource not yet provisioned evaluates to a placeholder
//! instead of failing, as CloudFormation shows `{{changeSet:KNOWN_AFTER_APPLY}}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A provisioned resource as `Ref` and `Fn::GetAtt` see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub physical_id: String,
    pub attributes: Map<String, Value>,
}

/// Everything a value may refer to.
pub struct Scope<'a> {
    /// Declared parameters and pseudo parameters, by name.
    pub parameters: &'a BTreeMap<String, Value>,
    pub mappings: &'a Map<String, Value>,
    pub conditions: &'a BTreeMap<String, bool>,
    pub resources: &'a BTreeMap<String, Known>,
    pub exports: &'a BTreeMap<String, String>,
    pub region: &'a str,
    /// Change-set planning: resources not provisioned yet evaluate to a placeholder.
    pub unknown_resources: bool,
}

/// The placeholder a not-yet-known resource value takes in a change set.
pub const KNOWN_AFTER_APPLY: &str = "{{changeSet:KNOWN_AFTER_APPLY}}";

type Eval = Result<Option<Value>, String>;

impl Scope<'_> {
    /// Evaluates a value; `Ok(None)` is `AWS::NoValue`.
    pub fn eval(&self, value: &Value) -> Eval {
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(v) = self.eval(item)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => self.reference(argument),
                    "Condition" => match argument.as_str() {
                        Some(name) => self.condition(name).map(|b| Some(Value::Bool(b))),
                        None => Err("Template error: Condition must be a string".into()),
                    },
                    k if k.starts_with("Fn::") => self.function(&k[4..], argument),
                    _ => self.object(map),
                }
            }
            Value::Object(map) => self.object(map),
            other => Ok(Some(other.clone())),
        }
    }

    /// Evaluates a value that must not be `AWS::NoValue`.
    pub fn eval_value(&self, value: &Value) -> Result<Value, String> {
        Ok(self.eval(value)?.unwrap_or(Value::Null))
    }

    fn object(&self, map: &Map<String, Value>) -> Eval {
        let mut out = Map::new();
        for (key, value) in map {
            if let Some(v) = self.eval(value)? {
                out.insert(key.clone(), v);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    pub fn condition(&self, name: &str) -> Result<bool, String> {
        self.conditions
            .get(name)
            .copied()
            .ok_or_else(|| format!("Template error: unresolved condition dependency {name} in Fn::If"))
    }

    fn reference(&self, argument: &Value) -> Eval {
        let name = match self.eval_value(argument)? {
            Value::String(s) => s,
            _ => return Err("Template error: every Ref object must have a single String value.".into()),
        };
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(value) = self.parameters.get(&name) {
            return Ok(Some(value.clone()));
        }
        match self.resources.get(&name) {
            Some(known) => Ok(Some(Value::String(known.physical_id.clone()))),
            None if self.unknown_resources => Ok(Some(Value::String(KNOWN_AFTER_APPLY.into()))),
            None => Err(format!(
                "Template format error: Unresolved resource dependencies [{name}] in the Resources block of the template"
            )),
        }
    }

    fn get_att(&self, resource: &str, attribute: &str) -> Result<Value, String> {
        match self.resources.get(resource) {
            Some(known) => known.attributes.get(attribute).cloned().ok_or_else(|| {
                format!("Template error: resource {resource} does not support attribute type {attribute} in Fn::GetAtt")
            }),
            None if self.unknown_resources => Ok(Value::String(KNOWN_AFTER_APPLY.into())),
            None => Err(format!("Template error: instance of Fn::GetAtt references undefined resource {resource}")),
        }
    }

    fn function(&self, name: &str, argument: &Value) -> Eval {
        let v = |x: &Value| self.eval_value(x);
        let args = |count: usize| -> Result<Vec<Value>, String> {
            match argument {
                Value::Array(items) if items.len() == count => Ok(items.clone()),
                _ => Err(format!("Template error: Fn::{name} requires a list of {count} arguments")),
            }
        };
        let value = match name {
            "GetAtt" => {
                let (resource, attribute) = match argument {
                    Value::String(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_owned(), Value::String(a.to_owned())),
                        None => return Err(getatt_shape()),
                    },
                    Value::Array(items) if items.len() == 2 => match &items[0] {
                        Value::String(r) => (r.clone(), items[1].clone()),
                        _ => return Err(getatt_shape()),
                    },
                    _ => return Err(getatt_shape()),
                };
                let attribute = match v(&attribute)? {
                    Value::String(a) => a,
                    _ => return Err(getatt_shape()),
                };
                self.get_att(&resource, &attribute)?
            }
            "Join" => {
                let a = args(2)?;
                let delimiter = string(&v(&a[0])?, "Join")?;
                let items = match v(&a[1])? {
                    Value::Array(items) => items,
                    _ => return Err("Template error: Fn::Join requires a list of values to join".into()),
                };
                let parts: Result<Vec<String>, String> = items.iter().map(|i| string(i, "Join")).collect();
                Value::String(parts?.join(&delimiter))
            }
            "Select" => {
                let a = args(2)?;
                let index = match v(&a[0])? {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                }
                .ok_or("Template error: Fn::Select requires a non-negative index")?;
                match v(&a[1])? {
                    Value::Array(items) => items
                        .get(index as usize)
                        .cloned()
                        .ok_or("Template error: Fn::Select cannot select nonexistent value at index")?,
                    _ => return Err("Template error: Fn::Select requires a list argument".into()),
                }
            }
            "Split" => {
                let a = args(2)?;
                let delimiter = string(&v(&a[0])?, "Split")?;
                let source = string(&v(&a[1])?, "Split")?;
                if delimiter.is_empty() {
                    return Err("Template error: Fn::Split requires a non-empty delimiter".into());
                }
                Value::Array(source.split(delimiter.as_str()).map(Value::from).collect())
            }
            "Sub" => self.sub(argument)?,
            "If" => {
                let a = args(3)?;
                let condition = a[0].as_str().ok_or("Template error: Fn::If requires a condition name")?;
                return if self.condition(condition)? { self.eval(&a[1]) } else { self.eval(&a[2]) };
            }
            "Equals" => {
                let a = args(2)?;
                Value::Bool(loose_eq(&v(&a[0])?, &v(&a[1])?))
            }
            "Not" => {
                let a = args(1)?;
                Value::Bool(!boolean(&v(&a[0])?, "Not")?)
            }
            "And" | "Or" => {
                let items = match argument {
                    Value::Array(items) if (2..=10).contains(&items.len()) => items,
                    _ => {
                        return Err(format!(
                            "Template error: Fn::{name} requires a list of 2 to 10 conditions"
                        ))
                    }
                };
                let mut results = Vec::new();
                for item in items {
                    results.push(boolean(&v(item)?, name)?);
                }
                Value::Bool(if name == "And" {
                    results.iter().all(|b| *b)
                } else {
                    results.iter().any(|b| *b)
                })
            }
            "FindInMap" => {
                let a = match argument {
                    Value::Array(items) if items.len() == 3 || items.len() == 4 => items.clone(),
                    _ => return Err("Template error: Fn::FindInMap requires a list of 3 arguments".into()),
                };
                let map = string(&v(&a[0])?, "FindInMap")?;
                let top = string(&v(&a[1])?, "FindInMap")?;
                let second = string(&v(&a[2])?, "FindInMap")?;
                let found = self.mappings.get(&map).and_then(|m| m.get(&top)).and_then(|m| m.get(&second));
                match found {
                    Some(value) => value.clone(),
                    None => {
                        return Err(format!(
                            "Template error: Unable to get mapping for {map}::{top}::{second}"
                        ))
                    }
                }
            }
            "Base64" => {
                use base64::Engine;
                let text = string(&v(argument)?, "Base64")?;
                Value::String(base64::engine::general_purpose::STANDARD.encode(text))
            }
            "GetAZs" => {
                let region = match v(argument)? {
                    Value::String(s) if !s.is_empty() => s,
                    _ => self.region.to_owned(),
                };
                Value::Array(["a", "b", "c"].iter().map(|z| Value::String(format!("{region}{z}"))).collect())
            }
            "ImportValue" => {
                let export = string(&v(argument)?, "ImportValue")?;
                match self.exports.get(&export) {
                    Some(value) => Value::String(value.clone()),
                    None if self.unknown_resources => Value::String(KNOWN_AFTER_APPLY.into()),
                    None => return Err(format!("No export named {export} found.")),
                }
            }
            other => {
                return Err(format!("Template format error: Unrecognized intrinsic function Fn::{other}"))
            }
        };
        Ok(Some(value))
    }

    fn sub(&self, argument: &Value) -> Result<Value, String> {
        let (text, variables) = match argument {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(items) if items.len() == 2 => {
                let text = items[0].as_str().ok_or("Template error: Fn::Sub requires a string")?.to_owned();
                let mut variables = Map::new();
                match &items[1] {
                    Value::Object(map) => {
                        for (name, value) in map {
                            variables.insert(name.clone(), self.eval_value(value)?);
                        }
                    }
                    _ => return Err("Template error: Fn::Sub variables must be an object".into()),
                }
                (text, variables)
            }
            _ => {
                return Err("Template error: Fn::Sub requires a string or a list of a string and a map".into())
            }
        };
        let mut out = String::new();
        for piece in sub_pieces(&text)? {
            match piece {
                SubPiece::Text(t) => out.push_str(&t),
                SubPiece::Variable(name) => {
                    let value = if let Some(value) = variables.get(&name) {
                        value.clone()
                    } else if let Some(value) = self.parameters.get(&name) {
                        value.clone()
                    } else if let Some((resource, attribute)) = name.split_once('.') {
                        self.get_att(resource, attribute)?
                    } else {
                        self.reference(&Value::String(name.clone()))?.unwrap_or(Value::Null)
                    };
                    out.push_str(&string(&value, "Sub")?);
                }
            }
        }
        Ok(Value::String(out))
    }
}

fn getatt_shape() -> String {
    "Template error: every Fn::GetAtt object requires two non-empty parameters".into()
}

fn string(value: &Value, function: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("Template error: Fn::{function} expects a string, found {value}")),
    }
}

fn boolean(value: &Value, function: &str) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(format!("Template error: Fn::{function} requires conditions, found {value}")),
    }
}

/// `Fn::Equals` compares scalars as text, as CloudFormation does (`1` equals `"1"`).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (string(a, "Equals"), string(b, "Equals")) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// One piece of an `Fn::Sub` string.
#[derive(Debug, PartialEq)]
pub enum SubPiece {
    Text(String),
    Variable(String),
}

/// Splits an `Fn::Sub` string into literal text and `${Name}` variables; `${!Literal}`
/// is the literal `${Literal}`.
pub fn sub_pieces(text: &str) -> Result<Vec<SubPiece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            literal.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        if let Some(escaped) = name.strip_prefix('!') {
            literal.push_str("${");
            literal.push_str(escaped);
            literal.push('}');
        } else {
            let name = name.trim();
            if name.is_empty() {
                return Err("Template error: Fn::Sub variable names must not be empty".into());
            }
            if !literal.is_empty() {
                pieces.push(SubPiece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(SubPiece::Variable(name.to_owned()));
        }
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(SubPiece::Text(literal));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    struct Fixture {
        parameters: BTreeMap<String, Value>,
        mappings: Map<String, Value>,
        conditions: BTreeMap<String, bool>,
        resources: BTreeMap<String, Known>,
        exports: BTreeMap<String, String>,
    }

    fn fixture() -> Fixture {
        let mut parameters = BTreeMap::new();
        parameters.insert("Env".into(), json!("prod"));
        parameters.insert("List".into(), json!(["a", "b"]));
        parameters.insert("AWS::Region".into(), json!("eu-west-1"));
        let mut attributes = Map::new();
        attributes.insert("Arn".into(), json!("arn:fn"));
        attributes.insert("Endpoint.Address".into(), json!("host"));
        let mut resources = BTreeMap::new();
        resources.insert("Fn".into(), Known { physical_id: "fn-1".into(), attributes });
        let mut conditions = BTreeMap::new();
        conditions.insert("IsProd".into(), true);
        conditions.insert("IsDev".into(), false);
        let mappings = json!({"M": {"prod": {"Size": 3}}}).as_object().unwrap().clone();
        let mut exports = BTreeMap::new();
        exports.insert("shared".into(), "value-1".into());
        Fixture { parameters, mappings, conditions, resources, exports }
    }

    fn eval(f: &Fixture, value: Value) -> Eval {
        let scope = Scope {
            parameters: &f.parameters,
            mappings: &f.mappings,
            conditions: &f.conditions,
            resources: &f.resources,
            exports: &f.exports,
            region: "eu-west-1",
            unknown_resources: false,
        };
        scope.eval(&value)
    }

    #[test]
    fn every_function() {
        let f = fixture();
        let cases = [
            (json!({"Ref": "Env"}), json!("prod")),
            (json!({"Ref": "Fn"}), json!("fn-1")),
            (json!({"Ref": "List"}), json!(["a", "b"])),
            (json!({"Fn::GetAtt": ["Fn", "Arn"]}), json!("arn:fn")),
            (json!({"Fn::GetAtt": "Fn.Endpoint.Address"}), json!("host")),
            (json!({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]}), json!("a-prod-1")),
            (json!({"Fn::Join": [",", {"Ref": "List"}]}), json!("a,b")),
            (json!({"Fn::Select": ["1", {"Ref": "List"}]}), json!("b")),
            (json!({"Fn::Split": [",", "x,y"]}), json!(["x", "y"])),
            (
                json!({"Fn::Sub": "${Env}-${Fn}-${Fn.Arn}-${AWS::Region}-${!Literal}"}),
                json!("prod-fn-1-arn:fn-eu-west-1-${Literal}"),
            ),
            (json!({"Fn::Sub": ["${X}/${Env}", {"X": {"Ref": "Fn"}}]}), json!("fn-1/prod")),
            (json!({"Fn::If": ["IsProd", "yes", "no"]}), json!("yes")),
            (json!({"Fn::If": ["IsDev", "yes", "no"]}), json!("no")),
            (json!({"Fn::Equals": ["1", 1]}), json!(true)),
            (json!({"Fn::Not": [{"Condition": "IsDev"}]}), json!(true)),
            (json!({"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}), json!(false)),
            (json!({"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}), json!(true)),
            (json!({"Fn::FindInMap": ["M", {"Ref": "Env"}, "Size"]}), json!(3)),
            (json!({"Fn::Base64": "hi"}), json!("aGk=")),
            (json!({"Fn::GetAZs": ""}), json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"])),
            (json!({"Fn::ImportValue": "shared"}), json!("value-1")),
            (json!({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}]}), json!({"B": [1]})),
            (json!({"Fn::If": ["IsDev", 1, {"Ref": "AWS::NoValue"}]}), Value::Null),
        ];
        for (input, expected) in cases {
            let got = eval(&f, input.clone()).unwrap().unwrap_or(Value::Null);
            assert_eq!(got, expected, "{input}");
        }
    }

    #[test]
    fn errors_name_what_is_missing() {
        let f = fixture();
        let e = |v: Value| eval(&f, v).unwrap_err();
        assert!(e(json!({"Ref": "Nope"})).contains("Unresolved resource dependencies [Nope]"));
        assert!(e(json!({"Fn::GetAtt": ["Fn", "Nope"]})).contains("does not support attribute type Nope"));
        assert!(e(json!({"Fn::FindInMap": ["M", "dev", "Size"]}))
            .contains("Unable to get mapping for M::dev::Size"));
        assert_eq!(e(json!({"Fn::ImportValue": "other"})), "No export named other found.");
        assert!(e(json!({"Fn::Select": [5, ["a"]]})).contains("Fn::Select"));
        assert!(e(json!({"Fn::Bogus": 1})).contains("Fn::Bogus"));
    }

    #[test]
    fn sub_pieces_split_variables_and_escapes() {
        assert_eq!(
            sub_pieces("a${B}c${!D}").unwrap(),
            vec![SubPiece::Text("a".into()), SubPiece::Variable("B".into()), SubPiece::Text("c${D}".into())]
        );
    }
}
