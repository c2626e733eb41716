//! The platform's own log records, in the function's log format.
//!
//! With the `Text` format these are Lambda's classic lines (`START`, `END`, `REPORT`,
//! `INIT_REPORT`). With `JSON` they are the records Lambda writes for JSON-format
//! functions, shaped as the Telemetry API schema defines them: an object with `time`,
//! `type` and a `record` (`platform.initStart`, `platform.start`, `platform.runtimeDone`,
//! `platform.report`, and `platform.initReport` when init fails). On a `PER_TENANT`
//! function every JSON record carries `record.tenantId`, so a query such as
//! `filter record.tenantId == 'blue'` finds a tenant's platform records as it does on AWS.
//!
//! JSON records are filtered at the function's `SystemLogLevel`; Lambda writes all of
//! these at `INFO`, so `WARN` leaves none of them. Text lines are never filtered: levels
//! exist only for JSON.
//!
//! Everything here is a pure function of what it is given (the clock included), so the
//! exact lines are unit-tested; `environment.rs` only says when to write them.

use crate::launch::InitType;
use std::time::Duration;

use alcove_core::{FunctionConfig, LogFormat, LogLevel, TenantId};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::failure::{FunctionFailure, PlatformError};

/// The level Lambda writes its platform records at.
const PLATFORM_LEVEL: LogLevel = LogLevel::Info;

/// How an invoke ended, as the records report it (`status`, `errorType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeStatus {
    Success,
    /// The function reported an error (its `errorType`).
    Error(String),
    /// The runtime or the platform failed (exit, out of memory, sandbox).
    Failure(String),
    Timeout,
}

impl InvokeStatus {
    /// How an invoke with `result` ended; `reusable` is false when the runtime or the
    /// platform failed (the environment does not survive that).
    pub fn of(result: &Result<bytes::Bytes, FunctionFailure>, reusable: bool) -> Self {
        match result {
            Ok(_) => InvokeStatus::Success,
            Err(f) if f.is(PlatformError::Timeout) => InvokeStatus::Timeout,
            Err(f) if reusable => InvokeStatus::Error(f.error_type.clone()),
            Err(f) => InvokeStatus::Failure(f.error_type.clone()),
        }
    }

    fn as_str(&self) -> &'static str {
        match self {
            InvokeStatus::Success => "success",
            InvokeStatus::Error(_) => "error",
            InvokeStatus::Failure(_) => "failure",
            InvokeStatus::Timeout => "timeout",
        }
    }

    fn error_type(&self) -> Option<&str> {
        match self {
            InvokeStatus::Error(t) | InvokeStatus::Failure(t) => Some(t),
            InvokeStatus::Success | InvokeStatus::Timeout => None,
        }
    }
}

/// The figures of one invoke's report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportFigures {
    pub duration: Duration,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u64,
    pub init_duration: Option<Duration>,
}

/// Writes one environment's platform records: its function, version and tenant are fixed
/// for its life.
#[derive(Debug, Clone)]
pub struct PlatformLog {
    format: LogFormat,
    system_level: LogLevel,
    function_name: String,
    function_version: String,
    tenant: Option<TenantId>,
    init_type: InitType,
}

impl PlatformLog {
    pub fn new(config: &FunctionConfig, tenant: Option<&TenantId>) -> Self {
        let logging = &config.settings.logging;
        PlatformLog {
            format: logging.format,
            system_level: logging.system_level.unwrap_or(LogLevel::Info),
            function_name: config.name.to_string(),
            function_version: config.version.to_string(),
            tenant: tenant.cloned(),
            init_type: InitType::OnDemand,
        }
    }

    /// For an environment initialised as `init_type` (on demand unless told otherwise).
    pub fn with_init_type(self, init_type: InitType) -> Self {
        PlatformLog { init_type, ..self }
    }

    /// `platform.initStart`, before the runtime starts; Text has no such line here.
    pub fn init_start(&self, now: DateTime<Utc>) -> Option<String> {
        self.json(now, "platform.initStart", |record| {
            record.insert("initializationType".into(), json!(self.init_type.as_str()));
            record.insert("phase".into(), json!("init"));
            record.insert("functionName".into(), json!(self.function_name));
            record.insert("functionVersion".into(), json!(self.function_version));
        })
    }

    /// `INIT_REPORT ... Status: error` or `platform.initReport`, when init failed.
    pub fn init_failed(&self, now: DateTime<Utc>, duration: Duration, error_type: &str) -> Option<String> {
        match self.format {
            LogFormat::Text => Some(format!(
                "INIT_REPORT Init Duration: {:.2} ms Phase: init Status: error Error Type: {error_type}",
                millis(duration)
            )),
            LogFormat::Json => self.json(now, "platform.initReport", |record| {
                record.insert("initializationType".into(), json!(self.init_type.as_str()));
                record.insert("phase".into(), json!("init"));
                record.insert("status".into(), json!("error"));
                record.insert("errorType".into(), json!(error_type));
                record.insert("metrics".into(), json!({ "durationMs": rounded_ms(duration) }));
            }),
        }
    }

    /// `START` or `platform.start`.
    pub fn start(&self, now: DateTime<Utc>, request_id: &str, version: &str) -> Option<String> {
        match self.format {
            LogFormat::Text => Some(format!("START RequestId: {request_id} Version: {version}")),
            LogFormat::Json => self.json(now, "platform.start", |record| {
                record.insert("requestId".into(), json!(request_id));
                record.insert("version".into(), json!(version));
            }),
        }
    }

    /// `END` or `platform.runtimeDone`.
    pub fn end(
        &self,
        now: DateTime<Utc>,
        request_id: &str,
        status: &InvokeStatus,
        duration: Duration,
        produced_bytes: usize,
    ) -> Option<String> {
        match self.format {
            LogFormat::Text => Some(format!("END RequestId: {request_id}")),
            LogFormat::Json => self.json(now, "platform.runtimeDone", |record| {
                record.insert("requestId".into(), json!(request_id));
                record.insert("status".into(), json!(status.as_str()));
                if let Some(error_type) = status.error_type() {
                    record.insert("errorType".into(), json!(error_type));
                }
                record.insert(
                    "metrics".into(),
                    json!({ "durationMs": rounded_ms(duration), "producedBytes": produced_bytes }),
                );
            }),
        }
    }

    /// `REPORT` or `platform.report`.
    pub fn report(
        &self,
        now: DateTime<Utc>,
        request_id: &str,
        status: &InvokeStatus,
        figures: &ReportFigures,
    ) -> Option<String> {
        match self.format {
            LogFormat::Text => {
                // Every field ends with a tab, the last one too, as AWS writes the line;
                // a timeout's status closes it without one.
                let mut line = format!(
                    "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
                    millis(figures.duration),
                    figures.billed_ms,
                    figures.memory_mb,
                    figures.max_memory_used_mb
                );
                if let Some(init) = figures.init_duration {
                    line.push_str(&format!("Init Duration: {:.2} ms\t", millis(init)));
                }
                if *status == InvokeStatus::Timeout {
                    line.push_str("Status: timeout");
                }
                Some(line)
            }
            LogFormat::Json => self.json(now, "platform.report", |record| {
                record.insert("requestId".into(), json!(request_id));
                let mut metrics = json!({
                    "durationMs": rounded_ms(figures.duration),
                    "billedDurationMs": figures.billed_ms,
                    "memorySizeMB": figures.memory_mb,
                    "maxMemoryUsedMB": figures.max_memory_used_mb,
                });
                if let Some(init) = figures.init_duration {
                    metrics["initDurationMs"] = json!(rounded_ms(init));
                }
                record.insert("metrics".into(), metrics);
                record.insert("status".into(), json!(status.as_str()));
                if let Some(error_type) = status.error_type() {
                    record.insert("errorType".into(), json!(error_type));
                }
            }),
        }
    }

    /// A JSON record of `kind`, or nothing with the Text format or below the system level.
    fn json(
        &self,
        now: DateTime<Utc>,
        kind: &str,
        fill: impl FnOnce(&mut Map<String, Value>),
    ) -> Option<String> {
        if self.format != LogFormat::Json || !self.system_level.admits(PLATFORM_LEVEL) {
            return None;
        }
        let mut record = Map::new();
        fill(&mut record);
        if let Some(tenant) = &self.tenant {
            record.insert("tenantId".into(), json!(tenant.as_str()));
        }
        // Written by hand so that the members come in Lambda's order (`time`, `type`,
        // `record`); a JSON object from serde_json would sort them.
        let time = now.format("%Y-%m-%dT%H:%M:%S%.3fZ");
        Some(format!(r#"{{"time":"{time}","type":{},"record":{}}}"#, json!(kind), Value::Object(record)))
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Milliseconds to three decimals, as the Telemetry API reports them.
fn rounded_ms(d: Duration) -> f64 {
    (millis(d) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_core::{CodeRef, FunctionName, LoggingPatch, SettingsPatch, TenantIsolationMode, Version};

    fn config(logging: Option<LoggingPatch>) -> FunctionConfig {
        let settings = SettingsPatch {
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            role: Some("arn:aws:iam::123456789012:role/r".into()),
            logging,
            ..Default::default()
        }
        .create()
        .unwrap();
        FunctionConfig {
            name: FunctionName::parse("fn").unwrap(),
            version: Version::Latest,
            settings,
            tenancy: Some(TenantIsolationMode::PerTenant),
            code: CodeRef { sha256_hex: "00".into(), size: 1 },
            last_modified: Utc::now(),
            revision_id: "r".into(),
            tags: Default::default(),
            lifecycle: Default::default(),
        }
    }

    fn json_format(system: Option<&str>) -> Option<LoggingPatch> {
        Some(LoggingPatch {
            log_format: Some("JSON".into()),
            system_log_level: system.map(Into::into),
            ..Default::default()
        })
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00.123Z").unwrap().with_timezone(&Utc)
    }

    fn figures() -> ReportFigures {
        ReportFigures {
            duration: Duration::from_micros(12_345),
            billed_ms: 13,
            memory_mb: 128,
            max_memory_used_mb: 40,
            init_duration: Some(Duration::from_micros(150_500)),
        }
    }

    #[test]
    fn text_lines_are_the_classic_ones() {
        let log = PlatformLog::new(&config(None), Some(&TenantId::parse("blue").unwrap()));
        assert_eq!(log.init_start(now()), None);
        assert_eq!(log.start(now(), "id", "$LATEST").unwrap(), "START RequestId: id Version: $LATEST");
        assert_eq!(
            log.end(now(), "id", &InvokeStatus::Success, Duration::ZERO, 0).unwrap(),
            "END RequestId: id"
        );
        assert_eq!(
            log.report(now(), "id", &InvokeStatus::Timeout, &figures()).unwrap(),
            "REPORT RequestId: id\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 40 MB\tInit Duration: 150.50 ms\tStatus: timeout"
        );
        assert_eq!(
            log.report(now(), "id", &InvokeStatus::Success, &figures()).unwrap(),
            "REPORT RequestId: id\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 40 MB\tInit Duration: 150.50 ms\t"
        );
        assert_eq!(
            log.init_failed(now(), Duration::from_millis(5), "Runtime.ExitError").unwrap(),
            "INIT_REPORT Init Duration: 5.00 ms Phase: init Status: error Error Type: Runtime.ExitError"
        );
    }

    fn parse(line: Option<String>) -> Value {
        serde_json::from_str(&line.expect("a record")).unwrap()
    }

    #[test]
    fn json_records_carry_the_tenant() {
        let log = PlatformLog::new(&config(json_format(None)), Some(&TenantId::parse("blue").unwrap()));
        let line = log.init_start(now()).unwrap();
        assert!(
            line.starts_with(r#"{"time":"2026-11-30T12:00:00.123Z","type":"platform.initStart","record":{"#),
            "{line}"
        );
        let init = parse(Some(line));
        assert_eq!(init["type"], "platform.initStart");
        assert_eq!(init["time"], "2026-11-30T12:00:00.123Z");
        assert_eq!(init["record"]["functionName"], "fn");
        assert_eq!(init["record"]["tenantId"], "blue");
        let start = parse(log.start(now(), "id", "$LATEST"));
        assert_eq!(start["record"], json!({"requestId": "id", "version": "$LATEST", "tenantId": "blue"}));
        let done = parse(log.end(
            now(),
            "id",
            &InvokeStatus::Error("ValueError".into()),
            Duration::from_millis(2),
            7,
        ));
        assert_eq!(done["type"], "platform.runtimeDone");
        assert_eq!(done["record"]["status"], "error");
        assert_eq!(done["record"]["errorType"], "ValueError");
        assert_eq!(done["record"]["metrics"]["producedBytes"], 7);
        let report = parse(log.report(now(), "id", &InvokeStatus::Success, &figures()));
        assert_eq!(report["type"], "platform.report");
        assert_eq!(
            report["record"],
            json!({
                "requestId": "id",
                "metrics": {"durationMs": 12.345, "billedDurationMs": 13, "memorySizeMB": 128,
                            "maxMemoryUsedMB": 40, "initDurationMs": 150.5},
                "status": "success",
                "tenantId": "blue",
            })
        );
        let failed = parse(log.init_failed(now(), Duration::from_millis(5), "Runtime.ExitError"));
        assert_eq!(failed["type"], "platform.initReport");
        assert_eq!(failed["record"]["status"], "error");
        assert_eq!(failed["record"]["tenantId"], "blue");
    }

    #[test]
    fn json_records_without_a_tenant_have_no_tenant_id() {
        let log = PlatformLog::new(&config(json_format(None)), None);
        assert!(parse(log.start(now(), "id", "1"))["record"].get("tenantId").is_none());
    }

    #[test]
    fn system_level_warn_leaves_no_platform_record() {
        let log = PlatformLog::new(&config(json_format(Some("WARN"))), None);
        assert_eq!(log.start(now(), "id", "1"), None);
        assert_eq!(log.report(now(), "id", &InvokeStatus::Success, &figures()), None);
        let debug = PlatformLog::new(&config(json_format(Some("DEBUG"))), None);
        assert!(debug.start(now(), "id", "1").is_some());
    }
}
