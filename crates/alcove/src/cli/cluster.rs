//! `alcove cluster status`: the nodes sharing a PostgreSQL store, their leases, and what
//! each one runs (asked of each live node over its API). `alcove cluster drain NODE`:
//! the node gets no new work (the others stop ranking it at their next heartbeat) while it
//! finishes what it runs; `--undo` takes it back.

use alcove_cluster::membership;
use alcove_sql::{Location, Tx};
use clap::{Args, Subcommand};

use super::{print_rows, Endpoint, Format};

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Every node of the cluster: address, version, lease, environments and tenants.
    Status(StatusArgs),
    /// Stops giving a node new work (its tenants move to their next node) while it
    /// finishes what it runs; with --undo, gives it work again.
    Drain(DrainArgs),
}

#[derive(Debug, Args)]
struct DrainArgs {
    /// The node's id, as `alcove cluster status` shows it.
    node: String,
    /// The PostgreSQL store the nodes share.
    #[arg(long, env = "ALCOVE_STORE")]
    store: String,
    /// Give the node work again.
    #[arg(long)]
    undo: bool,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The PostgreSQL store the nodes share.
    #[arg(long, env = "ALCOVE_STORE")]
    store: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

const HEADER: &[&str] = &["NODE", "ADDRESS", "VERSION", "STATE", "LEASE_S", "ENVIRONMENTS", "TENANTS"];

pub fn run(args: ClusterArgs) -> anyhow::Result<()> {
    match args.command {
        ClusterCommand::Status(args) => status(args),
        ClusterCommand::Drain(args) => drain(args),
    }
}

fn drain(args: DrainArgs) -> anyhow::Result<()> {
    let location = Location::parse(&args.store)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let (node, draining) = (args.node.clone(), !args.undo);
    let found = runtime.block_on(async {
        let db = alcove_cluster::Membership::observe(&location).await?;
        db.write(move |tx: &dyn Tx| membership::set_draining(tx, &node, draining))
            .await
            .map_err(anyhow::Error::from)
    })?;
    if !found {
        anyhow::bail!("no node {} in the cluster at {}", args.node, location.describe());
    }
    println!(
        "{} {}",
        args.node,
        if draining {
            "is draining: no new work once the others see it (one heartbeat); it finishes what it runs"
        } else {
            "takes new work again"
        }
    );
    Ok(())
}

fn status(args: StatusArgs) -> anyhow::Result<()> {
    let location = Location::parse(&args.store)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let (members, now_ms) = runtime.block_on(async {
        let db = alcove_cluster::Membership::observe(&location).await?;
        db.read(|tx: &dyn Tx| {
            let now: i64 = tx
                .query_one("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)", &[])?
                .get(0)?;
            Ok::<_, alcove_sql::SqlError>((membership::list(tx)?, now))
        })
        .await
        .map_err(anyhow::Error::from)
    })?;
    let mut rows = Vec::new();
    let mut documents = Vec::new();
    for member in &members {
        let state = match (member.live, member.draining) {
            (false, _) => "lapsed",
            (true, true) => "draining",
            (true, false) => "live",
        };
        // What the node runs, from the node itself; a node that does not answer shows "-".
        let environments = member
            .live
            .then(|| {
                Endpoint { endpoint: member.address.clone() }
                    .call("GET", "/alcove/v1/environments", &[], None)
                    .ok()
            })
            .flatten();
        let listed = environments.as_ref().and_then(|e| e["Environments"].as_array());
        let tenants = listed.map(|envs| {
            envs.iter()
                .filter_map(|e| e["TenantId"].as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        });
        rows.push(vec![
            member.id.clone(),
            member.address.clone(),
            member.version.clone(),
            state.into(),
            format!("{:.1}", (member.lease_until_ms - now_ms) as f64 / 1000.0),
            listed.map_or("-".into(), |e| e.len().to_string()),
            tenants.map_or("-".into(), |t| t.to_string()),
        ]);
        documents.push(serde_json::json!({
            "NodeId": member.id,
            "Address": member.address,
            "Version": member.version,
            "State": state,
            "LeaseRemainingMs": member.lease_until_ms - now_ms,
            "Environments": listed.map(|e| e.len()),
            "Tenants": tenants,
        }));
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "Nodes": documents }))?);
    } else {
        print_rows(args.format, HEADER, &rows);
    }
    Ok(())
}
