//! The Markdown report: one table per benchmark, medians over runs, ratios against the
//! peers, and where each target stands. Missing figures show as "—".

use std::fmt::Write;

use crate::figures::Figures;

fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?).filter(|r| r.is_finite())
}

fn ratio_text(a: Option<f64>, b: Option<f64>) -> String {
    match ratio(a, b) {
        Some(r) => format!("{r:.2}×"),
        None => "—".into(),
    }
}

fn warm(f: &Figures, concurrency: &[usize], out: &mut String) {
    let _ = writeln!(out, "### Warm invokes (ms, requests/s; one tenant, closed loop)\n");
    let _ = writeln!(
        out,
        "| function | c | Alcove p50 | Alcove p99 | Alcove req/s | no sandbox p50 | no sandbox p99 | no sandbox req/s | peer | peer p50 | peer p99 | peer req/s | p50 Alcove/peer | req/s Alcove/peer |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (runtime, peer) in [("native", "cargo-lambda"), ("node", "lambda-local")] {
        for c in concurrency {
            let g = |system: &str, what: &str| f.get(&format!("warm.{runtime}.{system}.c{c}.{what}"));
            let _ = writeln!(
                out,
                "| {runtime} echo | {c} | {} | {} | {} | {} | {} | {} | {peer} | {} | {} | {} | {} | {} |",
                num(g("alcove", "p50_ms"), 3),
                num(g("alcove", "p99_ms"), 3),
                num(g("alcove", "rps"), 0),
                num(g("alcove-plain", "p50_ms"), 3),
                num(g("alcove-plain", "p99_ms"), 3),
                num(g("alcove-plain", "rps"), 0),
                num(g(peer, "p50_ms"), 3),
                num(g(peer, "p99_ms"), 3),
                num(g(peer, "rps"), 0),
                ratio_text(g("alcove", "p50_ms"), g(peer, "p50_ms")),
                ratio_text(g("alcove", "rps"), g(peer, "rps")),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nFloor: one HTTP round trip to Alcove for a route that does nothing: p50 {} ms.",
        num(f.get("warm.http-floor.alcove.c1.p50_ms"), 3)
    );
    out.push('\n');
}

fn cold(f: &Figures, out: &mut String) {
    let _ = writeln!(out, "### Cold starts (ms; a new tenant per invoke)\n");
    let _ = writeln!(
        out,
        "| function | figure | sandboxed | sandboxed with egress | no sandbox | sandboxed − no sandbox | peer first invoke | sandboxed / peer |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (runtime, peer) in [("native", "cargo-lambda"), ("node", "lambda-local")] {
        for (label, what) in [
            ("Init Duration p50", "init_p50_ms"),
            ("invoke p50", "latency_p50_ms"),
            ("invoke p99", "latency_p99_ms"),
        ] {
            let g = |mode: &str| f.get(&format!("cold.{runtime}.{mode}.{what}"));
            let peer_value = if what == "latency_p50_ms" {
                f.get(&format!("cold.{runtime}.{peer}.latency_p50_ms"))
            } else {
                None
            };
            let diff = g("sandboxed").zip(g("plain")).map(|(a, b)| a - b);
            let _ = writeln!(
                out,
                "| {runtime} echo | {label} | {} | {} | {} | {} | {} | {} |",
                num(g("sandboxed"), 2),
                num(g("egress"), 2),
                num(g("plain"), 2),
                diff.map(|d| format!("{d:+.2}")).unwrap_or_else(|| "—".into()),
                if what == "latency_p50_ms" {
                    format!("{} ({peer})", num(peer_value, 2))
                } else {
                    String::new()
                },
                if what == "latency_p50_ms" { ratio_text(g("sandboxed"), peer_value) } else { String::new() },
            );
        }
    }
    out.push('\n');
}

fn churn(f: &Figures, out: &mut String) {
    let _ = writeln!(out, "### Tenant churn (sandboxed, native echo)\n");
    let _ = writeln!(out, "| figure | value |\n|---|---|");
    let rows: [(&str, &str, usize); 14] = [
        ("distinct tenants, in sequence", "churn.tenants", 0),
        ("environment cap", "churn.cap", 0),
        ("run time (s)", "churn.seconds", 1),
        ("cold starts per second", "churn.cold_starts_per_s", 1),
        ("… in the first tenth of the run", "churn.first_tenth_per_s", 1),
        ("… in the last tenth of the run", "churn.last_tenth_per_s", 1),
        ("invoke p50 (ms)", "churn.latency_p50_ms", 2),
        ("invoke p99 (ms)", "churn.latency_p99_ms", 2),
        ("server RSS after the first tenth of the run (MB)", "churn.rss_baseline_mb", 1),
        ("… measured after this many tenants", "churn.rss_baseline_tenants", 0),
        ("server RSS at the end (MB)", "churn.rss_end_mb", 1),
        ("server RSS, highest sample after the first tenth (MB)", "churn.rss_max_mb", 1),
        ("server open descriptors after the first tenth", "churn.fds_baseline", 0),
        ("server open descriptors at the end", "churn.fds_end", 0),
    ];
    for (label, key, decimals) in rows {
        let _ = writeln!(out, "| {label} | {} |", num(f.get(key), decimals));
    }
    out.push('\n');
}

fn density(f: &Figures, out: &mut String) {
    let _ = writeln!(out, "### Density (sandboxed, native lambda-counter, idle and frozen)\n");
    let _ = writeln!(out, "| figure | value |\n|---|---|");
    let rows: [(&str, &str, usize); 9] = [
        ("environments started", "density.environments", 0),
        ("… still warm when invoked again", "density.kept_warm", 0),
        ("time to start them, 4 at a time (s)", "density.fill_seconds", 1),
        ("server RSS before / after (MB)", "", 1),
        ("server RSS per environment (KB)", "density.server_kb_per_env", 0),
        ("host processes per environment", "density.processes_per_env", 1),
        ("PSS of those processes per environment (KB)", "density.process_pss_kb_per_env", 0),
        ("memory charged to the environment's cgroup (KB)", "density.cgroup_kb_per_env", 0),
        ("total per environment: server + processes (KB)", "", 0),
    ];
    for (label, key, decimals) in rows {
        let value = match (label, key) {
            (l, "") if l.starts_with("server RSS before") => format!(
                "{} / {}",
                num(f.get("density.server_rss_before_mb"), 1),
                num(f.get("density.server_rss_after_mb"), 1)
            ),
            (_, "") => num(
                f.get("density.server_kb_per_env")
                    .zip(f.get("density.process_pss_kb_per_env"))
                    .map(|(a, b)| a + b),
                0,
            ),
            _ => num(f.get(key), decimals),
        };
        let _ = writeln!(out, "| {label} | {value} |");
    }
    out.push('\n');
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn targets(f: &Figures, out: &mut String) {
    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(out, "| target | measured | status |\n|---|---|---|");
    let p50 = f.get("warm.native.alcove.c1.p50_ms");
    let _ = writeln!(
        out,
        "| warm native echo p50 ≤ 0.3 ms at c=1 | {} ms | {} |",
        num(p50, 3),
        verdict(p50.map(|v| v <= 0.3))
    );
    let c_max = f
        .keys_with_prefix("warm.native.alcove.c")
        .filter_map(|k| k.strip_prefix("warm.native.alcove.c")?.split_once('.')?.0.parse::<usize>().ok())
        .collect::<Vec<_>>();
    for c in dedup(c_max) {
        let r = ratio(
            f.get(&format!("warm.native.alcove.c{c}.rps")),
            f.get(&format!("warm.native.cargo-lambda.c{c}.rps")),
        );
        let _ = writeln!(
            out,
            "| warm native throughput ≥ 3× the peer's at c={c} | {} | {} |",
            ratio_text(r, Some(1.0)),
            verdict(r.map(|v| v >= 3.0))
        );
    }
    let init = f.get("cold.native.sandboxed.init_p50_ms");
    let _ = writeln!(
        out,
        "| sandboxed native cold start ≤ 10 ms to first /next | {} ms | {} |",
        num(init, 2),
        verdict(init.map(|v| v <= 10.0))
    );
    let rate = f.get("churn.cold_starts_per_s");
    let _ = writeln!(
        out,
        "| ≥ 100 tenant cold starts per second | {} /s | {} |",
        num(rate, 1),
        verdict(rate.map(|v| v >= 100.0))
    );
    let tenants = f.get("churn.tenants").unwrap_or(0.0);
    let growth = f.get("churn.rss_end_mb").zip(f.get("churn.rss_baseline_mb")).map(|(a, b)| a - b);
    // Flat: less than 10% growth from the end of the first tenth to the end of the run.
    let flat = growth.zip(f.get("churn.rss_baseline_mb")).map(|(g, b)| g <= 0.1 * b);
    let _ = writeln!(
        out,
        "| RSS flat across 100,000 tenants | {} MB over {tenants:.0} tenants | {} |",
        growth.map(|g| format!("{g:+.1}")).unwrap_or_else(|| "—".into()),
        if tenants < 100_000.0 && flat.is_some() {
            "run shorter than 100,000 tenants"
        } else {
            verdict(flat)
        }
    );
    let warm = f.get("density.kept_warm");
    let _ = writeln!(
        out,
        "| ≥ 1,000 idle warm native environments | {} | {} |",
        num(warm, 0),
        verdict(warm.map(|v| v >= 1000.0))
    );
    out.push('\n');
}

fn dedup(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

fn cluster(f: &Figures, concurrency: &[usize], out: &mut String) {
    let _ = writeln!(
        out,
        "### Cluster: warm invokes through the owner and through a forwarding node (ms, requests/s)\n"
    );
    let _ = writeln!(
        out,
        "| function | c | owner p50 | owner p99 | owner req/s | forwarded p50 | forwarded p99 | forwarded req/s | p50 forwarded/owner |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for c in concurrency {
        let g = |via: &str, what: &str| f.get(&format!("cluster.native.{via}.c{c}.{what}"));
        let _ = writeln!(
            out,
            "| native echo | {c} | {} | {} | {} | {} | {} | {} | {} |",
            num(g("owner", "p50_ms"), 3),
            num(g("owner", "p99_ms"), 3),
            num(g("owner", "rps"), 0),
            num(g("forwarded", "p50_ms"), 3),
            num(g("forwarded", "p99_ms"), 3),
            num(g("forwarded", "rps"), 0),
            ratio_text(g("forwarded", "p50_ms"), g("owner", "p50_ms")),
        );
    }
    let _ = writeln!(
        out,
        "\nPostgreSQL on the warm path: {} database transactions per warm invoke through the owner \
         (committed transactions under load beyond the idle nodes' own in as long; target 0).\n",
        num(f.get("cluster.native.owner.db_transactions_per_invoke"), 4)
    );
}

pub fn render(f: &Figures, concurrency: &[usize]) -> String {
    let mut out = String::new();
    if f.has_prefix("warm.") {
        warm(f, concurrency, &mut out);
    }
    if f.has_prefix("cold.") {
        cold(f, &mut out);
    }
    if f.has_prefix("churn.") {
        churn(f, &mut out);
    }
    if f.has_prefix("density.") {
        density(f, &mut out);
    }
    if f.has_prefix("cluster.") {
        cluster(f, concurrency, &mut out);
    }
    targets(f, &mut out);
    for note in &f.notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}
