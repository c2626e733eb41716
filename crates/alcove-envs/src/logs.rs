//! One log stream per environment: the runtime's stdout and stderr line by line, plus the
//! platform's `START` / `END` / `REPORT` lines, each line one event of the environment's
//! stream in the log store (`alcove-logs`): group `LoggingConfig.LogGroup` or
//! `/aws/lambda/<function>` ([`alcove_core::FunctionConfig::log_group`]), stream
//! `YYYY/MM/DD/[<version>]<environment id>`,
//! created with the environment's tenant and version. While an invoke runs, its lines are
//! also kept in memory for `LogType: Tail`, bounded to a few times [`TAIL_BYTES`].
//!
//! The stream writes what it is given: how much of a function's output gets here is
//! decided before, by the output copier and the log budgets (`output.rs`,
//! `log_budget.rs`). Platform lines ([`LogStream::line`]) are written one by one; function
//! output arrives in batches of whole lines ([`LogStream::write_lines`]), one store
//! transaction per read from the pipe rather than one per line.

use std::sync::Mutex;

use alcove_core::{FunctionConfig, TenantId};
use alcove_logs::{LogStore, StreamOwner, StreamWriter};

/// What `LogType: Tail` returns at most: the last 4 KB of the invoke's log.
pub const TAIL_BYTES: usize = 4096;

pub struct LogStream {
    name: String,
    /// None when the store could not open the stream: the invoke still runs, and Tail
    /// still works.
    writer: Option<StreamWriter>,
    /// Whether a failed write was reported already: once per stream is enough.
    failed: std::sync::atomic::AtomicBool,
    capture: Mutex<Option<Vec<u8>>>,
}

impl LogStream {
    /// Opens a new stream for an environment of `config` serving `tenant`, named like
    /// Lambda's: `YYYY/MM/DD/[<version>]<environment id>`.
    pub fn create(
        store: &LogStore,
        config: &FunctionConfig,
        tenant: Option<&TenantId>,
        environment_id: &str,
    ) -> Self {
        let date = chrono::Utc::now().format("%Y/%m/%d");
        let version = config.version.to_string();
        let name = format!("{date}/[{version}]{environment_id}");
        let owner = StreamOwner {
            group: config.log_group(),
            stream: name.clone(),
            function: Some(config.name.as_str().to_owned()),
            function_version: Some(version),
            tenant: tenant.map(|t| t.as_str().to_owned()),
        };
        let writer = store
            .open_stream(owner)
            .map_err(|e| tracing::warn!(stream = %name, error = %e, "cannot open log stream"))
            .ok();
        LogStream { name, writer, failed: Default::default(), capture: Mutex::new(None) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends one line (a trailing newline is added).
    pub fn line(&self, text: &str) {
        let mut line = Vec::with_capacity(text.len() + 1);
        line.extend_from_slice(text.as_bytes());
        line.push(b'\n');
        self.write_lines(&line);
    }

    /// Appends whole lines, each ending with its newline, in one transaction.
    pub fn write_lines(&self, lines: &[u8]) {
        if let Some(writer) = &self.writer {
            if let Err(e) = writer.append_lines(lines) {
                if !self.failed.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    let error = alcove_core::error::chain(&e);
                    tracing::warn!(stream = %self.name, %error, "cannot write log lines (reported once per stream)");
                }
            }
        }
        if let Some(capture) = self.capture.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            // Keep memory bounded; only the end is ever returned.
            let keep = &lines[lines.len().saturating_sub(TAIL_BYTES)..];
            capture.extend_from_slice(keep);
            if capture.len() > 4 * TAIL_BYTES {
                capture.drain(..capture.len() - TAIL_BYTES);
            }
        }
    }

    /// Starts keeping lines in memory for the invoke about to run.
    pub fn begin_capture(&self) {
        *self.capture.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// Stops keeping lines and returns the last [`TAIL_BYTES`] of them.
    pub fn end_capture(&self) -> Vec<u8> {
        let mut captured = self.capture.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
        if captured.len() > TAIL_BYTES {
            captured.drain(..captured.len() - TAIL_BYTES);
        }
        captured
    }
}

/// What tests in this crate read back: a stream's events, concatenated.
#[cfg(test)]
pub(crate) fn written(store: &LogStore, log: &LogStream) -> String {
    let owner = log.writer.as_ref().expect("an open stream").owner();
    let mut text = String::new();
    let mut token = None;
    loop {
        let page = store
            .get_events(&alcove_logs::EventsQuery {
                group: owner.group.clone(),
                stream: owner.stream.clone(),
                limit: 10_000,
                token: token.clone(),
                start_from_head: true,
                ..Default::default()
            })
            .unwrap();
        if page.events.is_empty() {
            return text;
        }
        text.extend(page.events.into_iter().map(|e| e.message));
        token = Some(page.forward_token);
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn store(dir: &std::path::Path) -> LogStore {
        LogStore::open(&dir.join("logs.db"), alcove_logs::LogStoreSettings { max_bytes: u64::MAX }).unwrap()
    }

    pub fn config() -> FunctionConfig {
        let settings = alcove_core::SettingsPatch {
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            role: Some("arn:aws:iam::123456789012:role/r".into()),
            ..Default::default()
        }
        .create()
        .unwrap();
        FunctionConfig {
            name: alcove_core::FunctionName::parse("f").unwrap(),
            version: alcove_core::Version::Latest,
            settings,
            tenancy: Some(alcove_core::TenantIsolationMode::PerTenant),
            code: alcove_core::CodeRef { sha256_hex: "ab".repeat(32), size: 10 },
            last_modified: chrono::Utc::now(),
            revision_id: "r1".into(),
            tags: Default::default(),
            lifecycle: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lines_and_tails_the_capture() {
        let dir = tempfile::tempdir().unwrap();
        let store = testing::store(dir.path());
        let tenant = TenantId::parse("blue").unwrap();
        let log = LogStream::create(&store, &testing::config(), Some(&tenant), "abc");
        assert!(log.name().ends_with("/[$LATEST]abc"));
        log.line("before");
        log.begin_capture();
        for i in 0..2000 {
            log.line(&format!("line {i}"));
        }
        let tail = log.end_capture();
        assert!(tail.len() <= TAIL_BYTES);
        assert!(String::from_utf8(tail).unwrap().ends_with("line 1999\n"));
        assert!(written(&store, &log).starts_with("before\nline 0\n"));
        let streams = store.streams_of_tenant("/aws/lambda/f", Some("blue")).unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].name, log.name());
    }
}
