//! Copying a runtime's stdout and stderr into its log stream, in order with the
//! platform's own `START` / `END` / `REPORT` lines.
//!
//! A runtime writes its output before it posts the invocation's response, so when the
//! response arrives those bytes are already in the pipe. [`Output::settle`] asks each
//! copier to read everything the pipe holds *now* (non-blocking reads on the pipe, which
//! tokio keeps in non-blocking mode, until `EAGAIN`) and waits for it: lines the function
//! printed always land before `END`, and in the `LogType: Tail` capture, without guessing
//! how long a reader task needs. Between settles, the copier reads as tokio wakes it.
//!
//! What a function writes is hostile input: the copier's work is linear in the bytes read
//! and its memory bounded whatever they are. The [`LineSplitter`] scans only new bytes
//! and holds at most one partial line of at most 256 KB; each read's lines then go
//! through the environment's [`EnvironmentBudget`] and what passes is written in one
//! batch. Output over budget is read and dropped rather than left in the pipe, where it
//! would block the function, up to a discard rate above which the copier pauses (see
//! `log_budget.rs`); at a settle the copier writes the markers of what was dropped.
//! A JSON-format function's lines below its application log level are left out before
//! the budget sees them (`app_log_level.rs`).

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};

use crate::app_log_level::AppLogFilter;
use crate::lines::LineSplitter;
use crate::log_budget::EnvironmentBudget;
use crate::logs::LogStream;

/// Longest a settle waits for one pipe (a copier stuck on a full log disk must not hang
/// invocations).
const SETTLE_LIMIT: Duration = Duration::from_millis(200);

/// Most a settle reads from one pipe.
const SETTLE_BYTES: usize = 4 << 20;

/// Bytes asked for per read: a pipe's default capacity, so a runtime writing flat out
/// costs one read per pipe-full.
const READ_SIZE: usize = 64 * 1024;

type Barrier = oneshot::Sender<()>;

/// The copiers of one environment's output pipes.
pub struct Output {
    budget: Arc<EnvironmentBudget>,
    filter: Option<AppLogFilter>,
    copiers: Vec<mpsc::UnboundedSender<Barrier>>,
}

impl Output {
    /// Copiers whose output goes through `budget` (shared by all of them).
    pub fn new(budget: Arc<EnvironmentBudget>) -> Output {
        Output { budget, filter: None, copiers: Vec::new() }
    }

    /// Leaves out the lines `filter` does not admit.
    pub fn with_filter(self, filter: Option<AppLogFilter>) -> Output {
        Output { filter, ..self }
    }

    /// Starts copying `pipe` (the runtime's stdout or stderr) into `log`.
    pub fn copy<P>(&mut self, pipe: P, log: Arc<LogStream>)
    where
        P: AsyncRead + AsFd + Unpin + Send + 'static,
    {
        let (barriers, requests) = mpsc::unbounded_channel();
        let copier = Copier::new(log, Arc::clone(&self.budget), self.filter);
        tokio::spawn(copy(pipe, copier, requests));
        self.copiers.push(barriers);
    }

    /// Returns once everything written to the pipes before this call is in the log, and
    /// what was dropped from it is reported by a marker line.
    pub async fn settle(&self) {
        for copier in &self.copiers {
            let (done, settled) = oneshot::channel();
            if copier.send(done).is_ok() {
                let _ = tokio::time::timeout(SETTLE_LIMIT, settled).await;
            }
        }
    }
}

/// What a pipe had to give.
enum Drained {
    /// Everything available was read; the writer may write more.
    Dry,
    /// The writer is gone.
    Closed,
}

/// One pipe's bytes on their way to the log.
struct Copier {
    log: Arc<LogStream>,
    budget: Arc<EnvironmentBudget>,
    filter: Option<AppLogFilter>,
    splitter: LineSplitter,
    /// The lines of one read that passed the budget, written at once.
    batch: Vec<u8>,
}

impl Copier {
    fn new(log: Arc<LogStream>, budget: Arc<EnvironmentBudget>, filter: Option<AppLogFilter>) -> Self {
        Copier { log, budget, filter, splitter: LineSplitter::new(), batch: Vec::new() }
    }

    /// Logs the lines `bytes` complete, as far as the budget allows. Returns how long to
    /// wait before reading more, when output is dropped faster than the discard rate.
    fn take(&mut self, bytes: &[u8]) -> Option<Duration> {
        let mut pass = self.budget.open();
        let (batch, filter) = (&mut self.batch, self.filter);
        self.splitter.feed(bytes, &mut |line| {
            if filter.is_none_or(|f| f.admits(line)) {
                pass.offer(line, batch)
            }
        });
        let wait = self.budget.close(pass);
        self.write_batch();
        wait
    }

    /// The pipe closed: its partial line is a line too.
    fn finish(&mut self) {
        let mut pass = self.budget.open();
        let (batch, filter) = (&mut self.batch, self.filter);
        self.splitter.finish(&mut |line| {
            if filter.is_none_or(|f| f.admits(line)) {
                pass.offer(line, batch)
            }
        });
        self.budget.close(pass);
        self.write_batch();
        self.report_dropped();
    }

    fn write_batch(&mut self) {
        if !self.batch.is_empty() {
            self.log.write_lines(&self.batch);
            self.batch.clear();
            if self.batch.capacity() > READ_SIZE {
                self.batch = Vec::new();
            }
        }
    }

    /// Writes the markers of what was dropped and not reported yet.
    fn report_dropped(&self) {
        for marker in self.budget.take_markers() {
            self.log.line(&marker);
        }
    }

    /// Reads what `pipe` holds now; a partial line waits for its end.
    fn drain(&mut self, pipe: &impl AsFd, buffer: &mut [u8]) -> Drained {
        let mut taken = 0;
        loop {
            if taken >= SETTLE_BYTES {
                // A runtime still writing as fast as we read: what it wrote before the
                // settle is in (a pipe holds far less than this), the rest follows as usual.
                return Drained::Dry;
            }
            match nix::unistd::read(pipe.as_fd(), buffer) {
                Ok(0) => return Drained::Closed,
                Ok(n) => {
                    taken += n;
                    // A settle reads what is there, paced or not: at most SETTLE_BYTES.
                    let _ = self.take(&buffer[..n]);
                }
                Err(Errno::EAGAIN) => return Drained::Dry,
                Err(Errno::EINTR) => continue,
                Err(_) => return Drained::Closed,
            }
        }
    }
}

async fn copy<P>(mut pipe: P, mut copier: Copier, mut barriers: mpsc::UnboundedReceiver<Barrier>)
where
    P: AsyncRead + AsFd + Unpin,
{
    let mut buffer = vec![0u8; READ_SIZE];
    let mut listening = true;
    // Set while output is being dropped faster than the discard rate: the pipe fills up
    // and the function's writes wait.
    let mut paused_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            read = pipe.read(&mut buffer), if paused_until.is_none() => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => paused_until = copier.take(&buffer[..n]).map(|wait| tokio::time::Instant::now() + wait),
            },
            _ = tokio::time::sleep_until(paused_until.unwrap_or_else(tokio::time::Instant::now)), if paused_until.is_some() => {
                paused_until = None;
            }
            barrier = barriers.recv(), if listening => match barrier {
                Some(done) => {
                    let closed = matches!(copier.drain(&pipe, &mut buffer), Drained::Closed);
                    if closed {
                        copier.finish();
                    } else {
                        copier.report_dropped();
                    }
                    let _ = done.send(());
                    if closed {
                        break;
                    }
                }
                None => listening = false,
            },
        }
    }
    // Nothing is left if a settle saw the end already.
    copier.finish();
    // Answer whoever is still waiting: nothing more will come.
    barriers.close();
    while let Ok(done) = barriers.try_recv() {
        let _ = done.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_watermark::DiskReserve;
    use crate::log_budget::{LogBudgets, LogLimits, LogRate};
    use crate::logs::{testing, written};
    use std::process::Stdio;

    fn budget(dir: &std::path::Path, limits: LogLimits) -> Arc<EnvironmentBudget> {
        let budgets = LogBudgets::new(limits, dir);
        budgets.environment(&alcove_core::FunctionName::parse("f").unwrap())
    }

    fn spawn(script: &str) -> tokio::process::Child {
        tokio::process::Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn settle_takes_whole_lines_written_so_far() {
        let dir = tempfile::tempdir().unwrap();
        let store = testing::store(dir.path());
        let log = Arc::new(LogStream::create(&store, &testing::config(), None, "env"));
        let mut child = spawn("printf 'one\\ntwo\\npartial'; exec sleep 5");
        let mut output = Output::new(budget(dir.path(), LogLimits::default()));
        output.copy(child.stdout.take().unwrap(), Arc::clone(&log));
        // Let the shell write; `settle` must then see both lines however the reader was scheduled.
        std::thread::sleep(Duration::from_millis(300));
        output.settle().await;
        let text = written(&store, &log);
        assert!(text.contains("one\ntwo\n"), "{text}");
        assert!(!text.contains("partial"), "a line without its end waits: {text}");
        child.kill().await.unwrap();
        // At end of file the partial line is written too.
        tokio::time::sleep(Duration::from_millis(200)).await;
        output.settle().await;
        assert!(written(&store, &log).contains("partial"));
    }

    #[tokio::test]
    async fn a_flood_is_dropped_past_the_budget_and_reported_at_the_settle() {
        let dir = tempfile::tempdir().unwrap();
        let store = testing::store(dir.path());
        let log = Arc::new(LogStream::create(&store, &testing::config(), None, "env"));
        let limits = LogLimits {
            environment: LogRate { bytes_per_second: 1024, burst_bytes: 512 * 1024 },
            function: LogRate { bytes_per_second: 1 << 30, burst_bytes: 1 << 30 },
            disk_reserve: DiskReserve { min_free_bytes: 0, min_free_percent: 0.0 },
        };
        // 8 MB of short lines, as fast as the pipe takes them.
        let mut child = spawn("yes line | head -c 8388610; echo last");
        let mut output = Output::new(budget(dir.path(), limits));
        output.copy(child.stdout.take().unwrap(), Arc::clone(&log));
        let started = std::time::Instant::now();
        // The writer ends once the copier has read all but a pipe-full; the settle takes the rest.
        child.wait().await.unwrap();
        output.settle().await;
        let text = written(&store, &log);
        let elapsed = started.elapsed().as_secs() + 1;
        assert!(
            text.len() as u64 <= 512 * 1024 + elapsed * 1024 + 512,
            "{} bytes written in {elapsed} s",
            text.len()
        );
        let markers: Vec<&str> = text.lines().filter(|l| l.starts_with("alcove: dropped ")).collect();
        assert!(
            !markers.is_empty() && text.trim_end().ends_with(markers[markers.len() - 1]),
            "{:?}",
            &text[text.len() - 300..]
        );
        for marker in &markers {
            assert!(
                marker.ends_with("of log output: the environment's log rate limit (1 KiB/s) was exceeded"),
                "{marker}"
            );
        }
        let dropped: u64 = markers.iter().map(|m| m.split(' ').nth(2).unwrap().parse::<u64>().unwrap()).sum();
        let kept = text.lines().filter(|l| *l == "line" || *l == "last").count() as u64 * 5;
        assert_eq!(dropped + kept, 8388610 + 5, "every byte is either logged or counted as dropped");
    }
}
