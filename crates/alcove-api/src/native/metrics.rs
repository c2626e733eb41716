//! `GET /metrics`: Prometheus text exposition of aggregate figures. Labels are function
//! names and throttle reasons only; tenant ids are unbounded and would explode a time
//! series database, so per-tenant figures come from the usage API instead.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::error::ApiResult;
use crate::AppState;

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
        }
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One counter family: its name, its help text, and how a function's totals give its value.
type Counter = (&'static str, &'static str, fn(&alcove_envs::FunctionTotals) -> String);

pub async fn render(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let totals = state.envs.usage().totals();
    let (alive, idle) = state.envs.counts();
    let queued = state.events.pending().await?;
    let mut out = String::new();
    let counters: [Counter; 4] = [
        ("alcove_invocations_total", "Invocations that ran, by function.", |t| t.invocations.to_string()),
        ("alcove_errors_total", "Invocations that ended in a function error, by function.", |t| {
            t.errors.to_string()
        }),
        (
            "alcove_cold_starts_total",
            "Invocations that started a new execution environment, by function.",
            |t| t.cold_starts.to_string(),
        ),
        ("alcove_duration_milliseconds_total", "Time spent running invocations, by function.", |t| {
            format!("{:.3}", t.duration_ms)
        }),
    ];
    for (name, help, value) in counters {
        let mut family = Family::new(&mut out, name, "counter", help);
        for (function, t) in &totals {
            family.sample(name, &[("function", function.as_str())], value(t));
        }
    }
    let mut family = Family::new(
        &mut out,
        "alcove_throttles_total",
        "counter",
        "Invocations refused by a concurrency limit, by function and reason.",
    );
    for (function, t) in &totals {
        for (reason, count) in &t.throttles {
            family.sample(
                "alcove_throttles_total",
                &[("function", function.as_str()), ("reason", reason)],
                count,
            );
        }
    }
    let mut family =
        Family::new(&mut out, "alcove_environments", "gauge", "Execution environments alive, by state.");
    family.sample("alcove_environments", &[("state", "busy")], alive.saturating_sub(idle));
    family.sample("alcove_environments", &[("state", "idle")], idle);
    let mut family = Family::new(
        &mut out,
        "alcove_async_events_pending",
        "gauge",
        "Accepted Event invocations not yet run to an end.",
    );
    family.sample("alcove_async_events_pending", &[], queued);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
