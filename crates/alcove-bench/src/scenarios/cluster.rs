//! Two `alcove serve` nodes on one PostgreSQL store: warm invokes of one tenant through
//! the node that owns it (its environments are there) against the same invokes through
//! the other node, which forwards each to the owner; and what the warm path costs
//! PostgreSQL, counted as the database's committed transactions per invoke beyond what
//! the idle nodes commit on their own (heartbeats) in as long a window.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::alcove::{Alcove, FunctionSpec, ServerOptions};
use crate::figures::{percentile, Figures};
use crate::fixtures;
use crate::invoke::closed_loop;
use crate::Ctx;

const TENANT: &str = "bench-tenant";
const FUNCTION: &str = "echo-native";

/// Longer than the nodes' heartbeat: by then each has read the other.
const SETTLE: Duration = Duration::from_millis(2500);

/// The database's committed transactions so far, as PostgreSQL's statistics have them.
async fn commits(client: &tokio_postgres::Client) -> anyhow::Result<i64> {
    // Statistics are flushed by the sessions now and then, and a transaction reads one
    // snapshot of them: wait for the flush, then read afresh.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.batch_execute("SELECT pg_stat_clear_snapshot()").await?;
    let row = client
        .query_one("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", &[])
        .await?;
    Ok(row.get(0))
}

pub async fn run(ctx: &Ctx, figures: &mut Figures) -> anyhow::Result<()> {
    let Some(url) = &ctx.postgres else {
        eprintln!("cluster: skipped (no PostgreSQL: --postgres or ALCOVE_TEST_POSTGRES)");
        return Ok(());
    };
    let alcove_sql::Location::Postgres(store) = alcove_sql::scratch_database(url).await? else {
        bail!("a scratch database is always on PostgreSQL");
    };
    eprintln!("cluster: two nodes on one PostgreSQL store, warm invokes of one tenant");
    let node = |id: &str| ServerOptions {
        extra_args: vec!["--store".into(), store.clone(), "--node-id".into(), id.into()],
        ..ServerOptions::default()
    };
    let mut nodes = vec![Alcove::start(&ctx.alcove, &node("bench-a")).await?];
    nodes.push(Alcove::start(&ctx.alcove, &node("bench-b")).await?);
    let result = measure(ctx, figures, &store, &mut nodes).await;
    for node in nodes {
        node.stop().await;
    }
    result
}

async fn measure(ctx: &Ctx, figures: &mut Figures, store: &str, nodes: &mut [Alcove]) -> anyhow::Result<()> {
    let package = fixtures::native_package(&ctx.binaries.echo)?;
    nodes[0]
        .create_function(&FunctionSpec {
            name: FUNCTION,
            runtime: "provided.al2023",
            handler: "bootstrap",
            package: &package,
            per_tenant: true,
            egress: false,
        })
        .await?;
    tokio::time::sleep(SETTLE).await;
    // One invoke starts the tenant's environment on its owner, wherever it arrives.
    closed_loop(&nodes[0].endpoint(FUNCTION), Some(TENANT), 1, Duration::ZERO, Duration::from_millis(50))
        .await?;
    let mut owner = None;
    for (i, node) in nodes.iter_mut().enumerate() {
        if node.tenants_with_environments(FUNCTION).await?.iter().any(|t| t == TENANT) {
            owner = Some(i);
        }
    }
    let owner = owner.context("no node runs the tenant's environment")?;
    let other = 1 - owner;

    let (client, connection) = tokio_postgres::connect(store, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let mut owner_requests = 0usize;
    let mut load_commits = 0i64;
    let mut idle_commits = 0i64;
    for (via, node) in [("owner", owner), ("forwarded", other)] {
        for &c in &ctx.concurrency {
            let before = commits(&client).await?;
            let load =
                closed_loop(&nodes[node].endpoint(FUNCTION), Some(TENANT), c, ctx.warmup, ctx.duration)
                    .await?;
            let after = commits(&client).await?;
            let p50 = percentile(&load.latencies_ms, 50.0);
            let p99 = percentile(&load.latencies_ms, 99.0);
            eprintln!(
                "  cluster.native.{via} c={c}: p50 {p50:.3} ms, p99 {p99:.3} ms, {:.0} req/s ({} requests)",
                load.throughput,
                load.latencies_ms.len()
            );
            figures.record(format!("cluster.native.{via}.c{c}.p50_ms"), p50);
            figures.record(format!("cluster.native.{via}.c{c}.p99_ms"), p99);
            figures.record(format!("cluster.native.{via}.c{c}.rps"), load.throughput);
            if via == "owner" {
                // Warm-up invokes are not in `latencies_ms`: estimated at the measured
                // rate over the warm-up window.
                let warmup_requests = load.throughput * ctx.warmup.as_secs_f64();
                owner_requests += load.latencies_ms.len() + warmup_requests as usize;
                load_commits += after - before;
                // The same window with no invokes: what the nodes commit on their own.
                let before = commits(&client).await?;
                tokio::time::sleep(ctx.warmup + ctx.duration).await;
                idle_commits += commits(&client).await? - before;
            }
        }
    }
    let per_invoke = ((load_commits - idle_commits).max(0) as f64) / owner_requests.max(1) as f64;
    eprintln!(
        "  cluster: {per_invoke:.4} database transactions per warm invoke \
         ({load_commits} under load, {idle_commits} idle in as long, {owner_requests} invokes)"
    );
    figures.record("cluster.native.owner.db_transactions_per_invoke", per_invoke);
    Ok(())
}
