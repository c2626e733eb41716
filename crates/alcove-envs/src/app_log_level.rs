//! Application log-level filtering of a JSON-format function's output, as Lambda does it.
//!
//! The official runtime clients filter their own log records (they are given
//! `AWS_LAMBDA_LOG_LEVEL`), but a function's output also holds what it writes itself. For
//! that, Lambda's rule ("Log-level filtering", AWS Lambda developer guide): "your function
//! code must output log events to stdout or stderr as JSON formatted objects that contain
//! a key value pair with the key "level" [...] If the "level" value field is invalid or
//! missing, Lambda will assign the log output the level INFO." So a line is kept when its
//! level passes the function's `ApplicationLogLevel`: a JSON object's `level`, else INFO.
//!
//! Lines are never rewritten. Lambda does not wrap plain output of a JSON-format function
//! in JSON: "if your function uses Python print statements to output logs, Lambda can
//! only send log outputs to CloudWatch Logs in plain text format" (developer guide, "Python
//! Lambda function logging and monitoring"), and "Lambda doesn't double-encode any logs
//! that are already JSON encoded" ("Configuring JSON and plain text log formats"). Node's
//! `console.*` lines are JSON because the runtime client writes them so, not the platform.

use alcove_core::{FunctionConfig, LogLevel};

/// The filter of one function's output: `None` lets everything through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppLogFilter {
    minimum: LogLevel,
}

impl AppLogFilter {
    /// The filter `config` asks for: only JSON-format functions filter, and `TRACE` keeps
    /// every line, so it needs no filter.
    pub fn of(config: &FunctionConfig) -> Option<Self> {
        let logging = &config.settings.logging;
        match logging.application_level {
            Some(minimum) if logging.is_json() && minimum > LogLevel::Trace => Some(AppLogFilter { minimum }),
            _ => None,
        }
    }

    /// Whether `line` is sent on.
    pub fn admits(&self, line: &[u8]) -> bool {
        self.minimum.admits(level_of(line))
    }
}

/// The level Lambda assigns a line: a JSON object's `level` (any case), else INFO.
fn level_of(line: &[u8]) -> LogLevel {
    if line.trim_ascii_start().first() != Some(&b'{') {
        return LogLevel::Info;
    }
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line)
        .ok()
        .and_then(|doc| doc.get("level").and_then(|l| l.as_str()).and_then(LogLevel::from_line))
        .unwrap_or(LogLevel::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(minimum: LogLevel) -> AppLogFilter {
        AppLogFilter { minimum }
    }

    #[test]
    fn lines_get_their_json_level_or_info() {
        assert_eq!(level_of(br#"{"level": "debug", "msg": "x"}"#), LogLevel::Debug);
        assert_eq!(
            level_of(br#"{"timestamp":"t","level":"WARN","message":"m","requestId":"r"}"#),
            LogLevel::Warn
        );
        assert_eq!(level_of(br#"{"level": "CRITICAL"}"#), LogLevel::Fatal);
        assert_eq!(level_of(b"plain text from print"), LogLevel::Info);
        assert_eq!(level_of(br#"{"level": 3}"#), LogLevel::Info, "an invalid level is INFO");
        assert_eq!(level_of(br#"{"msg": "no level"}"#), LogLevel::Info);
        assert_eq!(level_of(b"{not json"), LogLevel::Info);
        assert_eq!(level_of(br#"["level", "ERROR"]"#), LogLevel::Info);
    }

    #[test]
    fn warn_drops_info_and_plain_lines() {
        let warn = filter(LogLevel::Warn);
        assert!(!warn.admits(br#"{"level":"INFO","message":"m"}"#));
        assert!(!warn.admits(b"printed"));
        assert!(warn.admits(br#"{"level":"ERROR","message":"m"}"#));
        assert!(warn.admits(br#"{"level":"WARN","message":"m"}"#));
        let debug = filter(LogLevel::Debug);
        assert!(debug.admits(b"printed"));
        assert!(!debug.admits(br#"{"level":"TRACE"}"#));
    }
}
