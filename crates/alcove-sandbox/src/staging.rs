//! The server's private mount namespace and the staging directory inside it.
//!
//! bwrap runs as each environment's unprivileged uid and resolves bind sources as that
//! uid, so it cannot reach a code store under a private directory (a data directory in
//! `/root`, a 0700 temp dir) nor an interpreter installed under `/root`. At start-up, while
//! the process is still single-threaded, the server moves into a mount namespace of its
//! own and mounts, at `STAGING_ROOT`, a tmpfs holding read-only bind mounts of those
//! directories. Only the server and the sandboxes it starts see them; they vanish with the
//! server.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

use crate::launcher::SandboxError;

/// A path that exists (or can be created) on the host; in the server's namespace a tmpfs
/// is mounted over it, so servers running side by side do not see each other's staging.
const STAGING_ROOT: &str = "/run/alcove-staging";

/// Directories staged for the sandboxes: the code store and the runtimes' directories.
#[derive(Debug, Clone)]
pub struct Staging {
    /// The code store as the sandboxes' bwrap sees it.
    pub code: PathBuf,
    /// (staged path, path inside the sandbox) of each runtime directory, read-only.
    pub runtime_binds: Vec<(PathBuf, PathBuf)>,
}

fn failed(what: &str, error: impl std::fmt::Display) -> SandboxError {
    SandboxError::Unsupported(format!("{what}: {error}"))
}

fn bind_read_only(source: &Path, target: &Path) -> Result<(), SandboxError> {
    fs::create_dir_all(target).map_err(|e| failed("creating a staging directory", e))?;
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
        mount(Some("tmpfs"), root, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=0755,size=1m"))
            .map_err(|e| failed("mounting the staging tmpfs", e))?;
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).map_err(|e| failed("staging root mode", e))?;
        let code = root.join("code");
        bind_read_only(code_dir, &code)?;
        let mut runtime_binds = Vec::new();
        for (index, (host, inside)) in runtime_dirs.iter().enumerate() {
            let staged = root.join(format!("runtime-{index}"));
            bind_read_only(host, &staged)?;
            runtime_binds.push((staged, inside.clone()));
        }
        Ok(Staging { code, runtime_binds })
    }
}
