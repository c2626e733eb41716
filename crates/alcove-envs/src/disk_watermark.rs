//! The data directory's disk watermark for function logs.
//!
//! Function logs are written to the data directory, next to the SQLite database that
//! holds every function, queued event and usage count. A disk that fills up breaks the
//! database, and with it the control plane for every tenant; rate limits alone do not
//! prevent that (many functions within their limits still add up, and other programs
//! share the disk). So below a watermark of free space the server stops writing function
//! output: the space left is kept for SQLite and the control plane, and for the
//! platform's own `START` / `END` / `REPORT` lines and drop markers, which are small and
//! come at most a few per invoke. Writing resumes once free space is above the watermark
//! again.
//!
//! Free space is probed (`statvfs`) at most once per [`CHECK_EVERY`], not per line.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a free-space probe's answer is trusted.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How much free space function logs leave on the data directory's file system: the
/// larger of an absolute amount and a share of the file system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskReserve {
    pub min_free_bytes: u64,
    pub min_free_percent: f64,
}

impl Default for DiskReserve {
    /// 1 GiB or 5 % of the file system, whichever is larger.
    fn default() -> Self {
        DiskReserve { min_free_bytes: 1 << 30, min_free_percent: 5.0 }
    }
}

impl DiskReserve {
    /// The free space below which function output is refused, on a file system of `total` bytes.
    pub fn watermark(&self, total: u64) -> u64 {
        let share = (total as f64 * self.min_free_percent.clamp(0.0, 100.0) / 100.0) as u64;
        self.min_free_bytes.max(share)
    }
}

/// Space on a file system, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Free to an unprivileged writer (root's reserved blocks not counted).
    pub available: u64,
    pub total: u64,
}

/// How free space is measured; replaced in tests.
pub type Probe = Box<dyn Fn(&Path) -> io::Result<DiskSpace> + Send + Sync>;

/// `statvfs` on `path`.
pub fn statvfs(path: &Path) -> io::Result<DiskSpace> {
    let stats = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    let fragment = stats.fragment_size() as u64;
    Ok(DiskSpace {
        available: (stats.blocks_available() as u64).saturating_mul(fragment),
        total: (stats.blocks() as u64).saturating_mul(fragment),
    })
}

/// Whether function output may be written to the data directory now.
pub struct DiskWatermark {
    path: PathBuf,
    reserve: DiskReserve,
    probe: Probe,
    state: Mutex<State>,
}

struct State {
    checked: Option<Instant>,
    below: bool,
    /// The watermark at the last probe, in bytes (for the drop marker).
    watermark: u64,
}

impl DiskWatermark {
    /// Watches the file system holding `path` (created if missing, so it can be probed).
    pub fn new(path: &Path, reserve: DiskReserve) -> Self {
        let _ = std::fs::create_dir_all(path);
        DiskWatermark::with_probe(path, reserve, Box::new(statvfs))
    }

    pub fn with_probe(path: &Path, reserve: DiskReserve, probe: Probe) -> Self {
        let state = State { checked: None, below: false, watermark: reserve.min_free_bytes };
        DiskWatermark { path: path.to_owned(), reserve, probe, state: Mutex::new(state) }
    }

    /// True unless free space was below the watermark at the last probe; probes again
    /// when that answer is older than [`CHECK_EVERY`]. A probe that fails allows writing
    /// (and says so in the server's log): not knowing is no reason to drop logs.
    pub fn allows(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.checked.is_some_and(|at| now.saturating_duration_since(at) < CHECK_EVERY) {
            return !state.below;
        }
        state.checked = Some(now);
        let below = match (self.probe)(&self.path) {
            Ok(space) => {
                state.watermark = self.reserve.watermark(space.total);
                space.available < state.watermark
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot measure the log directory's free space");
                false
            }
        };
        if below != state.below {
            if below {
                tracing::warn!(
                    path = %self.path.display(),
                    watermark = state.watermark,
                    "free space is below the log watermark: function log output is dropped until there is more"
                );
            } else {
                tracing::info!(path = %self.path.display(), "free space is above the log watermark again: function log output resumes");
            }
            state.below = below;
        }
        !below
    }

    /// The watermark, in bytes, as of the last probe.
    pub fn watermark(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).watermark
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_watermark_is_the_larger_of_both_reserves() {
        let reserve = DiskReserve::default();
        assert_eq!(reserve.watermark(10 * GIB), GIB, "5 % of 10 GiB is less than 1 GiB");
        assert_eq!(reserve.watermark(100 * GIB), 5 * GIB);
        let absolute = DiskReserve { min_free_bytes: 7, min_free_percent: 0.0 };
        assert_eq!(absolute.watermark(100 * GIB), 7);
    }

    /// A file system of 100 GiB whose free space the test sets; counts probes.
    fn disk(free: &Arc<AtomicU64>, probes: &Arc<AtomicUsize>) -> DiskWatermark {
        let (free, probes) = (Arc::clone(free), Arc::clone(probes));
        DiskWatermark::with_probe(
            Path::new("/nowhere"),
            DiskReserve::default(),
            Box::new(move |_| {
                probes.fetch_add(1, Ordering::SeqCst);
                Ok(DiskSpace { available: free.load(Ordering::SeqCst), total: 100 * GIB })
            }),
        )
    }

    #[test]
    fn refuses_below_the_watermark_and_resumes_above_it() {
        let free = Arc::new(AtomicU64::new(50 * GIB));
        let probes = Arc::new(AtomicUsize::new(0));
        let disk = disk(&free, &probes);
        let start = Instant::now();
        assert!(disk.allows(start));
        free.store(5 * GIB - 1, Ordering::SeqCst);
        // The last answer holds until it is a second old: one probe, however many lines.
        for ms in 0..1000 {
            assert!(disk.allows(start + Duration::from_millis(ms)));
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        assert!(!disk.allows(start + CHECK_EVERY));
        assert_eq!(disk.watermark(), 5 * GIB);
        assert!(!disk.allows(start + CHECK_EVERY * 2));
        free.store(5 * GIB, Ordering::SeqCst);
        assert!(disk.allows(start + CHECK_EVERY * 3));
        assert_eq!(probes.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_failing_probe_allows_writing() {
        let disk = DiskWatermark::with_probe(
            Path::new("/nowhere"),
            DiskReserve::default(),
            Box::new(|_| Err(io::Error::other("no"))),
        );
        assert!(disk.allows(Instant::now()));
    }

    #[test]
    fn statvfs_measures_a_real_file_system() {
        let space = statvfs(Path::new("/")).unwrap();
        assert!(space.total > 0 && space.available <= space.total, "{space:?}");
    }
}
