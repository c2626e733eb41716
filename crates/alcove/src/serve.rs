//! `alcove serve`: opens the data directory, binds the listener and serves until SIGINT or
//! SIGTERM, finishing requests in flight.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alcove_api::{AccountConfig, AppState};
use alcove_store::{CodeStore, SqliteStore};
use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port; the bound address is printed on
    /// standard output as `alcove listening on http://ADDR`.
    #[arg(long, env = "ALCOVE_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,

    /// Directory holding the database and code packages. Created if missing.
    #[arg(long, env = "ALCOVE_DATA_DIR", default_value = "./.alcove")]
    data_dir: PathBuf,

    /// The account's concurrency limit, shared by all functions and their tenants.
    #[arg(long, env = "ALCOVE_ACCOUNT_CONCURRENCY", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(100..))]
    account_concurrency: u32,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let database = args.data_dir.join("alcove.db");
    let store = SqliteStore::open(&database)
        .map_err(|e| anyhow::anyhow!("opening database {}: {e}", database.display()))?;
    let code = CodeStore::open(args.data_dir.join("code")).context("opening the code store")?;
    let state = AppState {
        store: Arc::new(store),
        code,
        account: AccountConfig { concurrency_limit: args.account_concurrency },
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, data_dir = %args.data_dir.display(), "serving");
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "alcove listening on http://{address}")?;
        stdout.flush()?;
    }
    axum::serve(listener, alcove_api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
