//! Network namespaces. A thread can enter a new network namespace on its own
//! (`unshare(CLONE_NEWNET)` and `setns` are per thread), and whatever it then binds or
//! spawns lives in that namespace. One long-lived spawner thread does exactly that: it
//! creates namespaces ahead of need (loopback up, the Runtime API listener bound on
//! `127.0.0.1:9001` and the AWS API listener on `127.0.0.1:9002`, a descriptor kept to re-enter it), and enters one just before it
//! starts the sandbox process.
//!
//! On cgroup v1 hosts, loopback inside a sandbox carries packets of at most
//! [`SMALL_LOOPBACK_PACKET`] bytes (its MTU and the largest segment it offloads). The
//! kernel charges each socket's first queued packets even past the cgroup's TCP buffer
//! limit; with loopback's default of 64 KB, thousands of socket pairs parked by a
//! function held three times its memory outside its limit (16 processes of 1,024
//! descriptors: 376 MB for a 128 MB function at 16 KB packets, 169 MB at 4 KB, about
//! its own memory at 1,500 bytes). The Runtime API's traffic, the only other use of
//! this loopback, pays for it on payloads of megabytes (a 6 MB response takes about
//! 30 ms more). cgroup v2 charges every byte to the memory limit, so there loopback
//! keeps the kernel's defaults.

use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sched::{setns, unshare, CloneFlags};

use crate::sys::check;

/// Largest packet on a sandbox's loopback where socket buffers are not wholly charged:
/// its MTU and its largest offloaded segment.
pub const SMALL_LOOPBACK_PACKET: u32 = 1500;

/// Moves the calling thread into a new network namespace with loopback up (its packets
/// at most `packet` bytes, if given); returns a descriptor of the namespace, which keeps
/// it alive and lets [`enter`] return to it.
pub fn create(packet: Option<u32>) -> io::Result<OwnedFd> {
    unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    loopback_up(packet)?;
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

/// The server's listeners inside one environment's namespace: the only addresses there
/// that lead out of it (besides egress, for functions that have it).
pub struct Listeners {
    /// The Runtime API, at [`crate::RUNTIME_API_ADDRESS`].
    pub runtime_api: TcpListener,
    /// Alcove's AWS API for the function's own calls, at [`crate::AWS_API_ADDRESS`].
    pub aws_api: TcpListener,
}

/// Binds the Runtime API and AWS API listeners in the calling thread's namespace.
pub fn bind_listeners() -> io::Result<Listeners> {
    let bind = |address: &str| -> io::Result<TcpListener> {
        let listener = TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    };
    Ok(Listeners { runtime_api: bind(crate::RUNTIME_API_ADDRESS)?, aws_api: bind(crate::AWS_API_ADDRESS)? })
}

/// Brings loopback up in the calling thread's network namespace, its packets at most
/// `packet` bytes if given.
pub fn loopback_up(packet: Option<u32>) -> io::Result<()> {
    // SAFETY: a plain socket(2) call; the descriptor is owned by the OwnedFd below.
    let fd = check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let owned = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    if let Some(packet) = packet {
        set_mtu(owned.as_raw_fd(), packet)?;
        set_gso_max_size(LOOPBACK_INDEX, packet)?;
    }
    set_up(owned.as_raw_fd())
}

/// Loopback's interface index, in every network namespace.
const LOOPBACK_INDEX: i32 = 1;

fn loopback_request() -> libc::ifreq {
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    request
}

fn set_mtu(fd: i32, mtu: u32) -> io::Result<()> {
    let mut request = loopback_request();
    request.ifr_ifru.ifru_mtu = mtu as libc::c_int;
    // SAFETY: SIOCSIFMTU reads `request`, a valid ifreq naming loopback with its MTU set.
    check(unsafe { libc::ioctl(fd, libc::SIOCSIFMTU, &request) })?;
    Ok(())
}

/// Sets an interface's largest offloaded segment (`gso_max_size`), which only netlink
/// sets: one `RTM_NEWLINK` request with the `IFLA_GSO_MAX_SIZE` attribute, acknowledged.
fn set_gso_max_size(index: i32, size: u32) -> io::Result<()> {
    const IFLA_GSO_MAX_SIZE: u16 = 41;
    const HEADER: usize = 16; // struct nlmsghdr
    const INFO: usize = 16; // struct ifinfomsg
    const ATTRIBUTE: usize = 8; // struct rtattr and a u32
    let length = HEADER + INFO + ATTRIBUTE;
    let mut message = Vec::with_capacity(length);
    message.extend_from_slice(&(length as u32).to_ne_bytes());
    message.extend_from_slice(&libc::RTM_NEWLINK.to_ne_bytes());
    message.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    message.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns it
    message.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
    message.extend_from_slice(&0u16.to_ne_bytes()); // device type
    message.extend_from_slice(&index.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes()); // flags
    message.extend_from_slice(&0u32.to_ne_bytes()); // change mask
    message.extend_from_slice(&(ATTRIBUTE as u16).to_ne_bytes());
    message.extend_from_slice(&IFLA_GSO_MAX_SIZE.to_ne_bytes());
    message.extend_from_slice(&size.to_ne_bytes());
    // SAFETY: a plain socket(2) call; the descriptor is owned by the OwnedFd below.
    let fd = check(unsafe {
        libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE)
    })?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let socket = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // SAFETY: send(2) reads `message`, which lives for the call; an unbound netlink
    // socket sends to the kernel.
    check(unsafe { libc::send(socket.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) })?;
    let mut reply = [0u8; 256];
    // SAFETY: recv(2) writes at most `reply.len()` bytes into `reply`.
    let received =
        check(unsafe { libc::recv(socket.as_raw_fd(), reply.as_mut_ptr().cast(), reply.len(), 0) })?;
    // The acknowledgement: a header of type NLMSG_ERROR, then the error code (0 = done).
    let received = received as usize;
    if received < HEADER + 4 || u16::from_ne_bytes([reply[4], reply[5]]) != libc::NLMSG_ERROR as u16 {
        return Err(io::Error::other("unexpected netlink reply setting gso_max_size"));
    }
    match i32::from_ne_bytes([reply[HEADER], reply[HEADER + 1], reply[HEADER + 2], reply[HEADER + 3]]) {
        0 => Ok(()),
        error => Err(io::Error::from_raw_os_error(-error)),
    }
}

fn set_up(fd: i32) -> io::Result<()> {
    let mut request = loopback_request();
    // SAFETY: SIOCGIFFLAGS reads the flags of the interface named in `request` into it;
    // `request` is a valid, writable ifreq for the duration of the call.
    check(unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) })?;
    // SAFETY: after SIOCGIFFLAGS the flags member of the union is the initialised one.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `request`, a valid ifreq naming loopback.
    check(unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &request) })?;
    Ok(())
}
