//! `alcove envs`: the execution environments alive on a server.

use clap::Args;
use serde_json::Value;

use super::{print_rows, Endpoint, Format};

#[derive(Debug, Args)]
pub struct EnvsArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// Only this function's environments.
    #[arg(long)]
    function: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

const HEADER: &[&str] = &["ID", "FUNCTION", "VERSION", "TENANT", "STATE", "AGE_S", "INVOKES", "MEMORY_MB"];

fn cells(env: &Value) -> Vec<String> {
    let text = |key: &str| match &env[key] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let memory = env["MemoryUsedBytes"]
        .as_u64()
        .map(|b| format!("{:.1}", b as f64 / 1_048_576.0))
        .unwrap_or("-".into());
    vec![
        text("Id").chars().take(12).collect(),
        text("FunctionName"),
        text("Version"),
        text("TenantId"),
        text("State"),
        format!("{:.0}", env["AgeSeconds"].as_f64().unwrap_or(0.0)),
        text("Invocations"),
        memory,
    ]
}

pub fn run(args: EnvsArgs) -> anyhow::Result<()> {
    let query: Vec<(&str, &str)> =
        args.function.as_deref().map(|f| vec![("function", f)]).unwrap_or_default();
    let answer = args.endpoint.call("GET", "/alcove/v1/environments", &query, None)?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> =
        answer["Environments"].as_array().map(|e| e.iter().map(cells).collect()).unwrap_or_default();
    print_rows(args.format, HEADER, &rows);
    Ok(())
}
