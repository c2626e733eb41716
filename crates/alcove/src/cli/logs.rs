//! `alcove logs FUNCTION [--tenant T] [--since 10m] [--filter-pattern P] [--follow]`: a
//! function's log events for humans, interleaved by time across its streams, each line
//! prefixed by its time, the tenant whose environment wrote it and the stream's
//! environment. Reads Alcove's `/alcove/v1/functions/{function}/logs`, which knows each
//! stream's tenant (CloudWatch's wire does not carry it).

use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::Endpoint;

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// The function whose log group to read.
    function: String,
    /// Only the streams of this tenant's execution environments.
    #[arg(long)]
    tenant: Option<String>,
    /// Only events from this long ago on: a number with s, m, h or d (e.g. 30s, 10m, 2h).
    #[arg(long, value_parser = parse_since)]
    since: Option<Duration>,
    /// Only events matching this CloudWatch Logs filter pattern.
    #[arg(long)]
    filter_pattern: Option<String>,
    /// Keep polling for new events (every second) until interrupted.
    #[arg(long, short = 'f')]
    follow: bool,
}

/// `30s`, `10m`, `2h`, `1d`.
fn parse_since(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let number: f64 =
        number.parse().map_err(|_| format!("expected e.g. 30s, 10m, 2h or 1d, got {text:?}"))?;
    let seconds = match unit {
        "s" => 1.0,
        "m" | "" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?}: use s, m, h or d")),
    };
    if !(number >= 0.0 && number.is_finite()) {
        return Err(format!("expected a duration of 0 or more, got {text:?}"));
    }
    Ok(Duration::from_secs_f64(number * seconds))
}

/// `2026/01/01/[$LATEST]3f2a9c1d...` → `[$LATEST]3f2a9c1d`.
fn short_stream(name: &str) -> String {
    let environment = name.rsplit('/').next().unwrap_or(name);
    match environment.split_once(']') {
        Some((version, id)) => format!("{version}]{}", id.chars().take(8).collect::<String>()),
        None => environment.to_owned(),
    }
}

fn print_event(event: &Value) {
    let time = event["Timestamp"]
        .as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let tenant = event["TenantId"].as_str().unwrap_or("-");
    let stream = short_stream(event["LogStreamName"].as_str().unwrap_or_default());
    let message = event["Message"].as_str().unwrap_or_default().trim_end_matches('\n');
    println!("{time} {tenant} {stream} {message}");
}

pub fn run(args: LogsArgs) -> anyhow::Result<()> {
    let path = format!("/alcove/v1/functions/{}/logs", args.function);
    let start = args.since.map(|since| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        now.saturating_sub(since).as_millis().to_string()
    });
    let mut token: Option<String> = None;
    loop {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(tenant) = &args.tenant {
            query.push(("tenant", tenant));
        }
        if let Some(start) = &start {
            query.push(("startTime", start));
        }
        if let Some(pattern) = &args.filter_pattern {
            query.push(("filterPattern", pattern));
        }
        if let Some(token) = &token {
            query.push(("nextToken", token));
        }
        let page = match args.endpoint.call("GET", &path, &query, None) {
            // Following a function that has not logged yet: wait for its group.
            Err(e) if args.follow && e.to_string().starts_with("ResourceNotFoundException") => {
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            page => page?,
        };
        for event in page["Events"].as_array().into_iter().flatten() {
            print_event(event);
        }
        match page["NextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None if args.follow => {
                token = page["ResumeToken"].as_str().map(str::to_owned);
                std::thread::sleep(Duration::from_secs(1));
            }
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_number_and_a_unit() {
        assert_eq!(parse_since("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_since("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_since("2").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_since("1.5h").unwrap(), Duration::from_secs(5400));
        assert!(parse_since("5y").is_err() && parse_since("m").is_err() && parse_since("-1s").is_err());
    }

    #[test]
    fn streams_are_shortened_to_their_environment() {
        assert_eq!(short_stream("2026/01/01/[$LATEST]0123456789abcdef"), "[$LATEST]01234567");
        assert_eq!(short_stream("custom"), "custom");
    }
}
