//! One log stream per environment: the runtime's stdout and stderr line by line, plus the
//! platform's `START` / `END` / `REPORT` lines, written to a file under the data directory
//! (`logs/<function>/<YYYY>/<MM>/<DD>/<stream>.log`). While an invoke runs, its lines are
//! also kept in memory for `LogType: Tail`, bounded to a few times [`TAIL_BYTES`].
//!
//! The stream writes what it is given: how much of a function's output gets here is
//! decided before, by the output copier and the log budgets (`output.rs`,
//! `log_budget.rs`). Platform lines ([`LogStream::line`]) are written one by one; function
//! output arrives in batches of whole lines ([`LogStream::write_lines`]), one system call
//! per read from the pipe rather than one per line.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What `LogType: Tail` returns at most: the last 4 KB of the invoke's log.
pub const TAIL_BYTES: usize = 4096;

pub struct LogStream {
    name: String,
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    file: Option<File>,
    capture: Option<Vec<u8>>,
}

impl LogStream {
    /// Opens a new stream for an environment of `function`, named like Lambda's:
    /// `YYYY/MM/DD/[<version>]<environment id>`.
    pub fn create(logs_root: &Path, function: &str, version: &str, environment_id: &str) -> Self {
        let date = chrono::Utc::now().format("%Y/%m/%d").to_string();
        let name = format!("{date}/[{version}]{environment_id}");
        let path = logs_root.join(function).join(&date).join(format!("{environment_id}.log"));
        let file = fs::create_dir_all(path.parent().unwrap_or(logs_root))
            .and_then(|_| fs::OpenOptions::new().create(true).append(true).open(&path))
            .map_err(|e| tracing::warn!(path = %path.display(), error = %e, "cannot open log stream"))
            .ok();
        LogStream { name, path, inner: Mutex::new(Inner { file, capture: None }) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (a trailing newline is added).
    pub fn line(&self, text: &str) {
        // One write per line: `writeln!` on an unbuffered file makes two system calls.
        let mut line = Vec::with_capacity(text.len() + 1);
        line.extend_from_slice(text.as_bytes());
        line.push(b'\n');
        self.write_lines(&line);
    }

    /// Appends whole lines, each ending with its newline, in one write.
    pub fn write_lines(&self, lines: &[u8]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = inner.file.as_mut() {
            let _ = file.write_all(lines);
        }
        if let Some(capture) = inner.capture.as_mut() {
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
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).capture = Some(Vec::new());
    }

    /// Stops keeping lines and returns the last [`TAIL_BYTES`] of them.
    pub fn end_capture(&self) -> Vec<u8> {
        let mut captured =
            self.inner.lock().unwrap_or_else(|p| p.into_inner()).capture.take().unwrap_or_default();
        if captured.len() > TAIL_BYTES {
            captured.drain(..captured.len() - TAIL_BYTES);
        }
        captured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lines_and_tails_the_capture() {
        let dir = std::env::temp_dir().join(format!("alcove-logs-{}", std::process::id()));
        let log = LogStream::create(&dir, "f", "$LATEST", "abc");
        assert!(log.name().ends_with("/[$LATEST]abc"));
        log.line("before");
        log.begin_capture();
        for i in 0..2000 {
            log.line(&format!("line {i}"));
        }
        let tail = log.end_capture();
        assert!(tail.len() <= TAIL_BYTES);
        assert!(String::from_utf8(tail).unwrap().ends_with("line 1999\n"));
        let written = fs::read_to_string(log.path()).unwrap();
        assert!(written.starts_with("before\nline 0\n"));
        let _ = fs::remove_dir_all(dir);
    }
}
