//! YAML templates become the same JSON document a JSON template is: the short intrinsic
//! tags (`!Ref`, `!GetAtt a.b`, `!Sub`, ...) are rewritten to their long form
//! (`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`), so everything after parsing sees one shape.

use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;

/// Parses a YAML template body into its long-form JSON value.
pub fn parse(body: &str) -> Result<Value, String> {
    let yaml: Yaml = serde_yaml::from_str(body).map_err(|e| match e.location() {
        Some(at) => format!(
            "Template format error: YAML not well-formed. (line {}, column {})",
            at.line(),
            at.column()
        ),
        None => format!("Template format error: YAML not well-formed. ({e})"),
    })?;
    convert(yaml)
}

fn convert(yaml: Yaml) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                map.insert(key_string(key)?, convert(value)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = convert(tagged.value)?;
            long_form(name, value)?
        }
    })
}

fn key_string(key: Yaml) -> Result<String, String> {
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Number(n) => Ok(n.to_string()),
        _ => Err("Template format error: YAML not well-formed. (a mapping key is not a scalar)".into()),
    }
}

/// The long form of one short tag.
fn long_form(name: &str, value: Value) -> Result<Value, String> {
    let (key, value) = match name {
        "Ref" => ("Ref".to_owned(), value),
        "Condition" => ("Condition".to_owned(), value),
        "GetAtt" => {
            let value = match value {
                // `!GetAtt Resource.Attribute.With.Dots`: the resource is before the first dot.
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![resource.into(), attribute.into()]),
                    None => {
                        return Err(format!(
                            "Template error: every Fn::GetAtt object requires two non-empty parameters ({s})"
                        ))
                    }
                },
                other => other,
            };
            ("Fn::GetAtt".to_owned(), value)
        }
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select" | "Split" | "Sub"
        | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" | "Length" | "ToJsonString" => {
            (format!("Fn::{name}"), value)
        }
        other => return Err(format!("Template format error: Unsupported YAML tag !{other}")),
    };
    let mut map = Map::new();
    map.insert(key, value);
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn short_tags_become_long_forms() {
        let body = r#"
A: !Ref Param
B: !GetAtt Fn.Arn
C: !GetAtt [Fn, Arn]
D: !Sub "${AWS::Region}-x"
E: !Sub ["${X}", {X: !Ref Y}]
F: !Join [",", [a, b]]
G: !Select [0, !Split [",", "a,b"]]
H: !If [Cond, !Base64 x, !Ref "AWS::NoValue"]
I: !Equals [a, b]
J: !Not [!Condition C]
K: !And [!Or [!Equals [a, a]], true]
L: !FindInMap [M, k, v]
N: !GetAZs ""
O: !ImportValue exp
P: !GetAtt Bucket.Endpoint.Address
Q: 30
"#;
        let value = parse(body).unwrap();
        assert_eq!(value["A"], json!({"Ref": "Param"}));
        assert_eq!(value["B"], json!({"Fn::GetAtt": ["Fn", "Arn"]}));
        assert_eq!(value["C"], json!({"Fn::GetAtt": ["Fn", "Arn"]}));
        assert_eq!(value["D"], json!({"Fn::Sub": "${AWS::Region}-x"}));
        assert_eq!(value["E"], json!({"Fn::Sub": ["${X}", {"X": {"Ref": "Y"}}]}));
        assert_eq!(value["F"], json!({"Fn::Join": [",", ["a", "b"]]}));
        assert_eq!(value["G"], json!({"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}));
        assert_eq!(value["H"], json!({"Fn::If": ["Cond", {"Fn::Base64": "x"}, {"Ref": "AWS::NoValue"}]}));
        assert_eq!(value["I"], json!({"Fn::Equals": ["a", "b"]}));
        assert_eq!(value["J"], json!({"Fn::Not": [{"Condition": "C"}]}));
        assert_eq!(value["K"], json!({"Fn::And": [{"Fn::Or": [{"Fn::Equals": ["a", "a"]}]}, true]}));
        assert_eq!(value["L"], json!({"Fn::FindInMap": ["M", "k", "v"]}));
        assert_eq!(value["N"], json!({"Fn::GetAZs": ""}));
        assert_eq!(value["O"], json!({"Fn::ImportValue": "exp"}));
        assert_eq!(value["P"], json!({"Fn::GetAtt": ["Bucket", "Endpoint.Address"]}));
        assert_eq!(value["Q"], json!(30));
    }

    #[test]
    fn malformed_yaml_names_line_and_column() {
        let err = parse("A: [1, 2\nB: x").unwrap_err();
        assert!(err.starts_with("Template format error: YAML not well-formed. (line"), "{err}");
        assert!(parse("A: !Bogus x").unwrap_err().contains("!Bogus"));
    }
}
