//! Reading a resource's resolved properties: required and optional members, and refusing
//! what a type does not know (as CloudFormation does) or what Alcove's service cannot
//! honour (rather than dropping it silently).

use serde_json::{Map, Value};

use crate::resource::ResourceError;

pub type Props = Map<String, Value>;

/// Refuses a property the type does not define (`known`), or one it defines but this
/// server's service cannot honour (`unsupported`, when present and not empty).
pub fn check(
    type_name: &str,
    properties: &Props,
    known: &[&str],
    unsupported: &[&str],
) -> Result<(), ResourceError> {
    for (name, value) in properties {
        if unsupported.contains(&name.as_str()) && asks_for(value) {
            return Err(ResourceError::InvalidProperties(format!(
                "Property {name} of {type_name} is not supported by this server yet"
            )));
        }
        if !known.contains(&name.as_str()) && !unsupported.contains(&name.as_str()) {
            return Err(ResourceError::InvalidProperties(format!("Encountered unsupported property {name}")));
        }
    }
    Ok(())
}

/// Whether a value asks for anything (`{}`, `[]`, `false` and `null` do not).
fn asks_for(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => members.values().any(asks_for),
        _ => true,
    }
}

/// A required property, as CloudFormation's model validation names it when missing.
pub fn required<'a>(properties: &'a Props, name: &str) -> Result<&'a Value, ResourceError> {
    properties.get(name).filter(|v| !v.is_null()).ok_or_else(|| {
        ResourceError::InvalidProperties(format!(
            "Model validation failed (#: required key [{name}] not found)"
        ))
    })
}

/// A required string property (numbers and booleans are read as their text, as
/// CloudFormation's resolved template values may be).
pub fn required_str(properties: &Props, name: &str) -> Result<String, ResourceError> {
    let value = required(properties, name)?;
    text(value).ok_or_else(|| {
        ResourceError::InvalidProperties(format!(
            "Model validation failed (#/{name}: expected type: String, found: {})",
            kind(value)
        ))
    })
}

/// An optional string property.
pub fn opt_str(properties: &Props, name: &str) -> Result<Option<String>, ResourceError> {
    match properties.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => required_str(properties, name).map(Some).map_err(|_| {
            ResourceError::InvalidProperties(format!(
                "Model validation failed (#/{name}: expected type: String, found: {})",
                kind(value)
            ))
        }),
    }
}

/// An optional integer property (templates often write numbers as strings).
pub fn opt_int(properties: &Props, name: &str) -> Result<Option<i64>, ResourceError> {
    match properties.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => as_int(value).map(Some).ok_or_else(|| {
            ResourceError::InvalidProperties(format!(
                "Model validation failed (#/{name}: expected type: Integer, found: {})",
                kind(value)
            ))
        }),
    }
}

/// An optional boolean property (`"true"` as well as `true`).
pub fn opt_bool(properties: &Props, name: &str) -> Result<Option<bool>, ResourceError> {
    match properties.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(value) => Err(ResourceError::InvalidProperties(format!(
            "Model validation failed (#/{name}: expected type: Boolean, found: {})",
            kind(value)
        ))),
    }
}

pub fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// CloudFormation's tag list (`[{Key, Value}]`) as the map most APIs take.
pub fn tags(properties: &Props, name: &str) -> Result<Map<String, Value>, ResourceError> {
    let mut map = Map::new();
    let Some(list) = properties.get(name).filter(|v| !v.is_null()) else { return Ok(map) };
    let bad = || {
        ResourceError::InvalidProperties(format!(
            "Model validation failed (#/{name}: expected a list of {{Key, Value}})"
        ))
    };
    for tag in list.as_array().ok_or_else(bad)? {
        let key = tag.get("Key").and_then(text).ok_or_else(bad)?;
        let value = tag.get("Value").and_then(text).unwrap_or_default();
        map.insert(key, Value::String(value));
    }
    Ok(map)
}

/// Whether a property differs between two property sets.
pub fn changed(old: &Props, new: &Props, name: &str) -> bool {
    old.get(name) != new.get(name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn props(value: Value) -> Props {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn unknown_and_unsupported_properties_are_refused() {
        let p = props(json!({"A": 1, "B": {}}));
        assert!(check("T", &p, &["A"], &["B"]).is_ok(), "an empty unsupported property asks for nothing");
        let err = check("T", &props(json!({"A": 1, "B": {"x": 1}})), &["A"], &["B"]).unwrap_err();
        assert_eq!(err.to_string(), "Property B of T is not supported by this server yet");
        let err = check("T", &props(json!({"Z": 1})), &["A"], &[]).unwrap_err();
        assert_eq!(err.to_string(), "Encountered unsupported property Z");
    }

    #[test]
    fn values_are_read_loosely_and_missing_ones_named() {
        let p = props(json!({"N": "30", "S": 5, "B": "true", "T": [{"Key": "k", "Value": "v"}]}));
        assert_eq!(opt_int(&p, "N").unwrap(), Some(30));
        assert_eq!(opt_str(&p, "S").unwrap().as_deref(), Some("5"));
        assert_eq!(opt_bool(&p, "B").unwrap(), Some(true));
        assert_eq!(tags(&p, "T").unwrap(), props(json!({"k": "v"})));
        assert_eq!(
            required_str(&p, "Missing").unwrap_err().to_string(),
            "Model validation failed (#: required key [Missing] not found)"
        );
        assert!(opt_int(&props(json!({"N": "x"})), "N").is_err());
    }
}
