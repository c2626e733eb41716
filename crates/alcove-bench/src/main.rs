//! `alcove-bench`: starts the real `alcove` release binary and measures warm invokes, cold
//! starts, tenant churn and density on this machine, side by side with the local Lambda
//! emulators a user would otherwise run (`cargo lambda watch`, `lambda-local`) when they
//! are installed. Prints a Markdown report (medians over `--repeat` runs, ratios against
//! the peers) and writes every run's figures as JSON.
//!
//! `--smoke` shrinks every count so the whole thing runs in seconds: CI uses it to prove
//! each benchmark still runs and produces numbers. Nothing here asserts a timing.

#![forbid(unsafe_code)]

mod alcove;
mod figures;
mod fixtures;
mod http;
mod invoke;
mod peers;
mod process;
mod report;
mod scenarios;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};

use crate::figures::Figures;
use crate::fixtures::Binaries;
use crate::peers::PeerTools;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Bench {
    Warm,
    Cold,
    Churn,
    Density,
    Cluster,
}

/// Benchmarks of Alcove against local Lambda emulators.
#[derive(Debug, Parser)]
#[command(name = "alcove-bench")]
struct Args {
    /// Tiny counts and short windows: proves every benchmark runs, in seconds.
    #[arg(long)]
    smoke: bool,
    /// Benchmarks to run (comma-separated); all by default.
    #[arg(long, value_delimiter = ',', default_values = ["warm", "cold", "churn", "density", "cluster"])]
    only: Vec<Bench>,
    /// Runs of each benchmark; the report shows the median of the runs.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Concurrency levels of the warm benchmark.
    #[arg(long, value_delimiter = ',', default_values = ["1", "8", "64"])]
    concurrency: Vec<usize>,
    /// Seconds measured per warm point (after as long again of warm-up, at most 2 s).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// New tenants per function and mode in the cold-start benchmark.
    #[arg(long, default_value_t = 100)]
    cold_tenants: usize,
    /// Fresh starts of each peer in the cold-start benchmark.
    #[arg(long, default_value_t = 5)]
    peer_cold_samples: usize,
    /// Distinct tenants in the churn benchmark.
    #[arg(long, default_value_t = 100_000)]
    tenants: usize,
    /// The environment cap (`--max-environments`) of the churn benchmark.
    #[arg(long, default_value_t = 256)]
    cap: usize,
    /// Idle warm environments the density benchmark starts.
    #[arg(long, default_value_t = 1000)]
    density: usize,
    /// A PostgreSQL server the cluster benchmark may create a database on (its nodes'
    /// store); without one the cluster benchmark is skipped. bench/run.sh starts a
    /// throwaway one when PostgreSQL is installed.
    #[arg(long, env = "ALCOVE_TEST_POSTGRES")]
    postgres: Option<String>,
    /// The `alcove` binary; default: beside this one.
    #[arg(long)]
    alcove: Option<PathBuf>,
    /// Where the fixtures `lambda-echo` and `bootstrap` (lambda-counter) were built;
    /// default: beside this binary.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The repository (the peer builds `tests/fixtures/lambda-echo` from it).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The `cargo-lambda` executable; default: found on PATH. Skipped when absent.
    #[arg(long)]
    cargo_lambda: Option<PathBuf>,
    /// lambda-local's `build/cli.js`; default: under `target/bench-peers`. Skipped when absent.
    #[arg(long)]
    lambda_local: Option<PathBuf>,
    /// Node.js for lambda-local.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// Run without the peers even when they are installed.
    #[arg(long)]
    no_peers: bool,
    /// Where to write every run's figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What every benchmark reads.
pub struct Ctx {
    pub alcove: PathBuf,
    pub binaries: Binaries,
    pub repo: PathBuf,
    pub peers: PeerTools,
    pub smoke: bool,
    pub concurrency: Vec<usize>,
    pub warmup: Duration,
    pub duration: Duration,
    pub cold_tenants: usize,
    pub peer_cold_samples: usize,
    pub churn_tenants: usize,
    pub churn_cap: usize,
    pub density: usize,
    pub postgres: Option<String>,
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

/// What a run is asked to do: the context shared by every benchmark, which benchmarks,
/// how many runs of each, where to write the figures, and notes for the report.
struct Plan {
    ctx: Ctx,
    only: Vec<Bench>,
    repeat: usize,
    json: Option<PathBuf>,
    notes: Vec<String>,
}

fn context(args: Args) -> anyhow::Result<Plan> {
    let here = std::env::current_exe()?.parent().context("binary directory")?.to_path_buf();
    let alcove = args.alcove.unwrap_or_else(|| here.join("alcove"));
    if !alcove.is_file() {
        bail!("{} not found: build with cargo build --release", alcove.display());
    }
    let binaries = Binaries::load(&args.bin_dir.unwrap_or(here))?;
    let repo = std::fs::canonicalize(&args.repo)?;
    let mut notes = Vec::new();
    let mut peers = PeerTools { node: args.node, ..PeerTools::default() };
    if args.no_peers {
        notes.push("peers not run (--no-peers)".to_owned());
    } else {
        peers.cargo_lambda = args.cargo_lambda.or_else(|| on_path("cargo-lambda"));
        peers.lambda_local = args
            .lambda_local
            .or_else(|| Some(repo.join("target/bench-peers/node_modules/lambda-local/build/cli.js")))
            .filter(|p| p.is_file());
        if peers.cargo_lambda.is_none() {
            notes.push(
                "cargo-lambda not installed: native peer figures skipped (bench/run.sh installs it)"
                    .to_owned(),
            );
        }
        if peers.lambda_local.is_none() {
            notes.push(
                "lambda-local not installed: Node.js peer figures skipped (bench/run.sh installs it)"
                    .to_owned(),
            );
        }
    }
    let smoke = args.smoke;
    let duration = if smoke { Duration::from_millis(200) } else { Duration::from_secs_f64(args.duration) };
    let ctx = Ctx {
        alcove,
        binaries,
        repo,
        peers,
        smoke,
        concurrency: if smoke { vec![1, 2] } else { args.concurrency },
        warmup: duration.min(Duration::from_secs(2)),
        duration,
        cold_tenants: if smoke { 3 } else { args.cold_tenants },
        peer_cold_samples: if smoke { 1 } else { args.peer_cold_samples },
        churn_tenants: if smoke { 40 } else { args.tenants },
        churn_cap: if smoke { 8 } else { args.cap },
        density: if smoke { 8 } else { args.density },
        postgres: args.postgres,
    };
    Ok(Plan { ctx, only: args.only, repeat: args.repeat.max(1), json: args.json, notes })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One thread for the client: no cross-thread wake-ups on the measured path, and the
    // server keeps the machine's other core.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async_main(args))
}

async fn async_main(args: Args) -> anyhow::Result<()> {
    let Plan { ctx, only, repeat, json, notes } = context(args)?;
    let mut figures = Figures::default();
    figures.notes = notes;
    let started = Instant::now();
    for run in 0..repeat {
        if repeat > 1 {
            eprintln!("== run {} of {repeat}", run + 1);
        }
        for bench in &only {
            let result = match bench {
                Bench::Warm => scenarios::warm::run(&ctx, &mut figures).await,
                Bench::Cold => scenarios::cold::run(&ctx, &mut figures).await,
                Bench::Churn => scenarios::churn::run(&ctx, &mut figures, run).await,
                Bench::Density => scenarios::density::run(&ctx, &mut figures).await,
                Bench::Cluster => scenarios::cluster::run(&ctx, &mut figures).await,
            };
            result.with_context(|| format!("benchmark {bench:?}"))?;
        }
    }
    let report = report::render(&figures, &ctx.concurrency);
    println!("{report}");
    if let Some(path) = json {
        let machine = serde_json::json!({
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
            "smoke": ctx.smoke,
            "repeat": repeat,
            "seconds": started.elapsed().as_secs_f64(),
        });
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(&figures.to_json(machine))?)?;
        eprintln!("figures written to {}", path.display());
    }
    let invalid = figures.invalid();
    if !invalid.is_empty() {
        bail!("benchmarks produced no usable number for: {}", invalid.join(", "));
    }
    eprintln!(
        "{} figures from {} benchmark(s) in {:.0} s",
        figures.len(),
        only.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
