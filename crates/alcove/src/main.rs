//! `alcove`: the command-line entry point. Sub-commands are thin; the work lives in the
//! library crates.

mod serve;

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
    Serve(serve::ServeArgs),
}

fn main() -> anyhow::Result<()> {
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
        Command::Serve(args) => serve::run(args),
    }
}
