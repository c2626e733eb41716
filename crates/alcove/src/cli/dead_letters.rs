//! `alcove dead-letters`: async events that failed for good with nowhere to go.

use clap::Args;
use serde_json::Value;

use super::{print_rows, Endpoint, Format};

#[derive(Debug, Args)]
pub struct DeadLettersArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// Only this function's.
    #[arg(long)]
    function: Option<String>,
    /// Most letters shown, newest first.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

const HEADER: &[&str] = &["ID", "FUNCTION", "TENANT", "CONDITION", "ATTEMPTS", "FAILED_AT", "ERROR"];

fn cells(letter: &Value) -> Vec<String> {
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let record = &letter["Record"];
    let error = &record["responsePayload"];
    vec![
        text(&letter["Id"]),
        text(&letter["FunctionName"]),
        text(&letter["TenantId"]),
        text(&record["requestContext"]["condition"]),
        text(&record["requestContext"]["approximateInvokeCount"]),
        text(&letter["FailedAt"]),
        match (error.get("errorType"), error.get("errorMessage")) {
            (Some(kind), Some(message)) => format!("{}: {}", text(kind), text(message)),
            _ => text(error),
        },
    ]
}

pub fn run(args: DeadLettersArgs) -> anyhow::Result<()> {
    let limit = args.limit.to_string();
    let mut query = vec![("limit", limit.as_str())];
    if let Some(function) = &args.function {
        query.push(("function", function));
    }
    let answer = args.endpoint.call("GET", "/alcove/v1/dead-letters", &query, None)?;
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> =
        answer["DeadLetters"].as_array().map(|l| l.iter().map(cells).collect()).unwrap_or_default();
    print_rows(args.format, HEADER, &rows);
    Ok(())
}
