//! Warm synchronous invokes: p50/p99 latency and throughput of the native and Node.js
//! echoes at each concurrency, on Alcove sandboxed (the default), Alcove without sandbox,
//! and the peers. All invokes of a run come from one tenant, so at concurrency c Alcove
//! runs c environments of that tenant.

use std::time::Duration;

use crate::alcove::{Alcove, FunctionSpec, ServerOptions};
use crate::figures::{percentile, Figures};
use crate::fixtures;
use crate::invoke::{closed_loop, Endpoint};
use crate::peers;
use crate::Ctx;

pub const TENANT: &str = "bench-tenant";

async fn measure(
    ctx: &Ctx,
    figures: &mut Figures,
    prefix: &str,
    endpoint: &Endpoint,
    tenant: Option<&str>,
) -> anyhow::Result<()> {
    for &c in &ctx.concurrency {
        let load = closed_loop(endpoint, tenant, c, ctx.warmup, ctx.duration).await?;
        let p50 = percentile(&load.latencies_ms, 50.0);
        let p99 = percentile(&load.latencies_ms, 99.0);
        eprintln!(
            "  {prefix} c={c}: p50 {p50:.3} ms, p99 {p99:.3} ms, {:.0} req/s ({} requests)",
            load.throughput,
            load.latencies_ms.len()
        );
        figures.record(format!("{prefix}.c{c}.p50_ms"), p50);
        figures.record(format!("{prefix}.c{c}.p99_ms"), p99);
        figures.record(format!("{prefix}.c{c}.rps"), load.throughput);
    }
    Ok(())
}

/// The floor under every invoke: one HTTP round trip to the server for a route that does
/// nothing (Lambda's unknown-operation error), on one keep-alive connection.
async fn http_floor(ctx: &Ctx, figures: &mut Figures, address: std::net::SocketAddr) -> anyhow::Result<()> {
    let mut conn = crate::http::Conn::open(address).await?;
    let mut latencies = Vec::new();
    let until = std::time::Instant::now() + ctx.warmup + ctx.duration.min(Duration::from_secs(2));
    while std::time::Instant::now() < until {
        let started = std::time::Instant::now();
        conn.send(hyper::Method::GET, "/bench-floor", &[], bytes::Bytes::new()).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The first half is warm-up.
    let measured = &latencies[latencies.len() / 2..];
    let p50 = percentile(measured, 50.0);
    eprintln!("  warm.http-floor.alcove: p50 {p50:.3} ms ({} requests)", measured.len());
    figures.record("warm.http-floor.alcove.c1.p50_ms", p50);
    Ok(())
}

async fn alcove(ctx: &Ctx, figures: &mut Figures, sandbox: bool) -> anyhow::Result<()> {
    let system = if sandbox { "alcove" } else { "alcove-plain" };
    let max_c = ctx.concurrency.iter().copied().max().unwrap_or(1);
    let options = ServerOptions { sandbox, max_environments: 2 * max_c + 16, ..ServerOptions::default() };
    let mut server = Alcove::start(&ctx.alcove, &options).await?;
    let result = async {
        if sandbox {
            http_floor(ctx, figures, server.address).await?;
        }
        let native = fixtures::native_package(&ctx.binaries.echo)?;
        let node = fixtures::node_package()?;
        let functions = [
            (
                "native",
                FunctionSpec {
                    name: "echo-native",
                    runtime: "provided.al2023",
                    handler: "bootstrap",
                    package: &native,
                    per_tenant: true,
                    egress: false,
                },
            ),
            (
                "node",
                FunctionSpec {
                    name: "echo-node",
                    runtime: "nodejs22.x",
                    handler: "index.handler",
                    package: &node,
                    per_tenant: true,
                    egress: false,
                },
            ),
        ];
        for (runtime, spec) in &functions {
            server.create_function(spec).await?;
            measure(
                ctx,
                figures,
                &format!("warm.{runtime}.{system}"),
                &server.endpoint(spec.name),
                Some(TENANT),
            )
            .await?;
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await;
    result
}

async fn cargo_lambda(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    let Some(tool) = &ctx.peers.cargo_lambda else { return Ok(()) };
    let max_c = ctx.concurrency.iter().copied().max().unwrap_or(1);
    let peer = peers::cargo_lambda(tool, &ctx.repo, max_c).await?;
    let result = measure(ctx, figures, "warm.native.cargo-lambda", &peer.endpoint, None).await;
    peer.stop().await;
    result
}

async fn lambda_local(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    let Some(cli) = &ctx.peers.lambda_local else { return Ok(()) };
    let peer = peers::lambda_local(&ctx.peers.node, cli).await?;
    let result = measure(ctx, figures, "warm.node.lambda-local", &peer.endpoint, None).await;
    peer.stop().await;
    result
}

pub async fn run(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    eprintln!(
        "warm invokes ({} s per point after {} s of warm-up)",
        ctx.duration.as_secs_f64(),
        ctx.warmup.as_secs_f64()
    );
    alcove(ctx, figures, true).await?;
    alcove(ctx, figures, false).await?;
    cargo_lambda(ctx, figures).await?;
    lambda_local(ctx, figures).await?;
    // Let the peers' processes go before the next benchmark.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
