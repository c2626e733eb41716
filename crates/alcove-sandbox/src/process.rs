//! A sandbox's bwrap process, as the server holds it. The starter forks it on the
//! server's behalf with `CLONE_PARENT`, so it is the server's own child, and hands over a
//! pidfd: waiting and signalling go through the pidfd, never through a pid number that
//! could have been reused.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::sys::check;

pub struct SandboxProcess {
    pid: u32,
    /// `None` only while being dropped.
    pidfd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
}

impl SandboxProcess {
    /// Takes charge of the child `pid` through its pidfd. Call within the tokio runtime.
    pub(crate) fn new(pid: u32, pidfd: OwnedFd) -> io::Result<SandboxProcess> {
        // SAFETY: an OwnedFd keeps its descriptor open and unchanged for as long as the
        // AsyncFd owns it.
        match unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) } {
            Ok(registered) => Ok(SandboxProcess { pid, pidfd: Some(registered), status: None }),
            Err(failed) => {
                // Not left running, nor as a zombie.
                let (pidfd, error) = failed.into_parts();
                let _ = send_signal(&pidfd, Signal::SIGKILL);
                let _ = waitid(Id::PIDFd(pidfd.as_fd()), WaitPidFlag::WEXITED);
                Err(error)
            }
        }
    }

    /// The process id, until the process has been waited for.
    pub fn id(&self) -> Option<u32> {
        self.status.is_none().then_some(self.pid)
    }

    /// Waits for the process to exit and reaps it.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let Some(pidfd) = &self.pidfd else { return Err(io::Error::other("process handle gone")) };
        loop {
            let mut ready = pidfd.readable().await?;
            if let Some(status) = reap(pidfd.get_ref())? {
                self.status = Some(status);
                return Ok(status);
            }
            ready.clear_ready();
        }
    }

    /// Sends `signal` to the process (not to its group), unless it was reaped already.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        match (&self.pidfd, self.status) {
            (Some(pidfd), None) => send_signal(pidfd.get_ref(), signal),
            _ => Ok(()),
        }
    }
}

impl Drop for SandboxProcess {
    /// Kills a process still running and reaps it, in the background if it takes time, so
    /// no zombie is left behind.
    fn drop(&mut self) {
        let Some(pidfd) = self.pidfd.take() else { return };
        if self.status.is_some() {
            return;
        }
        let _ = send_signal(pidfd.get_ref(), Signal::SIGKILL);
        if matches!(reap(pidfd.get_ref()), Ok(Some(_))) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                while let Ok(mut ready) = pidfd.readable().await {
                    if !matches!(reap(pidfd.get_ref()), Ok(None)) {
                        break;
                    }
                    ready.clear_ready();
                }
            });
        }
    }
}

fn send_signal(pidfd: &OwnedFd, signal: Signal) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with a live pidfd, a valid signal number and no siginfo.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    check(sent).map(drop)
}

/// Reaps the process if it has exited.
fn reap(pidfd: &OwnedFd) -> io::Result<Option<ExitStatus>> {
    match waitid(Id::PIDFd(pidfd.as_fd()), WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG)
        .map_err(io::Error::from)?
    {
        WaitStatus::Exited(_, code) => Ok(Some(ExitStatus::from_raw((code & 0xff) << 8))),
        WaitStatus::Signaled(_, signal, core) => {
            Ok(Some(ExitStatus::from_raw(signal as i32 | if core { 0x80 } else { 0 })))
        }
        _ => Ok(None),
    }
}
