//! Invoking a function over a raw connection, and the closed-loop load that warm-invoke
//! figures come from: `concurrency` workers, each with its own keep-alive connection,
//! each sending its next request as soon as the previous reply is read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine as _;
use bytes::Bytes;

use crate::http::{Conn, Reply};

/// Where a function is invoked: Lambda's Invoke path on some server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub address: SocketAddr,
    pub path: String,
}

/// The event every benchmark sends; the echo functions return it.
pub const PAYLOAD: &[u8] = br#"{"bench":"echo","n":1}"#;

/// One invoke: the reply and how long it took, client-observed.
pub struct Invoked {
    pub latency: Duration,
    pub reply: Reply,
}

/// Invokes once; a non-200 reply or a function error is an error.
pub async fn invoke(
    conn: &mut Conn,
    endpoint: &Endpoint,
    tenant: Option<&str>,
    tail: bool,
) -> anyhow::Result<Invoked> {
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(2);
    if let Some(tenant) = tenant {
        headers.push(("x-amz-tenant-id", tenant));
    }
    if tail {
        headers.push(("x-amz-log-type", "Tail"));
    }
    let started = Instant::now();
    let reply = conn.post(&endpoint.path, &headers, Bytes::from_static(PAYLOAD)).await?;
    let latency = started.elapsed();
    if !reply.status.is_success() {
        bail!("invoke {} answered {}: {}", endpoint.path, reply.status, reply.text());
    }
    if let Some(error) = reply.headers.get("x-amz-function-error") {
        bail!("invoke {} failed ({error:?}): {}", endpoint.path, reply.text());
    }
    Ok(Invoked { latency, reply })
}

/// `Init Duration` of the `REPORT` line in a reply's log tail (`LogType: Tail`), in ms.
pub fn init_duration_ms(reply: &Reply) -> Option<f64> {
    let encoded = reply.headers.get("x-amz-log-result")?.to_str().ok()?;
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).ok()?).ok()?;
    parse_init_duration(&text)
}

fn parse_init_duration(log: &str) -> Option<f64> {
    let line = log.lines().rev().find(|l| l.starts_with("REPORT "))?;
    let rest = line.split_once("Init Duration: ")?.1;
    rest.split_once(" ms")?.0.trim().parse().ok()
}

/// What a closed-loop run measured.
pub struct Load {
    /// Every request's latency, in ms.
    pub latencies_ms: Vec<f64>,
    /// Requests per second over the measured window.
    pub throughput: f64,
}

/// Runs `concurrency` workers against `endpoint`: first a warm-up (at least `warmup` and
/// three requests per worker, so every environment the load needs exists), then all
/// workers start measuring together for `duration`.
pub async fn closed_loop(
    endpoint: &Endpoint,
    tenant: Option<&str>,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Load> {
    let barrier = Arc::new(tokio::sync::Barrier::new(concurrency));
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let endpoint = endpoint.clone();
        let tenant = tenant.map(str::to_owned);
        let barrier = Arc::clone(&barrier);
        let mut conn = Conn::open(endpoint.address).await?;
        workers.push(tokio::spawn(async move {
            let warm_until = Instant::now() + warmup;
            let mut done = 0;
            while done < 3 || Instant::now() < warm_until {
                invoke(&mut conn, &endpoint, tenant.as_deref(), false).await.context("warm-up")?;
                done += 1;
            }
            barrier.wait().await;
            let started = Instant::now();
            let until = started + duration;
            let mut latencies = Vec::new();
            let mut finished = started;
            while Instant::now() < until {
                let invoked = invoke(&mut conn, &endpoint, tenant.as_deref(), false).await?;
                latencies.push(invoked.latency.as_secs_f64() * 1000.0);
                finished = Instant::now();
            }
            anyhow::Ok((latencies, finished.duration_since(started)))
        }));
    }
    let mut latencies_ms = Vec::new();
    let mut window = Duration::ZERO;
    for worker in workers {
        let (latencies, elapsed) = worker.await??;
        latencies_ms.extend(latencies);
        window = window.max(elapsed);
    }
    let throughput = latencies_ms.len() as f64 / window.as_secs_f64().max(1e-9);
    Ok(Load { latencies_ms, throughput })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_init_duration_from_the_report_line() {
        let log = "START RequestId: r Version: $LATEST\nEND RequestId: r\nREPORT RequestId: r\tDuration: 0.41 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 3 MB\tInit Duration: 9.87 ms\n";
        assert_eq!(parse_init_duration(log), Some(9.87));
        assert_eq!(parse_init_duration("REPORT RequestId: r\tDuration: 0.41 ms\n"), None);
    }
}
