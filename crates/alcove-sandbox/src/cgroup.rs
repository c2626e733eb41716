//! Per-environment cgroups: memory (the function's MemorySize; the kernel's OOM killer
//! then kills only that environment), a process limit, a CPU share proportional to memory
//! as Lambda gives it (a weight under contention, not a cap), and the freezer that stops idle environments from using any CPU.
//!
//! Both hierarchies are supported and detected at start: cgroup v2 (one tree,
//! `memory.max`, `cgroup.freeze`) and cgroup v1 (one tree per controller).
//!
//! Every environment's cgroup is a child of its server's own, `alcove/server-<pid>` (in
//! each hierarchy on v1), whose limits bound what all of them use together (see
//! `aggregate`): per-environment limits alone, times the number of environments, can
//! exceed the host's pid space and memory. The server removes its cgroup, and every
//! environment's in it, when it stops ([`CgroupVersion::close`]); a server that was
//! killed leaves its cgroup to the next server's sweep at start.
//!
//! TCP socket buffers: cgroup v2 charges them to the cgroup's memory (`memory.max`), so
//! `MemorySize` bounds them. Cgroup v1 counts them apart, and only against a limit set in
//! `memory.kmem.tcp.limit_in_bytes`: without one, a 128 MB function can park gigabytes in
//! loopback socket buffers, bounded only by the host-wide `net.ipv4.tcp_mem`, past which
//! every TCP connection on the host is throttled. On v1 an environment's TCP buffers are
//! therefore limited to its `MemorySize` too (set before its function runs, so its every
//! socket is counted), and the server's cgroup to the aggregate TCP limit.

use std::ffi::{CString, OsString};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::aggregate::{AggregateLimits, HostCapacity};

/// Lambda gives one vCPU at 1,769 MB and CPU in proportion to memory.
const MB_PER_VCPU: u64 = 1769;
/// Processes and threads per environment (Lambda's limit is 1,024); less on a host whose
/// pid space cannot give every environment as many (see `aggregate`).
pub const PIDS_MAX: u32 = 1024;
/// A server's own cgroup is `server-<its pid>` under Alcove's subtree.
const SERVER_CGROUP_PREFIX: &str = "server-";
/// Times closing a server's cgroup goes over it again, for environments whose cgroups
/// were being created while it was removed.
const CLOSE_PASSES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no usable cgroup hierarchy with memory, pids and cpu controllers")]
    NoHierarchy,
    #[error("cannot create Alcove's cgroups: {0}")]
    Create(io::Error),
    #[error("cannot read the host's capacity: {0}")]
    Host(io::Error),
    #[error("cannot limit the server's cgroup: {0}")]
    Limit(io::Error),
}

/// A server's own cgroup, in which its environments' are created, and the process limit
/// each of those gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupVersion {
    hierarchy: Hierarchy,
    environment_tasks: u64,
}

/// Which kind of hierarchy, and a cgroup's directories in it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hierarchy {
    /// The unified hierarchy: one directory.
    V2 { root: PathBuf },
    /// One hierarchy per controller, one directory in each.
    V1 { memory: PathBuf, pids: PathBuf, cpu: PathBuf, freezer: PathBuf },
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

impl CgroupVersion {
    /// Whether every byte of an environment's socket buffers is charged to its memory
    /// limit (cgroup v2). On v1 the kernel lets each socket queue one packet past the
    /// TCP limit, so the packets on a sandbox's loopback are kept small (`netns`).
    pub fn charges_all_socket_memory(&self) -> bool {
        matches!(self.hierarchy, Hierarchy::V2 { .. })
    }

    /// Finds a usable hierarchy, sweeps what servers that are gone left in Alcove's
    /// subtree, and creates this server's own cgroup there, limited for at most
    /// `max_environments` environments (plus the sandboxes kept ready) on this host.
    pub fn detect(max_environments: u64) -> Result<CgroupVersion, CgroupError> {
        let alcove = Hierarchy::alcove_subtree()?;
        alcove.sweep_stale();
        let host = HostCapacity::read().map_err(CgroupError::Host)?;
        let ready_slots = (crate::spawner::READY_SLOTS + crate::spawner::READY_EGRESS_SLOTS) as u64;
        let limits = AggregateLimits::derive(max_environments, ready_slots, &host);
        let server = alcove.join(&format!("{SERVER_CGROUP_PREFIX}{}", std::process::id()));
        server.create_server(&limits)?;
        tracing::info!(
            max_environments,
            ready_slots,
            host_tasks = host.tasks,
            host_memory_mb = host.memory_bytes >> 20,
            host_tcp_pressure_mb = host.tcp_pressure_bytes.map(|b| b >> 20),
            tasks = limits.tasks,
            tasks_per_environment = limits.environment_tasks,
            memory_mb = limits.memory_bytes >> 20,
            tcp_buffers_mb = matches!(server, Hierarchy::V1 { .. }).then_some(limits.tcp_bytes >> 20),
            "environments together are limited to min((max environments + ready slots) x 1024, host tasks - \
             max(4096, 25%)) tasks, shared equally, and min(max environments x 10240 MB, host memory - \
             max(1 GiB, 10%)) of memory"
        );
        if limits.environment_tasks < u64::from(PIDS_MAX) {
            tracing::warn!(
                tasks_per_environment = limits.environment_tasks,
                "this host's pid space is too small for {PIDS_MAX} tasks in each of --max-environments \
                 environments: each gets an equal share; a larger kernel.pid_max (sysctl) or a lower \
                 --max-environments gives each more"
            );
        }
        Ok(CgroupVersion { hierarchy: server, environment_tasks: limits.environment_tasks })
    }

    /// Removes this server's cgroup and every environment's in it, killing whatever is
    /// still in them (ready sandboxes, environments still running or not yet released).
    /// Once it is gone no environment's cgroup can be created in it, so a sandbox being
    /// prepared meanwhile fails rather than outlives the server. Blocks until done (a
    /// few milliseconds per environment): call off the async runtime.
    pub fn close(&self) {
        self.hierarchy.close();
    }
}

impl Hierarchy {
    /// Alcove's subtree in a usable hierarchy, created if missing.
    fn alcove_subtree() -> Result<Hierarchy, CgroupError> {
        let unified = Path::new("/sys/fs/cgroup");
        if let Ok(controllers) = fs::read_to_string(unified.join("cgroup.controllers")) {
            let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
            if has("memory") && has("pids") && has("cpu") {
                let root = unified.join("alcove");
                fs::create_dir_all(&root)
                    .and_then(|()| write(&unified.join("cgroup.subtree_control"), "+memory +pids +cpu"))
                    .and_then(|()| write(&root.join("cgroup.subtree_control"), "+memory +pids +cpu"))
                    .map_err(CgroupError::Create)?;
                return Ok(Hierarchy::V2 { root });
            }
        }
        let v1 = |controller: &str| {
            let base = unified.join(controller);
            base.join("cgroup.procs").exists().then(|| base.join("alcove")).ok_or(CgroupError::NoHierarchy)
        };
        let version = Hierarchy::V1 {
            memory: v1("memory")?,
            pids: v1("pids")?,
            cpu: v1("cpu")?,
            freezer: v1("freezer")?,
        };
        for dir in version.subtrees() {
            fs::create_dir_all(dir).map_err(CgroupError::Create)?;
        }
        Ok(version)
    }

    /// The same hierarchy, one level down: the child `name` of every directory.
    fn join(&self, name: &str) -> Hierarchy {
        match self {
            Hierarchy::V2 { root } => Hierarchy::V2 { root: root.join(name) },
            Hierarchy::V1 { memory, pids, cpu, freezer } => Hierarchy::V1 {
                memory: memory.join(name),
                pids: pids.join(name),
                cpu: cpu.join(name),
                freezer: freezer.join(name),
            },
        }
    }

    /// Creates this (the server's) cgroup fresh, with `limits`; removes it again if any
    /// step fails.
    fn create_server(&self, limits: &AggregateLimits) -> Result<(), CgroupError> {
        for dir in self.subtrees() {
            if let Err(e) = fs::create_dir(dir) {
                self.close();
                return Err(CgroupError::Create(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))));
            }
        }
        let limited = self.limit_server(limits);
        if limited.is_err() {
            self.close();
        }
        limited.map_err(CgroupError::Limit)
    }

    fn limit_server(&self, limits: &AggregateLimits) -> io::Result<()> {
        match self {
            Hierarchy::V2 { root } => {
                write(&root.join("cgroup.subtree_control"), "+memory +pids +cpu")?;
                write(&root.join("pids.max"), &limits.tasks.to_string())?;
                // Socket buffers are part of memory on v2: this bounds them too.
                write(&root.join("memory.max"), &limits.memory_bytes.to_string())
            }
            Hierarchy::V1 { memory, pids, .. } => {
                write(&pids.join("pids.max"), &limits.tasks.to_string())?;
                // A v1 parent's limit covers its children only with use_hierarchy, which
                // must be set while the cgroup has none (and is always on since Linux 5.16).
                let hierarchical = memory.join("memory.use_hierarchy");
                if fs::read_to_string(&hierarchical)?.trim() != "1" {
                    write(&hierarchical, "1")?;
                }
                write(&memory.join("memory.limit_in_bytes"), &limits.memory_bytes.to_string())?;
                write(&memory.join("memory.kmem.tcp.limit_in_bytes"), &limits.tcp_bytes.to_string())
            }
        }
    }

    /// Removes this cgroup with every child, killing what is in them.
    fn close(&self) {
        self.remove_tree(&self.subtrees().iter().map(|dir| dir.to_path_buf()).collect::<Vec<_>>());
    }

    /// The freezer's control file, and what is written to it to freeze or thaw.
    fn freezer_file(&self) -> &'static str {
        match self {
            Hierarchy::V2 { .. } => "cgroup.freeze",
            Hierarchy::V1 { .. } => "freezer.state",
        }
    }

    fn freezer_value(&self, frozen: bool) -> &'static [u8] {
        match (self, frozen) {
            (Hierarchy::V2 { .. }, true) => b"1",
            (Hierarchy::V2 { .. }, false) => b"0",
            (Hierarchy::V1 { .. }, true) => b"FROZEN",
            (Hierarchy::V1 { .. }, false) => b"THAWED",
        }
    }

    fn subtrees(&self) -> Vec<&Path> {
        match self {
            Hierarchy::V2 { root } => vec![root],
            Hierarchy::V1 { memory, pids, cpu, freezer } => vec![memory, pids, cpu, freezer],
        }
    }

    /// Removes the cgroups left by servers that are gone, killing what is still in them:
    /// on cgroup v1 a frozen process does not act on the SIGKILL its sandbox's
    /// `--die-with-parent` sends when the server is killed, so the idle environments of a
    /// server killed with SIGKILL linger, frozen, until this sweep. A server's cgroup is
    /// `server-<pid>`, holding its environments'; servers before it named environments'
    /// cgroups `<server pid>-<n>`, directly in Alcove's subtree, and those are swept too.
    /// The ones named after this server's own pid are stale as well (a server that had
    /// the pid before): none are this server's yet, and reusing one could put a new
    /// environment into a frozen cgroup.
    fn sweep_stale(&self) {
        let own = std::process::id();
        let gone = |pid: u32| pid == own || !Path::new(&format!("/proc/{pid}")).exists();
        for name in child_names(&self.subtrees()) {
            let Some(owner) = stale_owner(&name) else { continue };
            if !gone(owner.pid()) {
                continue;
            }
            let dirs: Vec<PathBuf> = self.subtrees().iter().map(|subtree| subtree.join(&name)).collect();
            match owner {
                Owner::Server(_) => self.remove_tree(&dirs),
                Owner::Environment(_) => self.thaw_kill_and_remove(&dirs),
            }
        }
    }

    /// Removes the cgroup whose directories are `parents` (one per hierarchy) with every
    /// child, killing what is in them. Goes over it again while a child is being created
    /// concurrently; the parent, once removed, takes none.
    fn remove_tree(&self, parents: &[PathBuf]) {
        let parents: Vec<&Path> = parents.iter().map(PathBuf::as_path).collect();
        for _ in 0..CLOSE_PASSES {
            for name in child_names(&parents) {
                let dirs: Vec<PathBuf> = parents.iter().map(|parent| parent.join(&name)).collect();
                self.thaw_kill_and_remove(&dirs);
            }
            for parent in &parents {
                let _ = fs::remove_dir(parent);
            }
            if parents.iter().all(|parent| !parent.exists()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn thaw_kill_and_remove(&self, dirs: &[PathBuf]) {
        for dir in dirs {
            let _ = fs::write(dir.join(self.freezer_file()), self.freezer_value(false));
        }
        kill_and_remove(dirs);
    }
}

/// Who a directory in Alcove's subtree belonged to, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// `server-<pid>`: a server's own cgroup, with its environments' inside.
    Server(u32),
    /// `<pid>-<n>`: an environment's cgroup, directly in Alcove's subtree (servers before
    /// the per-server cgroup).
    Environment(u32),
}

impl Owner {
    fn pid(self) -> u32 {
        match self {
            Owner::Server(pid) | Owner::Environment(pid) => pid,
        }
    }
}

fn stale_owner(name: &OsString) -> Option<Owner> {
    let name = name.to_str()?;
    if let Some(pid) = name.strip_prefix(SERVER_CGROUP_PREFIX) {
        return pid.parse().ok().map(Owner::Server);
    }
    let (pid, n) = name.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok().map(Owner::Environment)
}

/// The names of the child cgroups of `parents` (the directories of one cgroup), each once.
fn child_names(parents: &[&Path]) -> Vec<OsString> {
    let mut names: Vec<OsString> = Vec::new();
    for parent in parents {
        let Ok(entries) = fs::read_dir(parent) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if entry.file_type().is_ok_and(|t| t.is_dir()) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Sends SIGKILL to every process in the cgroup directory `dir` but `spared`; says
/// whether it found any.
fn kill_members(dir: &Path, spared: Option<u32>) -> bool {
    let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) else { return false };
    let mut found = false;
    for pid in procs.lines().filter_map(|p| p.trim().parse::<u32>().ok()).filter(|pid| Some(*pid) != spared) {
        found = true;
        let _ =
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
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
        let dirs: Vec<PathBuf> = match &version.hierarchy {
            Hierarchy::V2 { root } => vec![root.join(name)],
            Hierarchy::V1 { memory, pids, cpu, freezer } => {
                [memory, pids, cpu, freezer].iter().map(|d| d.join(name)).collect()
            }
        };
        // A fresh directory, never one left behind (it could be frozen).
        let created = dirs.iter().try_for_each(fs::create_dir).and_then(|()| {
            let cgroup = Cgroup::new(version, dirs.clone())?;
            write(&cgroup.pids_dir().join("pids.max"), &version.environment_tasks.to_string())?;
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
        let (freezer_dir, peak_file) = match version.hierarchy {
            Hierarchy::V2 { .. } => (&dirs[0], "memory.peak"),
            Hierarchy::V1 { .. } => (&dirs[3], "memory.max_usage_in_bytes"),
        };
        let open = |path: PathBuf, write: bool| {
            fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        let freezer = open(freezer_dir.join(version.hierarchy.freezer_file()), true)?;
        let peak_memory = open(dirs[0].join(peak_file), false).ok();
        Ok(Cgroup { version: version.clone(), dirs, procs, freezer, peak_memory })
    }

    /// Sets the memory limit (the function's MemorySize, no swap; on cgroup v1 the same
    /// again for TCP socket buffers, which v2 counts as memory) and the CPU share
    /// proportional to it. Call before the function runs: v1 counts only the sockets
    /// created once its TCP limit is set.
    pub fn limit(&self, memory_mb: u32) -> io::Result<()> {
        let memory = u64::from(memory_mb) * 1024 * 1024;
        // A share, not a cap: under contention CPU divides in proportion to memory, as
        // Lambda's does; an idle machine lends its spare cycles to whoever runs.
        match self.version.hierarchy {
            Hierarchy::V2 { .. } => {
                let weight = (100 * u64::from(memory_mb) / MB_PER_VCPU).clamp(1, 10_000);
                write(&self.dirs[0].join("memory.max"), &memory.to_string())?;
                let _ = write(&self.dirs[0].join("memory.swap.max"), "0");
                write(&self.dirs[0].join("cpu.weight"), &weight.to_string())
            }
            Hierarchy::V1 { .. } => {
                let shares = (1024 * u64::from(memory_mb) / MB_PER_VCPU).max(2);
                write(&self.dirs[0].join("memory.limit_in_bytes"), &memory.to_string())?;
                write(&self.dirs[0].join("memory.kmem.tcp.limit_in_bytes"), &memory.to_string())?;
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
        match self.version.hierarchy {
            Hierarchy::V2 { .. } => &self.dirs[0],
            Hierarchy::V1 { .. } => &self.dirs[1],
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
        self.freezer.write_all_at(self.version.hierarchy.freezer_value(frozen), 0)
    }

    /// Whether the kernel's OOM killer has killed a process of this environment.
    pub fn oom_killed(&self) -> bool {
        let file = match self.version.hierarchy {
            Hierarchy::V2 { .. } => "memory.events",
            Hierarchy::V1 { .. } => "memory.oom_control",
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
        match self.version.hierarchy {
            Hierarchy::V2 { .. } => self.memory_dir().join("memory.current"),
            Hierarchy::V1 { .. } => self.memory_dir().join("memory.usage_in_bytes"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_known_by_their_names() {
        let owner = |name: &str| stale_owner(&OsString::from(name));
        assert_eq!(owner("server-4242"), Some(Owner::Server(4242)));
        assert_eq!(owner("4242-17"), Some(Owner::Environment(4242)));
        for foreign in
            ["server-", "server-x", "4242", "4242-", "4242-x", "x-1", "cgroup.procs", "system.slice"]
        {
            assert_eq!(owner(foreign), None, "{foreign}");
        }
    }
}
