//! Starting a sandboxed runtime: the bwrap command line, the per-environment uid, the
//! cgroup and seccomp hand-over, and the spawner thread that creates network namespaces.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{mpsc, Arc, Mutex};

use tokio::process::{Child, Command};

use crate::cgroup::{Cgroup, CgroupVersion};
use crate::staging::Staging;
use crate::{netns, seccomp};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The host cannot sandbox (no bwrap, no user namespaces, no cgroups...).
    #[error("this host cannot sandbox execution environments: {0}")]
    Unsupported(String),
    #[error("starting the sandbox failed: {0}")]
    Launch(String),
}

/// First host uid (and gid) given to environments; each live environment has its own.
const UID_BASE: u32 = 3_000_000;
/// File descriptors the seccomp programs are handed to bwrap on.
const SECCOMP_FDS: [i32; 2] = [10, 11];
/// Host configuration files a runtime may need, bound read-only when present.
const ETC_FILES: &[&str] = &[
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
    "/etc/hosts", "/etc/resolv.conf", "/etc/ssl", "/etc/ca-certificates", "/etc/alternatives",
    "/etc/mime.types",
];

/// What to run in a sandbox. Paths are as the runtime sees them inside.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// Directory name of the code package in the code store (its SHA-256).
    pub code: String,
    pub memory_mb: u32,
    pub tmp_mb: u32,
}

/// A started sandbox: the bwrap process (leader of its process group), the Runtime API
/// listener bound inside its network namespace, and what confines it.
pub struct Launched {
    pub child: Child,
    pub runtime_api: TcpListener,
    pub confinement: Confinement,
}

/// The cgroup and host uid of one sandbox, held for its life.
pub struct Confinement {
    pub cgroup: Cgroup,
    uid: UidLease,
}

impl Confinement {
    /// The host uid the sandbox runs as.
    pub fn host_uid(&self) -> u32 {
        self.uid.uid
    }
}

struct UidPool {
    free: BTreeSet<u32>,
    next: u32,
}

/// A host uid in use by one environment; returned to the pool on drop.
struct UidLease {
    uid: u32,
    pool: Arc<Mutex<UidPool>>,
}

impl Drop for UidLease {
    fn drop(&mut self) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).free.insert(self.uid);
    }
}

struct SpawnRequest {
    command: Command,
    reply: tokio::sync::oneshot::Sender<std::io::Result<(Child, TcpListener)>>,
}

pub struct Sandbox {
    bwrap: PathBuf,
    staging: Staging,
    cgroups: CgroupVersion,
    seccomp: Vec<Vec<u8>>,
    uids: Arc<Mutex<UidPool>>,
    spawner: Mutex<mpsc::Sender<SpawnRequest>>,
}

impl Sandbox {
    /// Checks the host can sandbox and starts the spawner thread. Call from within the
    /// tokio runtime, after [`Staging::prepare`].
    pub fn new(staging: Staging) -> Result<Sandbox, SandboxError> {
        let bwrap = which("bwrap").ok_or_else(|| SandboxError::Unsupported("bubblewrap (bwrap) is not installed".into()))?;
        let cgroups = CgroupVersion::detect()
            .ok_or_else(|| SandboxError::Unsupported("no usable cgroup hierarchy with memory, pids and cpu controllers".into()))?;
        let seccomp = seccomp::programs()?;
        let probe = std::process::Command::new(&bwrap)
            .args(["--unshare-user", "--uid", "0", "--unshare-pid", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--", "/bin/true"])
            .uid(UID_BASE)
            .gid(UID_BASE)
            .output()
            .map_err(|e| SandboxError::Unsupported(format!("cannot run bwrap: {e}")))?;
        if !probe.status.success() {
            return Err(SandboxError::Unsupported(format!(
                "bwrap cannot create user namespaces as an unprivileged user: {}",
                String::from_utf8_lossy(&probe.stderr).trim()
            )));
        }
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("alcove-spawner".into())
            .spawn(move || {
                let _runtime = runtime.enter();
                for request in rx {
                    let result = netns::enter_new_namespace()
                        .and_then(|_| netns::bind_runtime_api())
                        .and_then(|listener| {
                            let mut command = request.command;
                            command.spawn().map(|child| (child, listener))
                        });
                    let _ = request.reply.send(result);
                }
            })
            .map_err(|e| SandboxError::Unsupported(format!("spawner thread: {e}")))?;
        Ok(Sandbox {
            bwrap,
            staging,
            cgroups,
            seccomp,
            uids: Arc::new(Mutex::new(UidPool { free: BTreeSet::new(), next: UID_BASE + 1 })),
            spawner: Mutex::new(tx),
        })
    }

    fn lease_uid(&self) -> UidLease {
        let mut pool = self.uids.lock().unwrap_or_else(|p| p.into_inner());
        let uid = match pool.free.pop_first() {
            Some(uid) => uid,
            None => {
                pool.next += 1;
                pool.next - 1
            }
        };
        UidLease { uid, pool: Arc::clone(&self.uids) }
    }

    fn bwrap_args(&self, spec: &SandboxSpec) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| args.extend(items.iter().map(|i| i.as_ref().to_os_string()));
        push(&[&"--unshare-user", &"--uid", &"0", &"--gid", &"0", &"--disable-userns"]);
        push(&[&"--unshare-pid", &"--unshare-ipc", &"--unshare-uts", &"--unshare-cgroup-try", &"--hostname", &"alcove"]);
        push(&[&"--die-with-parent", &"--new-session"]);
        push(&[&"--ro-bind", &"/usr", &"/usr"]);
        for (link, target) in [("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/sbin")] {
            push(&[&"--symlink", &target, &link]);
        }
        for file in ETC_FILES {
            push(&[&"--ro-bind-try", file, file]);
        }
        push(&[&"--proc", &"/proc", &"--dev", &"/dev"]);
        let tmp_bytes = u64::from(spec.tmp_mb) * 1024 * 1024;
        push(&[&"--size", &tmp_bytes.to_string(), &"--tmpfs", &"/tmp"]);
        push(&[&"--ro-bind", &self.staging.code.join(&spec.code), &"/var/task"]);
        for (staged, inside) in &self.staging.runtime_binds {
            push(&[&"--ro-bind", staged, inside]);
        }
        for fd in SECCOMP_FDS {
            push(&[&"--add-seccomp-fd", &fd.to_string()]);
        }
        push(&[&"--chdir", &"/var/task", &"--"]);
        args.push(spec.program.clone().into_os_string());
        args.extend(spec.args.iter().cloned());
        args
    }

    /// Starts `spec` in a new sandbox with `name` naming its cgroup.
    pub async fn launch(&self, name: &str, spec: &SandboxSpec) -> Result<Launched, SandboxError> {
        let launch_error = |what: &str, e: &dyn std::fmt::Display| SandboxError::Launch(format!("{what}: {e}"));
        let uid = self.lease_uid();
        let cgroup = Cgroup::create(&self.cgroups, name, spec.memory_mb, uid.uid).map_err(|e| launch_error("cgroup", &e))?;
        let seccomp_fds: Vec<OwnedFd> = self
            .seccomp
            .iter()
            .map(|program| program_pipe(program))
            .collect::<std::io::Result<_>>()
            .map_err(|e| launch_error("seccomp hand-over", &e))?;
        let mut command = Command::new(&self.bwrap);
        command
            .args(self.bwrap_args(spec))
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .uid(uid.uid)
            .gid(uid.uid)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let procs = cgroup.procs_files().to_vec();
        let sources: Vec<i32> = seccomp_fds.iter().map(AsRawFd::as_raw_fd).collect();
        // SAFETY: the hook runs in the child between fork and exec, where only
        // async-signal-safe calls are allowed: it uses open/write/close/dup2 on memory
        // prepared before the fork (the C strings and descriptor numbers moved into it),
        // and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                for path in &procs {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                    if written != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (source, target) in sources.iter().zip(SECCOMP_FDS) {
                    // dup2 clears close-on-exec on the new descriptor.
                    if libc::dup2(*source, target) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.spawner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(SpawnRequest { command, reply })
            .map_err(|e| launch_error("spawner", &e))?;
        let spawned = answer.await.map_err(|e| launch_error("spawner", &e))?;
        drop(seccomp_fds);
        match spawned {
            Ok((child, runtime_api)) => Ok(Launched { child, runtime_api, confinement: Confinement { cgroup, uid } }),
            Err(e) => {
                cgroup.destroy();
                Err(launch_error("bwrap", &e))
            }
        }
    }
}

/// A pipe whose read end yields `program` (small enough for the pipe buffer).
fn program_pipe(program: &[u8]) -> std::io::Result<OwnedFd> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    std::fs::File::from(write).write_all(program)?;
    Ok(read)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}
