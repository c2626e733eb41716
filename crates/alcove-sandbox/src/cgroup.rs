//! Per-environment cgroups: memory (the function's MemorySize; the kernel's OOM killer
//! then kills only that environment), a process limit, a CPU share proportional to memory
//! as Lambda gives it (a weight under contention, not a cap), and the freezer that stops idle environments from using any CPU.
//!
//! Both hierarchies are supported and detected at start: cgroup v2 (one tree,
//! `memory.max`, `cgroup.freeze`) and cgroup v1 (one tree per controller).

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Lambda gives one vCPU at 1,769 MB and CPU in proportion to memory.
const MB_PER_VCPU: u64 = 1769;
/// Processes and threads per environment (Lambda's limit is 1,024).
pub const PIDS_MAX: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupVersion {
    /// The unified hierarchy, with Alcove's subtree under `root`.
    V2 { root: PathBuf },
    /// One hierarchy per controller, each with Alcove's subtree.
    V1 { memory: PathBuf, pids: PathBuf, cpu: PathBuf, freezer: PathBuf },
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

impl CgroupVersion {
    /// Finds a usable hierarchy and creates Alcove's subtree in it.
    pub fn detect() -> Option<CgroupVersion> {
        let unified = Path::new("/sys/fs/cgroup");
        if let Ok(controllers) = fs::read_to_string(unified.join("cgroup.controllers")) {
            let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
            if has("memory") && has("pids") && has("cpu") {
                let root = unified.join("alcove");
                let ok = fs::create_dir_all(&root).is_ok()
                    && write(&unified.join("cgroup.subtree_control"), "+memory +pids +cpu").is_ok()
                    && write(&root.join("cgroup.subtree_control"), "+memory +pids +cpu").is_ok();
                return ok.then_some(CgroupVersion::V2 { root });
            }
        }
        let v1 = |controller: &str| {
            let base = unified.join(controller);
            base.join("cgroup.procs").exists().then(|| base.join("alcove"))
        };
        let version = CgroupVersion::V1 {
            memory: v1("memory")?,
            pids: v1("pids")?,
            cpu: v1("cpu")?,
            freezer: v1("freezer")?,
        };
        if let CgroupVersion::V1 { memory, pids, cpu, freezer } = &version {
            for dir in [memory, pids, cpu, freezer] {
                fs::create_dir_all(dir).ok()?;
            }
        }
        version.sweep_stale();
        Some(version)
    }

    /// The freezer's control file, and what is written to it to freeze or thaw.
    fn freezer_file(&self) -> &'static str {
        match self {
            CgroupVersion::V2 { .. } => "cgroup.freeze",
            CgroupVersion::V1 { .. } => "freezer.state",
        }
    }

    fn freezer_value(&self, frozen: bool) -> &'static [u8] {
        match (self, frozen) {
            (CgroupVersion::V2 { .. }, true) => b"1",
            (CgroupVersion::V2 { .. }, false) => b"0",
            (CgroupVersion::V1 { .. }, true) => b"FROZEN",
            (CgroupVersion::V1 { .. }, false) => b"THAWED",
        }
    }

    fn subtrees(&self) -> Vec<&Path> {
        match self {
            CgroupVersion::V2 { root } => vec![root],
            CgroupVersion::V1 { memory, pids, cpu, freezer } => vec![memory, pids, cpu, freezer],
        }
    }

    /// Removes the cgroups left by servers that are gone (cgroups are named
    /// `<server pid>-<n>`), killing what is still in them: on cgroup v1 a frozen process
    /// does not act on the SIGKILL its sandbox's `--die-with-parent` sends when the server
    /// is killed, so the idle environments of a server killed with SIGKILL linger, frozen,
    /// until this sweep. Cgroups named after this server's own pid are stale too (a
    /// server that had the pid before): none are this server's yet, and reusing one could
    /// put a new environment into a frozen cgroup.
    fn sweep_stale(&self) {
        let own = std::process::id();
        let mut stale: Vec<std::ffi::OsString> = Vec::new();
        for subtree in self.subtrees() {
            let Ok(entries) = fs::read_dir(subtree) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let owner = name.to_str().and_then(|n| n.split_once('-')).and_then(|(pid, _)| pid.parse::<u32>().ok());
                let gone = |pid: u32| pid == own || !Path::new(&format!("/proc/{pid}")).exists();
                if owner.is_some_and(gone) && !stale.contains(&name) {
                    stale.push(name);
                }
            }
        }
        for name in stale {
            let dirs: Vec<PathBuf> = self.subtrees().iter().map(|subtree| subtree.join(&name)).collect();
            for dir in &dirs {
                let _ = fs::write(dir.join(self.freezer_file()), self.freezer_value(false));
            }
            kill_and_remove(&dirs);
        }
    }
}

/// Sends SIGKILL to every process in the cgroup directory `dir` but `spared`; says
/// whether it found any.
fn kill_members(dir: &Path, spared: Option<u32>) -> bool {
    let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) else { return false };
    let mut found = false;
    for pid in procs.lines().filter_map(|p| p.trim().parse::<u32>().ok()).filter(|pid| Some(*pid) != spared) {
        found = true;
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
    }
    found
}

/// Kills every process in `dirs` (the directories of one cgroup) and removes them.
fn kill_and_remove(dirs: &[PathBuf]) {
    for _ in 0..50 {
        // Every directory is visited, whatever the first ones held.
        let alive = dirs.iter().fold(false, |alive, dir| kill_members(dir, None) | alive);
        if !alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for dir in dirs {
        let _ = fs::remove_dir(dir);
    }
}

/// One environment's cgroup (one directory per hierarchy on v1).
#[derive(Debug)]
pub struct Cgroup {
    version: CgroupVersion,
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of every directory, ready for the child to join before exec.
    procs: Vec<CString>,
    /// The freezer's control file and the peak-memory file, opened once: every invoke
    /// thaws, freezes and reads the peak, and opening a cgroup file costs far more than
    /// the write or read itself.
    freezer: File,
    /// Absent on kernels without `memory.peak` (cgroup v2 before Linux 5.19).
    peak_memory: Option<File>,
}

impl Cgroup {
    /// Creates the cgroup with its process limit; `owner` (the environment's host uid) may
    /// move itself into it. Memory and CPU are set by [`Cgroup::limit`] once the function
    /// is known, so cgroups can be created ahead of need.
    pub fn create(version: &CgroupVersion, name: &str, owner: u32) -> io::Result<Cgroup> {
        let dirs: Vec<PathBuf> = match version {
            CgroupVersion::V2 { root } => vec![root.join(name)],
            CgroupVersion::V1 { memory, pids, cpu, freezer } => {
                [memory, pids, cpu, freezer].iter().map(|d| d.join(name)).collect()
            }
        };
        // A fresh directory, never one left behind (it could be frozen).
        let created = dirs.iter().try_for_each(|dir| fs::create_dir(dir)).and_then(|()| {
            let cgroup = Cgroup::new(version, dirs.clone())?;
            write(&cgroup.pids_dir().join("pids.max"), &PIDS_MAX.to_string())?;
            for dir in &cgroup.dirs {
                nix::unistd::chown(&dir.join("cgroup.procs"), Some(nix::unistd::Uid::from_raw(owner)), None)
                    .map_err(io::Error::from)?;
            }
            Ok(cgroup)
        });
        if created.is_err() {
            for dir in &dirs {
                let _ = fs::remove_dir(dir);
            }
        }
        created
    }

    fn new(version: &CgroupVersion, dirs: Vec<PathBuf>) -> io::Result<Cgroup> {
        let procs = dirs
            .iter()
            .map(|d| CString::new(d.join("cgroup.procs").into_os_string().into_encoded_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let (freezer_dir, peak_file) = match version {
            CgroupVersion::V2 { .. } => (&dirs[0], "memory.peak"),
            CgroupVersion::V1 { .. } => (&dirs[3], "memory.max_usage_in_bytes"),
        };
        let open = |path: PathBuf, write: bool| {
            fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        let freezer = open(freezer_dir.join(version.freezer_file()), true)?;
        let peak_memory = open(dirs[0].join(peak_file), false).ok();
        Ok(Cgroup { version: version.clone(), dirs, procs, freezer, peak_memory })
    }

    /// Sets the memory limit (the function's MemorySize, no swap) and the CPU share
    /// proportional to it.
    pub fn limit(&self, memory_mb: u32) -> io::Result<()> {
        let memory = u64::from(memory_mb) * 1024 * 1024;
        // A share, not a cap: under contention CPU divides in proportion to memory, as
        // Lambda's does; an idle machine lends its spare cycles to whoever runs.
        match self.version {
            CgroupVersion::V2 { .. } => {
                let weight = (100 * u64::from(memory_mb) / MB_PER_VCPU).clamp(1, 10_000);
                write(&self.dirs[0].join("memory.max"), &memory.to_string())?;
                let _ = write(&self.dirs[0].join("memory.swap.max"), "0");
                write(&self.dirs[0].join("cpu.weight"), &weight.to_string())
            }
            CgroupVersion::V1 { .. } => {
                let shares = (1024 * u64::from(memory_mb) / MB_PER_VCPU).max(2);
                write(&self.dirs[0].join("memory.limit_in_bytes"), &memory.to_string())?;
                let _ = write(&self.dirs[0].join("memory.swappiness"), "0");
                write(&self.dirs[2].join("cpu.shares"), &shares.to_string())
            }
        }
    }

    /// Paths of the `cgroup.procs` files the child writes itself into before exec.
    pub(crate) fn procs_files(&self) -> &[CString] {
        &self.procs
    }

    fn memory_dir(&self) -> &Path {
        &self.dirs[0]
    }

    fn pids_dir(&self) -> &Path {
        match self.version {
            CgroupVersion::V2 { .. } => &self.dirs[0],
            CgroupVersion::V1 { .. } => &self.dirs[1],
        }
    }

    /// Stops every process of the environment; they use no CPU until thawed.
    pub fn freeze(&self) -> io::Result<()> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> io::Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> io::Result<()> {
        // Control files take each write whole, whatever the offset.
        self.freezer.write_all_at(self.version.freezer_value(frozen), 0)
    }

    /// Whether the kernel's OOM killer has killed a process of this environment.
    pub fn oom_killed(&self) -> bool {
        let file = match self.version {
            CgroupVersion::V2 { .. } => "memory.events",
            CgroupVersion::V1 { .. } => "memory.oom_control",
        };
        fs::read_to_string(self.memory_dir().join(file))
            .map(|text| {
                text.lines()
                    .filter_map(|l| l.strip_prefix("oom_kill "))
                    .any(|n| n.trim().parse::<u64>().unwrap_or(0) > 0)
            })
            .unwrap_or(false)
    }

    /// Peak memory of the environment, in bytes.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        // Reading from offset 0 makes the kernel render the value afresh.
        let mut buffer = [0u8; 32];
        let read = self.peak_memory.as_ref()?.read_at(&mut buffer, 0).ok()?;
        std::str::from_utf8(&buffer[..read]).ok()?.trim().parse().ok()
    }

    /// The file holding the cgroup's current memory use, in bytes.
    pub fn memory_usage_file(&self) -> PathBuf {
        match self.version {
            CgroupVersion::V2 { .. } => self.memory_dir().join("memory.current"),
            CgroupVersion::V1 { .. } => self.memory_dir().join("memory.usage_in_bytes"),
        }
    }

    /// Sends SIGKILL to every process in the cgroup except `spared`.
    pub fn kill_all_but(&self, spared: u32) {
        kill_members(self.pids_dir(), Some(spared));
    }

    /// Kills whatever is left in the cgroup and removes it.
    pub fn destroy(&self) {
        let _ = self.thaw();
        kill_and_remove(&self.dirs);
    }
}
