//! Network namespaces. A thread can enter a new network namespace on its own
//! (`unshare(CLONE_NEWNET)` and `setns` are per thread), and whatever it then binds or
//! spawns lives in that namespace. One long-lived spawner thread does exactly that: it
//! creates namespaces ahead of need (loopback up, Runtime API listener bound on
//! `127.0.0.1:9001`, a descriptor kept to re-enter it), and enters one just before it
//! starts the sandbox process.

use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sched::{setns, unshare, CloneFlags};

/// Moves the calling thread into a new network namespace with loopback up; returns a
/// descriptor of the namespace, which keeps it alive and lets [`enter`] return to it.
pub fn create() -> io::Result<OwnedFd> {
    unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    loopback_up()?;
    current()
}

/// A descriptor of the calling thread's network namespace.
pub fn current() -> io::Result<OwnedFd> {
    Ok(File::open("/proc/thread-self/ns/net")?.into())
}

/// Moves the calling thread into the namespace `namespace` refers to.
pub fn enter(namespace: &OwnedFd) -> io::Result<()> {
    setns(namespace, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

/// Binds the Runtime API listener in the calling thread's namespace.
pub fn bind_runtime_api() -> io::Result<TcpListener> {
    let listener = TcpListener::bind(crate::RUNTIME_API_ADDRESS)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Brings loopback up in the calling thread's network namespace.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain socket(2) call; the descriptor is owned by the OwnedFd below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let owned = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    set_up(owned.as_raw_fd())
}

fn set_up(fd: i32) -> io::Result<()> {
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the interface named in `request` into it;
    // `request` is a valid, writable ifreq for the duration of the call.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after SIOCGIFFLAGS the flags member of the union is the initialised one.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `request`, a valid ifreq naming loopback.
    if unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
