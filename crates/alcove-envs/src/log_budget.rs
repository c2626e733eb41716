//! How much function output reaches the logs: a budget per environment, one shared by
//! every environment of a function, and the data directory's disk watermark.
//!
//! Without a budget one invoke can write a gigabyte of log lines in seconds and a long
//! one can fill the disk, which breaks SQLite and the control plane for everyone. Each
//! budget is a token bucket in bytes (a sustained rate and a burst): the environment's
//! keeps one environment from using its whole function's budget, the function's (keyed
//! by function name: all its versions and tenants) keeps a function scaled out to many
//! environments within a bound. The defaults are far above what a function normally logs.
//!
//! Output over budget is read from the pipe and dropped, not left in it: a full pipe
//! would block the function's writes, and Lambda does not block a function on logging.
//! Reading and dropping still costs the server CPU (the pipe copy), so it is paced: an
//! environment's output is dropped at up to [`DISCARD_RATE`], far above any budget, and a
//! function writing faster than that waits on its full pipe, as it would on a slow
//! terminal. A function that merely logs too much is never slowed; one that floods its
//! pipe cannot make the server spend more than a sliver of a core per environment on it.
//! Dropped lines are gone (the `LogType: Tail` capture does not see them either); when
//! logging resumes, or at the end of the invoke at the latest, one marker line per
//! reason says how much was dropped and why:
//!
//! `alcove: dropped 123456 bytes (42 lines) of log output: the environment's log rate limit (1 MiB/s) was exceeded`
//!
//! Markers count against the budgets (which may go briefly into debt for them), so a
//! function cannot turn them into a way around the limit. The platform's `START`, `END`
//! and `REPORT` lines never pass through a budget.
//!
//! Budgets are checked once per read from the pipe, not per line: a read's lines pass
//! while the smaller of the two buckets' balances covers them, and from the first line
//! that does not fit, the rest of the read is dropped. A flood therefore costs one
//! newline scan and a few counters per read.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use alcove_core::FunctionName;

use crate::disk_watermark::{DiskReserve, DiskWatermark};
use crate::lines::MAX_LINE;

const MIB: u64 = 1 << 20;

/// Most output an environment has read and dropped per second before its copier waits
/// (with one second's worth as a burst).
pub const DISCARD_RATE: u64 = 16 * MIB;

/// A sustained rate and a burst, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRate {
    pub bytes_per_second: u64,
    pub burst_bytes: u64,
}

/// The server's limits on function output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogLimits {
    /// Each environment's budget.
    pub environment: LogRate,
    /// The budget all environments of one function share.
    pub function: LogRate,
    /// Free space function output never goes below on the data directory's file system.
    pub disk_reserve: DiskReserve,
}

impl Default for LogLimits {
    /// 1 MiB/s with 4 MiB bursts per environment, 5 MiB/s with 16 MiB bursts per
    /// function, and 1 GiB or 5 % of the disk left free.
    fn default() -> Self {
        LogLimits {
            environment: LogRate { bytes_per_second: MIB, burst_bytes: 4 * MIB },
            function: LogRate { bytes_per_second: 5 * MIB, burst_bytes: 16 * MIB },
            disk_reserve: DiskReserve::default(),
        }
    }
}

/// A token bucket in bytes. The balance may go negative (debt) when more was spent than
/// was available, which happens only by a few lines when two pipes spend at once, or for
/// a marker; the debt is repaid before anything else passes.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    balance: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket. A burst smaller than one maximum-size line (plus its newline) is
    /// raised to it, so that every line can pass once the bucket is full.
    pub fn new(rate: LogRate, now: Instant) -> Self {
        let burst = rate.burst_bytes.max(MAX_LINE as u64 + 1) as f64;
        TokenBucket { rate: rate.bytes_per_second as f64, burst, balance: burst, refilled: now }
    }

    /// Whole bytes that may be spent now.
    pub fn available(&mut self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.balance = (self.balance + elapsed * self.rate).min(self.burst);
        self.refilled = self.refilled.max(now);
        self.balance.max(0.0) as u64
    }

    pub fn spend(&mut self, bytes: u64) {
        self.balance -= bytes as f64;
    }

    /// How long until the balance is back to zero, when it is in debt.
    pub fn debt_repaid_in(&self) -> Option<Duration> {
        (self.balance < 0.0 && self.rate > 0.0).then(|| Duration::from_secs_f64(-self.balance / self.rate))
    }
}

/// Why output was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    Environment,
    Function,
    Disk,
}

impl DropReason {
    const ALL: [DropReason; 3] = [DropReason::Environment, DropReason::Function, DropReason::Disk];
}

/// Bytes (newlines included) and lines dropped for one reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub bytes: u64,
    pub lines: u64,
}

/// What was dropped and not reported yet, per reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dropped([Tally; 3]);

impl Dropped {
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|t| t.lines == 0)
    }

    fn count(&mut self, reason: DropReason, bytes: u64) {
        let tally = &mut self.0[reason as usize];
        tally.bytes += bytes;
        tally.lines += 1;
    }

    fn bytes(&self) -> u64 {
        self.0.iter().map(|t| t.bytes).sum()
    }

    fn add(&mut self, other: Dropped) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            mine.bytes += theirs.bytes;
            mine.lines += theirs.lines;
        }
    }

    pub fn get(&self, reason: DropReason) -> Tally {
        self.0[reason as usize]
    }
}

/// A size in the units the flags use: `1 MiB`, `512 KiB`, `100 bytes`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Size(bytes) = *self;
        for (unit, name) in [(1u64 << 30, "GiB"), (MIB, "MiB"), (1 << 10, "KiB")] {
            if bytes >= unit {
                return if bytes % unit == 0 {
                    write!(f, "{} {name}", bytes / unit)
                } else {
                    write!(f, "{:.2} {name}", bytes as f64 / unit as f64)
                };
            }
        }
        write!(f, "{bytes} bytes")
    }
}

/// The per-function budgets of one server, each alive while an environment of its
/// function is: the map never holds more entries than there are functions with
/// environments.
pub(crate) struct LogBudgets {
    limits: LogLimits,
    functions: Arc<FunctionBudgets>,
    disk: Arc<DiskWatermark>,
}

type FunctionBudgets = Mutex<HashMap<FunctionName, Weak<FunctionBudget>>>;

/// The budget all environments of one function share.
pub(crate) struct FunctionBudget {
    name: FunctionName,
    bucket: Mutex<TokenBucket>,
    /// The map this budget is listed in, to leave it when the last environment goes.
    listed_in: Arc<FunctionBudgets>,
}

impl Drop for FunctionBudget {
    fn drop(&mut self) {
        let mut functions = self.listed_in.lock().unwrap_or_else(|p| p.into_inner());
        // A new budget may already have replaced this one; only a dead entry goes.
        if functions.get(&self.name).is_some_and(|entry| entry.strong_count() == 0) {
            functions.remove(&self.name);
        }
    }
}

impl FunctionBudget {
    fn available(&self, now: Instant) -> u64 {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner()).available(now)
    }

    fn spend(&self, bytes: u64) {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner()).spend(bytes)
    }
}

impl LogBudgets {
    /// Budgets under `limits`, with the disk watermark on the file system of `logs_root`.
    pub fn new(limits: LogLimits, logs_root: &Path) -> Self {
        LogBudgets::with_disk(limits, DiskWatermark::new(logs_root, limits.disk_reserve))
    }

    pub fn with_disk(limits: LogLimits, disk: DiskWatermark) -> Self {
        LogBudgets { limits, functions: Arc::default(), disk: Arc::new(disk) }
    }

    /// A budget for a new environment of `function`, drawing on the function's shared one.
    pub fn environment(&self, function: &FunctionName) -> Arc<EnvironmentBudget> {
        let now = Instant::now();
        let shared = {
            let mut functions = self.functions.lock().unwrap_or_else(|p| p.into_inner());
            match functions.get(function).and_then(Weak::upgrade) {
                Some(shared) => shared,
                None => {
                    let shared = Arc::new(FunctionBudget {
                        name: function.clone(),
                        bucket: Mutex::new(TokenBucket::new(self.limits.function, now)),
                        listed_in: Arc::clone(&self.functions),
                    });
                    functions.insert(function.clone(), Arc::downgrade(&shared));
                    shared
                }
            }
        };
        Arc::new(EnvironmentBudget {
            limits: self.limits,
            state: Mutex::new(EnvironmentState {
                bucket: TokenBucket::new(self.limits.environment, now),
                discard: TokenBucket::new(
                    LogRate { bytes_per_second: DISCARD_RATE, burst_bytes: DISCARD_RATE },
                    now,
                ),
                dropped: Dropped::default(),
            }),
            function: shared,
            disk: Arc::clone(&self.disk),
        })
    }

    /// Functions with a live budget.
    #[cfg(test)]
    fn functions(&self) -> usize {
        self.functions.lock().unwrap().len()
    }
}

/// One environment's budget, shared by the copiers of its stdout and stderr.
pub(crate) struct EnvironmentBudget {
    limits: LogLimits,
    state: Mutex<EnvironmentState>,
    function: Arc<FunctionBudget>,
    disk: Arc<DiskWatermark>,
}

struct EnvironmentState {
    bucket: TokenBucket,
    /// Paces reading output that is dropped.
    discard: TokenBucket,
    /// Dropped and not reported by a marker yet.
    dropped: Dropped,
}

impl EnvironmentBudget {
    fn state(&self) -> std::sync::MutexGuard<'_, EnvironmentState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts passing the lines of one read: what the budgets allow now.
    pub fn open(&self) -> Pass<'_> {
        self.open_at(Instant::now())
    }

    fn open_at(&self, now: Instant) -> Pass<'_> {
        let mut state = self.state();
        state.discard.available(now);
        let environment = state.bucket.available(now);
        let function = self.function.available(now);
        let (allowance, reason) = if !self.disk.allows(now) {
            (0, DropReason::Disk)
        } else if environment <= function {
            (environment, DropReason::Environment)
        } else {
            (function, DropReason::Function)
        };
        let unreported = std::mem::take(&mut state.dropped);
        Pass {
            budget: self,
            allowance,
            reason,
            spent: 0,
            refused: false,
            dropped: Dropped::default(),
            unreported,
        }
    }

    /// Settles a read: spends what passed and keeps count of what was dropped. Returns how
    /// long to wait before reading again when output is dropped faster than [`DISCARD_RATE`].
    pub fn close(&self, pass: Pass<'_>) -> Option<Duration> {
        let mut state = self.state();
        state.bucket.spend(pass.spent);
        self.function.spend(pass.spent);
        state.discard.spend(pass.dropped.bytes());
        state.dropped.add(pass.dropped);
        state.dropped.add(pass.unreported);
        state.discard.debt_repaid_in()
    }

    /// Takes the marker lines for everything dropped and not reported yet (at the end of
    /// an invoke); they are charged to the budgets.
    pub fn take_markers(&self) -> Vec<String> {
        let mut state = self.state();
        let lines = self.markers(&std::mem::take(&mut state.dropped));
        let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
        state.bucket.spend(bytes);
        self.function.spend(bytes);
        lines
    }

    fn markers(&self, dropped: &Dropped) -> Vec<String> {
        DropReason::ALL
            .into_iter()
            .filter(|r| dropped.get(*r).lines > 0)
            .map(|r| marker(dropped.get(r), &self.reason_text(r)))
            .collect()
    }

    fn reason_text(&self, reason: DropReason) -> String {
        match reason {
            DropReason::Environment => format!(
                "the environment's log rate limit ({}/s) was exceeded",
                Size(self.limits.environment.bytes_per_second)
            ),
            DropReason::Function => format!(
                "the function's log rate limit ({}/s, shared by all its environments) was exceeded",
                Size(self.limits.function.bytes_per_second)
            ),
            DropReason::Disk => format!(
                "the data directory's free space is below the log watermark ({})",
                Size(self.disk.watermark())
            ),
        }
    }
}

/// The marker line saying what was dropped.
fn marker(tally: Tally, reason: &str) -> String {
    let lines = if tally.lines == 1 { "1 line".to_owned() } else { format!("{} lines", tally.lines) };
    format!("alcove: dropped {} bytes ({lines}) of log output: {reason}", tally.bytes)
}

/// The lines of one read going through an environment's budget.
pub(crate) struct Pass<'a> {
    budget: &'a EnvironmentBudget,
    /// Bytes that may pass.
    allowance: u64,
    /// Why a line that does not fit is dropped.
    reason: DropReason,
    spent: u64,
    /// Set at the first line that did not fit: the rest of the read is dropped too.
    refused: bool,
    dropped: Dropped,
    /// Dropped before this read and not reported yet: the markers go before the next
    /// line that passes.
    unreported: Dropped,
}

impl Pass<'_> {
    /// Offers one line (without its newline): appended to `out` with a newline if it
    /// fits, after the markers of what was dropped before it; else counted as dropped.
    pub fn offer(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let cost = line.len() as u64 + 1;
        if !self.refused && self.spent + cost <= self.allowance {
            if !self.unreported.is_empty() {
                let markers = self.budget.markers(&self.unreported);
                let marker_bytes: u64 = markers.iter().map(|m| m.len() as u64 + 1).sum();
                if self.spent + marker_bytes + cost <= self.allowance {
                    for marker in markers {
                        out.extend_from_slice(marker.as_bytes());
                        out.push(b'\n');
                    }
                    self.spent += marker_bytes;
                    self.unreported = Dropped::default();
                } else {
                    self.refuse(cost);
                    return;
                }
            }
            out.extend_from_slice(String::from_utf8_lossy(line).as_bytes());
            out.push(b'\n');
            self.spent += cost;
        } else {
            self.refuse(cost);
        }
    }

    fn refuse(&mut self, cost: u64) {
        self.refused = true;
        self.dropped.count(self.reason, cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk_watermark::DiskSpace;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    const KIB: u64 = 1024;

    fn rate(per_second: u64, burst: u64) -> LogRate {
        LogRate { bytes_per_second: per_second, burst_bytes: burst }
    }

    #[test]
    fn bucket_refills_at_its_rate_up_to_its_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(rate(MIB, 4 * MIB), start);
        assert_eq!(bucket.available(start), 4 * MIB);
        bucket.spend(4 * MIB);
        assert_eq!(bucket.available(start), 0);
        assert_eq!(bucket.available(start + Duration::from_millis(500)), MIB / 2);
        // Never more than the burst, however long it rests.
        assert_eq!(bucket.available(start + Duration::from_secs(3600)), 4 * MIB);
        // Debt is repaid before anything is available again.
        let later = start + Duration::from_secs(3600);
        bucket.spend(5 * MIB);
        assert_eq!(bucket.available(later), 0);
        assert_eq!(bucket.available(later + Duration::from_secs(1)), 0);
        assert_eq!(bucket.available(later + Duration::from_secs(2)), MIB);
        // An earlier time (two threads racing) takes nothing back.
        assert_eq!(bucket.available(later), MIB);
    }

    #[test]
    fn a_burst_holds_at_least_one_maximum_line() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(rate(10, 10), start);
        assert_eq!(bucket.available(start), MAX_LINE as u64 + 1);
    }

    #[test]
    fn sizes_read_like_the_flags() {
        assert_eq!(Size(MIB).to_string(), "1 MiB");
        assert_eq!(Size(5 * MIB).to_string(), "5 MiB");
        assert_eq!(Size(MIB + MIB / 2).to_string(), "1.50 MiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
        assert_eq!(Size(1536).to_string(), "1.50 KiB");
        assert_eq!(Size(MIB + 1).to_string(), "1.00 MiB");
        assert_eq!(Size(512 * KIB).to_string(), "512 KiB");
        assert_eq!(Size(1 << 30).to_string(), "1 GiB");
        assert_eq!(Size(100).to_string(), "100 bytes");
    }

    fn name(text: &str) -> FunctionName {
        FunctionName::parse(text).unwrap()
    }

    fn budgets(limits: LogLimits) -> (LogBudgets, Arc<AtomicBool>) {
        let full = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&full);
        let disk = DiskWatermark::with_probe(
            Path::new("/nowhere"),
            limits.disk_reserve,
            Box::new(move |_| {
                let available = if seen.load(Ordering::SeqCst) { 0 } else { 50 << 30 };
                Ok(DiskSpace { available, total: 100 << 30 })
            }),
        );
        (LogBudgets::with_disk(limits, disk), full)
    }

    fn limits(environment: LogRate, function: LogRate) -> LogLimits {
        LogLimits { environment, function, disk_reserve: DiskReserve::default() }
    }

    /// Offers `count` lines of `len` bytes in one read at `now`; returns what was written.
    fn read(budget: &EnvironmentBudget, now: Instant, count: usize, len: usize) -> String {
        let mut out = Vec::new();
        let mut pass = budget.open_at(now);
        let line = vec![b'x'; len];
        for _ in 0..count {
            pass.offer(&line, &mut out);
        }
        budget.close(pass);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn over_budget_lines_are_dropped_then_reported_when_logging_resumes() {
        let (budgets, _) = budgets(limits(rate(MIB, MAX_LINE as u64 + 1), rate(100 * MIB, 100 * MIB)));
        let budget = budgets.environment(&name("f"));
        let start = Instant::now();
        // 1023 bytes a line with its newline: 256 fit in the burst, the rest of the read is dropped.
        let out = read(&budget, start, 1000, 1022);
        assert_eq!(out.lines().count(), 256);
        assert!(!out.contains("alcove:"));
        // Nothing refilled: everything dropped.
        assert_eq!(read(&budget, start, 10, 1022), "");
        // A second later, a MiB is available: the marker comes first, then lines again.
        let out = read(&budget, start + Duration::from_secs(1), 3, 1022);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "alcove: dropped {} bytes (754 lines) of log output: the environment's log rate limit (1 MiB/s) was exceeded",
                754 * 1023
            )
        );
        assert_eq!(lines.len(), 4);
        assert!(budget.take_markers().is_empty(), "reported once");
    }

    #[test]
    fn what_is_still_unreported_at_the_end_gets_its_marker() {
        let (budgets, _) = budgets(limits(rate(KIB, MAX_LINE as u64 + 1), rate(100 * MIB, 100 * MIB)));
        let budget = budgets.environment(&name("f"));
        let start = Instant::now();
        read(&budget, start, 1, MAX_LINE);
        assert_eq!(read(&budget, start, 3, 99), "");
        assert_eq!(
            budget.take_markers(),
            vec!["alcove: dropped 300 bytes (3 lines) of log output: the environment's log rate limit (1 KiB/s) was exceeded"]
        );
        assert!(budget.take_markers().is_empty());
    }

    #[test]
    fn environments_of_one_function_share_its_budget() {
        let (budgets, _) = budgets(limits(rate(MIB, MIB), rate(MIB, MIB)));
        let start = Instant::now();
        let first = budgets.environment(&name("f"));
        let second = budgets.environment(&name("f"));
        let other = budgets.environment(&name("g"));
        assert_eq!(read(&first, start, 1024, 1023).len() as u64, MIB);
        // The second environment's own bucket is full, the function's is empty.
        assert_eq!(read(&second, start, 1, 10), "");
        assert_eq!(
            second.take_markers(),
            vec!["alcove: dropped 11 bytes (1 line) of log output: the function's log rate limit (1 MiB/s, shared by all its environments) was exceeded"]
        );
        // Another function has its own.
        assert_eq!(read(&other, start, 1, 10).len(), 11);
    }

    #[test]
    fn a_function_budget_lives_as_long_as_its_environments() {
        let (budgets, _) = budgets(LogLimits::default());
        let first = budgets.environment(&name("f"));
        let second = budgets.environment(&name("f"));
        assert_eq!(budgets.functions(), 1);
        drop(first);
        assert_eq!(budgets.functions(), 1);
        drop(second);
        assert_eq!(budgets.functions(), 0, "no entry is left for a function without environments");
        // Many functions come and go; the map stays empty.
        for i in 0..1000 {
            let budget = budgets.environment(&name(&format!("f{i}")));
            drop(budget);
        }
        assert_eq!(budgets.functions(), 0);
    }

    #[test]
    fn markers_count_against_the_budget() {
        // A flood of reads that each find a little refilled and offer a tiny line after a
        // huge one: the markers cannot take the output over the limit.
        let (budgets, _) = budgets(limits(rate(KIB, MAX_LINE as u64 + 1), rate(100 * MIB, 100 * MIB)));
        let budget = budgets.environment(&name("f"));
        let start = Instant::now();
        let mut written = read(&budget, start, 1, MAX_LINE).len() as u64;
        for ms in 1..=10_000 {
            let now = start + Duration::from_millis(ms);
            let mut out = Vec::new();
            let mut pass = budget.open_at(now);
            pass.offer(b"x", &mut out);
            pass.offer(&[b'y'; 4000], &mut out);
            budget.close(pass);
            written += out.len() as u64;
        }
        written += budget.take_markers().iter().map(|m| m.len() as u64 + 1).sum::<u64>();
        // 10 s at 1 KiB/s after the burst, plus the end's marker.
        assert!(written <= MAX_LINE as u64 + 1 + 10 * KIB + 200, "{written}");
    }

    #[test]
    fn dropping_faster_than_the_discard_rate_asks_the_copier_to_wait() {
        let (budgets, _) = budgets(limits(rate(KIB, MAX_LINE as u64 + 1), rate(100 * MIB, 100 * MIB)));
        let budget = budgets.environment(&name("f"));
        let start = Instant::now();
        let line = vec![b'z'; 65535];
        let mut reads = 0;
        let mut out = Vec::new();
        let wait = loop {
            reads += 1;
            let mut pass = budget.open_at(start);
            pass.offer(&line, &mut out);
            if let Some(wait) = budget.close(pass) {
                break wait;
            }
        };
        // Four lines fill the environment's burst; the dropped ones use up one second's
        // worth of the discard rate (256 reads of 64 KiB), and the next one goes into debt.
        assert_eq!(out.len(), 4 * 65536);
        assert_eq!(reads, 4 + 256 + 1);
        assert!(wait > Duration::from_millis(3) && wait <= Duration::from_millis(4), "{wait:?}");
        // Rested, it drops at the rate again without waiting.
        let mut pass = budget.open_at(start + Duration::from_secs(1));
        pass.offer(&line, &mut out);
        assert_eq!(budget.close(pass), None);
    }

    #[test]
    fn below_the_disk_watermark_nothing_passes() {
        let (budgets, full) = budgets(LogLimits::default());
        let budget = budgets.environment(&name("f"));
        let start = Instant::now();
        full.store(true, Ordering::SeqCst);
        assert_eq!(read(&budget, start, 5, 10), "");
        let markers = budget.take_markers();
        assert_eq!(markers.len(), 1);
        assert_eq!(
            markers[0],
            "alcove: dropped 55 bytes (5 lines) of log output: the data directory's free space is below the log watermark (5 GiB)"
        );
        full.store(false, Ordering::SeqCst);
        assert_eq!(read(&budget, start + Duration::from_secs(1), 1, 10).len(), 11);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (budgets, _) = budgets(LogLimits::default());
        let budget = budgets.environment(&name("f"));
        let mut out = Vec::new();
        let mut pass = budget.open();
        pass.offer(b"a\xffb", &mut out);
        budget.close(pass);
        assert_eq!(String::from_utf8(out).unwrap(), "a\u{fffd}b\n");
    }
}
