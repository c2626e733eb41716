//! Density: how many idle warm environments one server keeps, and what each costs. Starts
//! N environments (one per tenant, the `lambda-counter` fixture, sandboxed), lets them go
//! idle (frozen), then measures the server's RSS growth per environment (the platform's
//! own cost), the PSS of the environments' processes (bwrap and the runtime) and the
//! memory charged to their cgroups. Finally every tenant is invoked again: an environment
//! counts as kept warm only if its counter says 1 (same process as the first invoke).

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::alcove::{Alcove, FunctionSpec, ServerOptions};
use crate::figures::Figures;
use crate::fixtures;
use crate::http::Conn;
use crate::invoke::invoke;
use crate::process::{descendants, environment_cgroups_memory, pss_bytes, rss_bytes};
use crate::Ctx;

const KB: f64 = 1024.0;
const MB: f64 = 1024.0 * 1024.0;

/// Parallel cold starts while filling: the spawner serves one at a time, but the runtimes'
/// own start-up overlaps.
const FILL_CONCURRENCY: usize = 4;

struct Memory {
    server_rss: u64,
    processes_pss: u64,
    processes: usize,
    cgroups: Option<u64>,
}

fn memory(pid: u32) -> Memory {
    let children = descendants(pid);
    Memory {
        server_rss: rss_bytes(pid).unwrap_or(0),
        processes_pss: children.iter().filter_map(|&p| pss_bytes(p)).sum(),
        processes: children.len(),
        cgroups: environment_cgroups_memory(pid).map(|(bytes, _)| bytes),
    }
}

fn tenant(i: usize) -> String {
    format!("density-{i:06}")
}

async fn counter(conn: &mut Conn, endpoint: &crate::invoke::Endpoint, tenant: &str) -> anyhow::Result<u64> {
    let invoked = invoke(conn, endpoint, Some(tenant), false).await?;
    let value: serde_json::Value = serde_json::from_slice(&invoked.reply.body)?;
    value["counter"].as_u64().context("lambda-counter reply without a counter")
}

pub async fn run(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    let n = ctx.density;
    eprintln!("density: {n} idle warm environments");
    let options = ServerOptions {
        sandbox: true,
        max_environments: n + 16,
        idle_timeout_secs: 7200,
        ..ServerOptions::default()
    };
    let mut server = Alcove::start(&ctx.alcove, &options).await?;
    let pid = server.process.pid;
    let result = async {
        let package = fixtures::native_package(&ctx.binaries.counter)?;
        let spec = FunctionSpec { name: "density", runtime: "provided.al2023", handler: "bootstrap", package: &package, per_tenant: true, egress: false };
        server.create_function(&spec).await?;
        let endpoint = server.endpoint(spec.name);
        // One environment first, so one-off costs (code unpacked, runtime pages cached,
        // connections open) are in the baseline, not in the per-environment figure.
        let mut conn = Conn::open(server.address).await?;
        counter(&mut conn, &endpoint, "density-baseline").await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = memory(pid);
        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..FILL_CONCURRENCY {
            let endpoint = endpoint.clone();
            let mut conn = Conn::open(server.address).await?;
            workers.push(tokio::spawn(async move {
                for i in (w..n).step_by(FILL_CONCURRENCY) {
                    let value = counter(&mut conn, &endpoint, &tenant(i)).await?;
                    anyhow::ensure!(value == 0, "tenant {i} got a used environment (counter {value})");
                }
                anyhow::Ok(())
            }));
        }
        for worker in workers {
            worker.await??;
        }
        let fill_seconds = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(if ctx.smoke { 0 } else { 2 })).await;
        let after = memory(pid);
        let mut warm = 0;
        for i in 0..n {
            if counter(&mut conn, &endpoint, &tenant(i)).await? == 1 {
                warm += 1;
            }
        }
        let per = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / n as f64 / KB;
        eprintln!(
            "  {warm}/{n} kept warm; started in {fill_seconds:.1} s; server RSS {:.1} -> {:.1} MB ({:.0} KB per environment); \
             environment processes {} -> {}, PSS {:.0} KB per environment; cgroups {:?} KB per environment",
            before.server_rss as f64 / MB,
            after.server_rss as f64 / MB,
            per(after.server_rss, before.server_rss),
            before.processes,
            after.processes,
            per(after.processes_pss, before.processes_pss),
            after.cgroups.zip(before.cgroups).map(|(a, b)| per(a, b).round()),
        );
        figures.record("density.environments", n as f64);
        figures.record("density.kept_warm", f64::from(warm));
        figures.record("density.fill_seconds", fill_seconds);
        figures.record("density.server_rss_before_mb", before.server_rss as f64 / MB);
        figures.record("density.server_rss_after_mb", after.server_rss as f64 / MB);
        figures.record("density.server_kb_per_env", per(after.server_rss, before.server_rss));
        figures.record("density.processes_per_env", (after.processes.saturating_sub(before.processes)) as f64 / n as f64);
        figures.record("density.process_pss_kb_per_env", per(after.processes_pss, before.processes_pss));
        if let (Some(a), Some(b)) = (after.cgroups, before.cgroups) {
            figures.record("density.cgroup_kb_per_env", per(a, b));
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await;
    result
}
