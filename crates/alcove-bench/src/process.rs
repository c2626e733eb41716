//! Processes the harness starts (Alcove, the peers) and what the kernel says about their
//! memory. Every process is started in a process group of its own and stopped through
//! it, so nothing it spawned outlives a benchmark.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// A started process, leader of its own process group.
pub struct Process {
    pub name: String,
    pub pid: u32,
    child: Child,
}

impl Process {
    /// Spawns `command` in a new process group.
    pub fn spawn(name: &str, command: &mut Command) -> anyhow::Result<Process> {
        command.process_group(0).kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("starting {name}"))?;
        let pid = child.id().context("process id")?;
        Ok(Process { name: name.to_owned(), pid, child })
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// SIGTERM to the group, SIGKILL if it lingers past `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let group = Pid::from_raw(self.pid as i32);
        let _ = killpg(group, Signal::SIGTERM);
        if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
            eprintln!("  {} did not stop within {grace:?}; killing it", self.name);
            let _ = killpg(group, Signal::SIGKILL);
            let _ = self.child.wait().await;
        }
        // Anything left in the group (a peer's function processes) goes too.
        let _ = killpg(group, Signal::SIGKILL);
    }
}

/// A free TCP port on loopback (bound, then released for the process to take).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `address` accepts connections.
pub async fn wait_for_port(
    address: SocketAddr,
    timeout: Duration,
    process: &mut Process,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = process.child().try_wait() {
            bail!("{} exited with {status} before listening on {address}", process.name);
        }
        if Instant::now() > deadline {
            bail!("{} did not listen on {address} within {timeout:?}", process.name);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Resident set size of one process, in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kb_field(&status, "VmRSS:")
}

/// Open file descriptors of one process.
pub fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

fn kb_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Every live descendant of `root` (not `root` itself).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The command name is in parentheses and may hold spaces: fields follow the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            found.push(child);
            stack.push(child);
        }
    }
    found
}

/// Proportional set size of a process (its private pages plus its share of shared ones),
/// in bytes: summed over processes it counts shared libraries once.
pub fn pss_bytes(pid: u32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    kb_field(&rollup, "Pss:")
}

/// Memory charged to the cgroups of the environments of the server with pid `server`
/// (named `<server pid>-<n>` in Alcove's subtree), in bytes, and how many there are.
pub fn environment_cgroups_memory(server: u32) -> Option<(u64, usize)> {
    let (root, file) = if Path::new("/sys/fs/cgroup/memory/alcove").is_dir() {
        ("/sys/fs/cgroup/memory/alcove", "memory.usage_in_bytes")
    } else if Path::new("/sys/fs/cgroup/alcove").is_dir() {
        ("/sys/fs/cgroup/alcove", "memory.current")
    } else {
        return None;
    };
    let prefix = format!("{server}-");
    let mut total = 0;
    let mut count = 0;
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path().join(file)) else { continue };
        if let Ok(bytes) = text.trim().parse::<u64>() {
            // Ready slots hold no process and charge (almost) nothing.
            total += bytes;
            count += 1;
        }
    }
    Some((total, count))
}
