//! Starting a sandboxed runtime: the bwrap command line, the cgroup and seccomp
//! hand-over, and the spawner thread that owns network namespaces and keeps slots ready.

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
use crate::egress::Egress;
use crate::slot::{Slot, SlotFactory, UidLease, UID_BASE};
use crate::staging::Staging;
use crate::{netns, seccomp, spawner};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The host cannot sandbox (no bwrap, no user namespaces, no cgroups...).
    #[error("this host cannot sandbox execution environments: {0}")]
    Unsupported(String),
    #[error("starting the sandbox failed: {0}")]
    Launch(String),
}

fn launch_error(what: &str, e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Launch(format!("{what}: {e}"))
}

/// File descriptors the seccomp programs are handed to bwrap on.
const SECCOMP_FDS: [i32; 2] = [10, 11];

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
    /// Outbound network through a user-space stack; without it the environment has
    /// loopback only.
    pub egress: bool,
}

/// A started sandbox: the bwrap process (leader of its process group), the Runtime API
/// listener bound inside its network namespace, and what confines it.
pub struct Launched {
    pub child: Child,
    pub runtime_api: TcpListener,
    pub confinement: Confinement,
}

/// The cgroup, host uid and network stack of one sandbox, held for its life.
pub struct Confinement {
    pub cgroup: Cgroup,
    uid: UidLease,
    _egress: Option<Egress>,
}

impl Confinement {
    /// The host uid the sandbox runs as.
    pub fn host_uid(&self) -> u32 {
        self.uid.uid
    }
}

/// Everything the spawner thread needs to start one sandbox in a slot.
pub(crate) struct StartPlan {
    bwrap: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    memory_mb: u32,
    pub egress: bool,
    seccomp: Arc<Vec<Vec<u8>>>,
}

pub(crate) struct SpawnRequest {
    pub plan: StartPlan,
    pub reply: tokio::sync::oneshot::Sender<Result<Launched, SandboxError>>,
}

pub struct Sandbox {
    bwrap: PathBuf,
    staging: Staging,
    seccomp: Arc<Vec<Vec<u8>>>,
    spawner: Mutex<mpsc::Sender<SpawnRequest>>,
}

impl Sandbox {
    /// Checks the host can sandbox and starts the spawner thread. Call from within the
    /// tokio runtime, after [`Staging::prepare`].
    pub fn new(staging: Staging) -> Result<Sandbox, SandboxError> {
        let bwrap = which("bwrap").ok_or_else(|| SandboxError::Unsupported("bubblewrap (bwrap) is not installed".into()))?;
        let cgroups = CgroupVersion::detect()
            .ok_or_else(|| SandboxError::Unsupported("no usable cgroup hierarchy with memory, pids and cpu controllers".into()))?;
        let seccomp = Arc::new(seccomp::programs()?);
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
        let slirp4netns = which("slirp4netns");
        if slirp4netns.is_none() {
            tracing::warn!("slirp4netns is not installed: functions asking for egress cannot start");
        }
        let factory = SlotFactory::new(cgroups, slirp4netns).map_err(|e| SandboxError::Unsupported(format!("network namespace: {e}")))?;
        let spawner = spawner::start_thread(factory, tokio::runtime::Handle::current())
            .map_err(|e| SandboxError::Unsupported(format!("spawner thread: {e}")))?;
        Ok(Sandbox { bwrap, staging, seccomp, spawner: Mutex::new(spawner) })
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
        push(&[&"--ro-bind", &self.staging.etc, &"/etc"]);
        if spec.egress {
            push(&[&"--ro-bind", &self.staging.egress_resolv_conf, &"/etc/resolv.conf"]);
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

    /// Starts `spec` in a new sandbox.
    pub async fn launch(&self, spec: &SandboxSpec) -> Result<Launched, SandboxError> {
        let plan = StartPlan {
            bwrap: self.bwrap.clone(),
            args: self.bwrap_args(spec),
            env: spec.env.clone(),
            memory_mb: spec.memory_mb,
            egress: spec.egress,
            seccomp: Arc::clone(&self.seccomp),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.spawner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(SpawnRequest { plan, reply })
            .map_err(|e| launch_error("spawner", e))?;
        answer.await.map_err(|e| launch_error("spawner", e))?
    }
}

/// Starts `plan` in `slot` (one with egress if the plan has it). Runs on the spawner
/// thread, which enters the slot's network namespace so that bwrap, and the runtime after
/// it, are born inside it.
pub(crate) fn start(plan: StartPlan, slot: Slot) -> Result<Launched, SandboxError> {
    let Slot { uid, cgroup, netns: namespace, runtime_api, egress } = slot;
    let started = confine_and_spawn(&plan, &uid, &cgroup, &namespace);
    match started {
        Ok(child) => Ok(Launched { child, runtime_api, confinement: Confinement { cgroup, uid, _egress: egress } }),
        Err(e) => {
            cgroup.destroy();
            Err(e)
        }
    }
}

fn confine_and_spawn(
    plan: &StartPlan,
    uid: &UidLease,
    cgroup: &Cgroup,
    namespace: &OwnedFd,
) -> Result<Child, SandboxError> {
    cgroup.limit(plan.memory_mb).map_err(|e| launch_error("cgroup", e))?;
    netns::enter(namespace).map_err(|e| launch_error("network namespace", e))?;
    let seccomp_fds: Vec<OwnedFd> = plan
        .seccomp
        .iter()
        .map(|program| program_pipe(program))
        .collect::<std::io::Result<_>>()
        .map_err(|e| launch_error("seccomp hand-over", e))?;
    let mut command = Command::new(&plan.bwrap);
    command
        .args(&plan.args)
        .env_clear()
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
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
    command.spawn().map_err(|e| launch_error("bwrap", e))
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
