//! The starter: a small process that forks the sandboxes' bwrap processes on the
//! server's behalf.
//!
//! Forking the server itself to start bwrap costs in proportion to the server: its page
//! tables are copied, every page it then writes is copied again, and the exec closes its
//! thousands of descriptors (a few per live environment). The starter is a fresh process
//! of the same binary holding next to nothing, so its forks are cheap and nothing in the
//! server stalls on them. It forks with `CLONE_PARENT`: bwrap is the server's own child,
//! the server reaps it and gets its exit status, and bwrap's `--die-with-parent` is tied
//! to the server's spawner thread, as when the server forked it.
//!
//! The two talk over a `SOCK_SEQPACKET` socket pair: one configuration message (bwrap and
//! its arguments), then one request per sandbox (host uid, cgroup, network namespace as a
//! descriptor) answered by the bwrap process's pid and pidfd and the descriptors of its
//! standard streams. The starter exits when the socket closes or the spawner thread ends.
//!
//! It also makes the network namespaces of environments with egress ([`Starter::network`]):
//! those belong to a user namespace owned by the environment's uid, so that the egress
//! helper can join them running as that uid instead of as root. Creating a user namespace
//! takes a single-threaded process, which the server is not and the starter is.

use std::ffi::{CString, OsString};
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag,
    SockType,
};

use crate::egress::pipe;
use crate::process::SandboxProcess;
use crate::sys::check;
use crate::wire::{Reader, Writer};

/// The argument that makes the `alcove` binary run as the starter.
pub const STARTER_ARG: &str = "__sandbox-starter";
/// Largest message either side sends (the configuration is the largest).
const MAX_MESSAGE: usize = 256 * 1024;
/// The kinds of request: start a waiting sandbox, make an egress network namespace.
const SANDBOX_REQUEST: &[u8] = b"sandbox";
const NETWORK_REQUEST: &[u8] = b"network";

/// How waiting sandboxes are started: bwrap and its arguments, with and without egress.
pub(crate) struct WaitingPlan {
    pub bwrap: PathBuf,
    pub plain: Vec<OsString>,
    pub egress: Vec<OsString>,
}

/// A bwrap process the starter forked, and the server's ends of its standard streams.
pub(crate) struct Started {
    pub process: SandboxProcess,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// The activator's standard input.
    pub activation: std::fs::File,
}

/// The server's side of the starter.
pub(crate) struct Starter {
    socket: OwnedFd,
    _process: std::process::Child,
}

impl Starter {
    /// Starts the starter process. Call from the spawner thread: every sandbox's parent
    /// thread is the thread that started the starter.
    pub fn spawn(plan: &WaitingPlan) -> io::Result<Starter> {
        let (ours, theirs) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
                .map_err(io::Error::from)?;
        let executable = std::env::current_exe()?;
        let process = std::process::Command::new(executable)
            .arg(STARTER_ARG)
            .env_clear()
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .spawn()?;
        let mut config = Writer::default();
        config.os(&plan.bwrap).os_list(&plan.plain).os_list(&plan.egress);
        send(&ours, &config.finish(), &[])?;
        Ok(Starter { socket: ours, _process: process })
    }

    /// Has the starter make a user namespace owned by `uid` (its root mapped to `uid`) and
    /// a network namespace inside it; returns descriptors of both: (user, network).
    pub fn network(&self, uid: u32) -> io::Result<(OwnedFd, OwnedFd)> {
        let mut request = Writer::default();
        request.bytes(NETWORK_REQUEST).number(u64::from(uid));
        send(&self.socket, &request.finish(), &[])?;
        let mut buffer = vec![0u8; MAX_MESSAGE];
        let (len, fds) = receive(&self.socket, &mut buffer)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the starter exited"))?;
        let mut reply = Reader::new(&buffer[..len], "starter reply");
        match reply.text()? {
            "network" => {
                let [user, network]: [OwnedFd; 2] =
                    fds.try_into().map_err(|_| reply.invalid("expected two namespaces"))?;
                Ok((user, network))
            }
            _ => Err(io::Error::other(reply.text()?.to_owned())),
        }
    }

    /// Has the starter fork a waiting sandbox as `uid`, joined to the cgroup whose
    /// `cgroup.procs` files are `procs`, in the network namespace `netns`.
    pub fn start(&self, egress: bool, uid: u32, procs: &[CString], netns: &OwnedFd) -> io::Result<Started> {
        let mut request = Writer::default();
        request
            .bytes(SANDBOX_REQUEST)
            .number(u64::from(egress))
            .number(u64::from(uid))
            .number(procs.len() as u64);
        for path in procs {
            request.bytes(path.as_bytes());
        }
        send(&self.socket, &request.finish(), &[netns.as_raw_fd()])?;
        let mut buffer = vec![0u8; MAX_MESSAGE];
        let (len, fds) = receive(&self.socket, &mut buffer)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the starter exited"))?;
        let mut reply = Reader::new(&buffer[..len], "starter reply");
        match reply.text()? {
            "started" => {
                let pid: u32 = reply.number()?;
                let mut fds = fds.into_iter();
                let pidfd = fds.next().ok_or_else(|| reply.invalid("no pidfd"))?;
                // From here on a failure kills and reaps the process (SandboxProcess's drop).
                let process = SandboxProcess::new(pid, pidfd)?;
                let [stdout, stderr, activation]: [OwnedFd; 3] = fds
                    .collect::<Vec<_>>()
                    .try_into()
                    .map_err(|_| reply.invalid("expected four descriptors"))?;
                Ok(Started { process, stdout, stderr, activation: activation.into() })
            }
            _ => Err(io::Error::other(reply.text()?.to_owned())),
        }
    }
}

impl Drop for Starter {
    fn drop(&mut self) {
        // Closing the socket ends it; kill it anyway and reap it.
        let _ = self._process.kill();
        let _ = self._process.wait();
    }
}

/// The starter's `main`.
pub fn run_starter() -> ! {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) };
    // Whatever the server was given without close-on-exec (by its own parent) must not
    // reach a sandbox: keep only the socket and the standard streams.
    // SAFETY: close_range with integer arguments; descriptors 3 and up belong to nobody
    // in this fresh process.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    // SAFETY: descriptor 0 is the socket the server handed over; nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(0) };
    match serve(&socket) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            let _ = writeln!(io::stderr(), "alcove sandbox starter: {e}");
            std::process::exit(1)
        }
    }
}

fn serve(socket: &OwnedFd) -> io::Result<()> {
    let mut buffer = vec![0u8; MAX_MESSAGE];
    let Some((len, _)) = receive(socket, &mut buffer)? else { return Ok(()) };
    let mut config = Reader::new(&buffer[..len], "starter configuration");
    let plan =
        WaitingPlan { bwrap: config.os()?.into(), plain: config.os_list()?, egress: config.os_list()? };
    config.end()?;
    while let Some((len, fds)) = receive(socket, &mut buffer)? {
        let mut reply = Writer::default();
        let mut request = Reader::new(&buffer[..len], "starter request");
        let kind = request.bytes()?;
        if kind != SANDBOX_REQUEST && kind != NETWORK_REQUEST {
            return Err(request.invalid("unknown request"));
        }
        if kind == NETWORK_REQUEST {
            let made = request.number::<u32>().and_then(|uid| {
                request.end()?;
                make_network(uid)
            });
            match made {
                Ok(namespaces) => {
                    reply.bytes(b"network");
                    send(socket, &reply.finish(), &[namespaces[0].as_raw_fd(), namespaces[1].as_raw_fd()])?;
                }
                Err(e) => {
                    reply.bytes(b"error").bytes(e.to_string().as_bytes());
                    send(socket, &reply.finish(), &[])?;
                }
            }
            continue;
        }
        match start_one(&plan, request, fds) {
            Ok(Forked { pid, fds }) => {
                reply.bytes(b"started").number(u64::from(pid));
                let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
                send(socket, &reply.finish(), &raw)?;
            }
            Err(e) => {
                reply.bytes(b"error").bytes(e.to_string().as_bytes());
                send(socket, &reply.finish(), &[])?;
            }
        }
    }
    Ok(())
}

/// The forked process and the descriptors for the server: pidfd, stdout and stderr read
/// ends, the activation pipe's write end.
struct Forked {
    pid: u32,
    fds: [OwnedFd; 4],
}

fn start_one(plan: &WaitingPlan, mut request: Reader<'_>, fds: Vec<OwnedFd>) -> io::Result<Forked> {
    let egress = request.number::<u8>()? == 1;
    let uid: u32 = request.number()?;
    let count: usize = request.number()?;
    let procs = (0..count)
        .map(|_| CString::new(request.bytes()?).map_err(|_| request.invalid("cgroup path")))
        .collect::<io::Result<Vec<_>>>()?;
    request.end()?;
    let [netns]: [OwnedFd; 1] =
        fds.try_into().map_err(|_| request.invalid("expected the network namespace"))?;
    nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    let (activation_read, activation_write) = pipe()?;
    let (stdout_read, stdout_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    match fork_for_parent()? {
        Some((pid, pidfd)) => Ok(Forked { pid, fds: [pidfd, stdout_read, stderr_read, activation_write] }),
        None => {
            // The child: a copy of this single-threaded process, so any code may run.
            let mut command = std::process::Command::new(&plan.bwrap);
            command
                .args(if egress { &plan.egress } else { &plan.plain })
                .env_clear()
                .uid(uid)
                .gid(uid)
                .stdin(Stdio::from(activation_read))
                .stdout(Stdio::from(stdout_write))
                .stderr(Stdio::from(stderr_write))
                .process_group(0);
            // SAFETY: runs between fork and exec; uses only open/write/close on C strings
            // prepared before, and allocates nothing.
            unsafe {
                command.pre_exec(move || join_cgroup(&procs));
            }
            let error = command.exec();
            let _ = writeln!(io::stderr(), "alcove: cannot start the sandbox: {error}");
            // SAFETY: ends the forked child without running the starter's exit handlers.
            unsafe { libc::_exit(127) }
        }
    }
}

/// A user namespace owned by `uid`, its root mapped to `uid` (so a process of `uid` that
/// joins it is root there, over its own namespaces only), and a network namespace that
/// belongs to it. A child switches to `uid` and creates both; this process writes the
/// maps, keeps descriptors of the two namespaces and lets the child exit.
fn make_network(uid: u32) -> io::Result<[OwnedFd; 2]> {
    use nix::unistd::{ForkResult, Gid, Uid};
    let (ready_read, ready_write) = pipe()?;
    let (done_read, done_write) = pipe()?;
    // SAFETY: the starter is single-threaded, so the child may run any code.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        ForkResult::Child => {
            drop((ready_read, done_write));
            let made = nix::unistd::setgroups(&[])
                .and_then(|()| {
                    nix::unistd::setresgid(Gid::from_raw(uid), Gid::from_raw(uid), Gid::from_raw(uid))
                })
                .and_then(|()| {
                    nix::unistd::setresuid(Uid::from_raw(uid), Uid::from_raw(uid), Uid::from_raw(uid))
                })
                .and_then(|()| {
                    nix::sched::unshare(
                        nix::sched::CloneFlags::CLONE_NEWUSER | nix::sched::CloneFlags::CLONE_NEWNET,
                    )
                });
            let _ = nix::unistd::write(&ready_write, if made.is_ok() { b"1" } else { b"0" });
            // Wait until the parent has what it needs (it closes its end).
            let _ = nix::unistd::read(&done_read, &mut [0u8; 1]);
            // SAFETY: ends the forked child without running the starter's exit handlers.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop((ready_write, done_read));
            let mut status = [0u8; 1];
            let read = nix::unistd::read(&ready_read, &mut status);
            let result = match read {
                Ok(1) if status[0] == b'1' => namespaces_of(child.as_raw() as u32, uid),
                _ => Err(io::Error::other("the network namespace's user namespace could not be created")),
            };
            drop(done_write);
            let _ = nix::sys::wait::waitpid(child, None);
            result
        }
    }
}

/// Maps root of `pid`'s user namespace to `uid` and opens its user and network namespaces.
fn namespaces_of(pid: u32, uid: u32) -> io::Result<[OwnedFd; 2]> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let write = |file: &str, text: &str| {
        std::fs::write(proc.join(file), text).map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))
    };
    write("setgroups", "deny")?;
    write("uid_map", &format!("0 {uid} 1"))?;
    write("gid_map", &format!("0 {uid} 1"))?;
    let open = |ns: &str| std::fs::File::open(proc.join("ns").join(ns)).map(OwnedFd::from);
    Ok([open("user")?, open("net")?])
}

/// Writes the calling process into every `cgroup.procs` of `procs`.
fn join_cgroup(procs: &[CString]) -> io::Result<()> {
    for path in procs {
        // SAFETY: `path` is a valid C string; the descriptor is closed right after.
        let fd = check(unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })?;
        // SAFETY: writes one byte from a static buffer to the descriptor opened above.
        let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
        // SAFETY: closes the descriptor opened above.
        unsafe { libc::close(fd) };
        if written != 1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `struct clone_args` of clone3(2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Forks a child whose parent is this process's parent, with a pidfd of it. Returns the
/// child's pid and pidfd in the parent, `None` in the child.
fn fork_for_parent() -> io::Result<Option<(u32, OwnedFd)>> {
    let mut pidfd: libc::c_int = -1;
    // With CLONE_PARENT the exit signal must be 0: the child gets this process's own.
    let args = CloneArgs {
        flags: (libc::CLONE_PARENT | libc::CLONE_PIDFD) as u64,
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 with a valid, fully initialised clone_args of the size passed; no new
    // stack, so the child continues on a copy of this (single-threaded) process's memory,
    // as after fork.
    let pid = unsafe {
        libc::syscall(libc::SYS_clone3, std::ptr::addr_of!(args), std::mem::size_of::<CloneArgs>())
    };
    match check(pid)? {
        0 => Ok(None),
        // SAFETY: the kernel stored a new pidfd owned by nobody else.
        pid => Ok(Some((pid as u32, unsafe { OwnedFd::from_raw_fd(pidfd) }))),
    }
}

fn send(socket: &OwnedFd, bytes: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let iov = [IoSlice::new(bytes)];
    let rights = [ControlMessage::ScmRights(fds)];
    let control: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    sendmsg::<()>(socket.as_raw_fd(), &iov, control, MsgFlags::empty(), None).map_err(io::Error::from)?;
    Ok(())
}

/// One message and the descriptors sent with it; `None` once the other side is gone.
fn receive(socket: &OwnedFd, buffer: &mut [u8]) -> io::Result<Option<(usize, Vec<OwnedFd>)>> {
    let mut iov = [IoSliceMut::new(buffer)];
    let mut control = nix::cmsg_space!([RawFd; 4]);
    let message = recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut control), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    let mut fds = Vec::new();
    for cmsg in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            // SAFETY: descriptors just received; this process owns them now.
            fds.extend(raw.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    if message.flags.contains(MsgFlags::MSG_TRUNC) || message.flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(io::Error::other("a message to or from the starter was truncated"));
    }
    match message.bytes {
        0 => Ok(None),
        len => Ok(Some((len, fds))),
    }
}
