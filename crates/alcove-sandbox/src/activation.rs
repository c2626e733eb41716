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
//! 2. mounts `/tmp` with the function's ephemeral storage size and a small `/dev/shm`,
//!    makes `/dev` read-only (the root is already), and hides the `/proc` files that
//!    describe the host rather than the sandbox;
//! 3. sets the sandbox's limit of user namespaces to zero (what bwrap's
//!    `--disable-userns` is for), lowers the open-file limit to Lambda's 1,024, gives up
//!    every capability (bounding, ambient, effective, permitted, inheritable), sets
//!    `no_new_privs` and installs the seccomp filters;
//! 4. becomes the sandbox's init: it forks, the child executes the runtime, and the
//!    activator stays as pid 1, reaping orphans until the runtime exits.
//!
//! It holds `CAP_SYS_ADMIN`, `CAP_SYS_RESOURCE` and `CAP_SETPCAP` only inside the
//! sandbox's own user namespace (over its own mounts, its own limits and its own
//! capabilities), and only until step 3; no code of the function runs before.
//!
//! Why the activator is pid 1 (bwrap runs with `--as-pid-1`) rather than bwrap's own
//! init: every process of the sandbox must run under the seccomp filter. bwrap's init is
//! started before any filter exists and would stay unfiltered, as the function's uid and
//! dumpable, so the function could write code into it through `/proc/1/mem` and run
//! unfiltered. This init installs the filter before it forks, so it and every descendant
//! are filtered, and it is not dumpable: its memory cannot be opened by the function.

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
/// Open files a runtime may have, soft and hard, as in Lambda.
pub const OPEN_FILES_LIMIT: u64 = 1024;
/// Size of `/dev/shm`. Like `/tmp` it is memory, charged to the environment's memory
/// limit; unlike `/tmp` Lambda has no setting for it, so it gets a fixed, small size.
const SHM_MB: u32 = 64;
/// Files of `/proc` that describe the host, or other processes on it, rather than the
/// sandbox: replaced by an empty file. (`/proc/stat`, `/proc/meminfo` and
/// `/proc/loadavg` stay: runtimes read them, and `sysinfo(2)` gives the same figures.)
const MASKED_PROC_FILES: &[&str] = &[
    "/proc/cmdline",
    "/proc/sched_debug",
    "/proc/timer_list",
    "/proc/kallsyms",
    "/proc/keys",
    "/proc/kcore",
];

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
        let seccomp: Vec<Vec<u8>> =
            (0..count).map(|_| message.bytes().map(<[u8]>::to_vec)).collect::<io::Result<_>>()?;
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
    limit_open_files()?;
    drop_privileges(&activation.seccomp)?;
    run_as_init(&activation)
}

/// Lambda's open-file limit, soft and hard: the runtime cannot raise it again (that
/// needs `CAP_SYS_RESOURCE`, dropped next).
fn limit_open_files() -> io::Result<()> {
    let limit = libc::rlimit { rlim_cur: OPEN_FILES_LIMIT, rlim_max: OPEN_FILES_LIMIT };
    // SAFETY: setrlimit reads one valid rlimit struct for the duration of the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(failed("limiting open files"));
    }
    Ok(())
}

/// Stays as the sandbox's pid 1 while a child executes the runtime: reaps every process
/// orphaned inside the sandbox and, when the runtime exits, exits with its status (the
/// kernel then kills whatever is left in the pid namespace), as bwrap's init would.
/// Called with the seccomp filters installed, so both processes are filtered.
fn run_as_init(activation: &Activation) -> io::Result<std::convert::Infallible> {
    // SAFETY: prctl with integer arguments only. Not dumpable: the function (same uid,
    // no capabilities) can neither open this process's memory nor attach to it.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(failed("making the init not dumpable"));
    }
    // SAFETY: the activator is single-threaded (it never starts a thread), so the child
    // may run any code.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Child => {
            let error = std::process::Command::new(&activation.program)
                .args(&activation.args)
                .env_clear()
                .envs(activation.env.iter().map(|(k, v)| (k, v)))
                .exec();
            let _ = writeln!(
                io::stderr(),
                "alcove: cannot start the runtime: {}: {error}",
                activation.program.display()
            );
            // SAFETY: ends the forked child without running exit handlers twice.
            unsafe { libc::_exit(127) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            // The output pipes end when the function's processes close them, not this one.
            let null = std::fs::File::options().write(true).open("/dev/null")?;
            nix::unistd::dup2_stdout(&null).map_err(io::Error::from)?;
            nix::unistd::dup2_stderr(&null).map_err(io::Error::from)?;
            drop(null);
            reap_until_exit(child)
        }
    }
}

fn reap_until_exit(runtime: nix::unistd::Pid) -> ! {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == runtime => std::process::exit(code),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == runtime => {
                std::process::exit(128 + signal as i32)
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            // No child left: the runtime is gone.
            Err(_) => std::process::exit(127),
        }
    }
}

fn mount_function(activation: &Activation) -> io::Result<()> {
    let package = Path::new(CODE_STORE_PATH).join(&activation.code);
    mount(Some(&package), TASK_ROOT, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(context(format!("mounting {}", package.display())))?;
    remount_read_only(TASK_ROOT)?;
    mount_tmpfs("/tmp", activation.tmp_mb)?;
    mount_tmpfs("/dev/shm", SHM_MB)?;
    // bwrap's /dev is a writable tmpfs; only the device nodes bound into it are needed.
    remount_read_only("/dev")?;
    for path in MASKED_PROC_FILES {
        if Path::new(path).exists() {
            mount(Some("/dev/null"), *path, None::<&str>, MsFlags::MS_BIND, None::<&str>)
                .map_err(context(format!("masking {path}")))?;
        }
    }
    for path in [CODE_STORE_PATH, ACTIVATOR_PATH] {
        umount2(path, MntFlags::MNT_DETACH).map_err(context(format!("detaching {path}")))?;
    }
    Ok(())
}

fn context(what: String) -> impl FnOnce(nix::Error) -> io::Error {
    move |e| io::Error::other(format!("{what}: {e}"))
}

/// Remounts the bind mount (or file system) at `path` read-only, nosuid and nodev.
fn remount_read_only(path: &str) -> io::Result<()> {
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .map_err(context(format!("making {path} read-only")))
}

/// A tmpfs of `size_mb` at `path`, writable by everyone, sticky (as `/tmp` is).
fn mount_tmpfs(path: &str, size_mb: u32) -> io::Result<()> {
    let options = format!("size={size_mb}m,mode=1777");
    mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(options.as_str()))
        .map_err(context(format!("mounting {path}")))
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
    if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) }
        != 0
    {
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
    if unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
            0,
            0,
        )
    } != 0
    {
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
