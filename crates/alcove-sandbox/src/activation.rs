//! Activation: turning a pre-started, function-independent sandbox into one function's
//! execution environment.
//!
//! Creating a sandbox (bwrap's namespaces, its root file system, `/proc` and `/dev`) is
//! most of a cold start, and none of it depends on the function. So the spawner starts
//! each sandbox ahead of need with Alcove's own binary inside as a placeholder, the
//! *activator*, which waits on its standard input. A cold start writes the function's
//! part to that pipe ([`Activation`]): which code package to mount at `/var/task`, the
//! size of `/tmp`, the runtime's command line and environment, and the seccomp filters
//! (compiled once by the server). The activator then, still trusted code:
//!
//! 1. bind-mounts that one package read-only at `/var/task` from the code store, which the
//!    sandbox sees at `/.alcove/code` until this step, then detaches the store (and its own
//!    executable) so no other package stays reachable;
//! 2. mounts `/tmp` with the function's ephemeral storage size;
//! 3. sets the sandbox's limit of user namespaces to zero (what bwrap's
//!    `--disable-userns` is for), gives up every capability (bounding, ambient,
//!    effective, permitted, inheritable), sets `no_new_privs` and installs the seccomp
//!    filters;
//! 4. executes the runtime.
//!
//! It holds `CAP_SYS_ADMIN`, `CAP_SYS_RESOURCE` and `CAP_SETPCAP` only inside the
//! sandbox's own user namespace (over its own mounts, its own limits and its own
//! capabilities), and only until step 3; no code of the function runs before.
//!

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::wire::{Reader, Writer};

/// The argument that makes the `alcove` binary run as the activator.
pub const ACTIVATOR_ARG: &str = "__activate-sandbox";
/// Where the activator's executable appears inside a waiting sandbox.
pub(crate) const ACTIVATOR_PATH: &str = "/.alcove/alcove";
/// Where the whole code store appears inside a waiting sandbox, until activation.
pub(crate) const CODE_STORE_PATH: &str = "/.alcove/code";
/// Where the function's package is mounted.
const TASK_ROOT: &str = "/var/task";
/// Largest activation message accepted (arguments and environment included).
const MAX_MESSAGE: u64 = 1 << 20;

/// The function-specific part of a sandbox, sent to its activator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// Directory name of the code package in the code store (its SHA-256, in hex).
    pub code: String,
    pub tmp_mb: u32,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// The seccomp filters, as raw BPF, compiled once by the server.
    pub seccomp: Vec<Vec<u8>>,
}

impl Activation {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::default();
        out.bytes(self.code.as_bytes()).number(u64::from(self.tmp_mb)).os(&self.program).os_list(&self.args);
        out.number(self.env.len() as u64);
        for (key, value) in &self.env {
            out.os(key).os(value);
        }
        out.number(self.seccomp.len() as u64);
        for program in &self.seccomp {
            out.bytes(program);
        }
        out.finish()
    }

    pub fn decode(bytes: &[u8]) -> io::Result<Activation> {
        let mut message = Reader::new(bytes, "activation message");
        let code = message.text()?.to_owned();
        let tmp_mb = message.number()?;
        let program = PathBuf::from(message.os()?);
        let args = message.os_list()?;
        let count: usize = message.number()?;
        let env = (0..count).map(|_| Ok((message.os()?, message.os()?))).collect::<io::Result<_>>()?;
        let count: usize = message.number()?;
        let seccomp: Vec<Vec<u8>> = (0..count).map(|_| message.bytes().map(<[u8]>::to_vec)).collect::<io::Result<_>>()?;
        message.end()?;
        if code.len() != 64 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(message.invalid("code package name"));
        }
        // Never start a runtime unfiltered.
        if seccomp.is_empty() || seccomp.iter().any(|p| p.is_empty() || p.len() % 8 != 0) {
            return Err(message.invalid("seccomp filters"));
        }
        Ok(Activation { code, tmp_mb, program, args, env, seccomp })
    }
}

/// Sends `activation` to the activator waiting on the other end of `pipe`, and closes it.
pub(crate) fn send(mut pipe: std::fs::File, activation: &Activation) -> io::Result<()> {
    pipe.write_all(&activation.encode())
}

/// The activator's `main`: reads its activation, prepares the sandbox for the function
/// and executes the runtime. Never returns; on failure it says why on standard error
/// (the environment's log) and exits with status 127.
pub fn run_activator() -> ! {
    let error = match activate() {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = writeln!(io::stderr(), "alcove: cannot start the runtime: {error}");
    std::process::exit(127)
}

fn activate() -> io::Result<std::convert::Infallible> {
    let mut message = Vec::new();
    io::stdin().lock().take(MAX_MESSAGE).read_to_end(&mut message)?;
    let activation = Activation::decode(&message)?;
    mount_function(&activation)?;
    forbid_user_namespaces()?;
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
    drop(null);
    std::env::set_current_dir(TASK_ROOT)?;
    drop_privileges(&activation.seccomp)?;
    let error = std::process::Command::new(&activation.program)
        .args(&activation.args)
        .env_clear()
        .envs(activation.env.iter().map(|(k, v)| (k, v)))
        .exec();
    Err(io::Error::new(error.kind(), format!("{}: {error}", activation.program.display())))
}

fn mount_function(activation: &Activation) -> io::Result<()> {
    let context = |what: String| move |e: nix::Error| io::Error::other(format!("{what}: {e}"));
    let package = Path::new(CODE_STORE_PATH).join(&activation.code);
    mount(Some(&package), TASK_ROOT, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(context(format!("mounting {}", package.display())))?;
    let read_only = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(None::<&str>, TASK_ROOT, None::<&str>, read_only, None::<&str>).map_err(context("making /var/task read-only".into()))?;
    let tmp_options = format!("size={}m,mode=1777", activation.tmp_mb);
    mount(Some("tmpfs"), "/tmp", Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(tmp_options.as_str()))
        .map_err(context("mounting /tmp".into()))?;
    for path in [CODE_STORE_PATH, ACTIVATOR_PATH] {
        umount2(path, MntFlags::MNT_DETACH).map_err(context(format!("detaching {path}")))?;
    }
    Ok(())
}

/// What bwrap's `--disable-userns` is for, done here because bwrap's way (a nested user
/// namespace) would leave the activator without the mounts' owner's capabilities: the
/// sandbox's user namespace is allowed no user namespaces below it. Without
/// `CAP_SYS_RESOURCE` the runtime cannot raise the limit again, so it cannot create user
/// namespaces even if the seccomp filter let it try.
fn forbid_user_namespaces() -> io::Result<()> {
    const LIMIT: &str = "/proc/sys/user/max_user_namespaces";
    std::fs::write(LIMIT, "0").map_err(|e| io::Error::new(e.kind(), format!("{LIMIT}: {e}")))
}

/// The last system call's error, saying what failed.
fn failed(what: &str) -> io::Error {
    let error = io::Error::last_os_error();
    io::Error::new(error.kind(), format!("{what}: {error}"))
}

/// Gives up every capability for good, then installs the seccomp filters.
fn drop_privileges(seccomp: &[Vec<u8>]) -> io::Result<()> {
    let last_cap: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63);
    for cap in 0..=last_cap {
        // SAFETY: prctl with integer arguments only; no memory is passed.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) } != 0 {
            return Err(failed("dropping the capability bounding set"));
        }
    }
    // SAFETY: as above.
    if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(failed("clearing ambient capabilities"));
    }
    clear_capabilities()?;
    // SAFETY: as above.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(failed("setting no_new_privs"));
    }
    for program in seccomp {
        install_filter(program)?;
    }
    Ok(())
}

/// Empties the effective, permitted and inheritable sets.
fn clear_capabilities() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let data = [Data { effective: 0, permitted: 0, inheritable: 0 }; 2];
    // SAFETY: capset reads one header and, for version 3, two data structs; both point to
    // live, correctly laid out values for the duration of the call.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) } != 0 {
        return Err(failed("clearing capabilities"));
    }
    Ok(())
}

/// Installs one raw BPF program (an array of `struct sock_filter`).
fn install_filter(program: &[u8]) -> io::Result<()> {
    let filters: Vec<libc::sock_filter> = program
        .chunks_exact(8)
        .map(|raw| libc::sock_filter {
            code: u16::from_ne_bytes([raw[0], raw[1]]),
            jt: raw[2],
            jf: raw[3],
            k: u32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]),
        })
        .collect();
    let len = u16::try_from(filters.len()).map_err(|_| io::Error::other("seccomp program too long"))?;
    let fprog = libc::sock_fprog { len, filter: filters.as_ptr().cast_mut() };
    // SAFETY: `fprog` points to `filters`, which lives until the call returns; the kernel
    // copies the program.
    if unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER as libc::c_ulong, &fprog as *const libc::sock_fprog, 0, 0) } != 0 {
        return Err(failed("installing the seccomp filter"));
    }
    Ok(())
}

/// The activator's command line inside a waiting sandbox.
pub(crate) fn command() -> [OsString; 2] {
    [ACTIVATOR_PATH.into(), ACTIVATOR_ARG.into()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn sample() -> Activation {
        Activation {
            code: "ab".repeat(32),
            tmp_mb: 512,
            program: "/var/task/bootstrap".into(),
            args: vec!["-m".into(), OsString::from_vec(vec![0xff, b'x', b'\n'])],
            env: vec![("A".into(), "1=2".into()), ("EMPTY".into(), "".into())],
            seccomp: crate::seccomp::programs().unwrap(),
        }
    }

    #[test]
    fn round_trips_any_bytes() {
        let activation = sample();
        assert_eq!(Activation::decode(&activation.encode()).unwrap(), activation);
    }

    #[test]
    fn refuses_truncated_or_padded_messages_and_odd_package_names() {
        let encoded = sample().encode();
        assert!(Activation::decode(&encoded[..encoded.len() - 1]).is_err());
        let mut padded = encoded.clone();
        padded.push(0);
        assert!(Activation::decode(&padded).is_err());
        for code in ["../../etc", &"g".repeat(64), "ab"] {
            let bad = Activation { code: code.into(), ..sample() };
            assert!(Activation::decode(&bad.encode()).is_err(), "{code}");
        }
        let unfiltered = Activation { seccomp: vec![], ..sample() };
        assert!(Activation::decode(&unfiltered.encode()).is_err());
    }
}
