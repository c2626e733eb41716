//! Request validation against the service model, as AWS does it before any handler runs.
//!
//! A request that breaks its operation's model constraints (a string's length or
//! pattern, an enum, a number's range, a missing required member) is answered with a
//! `ValidationException` listing every violation, in the model's member order, in
//! AWS's words: `2 validation errors detected: Value '...' at 'memorySize' failed to
//! satisfy constraint: Member must have value less than or equal to 32768; Value ...`.
//! Member paths are the model's member names with a lower-case first letter, joined by
//! dots (`environment.variables`); list elements that are structures are
//! `name.N.member` (1-based). Values of sensitive shapes are not echoed (`Value at`).
//!
//! One validator driven by the embedded model ([`super::service_model`]) rather than
//! checks per field: the handlers keep only the semantic checks the model cannot state
//! (a memory size within the server's limit, a runtime it has), which stay
//! `InvalidParameterValueException`, as on AWS.
//!
//! Where AWS departs from its own model, [`quirks`] says how and from what source. The
//! patterns quoted are the model's: AWS generates these messages from the same model
//! botocore is generated from, so answers recorded before a model change quote the
//! older pattern (before late 2025, function name patterns had neither `(eusc-)?` nor
//! `(\.PUBLISHED)?`).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fancy_regex::Regex;
use serde_json::Value;

use super::service_model::{parameter_positions, Shape, MODEL};
use crate::error::ApiError;
use crate::request::read_limited;

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub value: Shown,
    pub path: String,
    pub constraint: String,
}

/// How a violating value appears in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// `Value null at ...`: a required member is missing.
    Null,
    /// `Value at ...`: the shape is sensitive, AWS does not echo it.
    Hidden,
    /// `Value '...' at ...`.
    Text(String),
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Shown::Null => write!(f, "Value null")?,
            Shown::Hidden => write!(f, "Value")?,
            Shown::Text(text) => write!(f, "Value '{text}'")?,
        }
        write!(f, " at '{}' failed to satisfy constraint: {}", self.path, self.constraint)
    }
}

/// AWS's message for a list of violations: `N validation error(s) detected: ...; ...`.
pub fn message(violations: &[Violation]) -> String {
    let n = violations.len();
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    format!("{n} validation error{} detected: {}", if n == 1 { "" } else { "s" }, listed.join("; "))
}

/// A request's members, by where they travel.
#[derive(Debug, Default)]
pub struct RequestMembers<'a> {
    /// URI parameters by the model's `locationName`, decoded.
    pub uri: HashMap<String, String>,
    /// Query parameters, decoded.
    pub query: HashMap<String, String>,
    pub headers: Option<&'a HeaderMap>,
    /// The JSON body, for operations whose body is a document of members.
    pub body: Option<&'a Value>,
}

/// Every violation of `operation`'s model constraints by `request`, in the model's order.
pub fn violations(operation: &str, request: &RequestMembers<'_>) -> Vec<Violation> {
    let mut found = Vec::new();
    let Some(op) = MODEL.operations.get(operation) else { return found };
    let Some(Shape::Structure { members, required, .. }) = op.input.as_deref().and_then(|s| MODEL.shape(s))
    else {
        return found;
    };
    for (name, member) in &members.0 {
        let value = match member.location.as_deref() {
            Some("uri") => {
                request.uri.get(member.location_name.as_deref().unwrap_or(name)).cloned().map(Value::String)
            }
            Some("querystring") => request
                .query
                .get(member.location_name.as_deref().unwrap_or(name))
                .map(|raw| typed(&member.shape, raw)),
            Some("header") => request
                .headers
                .and_then(|h| h.get(member.location_name.as_deref().unwrap_or(name)))
                .and_then(|v| v.to_str().ok())
                .map(|v| typed(&member.shape, v)),
            Some(_) => None,
            None => request.body.and_then(|b| b.get(name)).cloned(),
        };
        let path = quirks::member_path(operation, name);
        match value {
            None | Some(Value::Null) => {
                if required.contains(name) {
                    found.push(Violation {
                        value: Shown::Null,
                        path,
                        constraint: "Member must not be null".into(),
                    });
                }
            }
            Some(value) => {
                let extra = quirks::extra_constraints(operation, name, &value);
                check(&member.shape, &value, &path, extra, &mut found)
            }
        }
    }
    found
}

/// A query or header value as the JSON its shape expects (numbers for numeric shapes);
/// a value that is not a number is left a string, which the range checks then skip.
fn typed(shape: &str, raw: &str) -> Value {
    match MODEL.shape(shape) {
        Some(Shape::Integer { .. } | Shape::Long { .. }) => {
            raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(raw.to_owned()))
        }
        _ => Value::String(raw.to_owned()),
    }
}

/// Checks `value` against the shape `shape_name`, appending violations at `path`.
fn check(shape_name: &str, value: &Value, path: &str, extra: Option<u64>, out: &mut Vec<Violation>) {
    if quirks::SEMANTIC_SHAPES.contains(&shape_name) {
        return;
    }
    let Some(shape) = MODEL.shape(shape_name) else { return };
    match shape {
        Shape::Structure { members, required, .. } => {
            let Value::Object(object) = value else { return };
            for (name, member) in &members.0 {
                let child = format!("{path}.{}", lower_first(name));
                match object.get(name) {
                    None | Some(Value::Null) if required.contains(name) => out.push(Violation {
                        value: Shown::Null,
                        path: child,
                        constraint: "Member must not be null".into(),
                    }),
                    None | Some(Value::Null) => {}
                    Some(v) => check(&member.shape, v, &child, None, out),
                }
            }
        }
        Shape::List { member, min, max } => {
            let Value::Array(items) = value else { return };
            let shown = Shown::Text(render(value));
            for constraint in length_constraints(items.len() as u64, *min, *max) {
                out.push(Violation { value: shown.clone(), path: path.into(), constraint });
            }
            if is_scalar(member) {
                let broken = union(items.iter().map(|item| scalar_constraints(member, item, None)));
                if !broken.is_empty() {
                    out.push(Violation {
                        value: shown,
                        path: path.into(),
                        constraint: format!("Member must satisfy constraint: [{}]", broken.join(", ")),
                    });
                }
            } else {
                for (i, item) in items.iter().enumerate() {
                    check(member, item, &format!("{path}.{}.member", i + 1), None, out);
                }
            }
        }
        Shape::Map { key, value: value_shape, min, max, sensitive } => {
            let Value::Object(entries) = value else { return };
            let shown = if *sensitive { Shown::Hidden } else { Shown::Text(render(value)) };
            for constraint in length_constraints(entries.len() as u64, *min, *max) {
                out.push(Violation { value: shown.clone(), path: path.into(), constraint });
            }
            let keys =
                union(entries.keys().map(|k| scalar_constraints(key, &Value::String(k.clone()), None)));
            if !keys.is_empty() {
                out.push(Violation {
                    value: shown.clone(),
                    path: path.into(),
                    constraint: format!("Map keys must satisfy constraint: [{}]", keys.join(", ")),
                });
            }
            if is_scalar(value_shape) {
                let values = union(entries.values().map(|v| scalar_constraints(value_shape, v, None)));
                if !values.is_empty() {
                    out.push(Violation {
                        value: shown,
                        path: path.into(),
                        constraint: format!("Map value must satisfy constraint: [{}]", values.join(", ")),
                    });
                }
            } else {
                for (k, v) in entries {
                    check(value_shape, v, &format!("{path}.{k}.member"), None, out);
                }
            }
        }
        _ => {
            let broken = scalar_constraints(shape_name, value, extra);
            if !broken.is_empty() {
                let shown = match shape {
                    Shape::String { sensitive: true, .. } | Shape::Blob { sensitive: true, .. } => {
                        Shown::Hidden
                    }
                    _ => Shown::Text(render(value)),
                };
                for constraint in broken {
                    out.push(Violation { value: shown.clone(), path: path.into(), constraint });
                }
            }
        }
    }
}

fn is_scalar(shape: &str) -> bool {
    !matches!(MODEL.shape(shape), Some(Shape::Structure { .. } | Shape::List { .. } | Shape::Map { .. }))
}

/// The constraints a scalar value breaks, in AWS's order: length, then pattern, then
/// enum; range for numbers. `max_override` tightens a string's maximum length.
fn scalar_constraints(shape_name: &str, value: &Value, max_override: Option<u64>) -> Vec<String> {
    let mut broken = Vec::new();
    if quirks::SEMANTIC_SHAPES.contains(&shape_name) {
        return broken;
    }
    match MODEL.shape(shape_name) {
        Some(Shape::String { min, max, pattern, values, .. }) => {
            let Value::String(text) = value else { return broken };
            // Java's String.length(): UTF-16 code units.
            let length = text.encode_utf16().count() as u64;
            broken.extend(length_constraints(length, *min, max_override.or(*max)));
            if let Some(pattern) = pattern {
                if !matches_whole(pattern, text) {
                    let quoted = quirks::quoted_pattern(shape_name, text).unwrap_or(pattern);
                    broken.push(format!("Member must satisfy regular expression pattern: {quoted}"));
                }
            }
            if let Some(values) = values {
                if !values.iter().any(|v| v == text) {
                    broken.push(format!("Member must satisfy enum value set: [{}]", values.join(", ")));
                }
            }
        }
        Some(Shape::Integer { min, max } | Shape::Long { min, max }) => {
            let Some(n) = value.as_i64() else { return broken };
            if let Some(min) = min.filter(|min| n < *min) {
                broken.push(format!("Member must have value greater than or equal to {min}"));
            }
            if let Some(max) = max.filter(|max| n > *max) {
                broken.push(format!("Member must have value less than or equal to {max}"));
            }
        }
        _ => {}
    }
    broken
}

fn length_constraints(length: u64, min: Option<u64>, max: Option<u64>) -> Vec<String> {
    let mut broken = Vec::new();
    if let Some(min) = min.filter(|min| length < *min) {
        broken.push(format!("Member must have length greater than or equal to {min}"));
    }
    if let Some(max) = max.filter(|max| length > *max) {
        broken.push(format!("Member must have length less than or equal to {max}"));
    }
    broken
}

/// The distinct constraints of several elements, in first-seen order.
fn union(lists: impl Iterator<Item = Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for constraint in lists.flatten() {
        if !all.contains(&constraint) {
            all.push(constraint);
        }
    }
    all
}

/// Whether the whole of `text` matches the model's `pattern` (Java's `matches`).
fn matches_whole(pattern: &str, text: &str) -> bool {
    static COMPILED: LazyLock<Mutex<HashMap<String, Option<Regex>>>> = LazyLock::new(Default::default);
    let mut cache = COMPILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let regex = cache.entry(pattern.to_owned()).or_insert_with(|| compile(pattern));
    match regex {
        Some(regex) => regex.is_match(text).unwrap_or(true),
        // A pattern this engine cannot compile constrains nothing (a unit test keeps
        // the embedded model free of such patterns).
        None => true,
    }
}

fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{})$", java_to_rust(pattern))).ok()
}

/// Java accepts a `-` after a range in a class (`[a-zA-Z0-9-_]`); this engine needs it
/// escaped.
fn java_to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    let mut previous = '\0';
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                    previous = next;
                }
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class && previous != '[' => in_class = false,
            '-' if in_class && previous != '[' && chars.peek().is_some_and(|n| *n != ']') => {
                // A '-' that follows a completed range, or precedes a class end, is literal.
                let after_range = out.len() >= 3 && out.as_bytes()[out.len() - 2] == b'-';
                if after_range {
                    out.push_str("\\-");
                    previous = '-';
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        previous = c;
    }
    out
}

/// Java's `toString` of the value, as AWS echoes it: strings bare, lists `[a, b]`,
/// maps `{k=v}`.
fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{k}={}", render(v))).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Where AWS's answers depart from what its model says.
pub mod quirks {
    use serde_json::Value;

    use super::lower_first;

    /// Shapes AWS checks semantically rather than by the model. `Runtime`: an unknown
    /// runtime is an `InvalidParameterValueException` whose message lists the runtimes
    /// AWS still supports "or be a valid ARN" (recorded against AWS in LocalStack's
    /// Lambda API tests), not a ValidationException with the model's enum.
    pub const SEMANTIC_SHAPES: &[&str] = &["Runtime"];

    /// A top-level member's path: its name with a lower-case first letter.
    pub fn member_path(_operation: &str, member: &str) -> String {
        lower_first(member)
    }

    /// A tighter maximum length than the model's: CreateFunction given a bare function
    /// name (not an ARN) allows 64 characters, as the API reference says ("If you specify
    /// only the function name, it is limited to 64 characters in length").
    pub fn extra_constraints(operation: &str, member: &str, value: &Value) -> Option<u64> {
        match (operation, member, value) {
            ("CreateFunction", "FunctionName", Value::String(name)) if !name.contains(':') => Some(64),
            _ => None,
        }
    }

    /// The pattern AWS quotes where it is not the model's. A function URL's `Qualifier`
    /// that is a version number is answered with the pattern of an older model, while
    /// `$LATEST` gets the current one (both recorded against AWS in LocalStack's function
    /// URL snapshot tests).
    pub fn quoted_pattern(shape: &str, value: &str) -> Option<&'static str> {
        let version_number = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        (shape == "FunctionUrlQualifier" && version_number)
            .then_some(r"(^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))")
    }

    /// The error code AWS answers violations with. CreateFunction's violations of a bare
    /// function name alone are an `InvalidParameterValueException` with the same message
    /// (recorded against AWS in LocalStack's Lambda API tests); everything else is a
    /// `ValidationException`.
    pub fn is_invalid_parameter(
        operation: &str,
        violations: &[super::Violation],
        body: Option<&Value>,
    ) -> bool {
        operation == "CreateFunction"
            && violations.iter().all(|v| v.path == "functionName")
            && body
                .and_then(|b| b.get("FunctionName"))
                .and_then(Value::as_str)
                .is_some_and(|name| !name.contains(':'))
    }
}

/// The error for `violations` of `operation`, or `None` when there are none.
pub fn rejection(operation: &str, violations: &[Violation], body: Option<&Value>) -> Option<ApiError> {
    if violations.is_empty() {
        return None;
    }
    let text = message(violations);
    Some(if quirks::is_invalid_parameter(operation, violations, body) {
        ApiError::invalid_parameter(text)
    } else {
        ApiError::validation(text)
    })
}

/// Middleware on the Lambda routes: finds the request's operation in the model by its
/// method and route, checks its members, and answers the violations before the handler
/// runs. Requests of operations the model does not know pass untouched.
pub async fn validate_request(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let Some(matched) = matched else { return next.run(request).await };
    let Some((operation, op)) =
        MODEL.operation_for(request.method().as_str(), matched.as_str(), request.uri().query())
    else {
        return next.run(request).await;
    };
    let operation = operation.to_owned();
    let template_positions = parameter_positions(matched.as_str());
    let model_positions = parameter_positions(&op.uri);
    let segments: Vec<&str> = request.uri().path().split('/').collect();
    let mut members = RequestMembers::default();
    for ((position, _), (_, model_name)) in template_positions.iter().zip(model_positions.iter()) {
        if let Some(raw) = segments.get(*position) {
            let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned();
            members.uri.insert((*model_name).to_owned(), decoded);
        }
    }
    if let Some(query) = request.uri().query() {
        members.query = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    }
    let body_is_document = op.input.as_deref().and_then(|s| MODEL.shape(s)).is_some_and(|shape| {
        matches!(shape, Shape::Structure { members, .. }
            if members.0.iter().any(|(_, m)| m.location.is_none()))
    }) && !has_payload(op.input.as_deref());

    let (parts, body) = request.into_parts();
    let (request, document) = if body_is_document {
        let bytes = match read_limited(body, alcove_core::LIMITS.request_body_bytes).await {
            Ok(bytes) => bytes,
            Err(error) => return error.into_response(),
        };
        // A body that is not JSON is the handler's to refuse (InvalidRequestContentException),
        // before any member is looked at, as AWS does.
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        let document = match serde_json::from_slice::<Value>(&bytes) {
            Ok(document) => Some(document),
            Err(_) if blank => None,
            Err(_) => return next.run(Request::from_parts(parts, Body::from(bytes))).await,
        };
        (Request::from_parts(parts, Body::from(bytes)), document)
    } else {
        (Request::from_parts(parts, body), None)
    };
    members.headers = Some(request.headers());
    members.body = document.as_ref();
    let found = violations(&operation, &members);
    if let Some(error) = rejection(&operation, &found, document.as_ref()) {
        // A payload (Invoke's) is still unread: read it before answering, so the
        // connection stays usable for the client's next request instead of being closed
        // under a request it has already sent.
        if document.is_none() {
            let _ = read_limited(request.into_body(), alcove_core::LIMITS.request_body_bytes).await;
        }
        return error.into_response();
    }
    next.run(request).await
}

/// Whether the operation's input has a payload member (its body is that member, as
/// Invoke's is the payload), rather than a document of members.
fn has_payload(input: Option<&str>) -> bool {
    matches!(input.and_then(|name| MODEL.shape(name)), Some(Shape::Structure { payload: Some(_), .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body_violations(operation: &str, body: Value) -> Vec<String> {
        let uri = HashMap::from([("FunctionName".to_owned(), "f".to_owned())]);
        let request = RequestMembers { body: Some(&body), uri, ..Default::default() };
        violations(operation, &request).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_model_pattern_compiles() {
        for (name, shape) in &MODEL.shapes {
            if let Shape::String { pattern: Some(pattern), .. } = shape {
                assert!(compile(pattern).is_some(), "{name}: {pattern}");
            }
        }
    }

    #[test]
    fn patterns_match_the_whole_value_as_java_does() {
        assert!(matches_whole("[a-zA-Z0-9-_]+", "my-func_1"));
        assert!(!matches_whole("[a-zA-Z0-9-_]+", "my func"));
        assert!(!matches_whole("[a-zA-Z0-9-_]+", "a.b"));
        assert!(matches_whole("(?!^[0-9]+$)([a-zA-Z0-9-_]+)", "live"));
        assert!(!matches_whole("(?!^[0-9]+$)([a-zA-Z0-9-_]+)", "123"));
    }

    #[test]
    fn every_violation_is_listed_in_model_order() {
        let found = body_violations(
            "CreateFunction",
            json!({"FunctionName": "bad name!", "Role": "arn:aws:iam::123456789012:role/r",
                   "Code": {}, "MemorySize": 40000, "Timeout": 0}),
        );
        assert_eq!(
            found,
            [
                "Value 'bad name!' at 'functionName' failed to satisfy constraint: Member must satisfy \
                 regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-\
                 [a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
                "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1",
                "Value '40000' at 'memorySize' failed to satisfy constraint: Member must have value less than or \
                 equal to 32768",
            ]
        );
    }

    #[test]
    fn missing_required_members_are_null() {
        let found = body_violations("CreateFunction", json!({"FunctionName": "f"}));
        assert_eq!(
            found,
            [
                "Value null at 'role' failed to satisfy constraint: Member must not be null",
                "Value null at 'code' failed to satisfy constraint: Member must not be null",
            ]
        );
    }

    #[test]
    fn nested_lists_and_sensitive_maps() {
        let found = body_violations(
            "UpdateFunctionConfiguration",
            json!({"Environment": {"Variables": {"1BAD": "x"}}, "EphemeralStorage": {"Size": 100}}),
        );
        assert_eq!(
            found,
            [
                "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy \
                 constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
                "Value '100' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value \
                 greater than or equal to 512",
            ]
        );
        let found = body_violations("UpdateFunctionCode", json!({"Architectures": ["x86", "arm64"]}));
        assert_eq!(
            found,
            ["Value '[x86, arm64]' at 'architectures' failed to satisfy constraint: Member must have length \
              less than or equal to 1",
             "Value '[x86, arm64]' at 'architectures' failed to satisfy constraint: Member must satisfy \
              constraint: [Member must satisfy enum value set: [x86_64, arm64]]"]
        );
    }

    #[test]
    fn the_message_counts_its_violations() {
        let v = Violation { value: Shown::Text("x".into()), path: "p".into(), constraint: "c".into() };
        assert_eq!(
            message(std::slice::from_ref(&v)),
            "1 validation error detected: Value 'x' at 'p' failed to satisfy constraint: c"
        );
        assert!(message(&[v.clone(), v]).starts_with("2 validation errors detected: "));
    }

    #[test]
    fn a_bare_name_too_long_for_create_function_is_an_invalid_parameter() {
        let name = "f".repeat(65);
        let body = json!({"FunctionName": name, "Role": "arn:aws:iam::123456789012:role/r", "Code": {}});
        let request = RequestMembers { body: Some(&body), ..Default::default() };
        let found = violations("CreateFunction", &request);
        let error = rejection("CreateFunction", &found, Some(&body)).unwrap();
        assert_eq!(error.code, "InvalidParameterValueException");
        assert_eq!(
            error.message,
            format!(
                "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: \
                 Member must have length less than or equal to 64"
            )
        );
    }
}
