//! Outbound network for environments whose function has it: `slirp4netns`, a user-space
//! TCP/IP stack, attached to the environment's network namespace through a tap device.
//!
//! Why user space: the environment gets a private address (10.0.2.100, gateway 10.0.2.2,
//! DNS forwarder 10.0.2.3) and its connections leave as ordinary sockets of the
//! slirp4netns process on the host, so no bridge, veth, iptables or routing on the host is
//! touched, and nothing can reach into the environment. `--disable-host-loopback` keeps
//! the host's loopback (where the control plane and every Runtime API listen) out of
//! reach.
//!
//! A network stack parses whatever the function sends, so it is confined as if it were
//! the function's own: it runs as the environment's unprivileged host uid, root only in a
//! user namespace of that uid's which owns the environment's network namespace (made by
//! the starter) and nothing else; in a mount namespace of its own without the staging
//! area (no code store, no `/etc` shared by the sandboxes); and under slirp4netns's own
//! sandbox (`--enable-sandbox`: a root of `/etc` and `/run` only, read-only, no
//! capabilities but binding low ports) and seccomp filter (`--enable-seccomp`). A flaw in
//! it reaches one environment, the one it already serves.
//!
//! One slirp4netns per environment with egress; it exits when the environment is
//! dropped (its exit descriptor closes) and is killed if it does not.

use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::sys::check;

/// Descriptors slirp4netns is handed: it writes to the first once the network is up and
/// exits when the second reaches end of file; the third is the network namespace.
const READY_FD: i32 = 3;
const EXIT_FD: i32 = 4;
const NETNS_FD: i32 = 5;
/// How long the network may take to come up.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// A running slirp4netns serving one environment's namespace.
pub struct Egress {
    child: Child,
    /// Closing it (on drop) tells slirp4netns to exit.
    _exit: OwnedFd,
}

impl Egress {
    /// Attaches a user-space network stack to the network namespace `network`, which
    /// belongs to the user namespace `user` owned by `uid`, and waits until it is
    /// configured. `staging` is unmounted from the stack's view.
    pub fn attach(
        slirp4netns: &Path,
        user: &OwnedFd,
        network: &OwnedFd,
        uid: u32,
        staging: &Path,
    ) -> io::Result<Egress> {
        let (ready_read, ready_write) = pipe()?;
        let (exit_read, exit_write) = pipe()?;
        let hidden = CString::new(staging.as_os_str().as_encoded_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut command = Command::new(slirp4netns);
        command
            .args([
                "--configure",
                "--mtu=65520",
                "--disable-host-loopback",
                "--enable-sandbox",
                "--enable-seccomp",
            ])
            .arg(format!("--ready-fd={READY_FD}"))
            .arg(format!("--exit-fd={EXIT_FD}"))
            .args(["--netns-type=path", &format!("/proc/self/fd/{NETNS_FD}"), "tap0"])
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let handed = [
            (ready_write.as_raw_fd(), READY_FD),
            (exit_read.as_raw_fd(), EXIT_FD),
            (network.as_raw_fd(), NETNS_FD),
        ];
        let user = user.as_raw_fd();
        // SAFETY: runs between fork and exec in a child of a multi-threaded process: only
        // system calls (dup2, unshare, umount2, setgroups, setresgid, setresuid, setns),
        // all async-signal-safe, on descriptor numbers and a C string prepared before the
        // fork; nothing allocates. dup2 clears close-on-exec on its targets, so exactly the
        // three handed descriptors reach slirp4netns.
        unsafe {
            command.pre_exec(move || {
                for (source, target) in handed {
                    check(libc::dup2(source, target))?;
                }
                // A mount namespace without the staging area (mounts are private, so
                // this leaves the server's view as it is).
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::umount2(hidden.as_ptr(), libc::MNT_DETACH))?;
                let id = uid as libc::uid_t;
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setresgid(id, id, id))?;
                check(libc::setresuid(id, id, id))?;
                // As the namespace's owner, it may join it, and is root there.
                check(libc::setns(user, libc::CLONE_NEWUSER))?;
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
        let mut poll =
            [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&ready), nix::poll::PollFlags::POLLIN)];
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
