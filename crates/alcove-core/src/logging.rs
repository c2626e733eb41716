//! A function's `LoggingConfig`: the log format (plain text or JSON), the levels Lambda
//! filters application and system logs at, and the log group.
//!
//! Lambda's rules, which this module enforces once, where a configuration is built:
//! log levels exist only for the JSON format (a level with `Text` is refused with Lambda's
//! message); a JSON configuration without levels gets `INFO` for both; switching back to
//! `Text` clears the levels. An update merges: members it leaves out keep their value.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::FunctionName;

/// `LoggingConfig.LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum LogFormat {
    #[default]
    Text,
    #[serde(rename = "JSON")]
    Json,
}

impl LogFormat {
    pub const fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "Text",
            LogFormat::Json => "JSON",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "Text" => Ok(LogFormat::Text),
            "JSON" => Ok(LogFormat::Json),
            other => Err(enum_error(other, "loggingConfig.logFormat", "[JSON, Text]")),
        }
    }
}

/// A log level, most detailed first: the order is the filter's (a level admits itself and
/// everything after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }

    /// A level as a log line names it, in any case; the spellings the official runtime
    /// clients and common libraries use (`WARNING`, `CRITICAL`) included.
    pub fn from_line(value: &str) -> Option<Self> {
        match value.to_ascii_uppercase().as_str() {
            "TRACE" => Some(LogLevel::Trace),
            "DEBUG" => Some(LogLevel::Debug),
            "INFO" => Some(LogLevel::Info),
            "WARN" | "WARNING" => Some(LogLevel::Warn),
            "ERROR" => Some(LogLevel::Error),
            "FATAL" | "CRITICAL" => Some(LogLevel::Fatal),
            _ => None,
        }
    }

    /// Whether a record at `level` passes a filter set to `self`.
    pub fn admits(self, level: LogLevel) -> bool {
        level >= self
    }

    fn parse_application(value: &str) -> Result<Self> {
        match value {
            "TRACE" => Ok(LogLevel::Trace),
            "DEBUG" => Ok(LogLevel::Debug),
            "INFO" => Ok(LogLevel::Info),
            "WARN" => Ok(LogLevel::Warn),
            "ERROR" => Ok(LogLevel::Error),
            "FATAL" => Ok(LogLevel::Fatal),
            other => Err(enum_error(
                other,
                "loggingConfig.applicationLogLevel",
                "[TRACE, DEBUG, INFO, WARN, ERROR, FATAL]",
            )),
        }
    }

    fn parse_system(value: &str) -> Result<Self> {
        match value {
            "DEBUG" => Ok(LogLevel::Debug),
            "INFO" => Ok(LogLevel::Info),
            "WARN" => Ok(LogLevel::Warn),
            other => Err(enum_error(other, "loggingConfig.systemLogLevel", "[DEBUG, INFO, WARN]")),
        }
    }
}

fn enum_error(value: &str, field: &str, set: &str) -> Error {
    Error::invalid(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: \
         Member must satisfy enum value set: {set}"
    ))
}

/// A function's logging configuration; always valid once built.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoggingConfig {
    pub format: LogFormat,
    /// Set exactly when the format is JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_level: Option<LogLevel>,
    /// Set exactly when the format is JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_level: Option<LogLevel>,
    /// A log group chosen by the user; `None` is Lambda's default, `/aws/lambda/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
}

impl LoggingConfig {
    /// The log group the function's logs belong to.
    pub fn log_group(&self, function: &FunctionName) -> String {
        self.log_group.clone().unwrap_or_else(|| format!("/aws/lambda/{function}"))
    }

    pub fn is_json(&self) -> bool {
        self.format == LogFormat::Json
    }
}

/// A requested change to a `LoggingConfig`, as it arrived: absent members keep their value.
#[derive(Debug, Clone, Default)]
pub struct LoggingPatch {
    pub log_format: Option<String>,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub log_group: Option<String>,
}

/// Lambda's answer to a log level on a `Text` function.
const LEVEL_NEEDS_JSON: &str = "LogLevel is not supported when LogFormat is set to \"Text\". Remove \
                                LogLevel from your request or change the LogFormat to \"Json\" and try again.";

impl LoggingPatch {
    pub fn apply(self, current: &LoggingConfig) -> Result<LoggingConfig> {
        let format = self.log_format.as_deref().map(LogFormat::parse).transpose()?;
        let application =
            self.application_log_level.as_deref().map(LogLevel::parse_application).transpose()?;
        let system = self.system_log_level.as_deref().map(LogLevel::parse_system).transpose()?;
        if let Some(group) = &self.log_group {
            validate_log_group(group)?;
        }
        let format = format.unwrap_or(current.format);
        let (application_level, system_level) = match format {
            LogFormat::Text if application.is_some() || system.is_some() => {
                return Err(Error::invalid(LEVEL_NEEDS_JSON))
            }
            LogFormat::Text => (None, None),
            LogFormat::Json => (
                application.or(current.application_level).or(Some(LogLevel::Info)),
                system.or(current.system_level).or(Some(LogLevel::Info)),
            ),
        };
        let log_group = match self.log_group {
            Some(group) => Some(group),
            None => current.log_group.clone(),
        };
        Ok(LoggingConfig { format, application_level, system_level, log_group })
    }
}

/// `LogGroup`: 1..512 of `[\.\-_/#A-Za-z0-9]`.
fn validate_log_group(group: &str) -> Result<()> {
    let ok = (1..=512).contains(&group.len())
        && group.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "1 validation error detected: Value '{group}' at 'loggingConfig.logGroup' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ and have \
             length between 1 and 512"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(format: Option<&str>, app: Option<&str>, system: Option<&str>) -> LoggingPatch {
        LoggingPatch {
            log_format: format.map(Into::into),
            application_log_level: app.map(Into::into),
            system_log_level: system.map(Into::into),
            log_group: None,
        }
    }

    #[test]
    fn json_gets_info_levels_by_default() {
        let config = patch(Some("JSON"), None, None).apply(&LoggingConfig::default()).unwrap();
        assert_eq!(config.format, LogFormat::Json);
        assert_eq!(
            (config.application_level, config.system_level),
            (Some(LogLevel::Info), Some(LogLevel::Info))
        );
    }

    #[test]
    fn unknown_values_are_refused_with_the_enum() {
        let err = patch(Some("XML"), None, None).apply(&LoggingConfig::default()).unwrap_err();
        assert!(err.to_string().contains("Value 'XML' at 'loggingConfig.logFormat'"), "{err}");
        assert!(err.to_string().ends_with("[JSON, Text]"), "{err}");
        // Case matters, as in the service's enum.
        assert!(patch(Some("json"), None, None).apply(&LoggingConfig::default()).is_err());
        assert!(patch(Some("JSON"), Some("VERBOSE"), None).apply(&LoggingConfig::default()).is_err());
        // TRACE, ERROR and FATAL are application levels only.
        assert!(patch(Some("JSON"), None, Some("ERROR")).apply(&LoggingConfig::default()).is_err());
        assert!(patch(Some("JSON"), Some("FATAL"), Some("WARN")).apply(&LoggingConfig::default()).is_ok());
    }

    #[test]
    fn levels_need_json() {
        let err = patch(None, Some("WARN"), None).apply(&LoggingConfig::default()).unwrap_err();
        assert_eq!(err.to_string(), LEVEL_NEEDS_JSON);
        assert!(patch(Some("Text"), None, Some("INFO")).apply(&LoggingConfig::default()).is_err());
    }

    #[test]
    fn updates_merge_and_text_clears_levels() {
        let json = patch(Some("JSON"), Some("WARN"), None).apply(&LoggingConfig::default()).unwrap();
        let debug = patch(None, None, Some("DEBUG")).apply(&json).unwrap();
        assert_eq!(
            (debug.application_level, debug.system_level),
            (Some(LogLevel::Warn), Some(LogLevel::Debug))
        );
        let text = patch(Some("Text"), None, None).apply(&debug).unwrap();
        assert_eq!(text, LoggingConfig::default());
    }

    #[test]
    fn log_groups() {
        let name = FunctionName::parse("f").unwrap();
        assert_eq!(LoggingConfig::default().log_group(&name), "/aws/lambda/f");
        let mut p = patch(None, None, None);
        p.log_group = Some("/custom/group#1".into());
        assert_eq!(p.clone().apply(&LoggingConfig::default()).unwrap().log_group(&name), "/custom/group#1");
        p.log_group = Some("bad group".into());
        assert!(p.apply(&LoggingConfig::default()).is_err());
    }

    #[test]
    fn level_order() {
        assert!(LogLevel::Warn.admits(LogLevel::Error));
        assert!(LogLevel::Warn.admits(LogLevel::Warn));
        assert!(!LogLevel::Warn.admits(LogLevel::Info));
        assert_eq!(LogLevel::from_line("warning"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::from_line("bogus"), None);
    }
}
