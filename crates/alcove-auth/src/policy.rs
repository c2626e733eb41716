//! Policies in IAM's JSON grammar, and their evaluation.
//!
//! A policy is parsed once, when it is attached (to an access key, to a role), so that a
//! malformed document is refused with a message at that moment and evaluation never
//! fails. The grammar is IAM's identity-policy grammar: `Version`, `Statement` (one or a
//! list) of `Sid`, `Effect`, `Action` or `NotAction`, `Resource` or `NotResource`, and
//! `Condition`. A `Principal` has no place in a policy attached to a caller and is
//! refused, as IAM refuses it in identity policies.
//!
//! Evaluation follows IAM: an explicit `Deny` that matches wins; otherwise a matching
//! `Allow` allows; otherwise the request is implicitly denied. Actions match
//! case-insensitively, resources case-sensitively, both with `*` and `?` wildcards.
//! Condition operators are the string family (`StringEquals`, `StringNotEquals`,
//! `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`),
//! `Bool`, `Null`, each with the `…IfExists` suffix and the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers; keys match case-insensitively. Several values for one
//! key are alternatives; several keys, and several operators, must all hold. A key
//! missing from the request fails a positive operator and satisfies a negated one (and
//! any `…IfExists`), as in IAM. An operator Alcove does not know is refused at parse time
//! rather than ignored, because ignoring a condition would widen what a policy allows.
//!
//! Resources and condition values may hold policy variables, `${key}` with a condition
//! key of the request (e.g. `${alcove:SourceTenantId}`), and IAM's escapes `${*}`,
//! `${?}` and `${$}` for the literal characters. A variable the request has no value
//! for makes that pattern match nothing, as in IAM.

use std::collections::BTreeMap;

use serde_json::Value;

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

fn invalid(message: impl Into<String>) -> PolicyError {
    PolicyError(message.into())
}

/// What a statement says to do when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// The outcome of evaluating a request against a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// No statement allowed the request.
    ImplicitDeny,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// The condition keys of a request and their values (IAM keys are case-insensitive;
/// they are kept lower-cased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context(BTreeMap<String, Vec<String>>);

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a single-valued key.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Context {
        self.insert(key, value);
        self
    }

    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_ascii_lowercase(), vec![value.into()]);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.0.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }
}

/// One request to decide: `service:Operation`, the ARN it acts on, and its condition keys.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a Context,
}

/// A parsed policy document, with the document as given (for listing it back).
#[derive(Debug, Clone)]
pub struct Policy {
    document: Value,
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    actions: Matcher,
    resources: Matcher,
    conditions: Vec<Condition>,
}

/// `Action`/`Resource` (patterns the value must match) or `NotAction`/`NotResource`
/// (patterns it must not match).
#[derive(Debug, Clone)]
struct Matcher {
    patterns: Vec<String>,
    negated: bool,
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    if_exists: bool,
    qualifier: Option<SetQualifier>,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    Bool,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        Some(match name {
            "StringEquals" => Operator::StringEquals,
            "StringNotEquals" => Operator::StringNotEquals,
            "StringEqualsIgnoreCase" => Operator::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Operator::StringNotEqualsIgnoreCase,
            "StringLike" => Operator::StringLike,
            "StringNotLike" => Operator::StringNotLike,
            "Bool" => Operator::Bool,
            "Null" => Operator::Null,
            _ => return None,
        })
    }

    fn is_glob(self) -> bool {
        matches!(self, Operator::StringLike | Operator::StringNotLike)
    }

    fn is_negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals | Operator::StringNotEqualsIgnoreCase | Operator::StringNotLike
        )
    }

    /// Whether one request value matches one policy value, before negation.
    fn matches(self, actual: &str, expected: &str) -> bool {
        match self {
            Operator::StringEquals | Operator::StringNotEquals => actual == expected,
            Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
                actual.to_lowercase() == expected.to_lowercase()
            }
            Operator::StringLike | Operator::StringNotLike => wildcard_match(expected, actual, false),
            Operator::Bool => actual.eq_ignore_ascii_case(expected),
            Operator::Null => false,
        }
    }
}

impl Policy {
    /// Parses a document in IAM's grammar.
    pub fn parse(document: &str) -> Result<Policy, PolicyError> {
        let value: Value = serde_json::from_str(document)
            .map_err(|e| invalid(format!("The policy is not valid JSON: {e}")))?;
        Policy::from_value(value)
    }

    pub fn from_value(document: Value) -> Result<Policy, PolicyError> {
        let object = document.as_object().ok_or_else(|| invalid("The policy must be a JSON object"))?;
        for key in object.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(invalid(format!("Unknown policy element {key}")));
            }
        }
        match object.get("Version").map(|v| v.as_str()) {
            None | Some(Some("2012-10-17" | "2008-10-17")) => {}
            _ => return Err(invalid("Version must be 2012-10-17 or 2008-10-17")),
        }
        let statements = match object.get("Statement") {
            Some(Value::Array(list)) => list.iter().map(Statement::parse).collect::<Result<_, _>>()?,
            Some(single @ Value::Object(_)) => vec![Statement::parse(single)?],
            _ => return Err(invalid("The policy needs a Statement (an object or a list of objects)")),
        };
        Ok(Policy { document, statements })
    }

    /// The policy of an administrator: every action on every resource.
    pub fn allow_all() -> Policy {
        Policy::from_value(serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
        }))
        .expect("the administrator policy is well formed")
    }

    /// The policy that allows nothing (a role with no policy attached).
    pub fn deny_all() -> Policy {
        Policy { document: serde_json::json!({"Version": "2012-10-17", "Statement": []}), statements: vec![] }
    }

    /// The document as it was given.
    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn evaluate(&self, request: &Request<'_>) -> Decision {
        let mut allowed = false;
        for statement in self.statements.iter().filter(|s| s.applies_to(request)) {
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

impl Statement {
    fn parse(value: &Value) -> Result<Statement, PolicyError> {
        let object = value.as_object().ok_or_else(|| invalid("Each statement must be a JSON object"))?;
        for key in object.keys() {
            match key.as_str() {
                "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource" | "Condition" => {}
                "Principal" | "NotPrincipal" => {
                    return Err(invalid(format!(
                        "{key} is not allowed in a policy attached to a caller (it names who the caller is)"
                    )))
                }
                other => return Err(invalid(format!("Unknown statement element {other}"))),
            }
        }
        let effect = match object.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err(invalid("Each statement needs an Effect of Allow or Deny")),
        };
        let actions = Matcher::parse(object, "Action", "NotAction")?;
        for action in &actions.patterns {
            if action != "*" && !action.contains(':') {
                return Err(invalid(format!(
                    "Action {action} must be service:Operation (e.g. lambda:InvokeFunction)"
                )));
            }
        }
        let resources = Matcher::parse(object, "Resource", "NotResource")?;
        let conditions = match object.get("Condition") {
            None => vec![],
            Some(block) => Condition::parse_block(block)?,
        };
        Ok(Statement { effect, actions, resources, conditions })
    }

    fn applies_to(&self, request: &Request<'_>) -> bool {
        self.actions.matches(request.action, true, None)
            && self.resources.matches(request.resource, false, Some(request.context))
            && self.conditions.iter().all(|c| c.holds(request.context))
    }
}

impl Matcher {
    fn parse(
        statement: &serde_json::Map<String, Value>,
        positive: &str,
        negative: &str,
    ) -> Result<Matcher, PolicyError> {
        let (value, negated) = match (statement.get(positive), statement.get(negative)) {
            (Some(value), None) => (value, false),
            (None, Some(value)) => (value, true),
            (Some(_), Some(_)) => {
                return Err(invalid(format!("A statement has either {positive} or {negative}")))
            }
            (None, None) => return Err(invalid(format!("Each statement needs {positive} (or {negative})"))),
        };
        let patterns = string_list(value)
            .ok_or_else(|| invalid(format!("{positive} must be a string or a list of strings")))?;
        if patterns.is_empty() {
            return Err(invalid(format!("{positive} must not be empty")));
        }
        Ok(Matcher { patterns, negated })
    }

    /// With `variables`, policy variables in the patterns are resolved from them.
    fn matches(&self, value: &str, ignore_case: bool, variables: Option<&Context>) -> bool {
        let matched = self.patterns.iter().any(|pattern| match variables {
            Some(context) => resolve(pattern, context, true)
                .is_some_and(|pattern| wildcard_match(&pattern, value, ignore_case)),
            None => wildcard_match(pattern, value, ignore_case),
        });
        matched != self.negated
    }
}

impl Condition {
    fn parse_block(block: &Value) -> Result<Vec<Condition>, PolicyError> {
        let operators = block.as_object().ok_or_else(|| invalid("Condition must be a JSON object"))?;
        let mut conditions = Vec::new();
        for (name, keys) in operators {
            let (qualifier, rest) = match name.split_once(':') {
                Some(("ForAnyValue", rest)) => (Some(SetQualifier::ForAnyValue), rest),
                Some(("ForAllValues", rest)) => (Some(SetQualifier::ForAllValues), rest),
                Some(_) => return Err(invalid(format!("Unknown condition qualifier in {name}"))),
                None => (None, name.as_str()),
            };
            let (base, if_exists) = match rest.strip_suffix("IfExists") {
                Some(base) => (base, true),
                None => (rest, false),
            };
            let operator = Operator::parse(base).ok_or_else(|| {
                invalid(format!(
                    "Condition operator {name} is not supported (supported: the String operators, Bool and Null, \
                     with IfExists and ForAnyValue:/ForAllValues:)"
                ))
            })?;
            if operator == Operator::Null && (if_exists || qualifier.is_some()) {
                return Err(invalid(format!("{name} is not a valid condition operator")));
            }
            let keys = keys
                .as_object()
                .ok_or_else(|| invalid(format!("{name} must map condition keys to values")))?;
            for (key, values) in keys {
                let values = scalar_list(values).ok_or_else(|| {
                    invalid(format!("The values of {key} must be strings, numbers or booleans"))
                })?;
                conditions.push(Condition {
                    operator,
                    if_exists,
                    qualifier,
                    key: key.to_ascii_lowercase(),
                    values,
                });
            }
        }
        Ok(conditions)
    }

    fn holds(&self, context: &Context) -> bool {
        let actual = context.get(&self.key);
        if self.operator == Operator::Null {
            let absent = actual.is_none_or(|values| values.is_empty());
            return self.values.iter().any(|v| v.eq_ignore_ascii_case("true") == absent);
        }
        let Some(actual) = actual.filter(|values| !values.is_empty()) else {
            return match self.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => self.if_exists || self.operator.is_negated(),
            };
        };
        let one = |value: &String| {
            let matched = self.values.iter().any(|expected| {
                resolve(expected, context, self.operator.is_glob())
                    .is_some_and(|expected| self.operator.matches(value, &expected))
            });
            matched != self.operator.is_negated()
        };
        match self.qualifier {
            Some(SetQualifier::ForAllValues) => actual.iter().all(one),
            Some(SetQualifier::ForAnyValue) | None => actual.iter().any(one),
        }
    }
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

fn scalar_list(value: &Value) -> Option<Vec<String>> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

/// `pattern` with its policy variables replaced by the request's values; `None` when one
/// has no value. A substituted value is literal: its own `*` or `?` match only
/// themselves, so a caller cannot widen a pattern through a value it chose.
/// (`glob`: the pattern is a glob; otherwise values are substituted as they are.)
fn resolve<'p>(pattern: &'p str, context: &Context, glob: bool) -> Option<std::borrow::Cow<'p, str>> {
    if !pattern.contains("${") {
        return Some(std::borrow::Cow::Borrowed(pattern));
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(std::borrow::Cow::Owned(out));
        };
        match &after[..end] {
            "*" if glob => out.push_str(LITERAL_STAR),
            "?" if glob => out.push_str(LITERAL_QUESTION),
            escaped @ ("*" | "?" | "$") => out.push_str(escaped),
            key => {
                let value = context.get(key)?.first()?;
                if glob {
                    out.push_str(&value.replace('*', LITERAL_STAR).replace('?', LITERAL_QUESTION));
                } else {
                    out.push_str(value);
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(std::borrow::Cow::Owned(out))
}

/// Stand-ins for a literal `*` and `?` in a resolved pattern: private-use characters that
/// the glob matches only against the literal character.
const LITERAL_STAR: &str = "\u{F8FF}";
const LITERAL_QUESTION: &str = "\u{F8FE}";

/// IAM's glob: `*` matches any run of characters (none included), `?` exactly one.
fn wildcard_match(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (pattern, value) = (fold(pattern), fold(value));
    // Iterative glob with backtracking to the last `*`: linear in practice, never
    // exponential, whatever a policy's author writes.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && (pattern[p] == '?' || same(pattern[p], value[v])) {
            p += 1;
            v += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, v));
            p += 1;
        } else if let Some((star_p, star_v)) = star {
            p = star_p + 1;
            v = star_v + 1;
            star = Some((star_p, star_v + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// A pattern character against a value character: a literal stand-in matches its
/// character.
fn same(pattern: char, value: char) -> bool {
    pattern == value || (pattern == '\u{F8FF}' && value == '*') || (pattern == '\u{F8FE}' && value == '?')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:orders";

    fn policy(document: Value) -> Policy {
        Policy::from_value(document).unwrap()
    }

    fn decide(policy: &Policy, action: &str, resource: &str, context: &Context) -> Decision {
        policy.evaluate(&Request { action, resource, context })
    }

    fn tenant(id: &str) -> Context {
        Context::new().with("alcove:TenantId", id)
    }

    fn invoke_as_tenant(operator: &str, tenant: &str) -> Policy {
        policy(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": [FUNCTION, format!("{FUNCTION}:*")],
                "Condition": {operator: {"alcove:TenantId": tenant}}
            }]
        }))
    }

    #[test]
    fn a_scoped_policy_allows_one_function_as_one_tenant() {
        let scoped = invoke_as_tenant("StringEquals", "BlueTenant");
        let blue = tenant("BlueTenant");
        assert_eq!(decide(&scoped, "lambda:InvokeFunction", FUNCTION, &blue), Decision::Allow);
        assert_eq!(
            decide(&scoped, "lambda:invokefunction", &format!("{FUNCTION}:live"), &blue),
            Decision::Allow
        );
        assert_eq!(
            decide(&scoped, "lambda:InvokeFunction", FUNCTION, &tenant("GreenTenant")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&scoped, "lambda:InvokeFunction", FUNCTION, &Context::new()),
            Decision::ImplicitDeny
        );
        assert_eq!(decide(&scoped, "lambda:GetFunction", FUNCTION, &blue), Decision::ImplicitDeny);
        assert_eq!(
            decide(&scoped, "lambda:InvokeFunction", &format!("{FUNCTION}-other"), &blue),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn string_like_takes_wildcards_in_values() {
        let scoped = invoke_as_tenant("StringLike", "acme-*");
        assert!(decide(&scoped, "lambda:InvokeFunction", FUNCTION, &tenant("acme-eu")).is_allowed());
        assert!(!decide(&scoped, "lambda:InvokeFunction", FUNCTION, &tenant("globex")).is_allowed());
        let exact = invoke_as_tenant("StringEquals", "acme-*");
        assert!(!decide(&exact, "lambda:InvokeFunction", FUNCTION, &tenant("acme-eu")).is_allowed());
    }

    #[test]
    fn deny_wins_over_allow() {
        let p = policy(json!({
            "Statement": [
                {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "lambda:Delete*", "Resource": "*"}
            ]
        }));
        let none = Context::new();
        assert_eq!(decide(&p, "lambda:ListFunctions", "*", &none), Decision::Allow);
        assert_eq!(decide(&p, "lambda:DeleteFunction", FUNCTION, &none), Decision::ExplicitDeny);
        assert_eq!(decide(&p, "apigateway:GET", "*", &none), Decision::ImplicitDeny);
    }

    #[test]
    fn not_action_and_not_resource_invert_the_match() {
        let p = policy(json!({
            "Statement": [{"Effect": "Allow", "NotAction": "lambda:Delete*", "NotResource": FUNCTION}]
        }));
        let none = Context::new();
        assert!(decide(&p, "lambda:GetFunction", "arn:aws:lambda:us-east-1:000000000000:function:x", &none)
            .is_allowed());
        assert!(!decide(&p, "lambda:GetFunction", FUNCTION, &none).is_allowed());
        assert!(!decide(&p, "lambda:DeleteFunction", "arn:x", &none).is_allowed());
    }

    #[test]
    fn a_missing_key_fails_positive_operators_and_satisfies_negated_ones() {
        let not_blue = invoke_as_tenant("StringNotEquals", "BlueTenant");
        assert!(decide(&not_blue, "lambda:InvokeFunction", FUNCTION, &Context::new()).is_allowed());
        assert!(!decide(&not_blue, "lambda:InvokeFunction", FUNCTION, &tenant("BlueTenant")).is_allowed());
        let if_exists = invoke_as_tenant("StringEqualsIfExists", "BlueTenant");
        assert!(decide(&if_exists, "lambda:InvokeFunction", FUNCTION, &Context::new()).is_allowed());
        assert!(!decide(&if_exists, "lambda:InvokeFunction", FUNCTION, &tenant("Green")).is_allowed());
        let must_have = policy(json!({
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                           "Condition": {"Null": {"alcove:TenantId": "false"}}}]
        }));
        assert!(decide(&must_have, "lambda:InvokeFunction", FUNCTION, &tenant("x")).is_allowed());
        assert!(!decide(&must_have, "lambda:InvokeFunction", FUNCTION, &Context::new()).is_allowed());
    }

    #[test]
    fn condition_keys_are_case_insensitive_and_values_alternatives() {
        let p = policy(json!({
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                           "Condition": {"StringEquals": {"ALCOVE:tenantid": ["a", "b"]}}}]
        }));
        assert!(decide(&p, "lambda:InvokeFunction", FUNCTION, &tenant("b")).is_allowed());
        assert!(!decide(&p, "lambda:InvokeFunction", FUNCTION, &tenant("c")).is_allowed());
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        for (document, needle) in [
            (json!([]), "JSON object"),
            (json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}), "Effect"),
            (json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]}), "Action"),
            (json!({"Statement": [{"Effect": "Allow", "Action": "*"}]}), "Resource"),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "Invoke", "Resource": "*"}]}),
                "service:Operation",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}),
                "Principal",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                      "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020"}}}]}),
                "not supported",
            ),
            (json!({"Version": "2099-01-01", "Statement": []}), "Version"),
        ] {
            let error = Policy::from_value(document).unwrap_err();
            assert!(error.to_string().contains(needle), "{error} should mention {needle}");
        }
        assert!(Policy::parse("{not json").is_err());
    }

    #[test]
    fn policy_variables_take_the_requests_values() {
        let own_tenant = policy(json!({
            "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*",
                           "Condition": {"StringEquals": {"alcove:TenantId": "${alcove:SourceTenantId}"}}}]
        }));
        let from_blue = |id: &str| tenant(id).with("alcove:SourceTenantId", "Blue");
        assert!(decide(&own_tenant, "lambda:InvokeFunction", FUNCTION, &from_blue("Blue")).is_allowed());
        assert!(!decide(&own_tenant, "lambda:InvokeFunction", FUNCTION, &from_blue("Green")).is_allowed());
        // No value for the variable: the pattern matches nothing.
        assert!(!decide(&own_tenant, "lambda:InvokeFunction", FUNCTION, &tenant("Blue")).is_allowed());
        let per_tenant_resource = policy(json!({
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::data/${alcove:SourceTenantId}/*"}]
        }));
        let ctx = Context::new().with("alcove:SourceTenantId", "Blue");
        assert!(decide(&per_tenant_resource, "s3:GetObject", "arn:aws:s3:::data/Blue/x", &ctx).is_allowed());
        assert!(!decide(&per_tenant_resource, "s3:GetObject", "arn:aws:s3:::data/Green/x", &ctx).is_allowed());
        // A value's own wildcards are literal: a tenant named `*` reaches only `*`.
        let star = Context::new().with("alcove:SourceTenantId", "*");
        assert!(!decide(&per_tenant_resource, "s3:GetObject", "arn:aws:s3:::data/Blue/x", &star).is_allowed());
        assert!(decide(&per_tenant_resource, "s3:GetObject", "arn:aws:s3:::data/*/x", &star).is_allowed());
        let escaped = policy(json!({
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${*}"}]
        }));
        assert!(decide(&escaped, "s3:GetObject", "arn:aws:s3:::b/*", &ctx).is_allowed());
        assert!(!decide(&escaped, "s3:GetObject", "arn:aws:s3:::b/x", &ctx).is_allowed());
    }

    #[test]
    fn wildcards_match_as_iam_globs() {
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("a*c", "abbbc", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(wildcard_match("*:function:orders*", FUNCTION, false));
        assert!(!wildcard_match("ARN:*", FUNCTION, false));
        assert!(wildcard_match("ARN:*", FUNCTION, true));
        assert!(!wildcard_match(&"*a".repeat(20), &"a".repeat(19), false));
    }

    #[test]
    fn the_builtin_policies_allow_everything_and_nothing() {
        let none = Context::new();
        assert!(decide(&Policy::allow_all(), "s3:PutObject", "arn:aws:s3:::b/k", &none).is_allowed());
        assert_eq!(decide(&Policy::deny_all(), "s3:PutObject", "*", &none), Decision::ImplicitDeny);
    }
}
