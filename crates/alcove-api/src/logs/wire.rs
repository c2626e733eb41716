//! Reading request members and rendering answers, as botocore's `logs` model names and
//! types them.

use alcove_core::ACCOUNT_ID;
use alcove_logs::{FilteredEvent, LogEvent, LogGroup, LogStreamInfo};
use serde_json::{json, Map, Value};

use crate::error::Json11Error;

/// A request's members.
pub struct Members<'a>(pub &'a Value);

fn wrong_type(name: &str, expected: &str) -> Json11Error {
    Json11Error::serialization(format!("'{name}' must be {expected}"))
}

impl Members<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, Json11Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, Json11Error> {
        self.string(name)?.ok_or_else(|| Json11Error::missing(name))
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, Json11Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| wrong_type(name, "an integer")),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, Json11Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(name, "a boolean")),
        }
    }

    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, Json11Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| wrong_type(name, "a list of strings")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(name, "a list of strings")),
        }
    }

    pub fn array(&self, name: &str) -> Result<Option<&Vec<Value>>, Json11Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(wrong_type(name, "a list")),
        }
    }

    /// A `limit` within the model's range, or its default.
    pub fn limit(&self, name: &str, max: i64, default: usize) -> Result<usize, Json11Error> {
        match self.integer(name)? {
            None => Ok(default),
            Some(n) if n < 1 => Err(constraint(name, n, "have value greater than or equal to 1")),
            Some(n) if n > max => {
                Err(constraint(name, n, &format!("have value less than or equal to {max}")))
            }
            Some(n) => Ok(n as usize),
        }
    }

    /// The log group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
    pub fn group(&self) -> Result<String, Json11Error> {
        match (self.string("logGroupName")?, self.string("logGroupIdentifier")?) {
            (Some(_), Some(_)) => Err(Json11Error::invalid_parameter(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )),
            (Some(name), None) => Ok(name),
            (None, Some(identifier)) => Ok(group_of_identifier(&identifier)),
            (None, None) => Err(Json11Error::invalid_parameter(
                "Should provide either name or identifier for the log group.",
            )),
        }
    }
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]` → NAME; a name stays as it is.
fn group_of_identifier(identifier: &str) -> String {
    match identifier.strip_prefix("arn:") {
        Some(_) => {
            let name = identifier.split_once(":log-group:").map_or(identifier, |(_, name)| name);
            name.strip_suffix(":*").unwrap_or(name).to_owned()
        }
        None => identifier.to_owned(),
    }
}

pub fn constraint(name: &str, value: impl std::fmt::Display, rule: &str) -> Json11Error {
    Json11Error::invalid_parameter(format!(
        "1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: Member must {rule}"
    ))
}

/// Checks a log group name against the model: 1 to 512 of `[.\-_/#A-Za-z0-9]`.
pub fn check_group_name(name: &str) -> Result<(), Json11Error> {
    if name.is_empty() || name.len() > 512 {
        return Err(constraint("logGroupName", name, "have length between 1 and 512"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)) {
        return Err(constraint(
            "logGroupName",
            name,
            "satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// Checks a log stream name against the model: 1 to 512 characters, no `:` or `*`.
pub fn check_stream_name(name: &str) -> Result<(), Json11Error> {
    if name.is_empty() || name.len() > 512 {
        return Err(constraint("logStreamName", name, "have length between 1 and 512"));
    }
    if name.contains([':', '*']) {
        return Err(constraint("logStreamName", name, "satisfy regular expression pattern: [^:*]*"));
    }
    Ok(())
}

fn group_arn(region: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}")
}

pub fn group(group: &LogGroup, region: &str) -> Value {
    let arn = group_arn(region, &group.name);
    let mut out = json!({
        "logGroupName": group.name,
        "creationTime": group.created_ms,
        "metricFilterCount": 0,
        "arn": format!("{arn}:*"),
        "logGroupArn": arn,
        "storedBytes": group.stored_bytes,
        "logGroupClass": "STANDARD",
    });
    if let Some(days) = group.retention_days {
        out["retentionInDays"] = json!(days);
    }
    out
}

pub fn stream(group: &str, stream: &LogStreamInfo, region: &str) -> Value {
    let mut out = Map::new();
    out.insert("logStreamName".into(), json!(stream.name));
    out.insert("creationTime".into(), json!(stream.created_ms));
    for (key, value) in [
        ("firstEventTimestamp", stream.first_event_ms),
        ("lastEventTimestamp", stream.last_event_ms),
        ("lastIngestionTime", stream.last_ingestion_ms),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    out.insert("arn".into(), json!(format!("{}:log-stream:{}", group_arn(region, group), stream.name)));
    out.insert("storedBytes".into(), json!(stream.stored_bytes));
    Value::Object(out)
}

pub fn event(event: &LogEvent) -> Value {
    json!({ "timestamp": event.timestamp, "message": event.message, "ingestionTime": event.ingestion_time })
}

pub fn filtered_event(found: &FilteredEvent) -> Value {
    json!({
        "logStreamName": found.stream,
        "timestamp": found.event.timestamp,
        "message": found.event.message,
        "ingestionTime": found.event.ingestion_time,
        "eventId": found.event.id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_name_groups_by_name_or_arn() {
        assert_eq!(group_of_identifier("/aws/lambda/f"), "/aws/lambda/f");
        assert_eq!(
            group_of_identifier("arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f:*"),
            "/aws/lambda/f"
        );
        assert_eq!(group_of_identifier("arn:aws:logs:us-east-1:000000000000:log-group:g"), "g");
    }

    #[test]
    fn names_follow_the_model() {
        assert!(check_group_name("/aws/lambda/my-fn_1.#").is_ok());
        assert!(check_group_name("bad name").is_err() && check_group_name("").is_err());
        assert!(check_stream_name("2026/01/01/[$LATEST]abc").is_ok());
        assert!(check_stream_name("a:b").is_err() && check_stream_name("a*").is_err());
        let limit = Members(&json!({"limit": 0})).limit("limit", 50, 50).unwrap_err();
        assert_eq!(limit.code, "InvalidParameterException");
        assert_eq!(Members(&json!({})).limit("limit", 50, 50).unwrap(), 50);
    }
}
