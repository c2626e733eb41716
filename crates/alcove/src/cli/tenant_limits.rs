//! `alcove tenant-limits`: per-tenant concurrency limits of a PER_TENANT function.

use clap::{Args, Subcommand};
use serde_json::json;

use super::Endpoint;

#[derive(Debug, Args)]
pub struct TenantLimitsArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Shows the function's default limit and per-tenant overrides.
    Get {
        #[arg(long)]
        function: String,
    },
    /// Sets the limit of every tenant without an override.
    SetDefault {
        #[arg(long)]
        function: String,
        #[arg(long)]
        max_concurrency: u32,
    },
    /// Sets one tenant's limit.
    Set {
        #[arg(long)]
        function: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        max_concurrency: u32,
    },
    /// Removes one tenant's override.
    Unset {
        #[arg(long)]
        function: String,
        #[arg(long)]
        tenant: String,
    },
    /// Removes every per-tenant limit of the function.
    Clear {
        #[arg(long)]
        function: String,
    },
}

fn path(function: &str) -> String {
    format!("/alcove/v1/functions/{function}/tenant-limits")
}

fn tenant_path(function: &str, tenant: &str) -> String {
    let tenant: String = tenant
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("/alcove/v1/functions/{function}/tenants/{tenant}/limits")
}

pub fn run(args: TenantLimitsArgs) -> anyhow::Result<()> {
    let endpoint = &args.endpoint;
    let shown = match args.action {
        Action::Get { function } => endpoint.call("GET", &path(&function), &[], None)?,
        Action::SetDefault { function, max_concurrency } => {
            let mut limits = endpoint.call("GET", &path(&function), &[], None)?;
            limits["DefaultMaxConcurrency"] = json!(max_concurrency);
            endpoint.call("PUT", &path(&function), &[], Some(limits))?
        }
        Action::Set { function, tenant, max_concurrency } => endpoint.call(
            "PUT",
            &tenant_path(&function, &tenant),
            &[],
            Some(json!({ "MaxConcurrency": max_concurrency })),
        )?,
        Action::Unset { function, tenant } => {
            endpoint.call("DELETE", &tenant_path(&function, &tenant), &[], None)?;
            endpoint.call("GET", &path(&function), &[], None)?
        }
        Action::Clear { function } => {
            endpoint.call("DELETE", &path(&function), &[], None)?;
            endpoint.call("GET", &path(&function), &[], None)?
        }
    };
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}
