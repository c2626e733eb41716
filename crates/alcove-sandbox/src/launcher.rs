//! Starting a sandboxed runtime: the command line of a waiting sandbox (bwrap with the
//! activator inside), and activating one for a function.

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::activation::{self, Activation};
use crate::cgroup::{Cgroup, CgroupVersion};
use crate::egress::Egress;
use crate::netns::Listeners;
use crate::process::SandboxProcess;
use crate::slot::{Slot, UidLease, UID_BASE};
use crate::spawner::{self, Spawner};
use crate::staging::Staging;
use crate::starter::{Started, WaitingPlan};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The host cannot sandbox (no bwrap, no user namespaces, no cgroups...).
    #[error("this host cannot sandbox execution environments: {0}")]
    Unsupported(String),
    /// A step of starting one sandbox failed; `source` says why.
    #[error("starting the sandbox failed: {step}")]
    Launch {
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The spawner thread, which prepares every sandbox, has ended.
    #[error("starting the sandbox failed: the spawner thread is gone")]
    SpawnerGone,
}

fn launch_error(step: &'static str) -> impl FnOnce(std::io::Error) -> SandboxError {
    move |source| SandboxError::Launch { step, source }
}

/// Waiting sandboxes a launch tries before it gives up (one that died while it waited
/// is destroyed and the next one tried).
const ACTIVATION_ATTEMPTS: usize = 3;

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

/// A started sandbox: the bwrap process (leader of its process group), the read ends of
/// its standard output and error, the Runtime API and AWS API listeners bound inside its
/// network namespace, and what confines it.
pub struct Launched {
    pub process: SandboxProcess,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub runtime_api: TcpListener,
    pub aws_api: TcpListener,
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

    /// Kills whatever is left of the sandbox and removes its cgroup, then gives back its
    /// uid (only then: the uid is handed to the next sandbox) and network stack. Blocks
    /// for up to half a second: call off the async runtime.
    pub fn release(self) {
        let Confinement { cgroup, uid, _egress } = self;
        cgroup.destroy();
        drop(_egress);
        drop(uid);
    }
}

pub struct Sandbox {
    spawner: Spawner,
    cgroups: CgroupVersion,
    /// The seccomp filters each activator installs, compiled once.
    seccomp: Vec<Vec<u8>>,
}

impl Sandbox {
    /// Checks the host can sandbox and starts the spawner thread. Call from within the
    /// tokio runtime, after [`Staging::prepare`].
    pub fn new(staging: Staging, max_environments: u64) -> Result<Sandbox, SandboxError> {
        let bwrap = which("bwrap")
            .ok_or_else(|| SandboxError::Unsupported("bubblewrap (bwrap) is not installed".into()))?;
        let cgroups =
            CgroupVersion::detect(max_environments).map_err(|e| SandboxError::Unsupported(e.to_string()))?;
        let seccomp = crate::seccomp::programs()?;
        let probe = std::process::Command::new(&bwrap)
            .args([
                "--unshare-user",
                "--uid",
                "0",
                "--unshare-pid",
                "--ro-bind",
                "/usr",
                "/usr",
                "--symlink",
                "usr/bin",
                "/bin",
                "--symlink",
                "usr/lib",
                "/lib",
                "--symlink",
                "usr/lib64",
                "/lib64",
                "--",
                "/bin/true",
            ])
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
        let plan =
            WaitingPlan { plain: waiting_args(&staging, false), egress: waiting_args(&staging, true), bwrap };
        let spawner = spawner::start_thread(
            cgroups.clone(),
            slirp4netns,
            staging.root.clone(),
            plan,
            tokio::runtime::Handle::current(),
        )
        .map_err(|e| SandboxError::Unsupported(format!("spawner thread: {e}")))?;
        Ok(Sandbox { spawner, cgroups, seccomp })
    }

    /// Kills every sandbox of this server and removes its cgroups, ready ones included.
    /// For when the server stops; blocks: call off the async runtime.
    pub fn shutdown(&self) {
        self.cgroups.close();
    }

    /// Starts `spec` in a new sandbox: activates a waiting one (started ahead by the
    /// spawner thread, or now if none is ready).
    pub async fn launch(&self, spec: &SandboxSpec) -> Result<Launched, SandboxError> {
        let activation = Activation {
            code: spec.code.clone(),
            tmp_mb: spec.tmp_mb,
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            seccomp: self.seccomp.clone(),
        };
        let mut attempt = 1;
        loop {
            let slot = self.spawner.take(spec.egress).await?;
            match activate(slot, spec.memory_mb, &activation) {
                Ok(launched) => return Ok(launched),
                Err(e) if attempt < ACTIVATION_ATTEMPTS => {
                    let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
                    tracing::warn!(error = %e, %cause, "a waiting sandbox could not be activated; trying another");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Gives `slot`'s waiting sandbox its function: memory limit, then the activation.
fn activate(slot: Slot, memory_mb: u32, activation: &Activation) -> Result<Launched, SandboxError> {
    let Slot { uid, cgroup, listeners, egress, started } = slot;
    let Listeners { runtime_api, aws_api } = listeners;
    let Started { process, stdout, stderr, activation: pipe } = started;
    let sent = cgroup
        .limit(memory_mb)
        .map_err(launch_error("setting the cgroup's limits"))
        .and_then(|()| activation::send(pipe, activation).map_err(launch_error("sending the activation")));
    let confinement = Confinement { cgroup, uid, _egress: egress };
    match sent {
        Ok(()) => Ok(Launched { process, stdout, stderr, runtime_api, aws_api, confinement }),
        Err(e) => {
            drop(process);
            tokio::task::spawn_blocking(move || confinement.release());
            Err(e)
        }
    }
}

/// bwrap's arguments for a waiting sandbox: everything but the function.
fn waiting_args(staging: &Staging, egress: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push =
        |items: &[&dyn AsRef<std::ffi::OsStr>]| args.extend(items.iter().map(|i| i.as_ref().to_os_string()));
    // Not `--disable-userns`: it would leave the activator outside the user namespace that
    // owns the mounts; the activator sets the same limit once it has mounted.
    push(&[&"--unshare-user", &"--uid", &"0", &"--gid", &"0"]);
    push(&[
        &"--unshare-pid",
        &"--unshare-ipc",
        &"--unshare-uts",
        &"--unshare-cgroup-try",
        &"--hostname",
        &"alcove",
    ]);
    // The activator is pid 1 and installs the seccomp filter before it forks the runtime:
    // bwrap's own init would be an unfiltered process of the function's uid.
    push(&[&"--as-pid-1"]);
    push(&[&"--die-with-parent", &"--new-session"]);
    push(&[&"--ro-bind", &"/usr", &"/usr"]);
    for (link, target) in
        [("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/sbin")]
    {
        push(&[&"--symlink", &target, &link]);
    }
    push(&[&"--ro-bind", &staging.etc, &"/etc"]);
    if egress {
        push(&[&"--ro-bind", &staging.egress_resolv_conf, &"/etc/resolv.conf"]);
    }
    push(&[&"--proc", &"/proc", &"--dev", &"/dev"]);
    // Mounted by the activator: /tmp with the function's size, /var/task with its code.
    push(&[&"--dir", &"/tmp", &"--dir", &"/var/task"]);
    for (staged, inside) in &staging.runtime_binds {
        push(&[&"--ro-bind", staged, inside]);
    }
    push(&[&"--ro-bind", &staging.code, &activation::CODE_STORE_PATH]);
    push(&[&"--ro-bind", &staging.activator, &activation::ACTIVATOR_PATH]);
    // Nothing is written to the root but through the mounts the activator adds (/tmp,
    // /dev/shm), which have their sizes: as in Lambda, the rest is read-only.
    push(&[&"--remount-ro", &"/"]);
    // Only the activator holds them, only within the sandbox's own user namespace (to
    // mount, to set the user namespace limit, and to empty its bounding set), and it
    // drops every capability before the runtime starts.
    for cap in ["CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_SETPCAP"] {
        push(&[&"--cap-add", &cap]);
    }
    push(&[&"--chdir", &"/", &"--"]);
    args.extend(activation::command());
    args
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}
