//! CloudWatch Logs filter patterns, as `FilterLogEvents` takes them: a pattern is parsed
//! once per request into a [`FilterPattern`], then matched against each event's message.
//!
//! Two kinds are supported, as CloudWatch defines them:
//! - **term patterns** (`ERROR`, `"exact phrase"`, `?ERROR ?WARN`, `ERROR -Exiting`):
//!   every plain term must occur in the message, none of the `-` terms may, and at least
//!   one of the `?` terms must when there are any. Matching is case-sensitive and by
//!   substring.
//! - **JSON patterns** (`{ $.tenantId = "BlueTenant" }`, `{ $.latency > 100 && $.ok IS TRUE }`):
//!   the message is parsed as JSON and the expression evaluated on it; a message that is
//!   not JSON never matches.
//!
//! Space-delimited (`[ip, user, ...]`) and regular-expression (`%...%`) patterns are not
//! supported and are refused with a message that says so, rather than matching wrongly.

mod json;
mod terms;

pub use json::JsonExpr;
pub use terms::TermPattern;

/// Why a pattern was refused; the API answers `InvalidParameterException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid filter pattern: {0}")]
pub struct PatternError(pub String);

/// Longest pattern CloudWatch accepts.
pub const MAX_PATTERN_LEN: usize = 1024;

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterPattern {
    /// The empty pattern: every event matches.
    All,
    Terms(TermPattern),
    Json(JsonExpr),
}

impl FilterPattern {
    pub fn parse(text: &str) -> Result<FilterPattern, PatternError> {
        if text.len() > MAX_PATTERN_LEN {
            return Err(PatternError(format!("longer than {MAX_PATTERN_LEN} characters")));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(FilterPattern::All);
        }
        if trimmed.starts_with('{') {
            return JsonExpr::parse(trimmed).map(FilterPattern::Json);
        }
        if trimmed.starts_with('[') {
            return Err(PatternError("space-delimited patterns ([...]) are not supported".into()));
        }
        if trimmed.starts_with('%') {
            return Err(PatternError("regular-expression patterns (%...%) are not supported".into()));
        }
        TermPattern::parse(trimmed).map(FilterPattern::Terms)
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            FilterPattern::All => true,
            FilterPattern::Terms(terms) => terms.matches(message),
            FilterPattern::Json(expr) => match serde_json::from_str::<serde_json::Value>(message.trim()) {
                Ok(document) => expr.matches(&document),
                Err(_) => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart() {
        assert_eq!(FilterPattern::parse("  ").unwrap(), FilterPattern::All);
        assert!(matches!(FilterPattern::parse("ERROR").unwrap(), FilterPattern::Terms(_)));
        assert!(matches!(FilterPattern::parse("{ $.a = 1 }").unwrap(), FilterPattern::Json(_)));
        assert!(FilterPattern::parse("[ip, user]").is_err());
        assert!(FilterPattern::parse("%ab+%").is_err());
        assert!(FilterPattern::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn json_patterns_skip_messages_that_are_not_json() {
        let pattern = FilterPattern::parse(r#"{ $.tenantId = "BlueTenant" }"#).unwrap();
        assert!(pattern.matches("{\"tenantId\": \"BlueTenant\", \"n\": 1}\n"));
        assert!(!pattern.matches("{\"tenantId\": \"GreenTenant\"}\n"));
        assert!(!pattern.matches("tenantId BlueTenant\n"));
    }
}
