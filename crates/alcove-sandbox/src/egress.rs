//! Outbound network for environments whose function has it: `slirp4netns`, a user-space
//! TCP/IP stack, attached to the environment's network namespace through a tap device.
//!
//! Why user space: the environment gets a private address (10.0.2.100, gateway 10.0.2.2,
//! DNS forwarder 10.0.2.3) and its connections leave as ordinary sockets of the
//! slirp4netns process on the host, so no bridge, veth, iptables or routing on the host is
//! touched, and nothing can reach into the environment. `--disable-host-loopback` keeps
//! the host's loopback (where the control plane and every Runtime API listen) out of
//! reach; slirp4netns confines itself with its own mount namespace and seccomp filter.
//!
//! One slirp4netns per environment with egress; it exits when the environment is
//! dropped (its exit descriptor closes) and is killed if it does not.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Descriptors slirp4netns is handed: it writes to the first once the network is up and
/// exits when the second reaches end of file.
const READY_FD: i32 = 3;
const EXIT_FD: i32 = 4;
/// How long the network may take to come up.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// A running slirp4netns serving one environment's namespace.
pub struct Egress {
    child: Child,
    /// Closing it (on drop) tells slirp4netns to exit.
    _exit: OwnedFd,
}

impl Egress {
    /// Attaches a user-space network stack to the namespace `namespace` refers to (a
    /// descriptor of this process) and waits until it is configured.
    pub fn attach(slirp4netns: &Path, namespace: &OwnedFd) -> io::Result<Egress> {
        let (ready_read, ready_write) = pipe()?;
        let (exit_read, exit_write) = pipe()?;
        let namespace_path = format!("/proc/{}/fd/{}", std::process::id(), namespace.as_raw_fd());
        let mut command = Command::new(slirp4netns);
        command
            .args(["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp"])
            .arg(format!("--ready-fd={READY_FD}"))
            .arg(format!("--exit-fd={EXIT_FD}"))
            .args(["--netns-type=path", &namespace_path, "tap0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let handed = [(ready_write.as_raw_fd(), READY_FD), (exit_read.as_raw_fd(), EXIT_FD)];
        // SAFETY: runs between fork and exec; dup2 is async-signal-safe and the descriptor
        // numbers were copied into the closure before the fork. dup2 clears close-on-exec
        // on the targets, so exactly these two descriptors reach slirp4netns.
        unsafe {
            command.pre_exec(move || {
                for (source, target) in handed {
                    if libc::dup2(source, target) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        drop(ready_write);
        drop(exit_read);
        let mut egress = Egress { child, _exit: exit_write };
        egress.wait_ready(ready_read)?;
        Ok(egress)
    }

    fn wait_ready(&mut self, ready: OwnedFd) -> io::Result<()> {
        let mut poll = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&ready), nix::poll::PollFlags::POLLIN)];
        let timeout = nix::poll::PollTimeout::try_from(READY_TIMEOUT).unwrap_or(nix::poll::PollTimeout::MAX);
        let ready_now = nix::poll::poll(&mut poll, timeout).map_err(io::Error::from)?;
        let mut byte = [0u8; 1];
        if ready_now == 0 || std::fs::File::from(ready).read(&mut byte)? != 1 {
            return Err(io::Error::other("slirp4netns did not bring the network up"));
        }
        Ok(())
    }
}

impl Drop for Egress {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}
