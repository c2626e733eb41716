//! The runtime's process as an environment holds it: a plain host child when the server
//! runs without sandbox, or a sandbox's bwrap process. Both are waited for, signalled as a
//! whole and killed if dropped.

use std::io;
use std::process::ExitStatus;

use alcove_sandbox::SandboxProcess;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::Child;

pub(crate) enum RuntimeProcess {
    /// Leader of its own process group, whose id is kept to reach what the leader leaves
    /// behind.
    Host { child: Child, group: Option<u32> },
    /// bwrap: everything it starts dies with it (`--die-with-parent`), and the cgroup
    /// catches whatever does not.
    Sandboxed(SandboxProcess),
}

impl RuntimeProcess {
    pub fn host(child: Child) -> RuntimeProcess {
        let group = child.id();
        RuntimeProcess::Host { child, group }
    }

    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            RuntimeProcess::Host { child, .. } => child.wait().await,
            RuntimeProcess::Sandboxed(process) => process.wait().await,
        }
    }

    /// The process id, until it has been waited for.
    pub fn id(&self) -> Option<u32> {
        match self {
            RuntimeProcess::Host { child, .. } => child.id(),
            RuntimeProcess::Sandboxed(process) => process.id(),
        }
    }

    /// Sends `signal` to the runtime: to its whole process group on the host, to bwrap in
    /// a sandbox.
    pub fn signal(&self, signal: Signal) {
        match self {
            RuntimeProcess::Host { group, .. } => {
                if let Some(group) = group {
                    let _ = killpg(Pid::from_raw(*group as i32), signal);
                }
            }
            RuntimeProcess::Sandboxed(process) => {
                let _ = process.signal(signal);
            }
        }
    }
}
