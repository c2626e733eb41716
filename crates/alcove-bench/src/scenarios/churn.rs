//! Tenant churn: N distinct tenants in sequence against one `PER_TENANT` function, with
//! the environment cap at `cap`. Once the cap is reached every invoke is a cold start that
//! evicts the least recently used environment. Measures cold starts per second and samples
//! the server's RSS and open descriptors over the run: both must stay flat, or something
//! per tenant is kept forever.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::alcove::{Alcove, FunctionSpec, ServerOptions};
use crate::figures::{percentile, Figures};
use crate::fixtures;
use crate::http::Conn;
use crate::invoke::invoke;
use crate::process::{open_fds, rss_bytes};
use crate::Ctx;

const MB: f64 = 1024.0 * 1024.0;

#[derive(Clone, Copy)]
struct Sample {
    seconds: f64,
    tenants: usize,
    rss: u64,
    fds: u64,
}

pub async fn run(ctx: &Ctx, figures: &mut Figures, run: usize) -> anyhow::Result<()> {
    let (tenants, cap) = (ctx.churn_tenants, ctx.churn_cap);
    eprintln!("tenant churn: {tenants} tenants in sequence, environment cap {cap}");
    let options = ServerOptions { sandbox: true, max_environments: cap, ..ServerOptions::default() };
    let mut server = Alcove::start(&ctx.alcove, &options).await?;
    let pid = server.process.pid;
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let interval = if ctx.smoke { Duration::from_millis(100) } else { Duration::from_secs(1) };
    let sampler = tokio::spawn({
        let (done, stop) = (Arc::clone(&done), Arc::clone(&stop));
        async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let (Some(rss), Some(fds)) = (rss_bytes(pid), open_fds(pid)) {
                    samples.push(Sample {
                        seconds: started.elapsed().as_secs_f64(),
                        tenants: done.load(Ordering::Relaxed),
                        rss,
                        fds,
                    });
                }
                tokio::time::sleep(interval).await;
            }
            samples
        }
    });
    let result = async {
        let package = fixtures::native_package(&ctx.binaries.echo)?;
        let spec = FunctionSpec {
            name: "churn",
            runtime: "provided.al2023",
            handler: "bootstrap",
            package: &package,
            per_tenant: true,
            egress: false,
        };
        server.create_function(&spec).await?;
        let endpoint = server.endpoint(spec.name);
        let mut conn = Conn::open(server.address).await?;
        let mut latencies = Vec::with_capacity(tenants);
        // Time at which each tenth of the run finished: the rate must not fall as the run goes on.
        let mut tenths = vec![Instant::now()];
        let loop_started = Instant::now();
        for i in 0..tenants {
            let tenant = format!("churn-{run}-{i:07}");
            let invoked = invoke(&mut conn, &endpoint, Some(&tenant), false).await?;
            latencies.push(invoked.latency.as_secs_f64() * 1000.0);
            done.store(i + 1, Ordering::Relaxed);
            if (i + 1) * 10 / tenants > tenths.len() - 1 {
                tenths.push(Instant::now());
                if !ctx.smoke {
                    let rate = (tenants / 10) as f64
                        / tenths[tenths.len() - 1].duration_since(tenths[tenths.len() - 2]).as_secs_f64();
                    eprintln!(
                        "  {} tenants, {:.0} s, {rate:.1} cold starts/s this tenth, server RSS {:.1} MB",
                        i + 1,
                        loop_started.elapsed().as_secs_f64(),
                        rss_bytes(pid).unwrap_or(0) as f64 / MB
                    );
                }
            }
        }
        anyhow::Ok((latencies, loop_started.elapsed(), tenths))
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    let final_sample = (rss_bytes(pid), open_fds(pid));
    let mut samples = sampler.await?;
    server.stop().await;
    let (latencies, elapsed, tenths) = result?;
    if let (Some(rss), Some(fds)) = final_sample {
        samples.push(Sample { seconds: started.elapsed().as_secs_f64(), tenants, rss, fds });
    }
    anyhow::ensure!(!samples.is_empty(), "no RSS sample of the server");
    // The baseline: the first sample once the first tenth of the run is done and the cap
    // has been full for a while (before that the pools and the allocator's arenas are
    // still growing).
    let warm_from = (2 * cap).max(tenants / 10).min(tenants);
    let baseline =
        samples.iter().find(|s| s.tenants >= warm_from).copied().unwrap_or(samples[samples.len() - 1]);
    let last = samples[samples.len() - 1];
    let max_rss = samples.iter().filter(|s| s.tenants >= warm_from).map(|s| s.rss).max().unwrap_or(last.rss);
    let rate = tenants as f64 / elapsed.as_secs_f64();
    let tenth_rate =
        |k: usize| (tenants / 10).max(1) as f64 / tenths[k + 1].duration_since(tenths[k]).as_secs_f64();
    eprintln!(
        "  {tenants} tenants in {:.1} s: {rate:.1} cold starts/s; RSS {:.1} MB after {} tenants, {:.1} MB at the end (max {:.1} MB); fds {} -> {}",
        elapsed.as_secs_f64(),
        baseline.rss as f64 / MB,
        baseline.tenants,
        last.rss as f64 / MB,
        max_rss as f64 / MB,
        baseline.fds,
        last.fds
    );
    figures.record("churn.tenants", tenants as f64);
    figures.record("churn.cap", cap as f64);
    figures.record("churn.seconds", elapsed.as_secs_f64());
    figures.record("churn.cold_starts_per_s", rate);
    if tenths.len() == 11 {
        figures.record("churn.first_tenth_per_s", tenth_rate(0));
        figures.record("churn.last_tenth_per_s", tenth_rate(9));
    }
    figures.record("churn.latency_p50_ms", percentile(&latencies, 50.0));
    figures.record("churn.latency_p99_ms", percentile(&latencies, 99.0));
    figures.record("churn.rss_baseline_mb", baseline.rss as f64 / MB);
    figures.record("churn.rss_baseline_tenants", baseline.tenants as f64);
    figures.record("churn.rss_end_mb", last.rss as f64 / MB);
    figures.record("churn.rss_max_mb", max_rss as f64 / MB);
    figures.record("churn.fds_baseline", baseline.fds as f64);
    figures.record("churn.fds_end", last.fds as f64);
    for s in &samples {
        figures.record_series(
            format!("churn.run{run}"),
            json!({ "seconds": s.seconds, "tenants": s.tenants, "rss_mb": s.rss as f64 / MB, "fds": s.fds }),
        );
    }
    Ok(())
}
