//! Network namespaces. A thread can enter a new network namespace on its own
//! (`unshare(CLONE_NEWNET)` is per thread), and whatever it then binds or spawns lives in
//! that namespace. One long-lived spawner thread does exactly that for every environment:
//! new namespace, loopback up, Runtime API listener on `127.0.0.1:9001`, then the sandbox
//! process. The thread must outlive the sandboxes: bwrap's `--die-with-parent` is tied to
//! the thread that started it.

use std::io;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

use nix::sched::{unshare, CloneFlags};

/// Moves the calling thread into a new network namespace with loopback up.
pub fn enter_new_namespace() -> io::Result<()> {
    unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    loopback_up()
}

/// Binds the Runtime API listener in the calling thread's namespace.
pub fn bind_runtime_api() -> io::Result<TcpListener> {
    let listener = TcpListener::bind(crate::RUNTIME_API_ADDRESS)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain socket(2) call; the descriptor is owned by the OwnedFd below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let owned = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
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
