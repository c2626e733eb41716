//! What the environments of one server may use *together*: the limits of the server's own
//! cgroup, the parent of every environment's (see `cgroup`).
//!
//! Each environment is limited on its own (1,024 processes, its `MemorySize`), but those
//! limits times `--max-environments` can exceed the host: 32 environments of 1,024
//! processes fill a pid space of 32,768, after which nothing on the host (its shell, its
//! daemons, the server itself) can fork, and 128 environments of 10 GB are more memory
//! than most hosts have. So the parent is given the lesser of what the environments can
//! legitimately need and the host's capacity less a reserve kept for the host:
//!
//! - **processes** (tasks: processes and threads):
//!   `min((max_environments + ready slots) × 1,024, T − max(4,096, T / 4))`, where `T` is
//!   the host's task limit, the lesser of `kernel.pid_max` and `kernel.threads-max`. The
//!   ready slots are the sandboxes the spawner keeps started ahead of need. Each
//!   environment (and ready slot) gets an equal share of it, at most Lambda's 1,024:
//!   `min(1,024, processes / (max_environments + ready slots))`. The shares add up to no
//!   more than the whole, so one tenant starting all the tasks it may never leaves
//!   another's runtime unable to start a thread (awslambdaric starts one per invoke);
//!   on most hosts the share is the full 1,024.
//! - **memory**: `min(max_environments × 10,240 MB, M − max(1 GiB, M / 10))`, where `M`
//!   is the host's `MemTotal` and 10,240 MB is the largest `MemorySize`. Rounded down to
//!   a whole page.
//! - **TCP buffers** (cgroup v1 only, where socket buffers are counted apart from memory;
//!   v2 charges them to memory): `min(memory, P / 2)`, where `P` is the host's TCP
//!   pressure threshold (the middle value of `net.ipv4.tcp_mem`), past which the kernel
//!   throttles every TCP socket on the host. The environments together can then never
//!   push the host's TCP stack into pressure by themselves.
//!
//! Every limit is at least what one environment of the smallest kind needs (1,024 tasks,
//! 128 MB), so a host too small for the reserve still runs one; an environment's share
//! of tasks is at least 64, enough for any runtime.

use std::fs;
use std::io;

use crate::cgroup::PIDS_MAX;

/// The largest `MemorySize` a function may have, in MB.
const LARGEST_MEMORY_MB: u64 = 10_240;
/// The smallest `MemorySize`, in MB: the memory limit never goes below it.
const SMALLEST_MEMORY_MB: u64 = 128;
/// Tasks always left to the host: at least this many, and at least a quarter of them.
const HOST_TASKS_RESERVE_MIN: u64 = 4_096;
const HOST_TASKS_RESERVE_DIVISOR: u64 = 4;
/// The fewest tasks an environment is given, however small the host.
const ENVIRONMENT_TASKS_MIN: u64 = 64;
/// Memory always left to the host and the server: at least 1 GiB, and at least a tenth.
const HOST_MEMORY_RESERVE_MIN: u64 = 1 << 30;
const HOST_MEMORY_RESERVE_DIVISOR: u64 = 10;

const MB: u64 = 1024 * 1024;

/// What the host has, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostCapacity {
    /// Tasks the kernel will create at most: min(`kernel.pid_max`, `kernel.threads-max`).
    pub tasks: u64,
    /// `MemTotal`, in bytes.
    pub memory_bytes: u64,
    /// The TCP stack's pressure threshold (`net.ipv4.tcp_mem`'s middle value), in bytes;
    /// absent where the kernel does not say.
    pub tcp_pressure_bytes: Option<u64>,
    pub page_bytes: u64,
}

impl HostCapacity {
    /// Reads the host's limits from `/proc`.
    pub fn read() -> io::Result<HostCapacity> {
        let number = |path: &str| -> io::Result<u64> {
            let text = fs::read_to_string(path)?;
            text.trim().parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{path}: not a number: {text:?}"))
            })
        };
        let tasks = number("/proc/sys/kernel/pid_max")?.min(number("/proc/sys/kernel/threads-max")?);
        let meminfo = fs::read_to_string("/proc/meminfo")?;
        let memory_bytes = mem_total_bytes(&meminfo)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/meminfo has no MemTotal"))?;
        let page_bytes = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|size| u64::try_from(size).ok())
            .unwrap_or(4096);
        let tcp_pressure_bytes = fs::read_to_string("/proc/sys/net/ipv4/tcp_mem")
            .ok()
            .and_then(|text| tcp_pressure_pages(&text))
            .map(|pages| pages.saturating_mul(page_bytes));
        Ok(HostCapacity { tasks, memory_bytes, tcp_pressure_bytes, page_bytes })
    }
}

/// `MemTotal` from the text of `/proc/meminfo`, in bytes.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find_map(|line| line.strip_prefix("MemTotal:"))?;
    let kilobytes: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kilobytes * 1024)
}

/// The middle of `net.ipv4.tcp_mem`'s three values (low, pressure, high), in pages.
fn tcp_pressure_pages(tcp_mem: &str) -> Option<u64> {
    tcp_mem.split_whitespace().nth(1)?.parse().ok()
}

/// The limits of a server's own cgroup (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AggregateLimits {
    pub tasks: u64,
    /// Each environment's own process limit: its share of `tasks`.
    pub environment_tasks: u64,
    pub memory_bytes: u64,
    /// Applied on cgroup v1 only.
    pub tcp_bytes: u64,
}

impl AggregateLimits {
    /// The limits for a server running at most `max_environments` environments and
    /// keeping `ready_slots` sandboxes started ahead, on `host`.
    pub fn derive(max_environments: u64, ready_slots: u64, host: &HostCapacity) -> AggregateLimits {
        let sandboxes = max_environments.saturating_add(ready_slots).max(1);
        let needed_tasks = sandboxes.saturating_mul(u64::from(PIDS_MAX));
        let host_tasks =
            host.tasks.saturating_sub(HOST_TASKS_RESERVE_MIN.max(host.tasks / HOST_TASKS_RESERVE_DIVISOR));
        let tasks = needed_tasks.min(host_tasks).max(u64::from(PIDS_MAX));
        let environment_tasks = (tasks / sandboxes).clamp(ENVIRONMENT_TASKS_MIN, u64::from(PIDS_MAX));

        let needed_memory = max_environments.saturating_mul(LARGEST_MEMORY_MB * MB);
        let host_memory = host
            .memory_bytes
            .saturating_sub(HOST_MEMORY_RESERVE_MIN.max(host.memory_bytes / HOST_MEMORY_RESERVE_DIVISOR));
        let memory_bytes =
            whole_pages(needed_memory.min(host_memory).max(SMALLEST_MEMORY_MB * MB), host.page_bytes);

        let tcp_share = host.tcp_pressure_bytes.map_or(memory_bytes, |pressure| pressure / 2);
        let tcp_bytes =
            whole_pages(memory_bytes.min(tcp_share).max(SMALLEST_MEMORY_MB * MB), host.page_bytes);
        AggregateLimits { tasks, environment_tasks, memory_bytes, tcp_bytes }
    }
}

fn whole_pages(bytes: u64, page_bytes: u64) -> u64 {
    bytes - bytes % page_bytes.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    /// The machines this was written on: pid_max 32,768, 23.5 GiB, tcp_mem 383,866 pages.
    fn small_host() -> HostCapacity {
        HostCapacity {
            tasks: 32_768,
            memory_bytes: 24_683_656 * 1024,
            tcp_pressure_bytes: Some(383_866 * 4096),
            page_bytes: 4096,
        }
    }

    #[test]
    fn few_environments_get_what_they_can_need() {
        let limits = AggregateLimits::derive(4, 6, &small_host());
        assert_eq!(limits.tasks, 10 * 1024);
        assert_eq!(limits.environment_tasks, 1024);
        // 4 × 10 GiB is more than the host has: the host's share binds.
        let host_share = 24_683_656 * 1024 - 24_683_656 * 1024 / 10;
        assert_eq!(limits.memory_bytes, host_share - host_share % 4096);
        assert_eq!(limits.tcp_bytes, 383_866 * 4096 / 2);
    }

    #[test]
    fn many_environments_leave_the_host_its_reserve() {
        let limits = AggregateLimits::derive(128, 6, &small_host());
        // A quarter of 32,768 is 8,192, more than 4,096.
        assert_eq!(limits.tasks, 32_768 - 8_192);
        // Fewer than 32 environments of 1,024 tasks can now fill the host's pid space.
        assert!(limits.tasks < 32 * 1024);
        // Each has an equal share, and all the shares fit.
        assert_eq!(limits.environment_tasks, 24_576 / 134);
        assert!(limits.environment_tasks * 134 <= limits.tasks);
    }

    #[test]
    fn the_task_reserve_is_at_least_4096() {
        let host = HostCapacity { tasks: 12_000, ..small_host() };
        assert_eq!(AggregateLimits::derive(128, 6, &host).tasks, 12_000 - 4_096);
    }

    #[test]
    fn a_large_host_is_bounded_by_the_environments() {
        let host = HostCapacity {
            tasks: 4_194_304,
            memory_bytes: 512 * GIB,
            tcp_pressure_bytes: Some(64 * GIB),
            page_bytes: 4096,
        };
        let limits = AggregateLimits::derive(16, 6, &host);
        assert_eq!(limits.tasks, 22 * 1024);
        assert_eq!(limits.memory_bytes, 16 * 10_240 * MB);
        // Half the host's TCP pressure threshold is less than that.
        assert_eq!(limits.tcp_bytes, 32 * GIB);
    }

    #[test]
    fn the_memory_reserve_is_at_least_one_gib() {
        let host = HostCapacity { memory_bytes: 4 * GIB, tcp_pressure_bytes: None, ..small_host() };
        let limits = AggregateLimits::derive(8, 6, &host);
        assert_eq!(limits.memory_bytes, 3 * GIB);
        // Without tcp_mem, TCP buffers get the memory limit.
        assert_eq!(limits.tcp_bytes, 3 * GIB);
    }

    #[test]
    fn a_tiny_host_still_runs_one_environment() {
        let host = HostCapacity {
            tasks: 4_096,
            memory_bytes: GIB / 2,
            tcp_pressure_bytes: Some(4096),
            page_bytes: 4096,
        };
        let limits = AggregateLimits::derive(1, 6, &host);
        assert_eq!(
            limits,
            AggregateLimits {
                tasks: 1024,
                environment_tasks: 1024 / 7,
                memory_bytes: 128 * MB,
                tcp_bytes: 128 * MB
            }
        );
        let crowded = AggregateLimits::derive(1000, 6, &host);
        assert_eq!(crowded.environment_tasks, 64);
    }

    #[test]
    fn limits_are_whole_pages() {
        let host = HostCapacity { memory_bytes: 10 * GIB + 12_345, page_bytes: 65_536, ..small_host() };
        let limits = AggregateLimits::derive(2, 6, &host);
        assert_eq!(limits.memory_bytes % 65_536, 0);
        assert_eq!(limits.tcp_bytes % 65_536, 0);
    }

    #[test]
    fn host_files_are_parsed() {
        assert_eq!(mem_total_bytes("MemTotal:       24683656 kB\nMemFree: 1 kB\n"), Some(24_683_656 * 1024));
        assert_eq!(mem_total_bytes("MemFree: 1 kB\n"), None);
        assert_eq!(tcp_pressure_pages("287898\t383866\t575796\n"), Some(383_866));
        assert_eq!(tcp_pressure_pages(""), None);
    }

    #[test]
    fn this_host_can_be_read() {
        let host = HostCapacity::read().expect("reading /proc");
        assert!(host.tasks > 0 && host.memory_bytes > 0 && host.page_bytes >= 4096);
    }
}
