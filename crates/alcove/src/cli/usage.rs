//! `alcove usage`: invocations, errors, throttles, cold starts, billed duration,
//! GB-seconds and charges per (function, tenant).

use clap::Args;
use serde_json::Value;

use super::{print_rows, Endpoint, Format};

#[derive(Debug, Args)]
pub struct UsageArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// Only this function.
    #[arg(long)]
    function: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// From this time (RFC 3339) or this long ago (90m, 24h, 7d); hours are the unit.
    #[arg(long)]
    since: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

const HEADER: &[&str] = &[
    "FUNCTION",
    "TENANT",
    "ARCH",
    "MEMORY_MB",
    "INVOCATIONS",
    "ERRORS",
    "THROTTLES",
    "COLD_STARTS",
    "INIT_MS",
    "BILLED_MS",
    "GB_SECONDS",
    "COLD_START_CHARGE",
    "TOTAL_CHARGE",
];

fn cells(row: &Value) -> Vec<String> {
    let text = |key: &str| match &row[key] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let number = |key: &str, digits: usize| format!("{:.digits$}", row[key].as_f64().unwrap_or(0.0));
    vec![
        text("FunctionName"),
        text("TenantId"),
        text("Architecture"),
        text("MemorySize"),
        text("Invocations"),
        text("Errors"),
        text("Throttles"),
        text("ColdStarts"),
        number("InitDurationMs", 1),
        text("BilledDurationMs"),
        number("GbSeconds", 3),
        number("ColdStartCharge", 9),
        number("TotalCharge", 9),
    ]
}

pub fn run(args: UsageArgs) -> anyhow::Result<()> {
    let mut query = Vec::new();
    for (key, value) in [("function", &args.function), ("tenant", &args.tenant), ("since", &args.since)] {
        if let Some(value) = value {
            query.push((key, value.as_str()));
        }
    }
    let report = args.endpoint.call("GET", "/alcove/v1/usage", &query, None)?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let mut rows: Vec<Vec<String>> =
        report["Rows"].as_array().map(|r| r.iter().map(cells).collect()).unwrap_or_default();
    if args.format == Format::Table {
        let mut total = cells(&report["Totals"]);
        total[0] = "TOTAL".into();
        for cell in &mut total[1..4] {
            *cell = String::new();
        }
        rows.push(total);
        println!("currency: {}", report["Currency"].as_str().unwrap_or("?"));
    }
    print_rows(args.format, HEADER, &rows);
    Ok(())
}
