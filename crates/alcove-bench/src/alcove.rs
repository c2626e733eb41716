//! One `alcove serve` under test: the real release binary on an ephemeral port with a
//! data directory of its own, and the few Lambda API calls the benchmarks make.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::http::Conn;
use crate::invoke::Endpoint;
use crate::process::Process;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub sandbox: bool,
    pub max_environments: usize,
    pub idle_timeout_secs: u64,
    /// More arguments for `alcove serve` (a cluster node's `--store`, `--node-id`).
    pub extra_args: Vec<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { sandbox: true, max_environments: 128, idle_timeout_secs: 600, extra_args: Vec::new() }
    }
}

/// A function to create.
pub struct FunctionSpec<'a> {
    pub name: &'a str,
    pub runtime: &'a str,
    pub handler: &'a str,
    pub package: &'a [u8],
    pub per_tenant: bool,
    /// `alcove:network=egress` when set.
    pub egress: bool,
}

pub struct Alcove {
    pub process: Process,
    pub address: SocketAddr,
    data: tempfile::TempDir,
    control: Conn,
}

impl Alcove {
    pub async fn start(binary: &Path, options: &ServerOptions) -> anyhow::Result<Alcove> {
        let data = tempfile::Builder::new().prefix("alcove-bench-").tempdir()?;
        let log = std::fs::File::create(data.path().join("server.log"))?;
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path().join("data"))
            .args(["--max-environments", &options.max_environments.to_string()])
            .args(["--idle-timeout", &options.idle_timeout_secs.to_string()])
            .args(&options.extra_args)
            .env("ALCOVE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        if !options.sandbox {
            command.arg("--insecure-no-sandbox");
        }
        let mut process = Process::spawn("alcove serve", &mut command)?;
        let stdout = process.child().stdout.take().context("server stdout")?;
        let mut line = String::new();
        let read =
            tokio::time::timeout(Duration::from_secs(30), BufReader::new(stdout).read_line(&mut line)).await;
        let prefix = "alcove listening on http://";
        let Some(address) = line.trim().strip_prefix(prefix).and_then(|a| a.parse::<SocketAddr>().ok())
        else {
            let log = std::fs::read_to_string(data.path().join("server.log")).unwrap_or_default();
            process.stop(Duration::from_secs(5)).await;
            bail!("alcove serve did not start ({read:?}, first line {line:?}); its log:\n{log}");
        };
        let control = Conn::open(address).await?;
        Ok(Alcove { process, address, data, control })
    }

    pub async fn create_function(&mut self, spec: &FunctionSpec<'_>) -> anyhow::Result<()> {
        let mut body = json!({
            "FunctionName": spec.name,
            "Runtime": spec.runtime,
            "Handler": spec.handler,
            "Role": "arn:aws:iam::123456789012:role/lambda-role",
            "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(spec.package) },
            "MemorySize": 128,
            "Timeout": 30,
        });
        if spec.per_tenant {
            body["TenancyConfig"] = json!({ "TenantIsolationMode": "PER_TENANT" });
        }
        if spec.egress {
            body["Tags"] = json!({ "alcove:network": "egress" });
        }
        let reply = self.control.post("/2015-03-31/functions", &[], Bytes::from(body.to_string())).await?;
        if !reply.status.is_success() {
            bail!("CreateFunction {} failed: {} {}", spec.name, reply.status, reply.text());
        }
        self.wait_active(spec.name).await
    }

    /// A new function is `Pending` for a moment, as on AWS, and refuses invokes until it
    /// is `Active`: wait for it, as the SDKs' `function_active_v2` waiter does.
    async fn wait_active(&mut self, name: &str) -> anyhow::Result<()> {
        let path = format!("/2015-03-31/functions/{name}/configuration");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let reply = self.control.send(hyper::Method::GET, &path, &[], Bytes::new()).await?;
            let state = serde_json::from_slice::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|c| c.get("State").and_then(|s| s.as_str()).map(str::to_owned));
            match state.as_deref() {
                Some("Active") => return Ok(()),
                Some("Pending") if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                _ => bail!("function {name} did not become Active: {} {}", reply.status, reply.text()),
            }
        }
    }

    /// The tenants this server runs environments of `function` for.
    pub async fn tenants_with_environments(&mut self, function: &str) -> anyhow::Result<Vec<String>> {
        let path = format!("/alcove/v1/environments?function={function}");
        let reply = self.control.send(hyper::Method::GET, &path, &[], Bytes::new()).await?;
        if !reply.status.is_success() {
            bail!("listing environments failed: {} {}", reply.status, reply.text());
        }
        let listed: serde_json::Value = serde_json::from_slice(&reply.body)?;
        Ok(listed["Environments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["TenantId"].as_str().map(str::to_owned))
            .collect())
    }

    pub fn endpoint(&self, function: &str) -> Endpoint {
        Endpoint { address: self.address, path: format!("/2015-03-31/functions/{function}/invocations") }
    }

    /// Stops the server. If it had already exited (a crash), its log goes to standard
    /// error, so a failed benchmark says why.
    pub async fn stop(mut self) {
        if let Ok(Some(status)) = self.process.child().try_wait() {
            let log = std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("alcove serve exited on its own ({status}); the end of its log:");
            for line in tail.into_iter().rev() {
                eprintln!("  {line}");
            }
        }
        // Shutting down many environments takes a while: give it a minute.
        self.process.stop(Duration::from_secs(60)).await;
    }
}
