//! Append throughput of the log store against a plain file, as the output copier writes:
//! batches of whole lines (one pipe read, 64 KiB) of `LINE` bytes each.
//!
//! `cargo run --release -p alcove-logs --example append_throughput [LINE_BYTES]`

use std::io::Write;
use std::time::Instant;

use alcove_logs::{LogStore, LogStoreSettings, StreamOwner};

const TOTAL: usize = 64 << 20;
const BATCH: usize = 64 << 10;

fn main() {
    let line_bytes: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let line = format!("{}\n", "x".repeat(line_bytes - 1));
    let batch = line.repeat(BATCH / line_bytes).into_bytes();
    let batches = TOTAL / batch.len();
    let dir = tempfile::tempdir().expect("a temporary directory");

    let mut file = std::fs::File::create(dir.path().join("plain.log")).expect("a file");
    let started = Instant::now();
    for _ in 0..batches {
        file.write_all(&batch).expect("written");
    }
    let plain = started.elapsed();

    let store = LogStore::open(&dir.path().join("logs.db"), LogStoreSettings { max_bytes: u64::MAX })
        .expect("a store");
    let writer = store
        .open_stream(StreamOwner {
            group: "/aws/lambda/bench".into(),
            stream: "2026/01/01/[$LATEST]bench".into(),
            function: Some("bench".into()),
            function_version: Some("$LATEST".into()),
            tenant: Some("t".into()),
        })
        .expect("a stream");
    // As the server runs it: write-ahead log checkpoints in the background.
    store.start_sweeper(std::time::Duration::from_secs(3600));
    let started = Instant::now();
    for _ in 0..batches {
        writer.append_lines(&batch).expect("appended");
    }
    let stored = started.elapsed();

    let mib = (batches * batch.len()) as f64 / (1 << 20) as f64;
    let lines = batches * (batch.len() / line_bytes);
    println!(
        "{mib:.0} MiB in {line_bytes}-byte lines: plain file {:.0} MiB/s, log store {:.0} MiB/s ({:.0} lines/s)",
        mib / plain.as_secs_f64(),
        mib / stored.as_secs_f64(),
        lines as f64 / stored.as_secs_f64()
    );
}
