//! The server's private mount namespace and the staging directory inside it.
//!
//! bwrap runs as each environment's unprivileged uid and resolves bind sources as that
//! uid, so it cannot reach a code store under a private directory (a data directory in
//! `/root`, a 0700 temp dir) nor an interpreter installed under `/root`. At start-up, while
//! the process is still single-threaded, the server moves into a mount namespace of its
//! own and mounts, at `STAGING_ROOT`, a tmpfs holding read-only bind mounts of those
//! directories. Only the server and the sandboxes it starts see them; they vanish with the
//! server.
//!
//! The staging tmpfs also holds a snapshot of the few world-readable `/etc` files a runtime
//! needs (dynamic linker cache, time zone, name service, CA certificates), so a sandbox
//! binds one `/etc` directory instead of a dozen files: each bind is a mount, and mounts
//! are most of bwrap's start-up cost. Like a container's, the snapshot is taken at start.
//!
//! Once prepared, the staging tmpfs is remounted read-only: nothing started later (a
//! sandbox, the egress helper) can change what every sandbox sees, even as a uid that
//! owns the files.
//!
//! The egress helper runs as an environment's unprivileged uid, and opens
//! `/dev/net/tun` as that uid (the tun driver itself checks it has `CAP_NET_ADMIN` over
//! the network namespace, which it does over its own environment's only). Distributions
//! ship that node world-writable; where the host's is not, the server binds a
//! world-writable node of the same device over it, in its own mount namespace only.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::launcher::SandboxError;

/// A path that exists (or can be created) on the host; in the server's namespace a tmpfs
/// is mounted over it, so servers running side by side do not see each other's staging.
const STAGING_ROOT: &str = "/run/alcove-staging";

/// Host configuration a runtime may need, copied into the staged `/etc` when present.
const ETC_ENTRIES: &[&str] = &[
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "hosts",
    "resolv.conf",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "alternatives",
    "mime.types",
    "host.conf",
    "gai.conf",
];

/// Name servers of functions with egress: the user-space network stack's DNS forwarder.
pub const EGRESS_RESOLV_CONF: &str = "nameserver 10.0.2.3\n";

/// Directories staged for the sandboxes: the code store and the runtimes' directories.
#[derive(Debug, Clone)]
pub struct Staging {
    /// The staging area itself, which helpers that must not see it unmount.
    pub root: PathBuf,
    /// The code store as the sandboxes' bwrap sees it.
    pub code: PathBuf,
    /// The `/etc` snapshot every sandbox sees, read-only.
    pub etc: PathBuf,
    /// `/etc/resolv.conf` for sandboxes with egress.
    pub egress_resolv_conf: PathBuf,
    /// (staged path, path inside the sandbox) of each runtime directory, read-only.
    pub runtime_binds: Vec<(PathBuf, PathBuf)>,
    /// This server's own executable, which waiting sandboxes run as their activator.
    pub activator: PathBuf,
}

fn failed(what: &str, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Unsupported(format!("{what}: {error}"))
}

/// Binds `source` (a directory or a file) read-only at `target`, creating the mount point.
fn bind_read_only(source: &Path, target: &Path) -> Result<(), SandboxError> {
    let mount_point =
        if source.is_dir() { fs::create_dir_all(target) } else { fs::File::create(target).map(drop) };
    mount_point.map_err(|e| failed(&format!("creating the mount point {}", target.display()), e))?;
    mount(Some(source), target, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
        .map_err(|e| failed(&format!("bind-mounting {}", source.display()), e))?;
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| failed(&format!("making {} read-only", target.display()), e))
}

impl Staging {
    /// Enters a private mount namespace and stages `code_dir` and `runtime_dirs`
    /// (host path, path inside the sandbox). Must run while the process has one thread.
    pub fn prepare(code_dir: &Path, runtime_dirs: &[(PathBuf, PathBuf)]) -> Result<Staging, SandboxError> {
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| failed("creating the server's mount namespace", e))?;
        mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
            .map_err(|e| failed("making mounts private", e))?;
        let root = Path::new(STAGING_ROOT);
        fs::create_dir_all(root).map_err(|e| failed("creating the staging root", e))?;
        mount(
            Some("tmpfs"),
            root,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755,size=16m"),
        )
        .map_err(|e| failed("mounting the staging tmpfs", e))?;
        fs::set_permissions(root, fs::Permissions::from_mode(0o755))
            .map_err(|e| failed("staging root mode", e))?;
        let code = root.join("code");
        bind_read_only(code_dir, &code)?;
        let mut runtime_binds = Vec::new();
        for (index, (host, inside)) in runtime_dirs.iter().enumerate() {
            let staged = root.join(format!("runtime-{index}"));
            bind_read_only(host, &staged)?;
            runtime_binds.push((staged, inside.clone()));
        }
        let etc = root.join("etc");
        snapshot_etc(Path::new("/etc"), &etc).map_err(|e| failed("copying /etc", e))?;
        let egress_resolv_conf = root.join("resolv-egress.conf");
        fs::write(&egress_resolv_conf, EGRESS_RESOLV_CONF).map_err(|e| failed("writing resolv.conf", e))?;
        fs::set_permissions(&egress_resolv_conf, fs::Permissions::from_mode(0o644))
            .map_err(|e| failed("resolv.conf mode", e))?;
        let activator = root.join("alcove");
        let executable = std::env::current_exe().map_err(|e| failed("finding the server's executable", e))?;
        bind_read_only(&executable, &activator)?;
        open_tun_device(&root.join("dev"))?;
        mount(
            None::<&str>,
            root,
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            None::<&str>,
        )
        .map_err(|e| failed("making the staging area read-only", e))?;
        Ok(Staging { root: root.to_path_buf(), code, etc, egress_resolv_conf, runtime_binds, activator })
    }
}

/// The tun device, as the egress helper opens it.
const TUN_DEVICE: &str = "/dev/net/tun";

/// Makes `/dev/net/tun` openable by the environments' uids in the server's mount
/// namespace, if the host's node is not (see the module's documentation): a node of the
/// same device, mode 0666, on a small tmpfs of its own under `dir`, bound over it.
fn open_tun_device(dir: &Path) -> Result<(), SandboxError> {
    let Ok(host) = fs::metadata(TUN_DEVICE) else {
        // No tun driver: functions with egress cannot start, as before.
        return Ok(());
    };
    if host.permissions().mode() & 0o006 == 0o006 {
        return Ok(());
    }
    use std::os::unix::fs::MetadataExt;
    fs::create_dir_all(dir).map_err(|e| failed("creating the device directory", e))?;
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=0755,size=16k"),
    )
    .map_err(|e| failed("mounting the device directory", e))?;
    let node = dir.join("tun");
    nix::sys::stat::mknod(
        &node,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        host.rdev(),
    )
    .map_err(|e| failed("creating a tun device node", e))?;
    fs::set_permissions(&node, fs::Permissions::from_mode(0o666))
        .map_err(|e| failed("tun device mode", e))?;
    mount(Some(&node), TUN_DEVICE, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(|e| failed("binding the tun device", e))
}

fn snapshot_etc(host: &Path, staged: &Path) -> io::Result<()> {
    fs::create_dir_all(staged)?;
    fs::set_permissions(staged, fs::Permissions::from_mode(0o755))?;
    for entry in ETC_ENTRIES {
        copy_world_readable(&host.join(entry), &staged.join(entry))?;
    }
    Ok(())
}

/// Copies `from` to `to` (recursively, symbolic links as links), leaving out whatever
/// other users could not read on the host (private keys under `/etc/ssl/private`).
fn copy_world_readable(from: &Path, to: &Path) -> io::Result<()> {
    let Ok(meta) = fs::symlink_metadata(from) else { return Ok(()) };
    let mode = meta.permissions().mode();
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::symlink(fs::read_link(from)?, to);
    }
    if meta.is_dir() {
        if mode & 0o005 != 0o005 {
            return Ok(());
        }
        fs::create_dir_all(to)?;
        fs::set_permissions(to, fs::Permissions::from_mode(0o755))?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_world_readable(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if meta.is_file() && mode & 0o004 != 0 {
        fs::copy(from, to)?;
        fs::set_permissions(to, fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_keeps_links_and_leaves_out_private_files() {
        let host = tempfile::tempdir().unwrap();
        let ssl = host.path().join("ssl");
        fs::create_dir_all(ssl.join("certs")).unwrap();
        fs::create_dir_all(ssl.join("private")).unwrap();
        fs::set_permissions(ssl.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(ssl.join("private/key.pem"), "secret").unwrap();
        fs::write(ssl.join("certs/ca.pem"), "public").unwrap();
        std::os::unix::fs::symlink("ca.pem", ssl.join("certs/link.pem")).unwrap();
        fs::write(host.path().join("hosts"), "127.0.0.1 localhost").unwrap();
        fs::write(host.path().join("resolv.conf"), "nameserver 1.1.1.1").unwrap();
        fs::set_permissions(host.path().join("resolv.conf"), fs::Permissions::from_mode(0o600)).unwrap();

        let staged = tempfile::tempdir().unwrap();
        let etc = staged.path().join("etc");
        snapshot_etc(host.path(), &etc).unwrap();
        assert_eq!(fs::read_to_string(etc.join("ssl/certs/ca.pem")).unwrap(), "public");
        assert_eq!(fs::read_link(etc.join("ssl/certs/link.pem")).unwrap(), Path::new("ca.pem"));
        assert_eq!(fs::read_to_string(etc.join("hosts")).unwrap(), "127.0.0.1 localhost");
        assert!(!etc.join("ssl/private").exists());
        assert!(!etc.join("resolv.conf").exists());
    }
}
