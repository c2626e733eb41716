//! `alcove`: the command-line entry point. Sub-commands are thin; the work lives in the
//! library crates.

#![forbid(unsafe_code)]

mod cli;
mod keys;
mod serve;
mod tls;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

/// Alcove: a self-hosted, AWS Lambda-compatible serverless platform whose execution
/// environments are isolated per tenant.
///
/// Point the AWS CLI or any AWS SDK at it with `--endpoint-url`.
#[derive(Debug, Parser)]
#[command(name = "alcove", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the Lambda API on one HTTP port, state in a data directory.
    Serve(Box<serve::ServeArgs>),
    /// Usage and charges per function and tenant, from a running server.
    Usage(cli::usage::UsageArgs),
    /// Per-tenant concurrency limits of a PER_TENANT function.
    TenantLimits(cli::tenant_limits::TenantLimitsArgs),
    /// The execution environments alive on a running server.
    Envs(cli::envs::EnvsArgs),
    /// Async invocations that failed for good with no on-failure destination.
    DeadLetters(cli::dead_letters::DeadLettersArgs),
    /// A function's log events, by tenant, from a running server.
    Logs(cli::logs::LogsArgs),
    /// Access keys of `--auth sigv4` (works on the data directory, server running or not).
    Keys(keys::KeysArgs),
    /// Policies of roles: what sessions of a role (AssumeRole, execution roles) may do.
    Roles(keys::RolesArgs),
    /// The nodes sharing a PostgreSQL store (`serve --store postgres://...`).
    Cluster(cli::cluster::ClusterArgs),
}

fn main() -> anyhow::Result<()> {
    // The same binary serves as the sandboxes' starter and, inside each sandbox, as its
    // activator.
    match std::env::args_os().nth(1) {
        Some(arg) if arg == alcove_sandbox::ACTIVATOR_ARG => alcove_sandbox::run_activator(),
        Some(arg) if arg == alcove_sandbox::STARTER_ARG => alcove_sandbox::run_starter(),
        _ => {}
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ALCOVE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Usage(args) => cli::usage::run(args),
        Command::TenantLimits(args) => cli::tenant_limits::run(args),
        Command::Envs(args) => cli::envs::run(args),
        Command::DeadLetters(args) => cli::dead_letters::run(args),
        Command::Logs(args) => cli::logs::run(args),
        Command::Keys(args) => keys::run_keys(args),
        Command::Roles(args) => keys::run_roles(args),
        Command::Cluster(args) => cli::cluster::run(args),
    }
}
