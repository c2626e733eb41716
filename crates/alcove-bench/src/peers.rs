//! The peers: what a user would otherwise run for local Lambda work, serving the same
//! functions on this machine. `cargo lambda watch` (from the `cargo-lambda` PyPI package)
//! runs the native echo with the official runtime client, as Alcove does; `lambda-local`
//! (npm) runs the Node.js echo inside its own HTTP server process. Neither isolates
//! anything: they are development emulators, and the figures compare speed only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::invoke::Endpoint;
use crate::process::{free_port, wait_for_port, Process};

/// The name `cargo lambda watch` serves the echo under: its binary's name.
pub const CARGO_LAMBDA_FUNCTION: &str = "lambda-echo";

/// Where the peers are, when installed.
#[derive(Debug, Clone, Default)]
pub struct PeerTools {
    /// The `cargo-lambda` executable.
    pub cargo_lambda: Option<PathBuf>,
    /// `lambda-local`'s command-line script (`build/cli.js`) and the `node` to run it.
    pub lambda_local: Option<PathBuf>,
    pub node: PathBuf,
}

pub struct Peer {
    pub process: Process,
    pub endpoint: Endpoint,
    _dir: Option<tempfile::TempDir>,
}

impl Peer {
    pub async fn stop(self) {
        self.process.stop(Duration::from_secs(10)).await;
    }
}

/// `cargo lambda watch` serving the `lambda-echo` fixture (built in release mode, not
/// rebuilt on changes), up to `concurrency` instances of it at once.
pub async fn cargo_lambda(tool: &Path, repo: &Path, concurrency: usize) -> anyhow::Result<Peer> {
    let port = free_port()?;
    let mut command = Command::new(tool);
    command
        .args(["lambda", "watch", "--release", "--ignore-changes", "--quiet", "--locked"])
        .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .arg("--manifest-path")
        .arg(repo.join("tests/fixtures/lambda-echo/Cargo.toml"))
        .current_dir(repo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut process = Process::spawn("cargo lambda watch", &mut command)?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(address, Duration::from_secs(120), &mut process).await?;
    let endpoint =
        Endpoint { address, path: format!("/2015-03-31/functions/{CARGO_LAMBDA_FUNCTION}/invocations") };
    Ok(Peer { process, endpoint, _dir: None })
}

/// `lambda-local --watch` serving the Node.js echo (as CommonJS: its watch mode cannot
/// load ES modules).
pub async fn lambda_local(node: &Path, cli: &Path) -> anyhow::Result<Peer> {
    let dir = tempfile::Builder::new().prefix("alcove-bench-node-").tempdir()?;
    let handler = dir.path().join("index.js");
    std::fs::write(&handler, crate::fixtures::NODE_ECHO_CJS)?;
    let port = free_port()?;
    let mut command = Command::new(node);
    command
        .arg(cli)
        .arg("--lambda-path")
        .arg(&handler)
        .args(["--handler", "handler", "--timeout", "30", "--verboselevel", "0"])
        .args(["--watch", &port.to_string()])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut process = Process::spawn("lambda-local", &mut command)?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(address, Duration::from_secs(30), &mut process).await?;
    Ok(Peer { process, endpoint: Endpoint { address, path: "/".into() }, _dir: Some(dir) })
}
