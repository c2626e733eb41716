//! Cold starts: every invoke is for a new tenant, so every invoke starts an environment.
//! *Init Duration* is Alcove's own figure from the invoke's `REPORT` line (environment
//! requested → the runtime's first `GET /next`); *latency* is the whole invoke as the
//! client sees it. Three servers: sandboxed (the default, loopback only), sandboxed with
//! egress (`alcove:network=egress`, native only), and plain processes
//! (`--insecure-no-sandbox`), so the cost of isolation is the difference. The peer's cold
//! start is its first invoke after it starts.

use std::time::Duration;

use anyhow::Context;

use crate::alcove::{Alcove, FunctionSpec, ServerOptions};
use crate::figures::{median, percentile, Figures};
use crate::fixtures;
use crate::http::Conn;
use crate::invoke::{init_duration_ms, invoke};
use crate::peers;
use crate::Ctx;

struct Mode {
    name: &'static str,
    sandbox: bool,
    egress: bool,
    runtimes: &'static [&'static str],
}

const MODES: [Mode; 3] = [
    Mode { name: "sandboxed", sandbox: true, egress: false, runtimes: &["native", "node"] },
    Mode { name: "egress", sandbox: true, egress: true, runtimes: &["native"] },
    Mode { name: "plain", sandbox: false, egress: false, runtimes: &["native", "node"] },
];

async fn alcove(ctx: &Ctx, figures: &mut Figures, mode: &Mode) -> anyhow::Result<()> {
    let options = ServerOptions {
        sandbox: mode.sandbox,
        max_environments: 2 * ctx.cold_tenants + 16,
        ..ServerOptions::default()
    };
    let mut server = Alcove::start(&ctx.alcove, &options).await?;
    let result = async {
        let native = fixtures::native_package(&ctx.binaries.echo)?;
        let node = fixtures::node_package()?;
        for &runtime in mode.runtimes {
            let spec = match runtime {
                "native" => FunctionSpec {
                    name: "cold-native",
                    runtime: "provided.al2023",
                    handler: "bootstrap",
                    package: &native,
                    per_tenant: true,
                    egress: mode.egress,
                },
                _ => FunctionSpec {
                    name: "cold-node",
                    runtime: "nodejs22.x",
                    handler: "index.handler",
                    package: &node,
                    per_tenant: true,
                    egress: mode.egress,
                },
            };
            server.create_function(&spec).await?;
            let endpoint = server.endpoint(spec.name);
            let mut conn = Conn::open(server.address).await?;
            // The first environment of a function pays one-off costs (unpacking the code).
            invoke(&mut conn, &endpoint, Some("warm-up"), false).await?;
            let (mut inits, mut latencies) = (Vec::new(), Vec::new());
            for i in 0..ctx.cold_tenants {
                let tenant = format!("cold-{i:05}-{}", uuid::Uuid::new_v4().simple());
                let invoked = invoke(&mut conn, &endpoint, Some(&tenant), true).await?;
                inits.push(
                    init_duration_ms(&invoked.reply)
                        .context("a cold invoke's REPORT line has no Init Duration")?,
                );
                latencies.push(invoked.latency.as_secs_f64() * 1000.0);
            }
            let prefix = format!("cold.{runtime}.{}", mode.name);
            eprintln!(
                "  {prefix}: Init Duration p50 {:.2} ms, invoke p50 {:.2} ms, p99 {:.2} ms ({} tenants)",
                median(&inits),
                median(&latencies),
                percentile(&latencies, 99.0),
                ctx.cold_tenants
            );
            figures.record(format!("{prefix}.init_p50_ms"), median(&inits));
            figures.record(format!("{prefix}.latency_p50_ms"), median(&latencies));
            figures.record(format!("{prefix}.latency_p99_ms"), percentile(&latencies, 99.0));
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await;
    result
}

/// `cargo lambda watch` started afresh for each sample: its first invoke starts the
/// function (through `cargo run`, the binary already built).
async fn cargo_lambda(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    let Some(tool) = &ctx.peers.cargo_lambda else { return Ok(()) };
    let mut latencies = Vec::new();
    // The first start may build the fixture; it is not counted.
    for sample in 0..=ctx.peer_cold_samples {
        let peer = peers::cargo_lambda(tool, &ctx.repo, 1).await?;
        let measured = async {
            let mut conn = Conn::open(peer.endpoint.address).await?;
            invoke(&mut conn, &peer.endpoint, None, false).await
        }
        .await;
        peer.stop().await;
        if sample > 0 {
            latencies.push(measured?.latency.as_secs_f64() * 1000.0);
        } else {
            measured?;
        }
    }
    eprintln!(
        "  cold.native.cargo-lambda: first invoke p50 {:.2} ms ({} starts)",
        median(&latencies),
        latencies.len()
    );
    figures.record("cold.native.cargo-lambda.latency_p50_ms", median(&latencies));
    Ok(())
}

/// `lambda-local` started afresh for each sample: its first invoke loads the handler.
async fn lambda_local(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    let Some(cli) = &ctx.peers.lambda_local else { return Ok(()) };
    let mut latencies = Vec::new();
    for _ in 0..ctx.peer_cold_samples {
        let peer = peers::lambda_local(&ctx.peers.node, cli).await?;
        let measured = async {
            let mut conn = Conn::open(peer.endpoint.address).await?;
            invoke(&mut conn, &peer.endpoint, None, false).await
        }
        .await;
        peer.stop().await;
        latencies.push(measured?.latency.as_secs_f64() * 1000.0);
    }
    eprintln!(
        "  cold.node.lambda-local: first invoke p50 {:.2} ms ({} starts)",
        median(&latencies),
        latencies.len()
    );
    figures.record("cold.node.lambda-local.latency_p50_ms", median(&latencies));
    Ok(())
}

pub async fn run(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    eprintln!("cold starts ({} new tenants per function and mode)", ctx.cold_tenants);
    for mode in &MODES {
        alcove(ctx, figures, mode).await?;
    }
    cargo_lambda(ctx, figures).await?;
    lambda_local(ctx, figures).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
