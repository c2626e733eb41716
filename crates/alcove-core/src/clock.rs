//! The wall clock, read in one place. Deadlines handed to runtimes, queue due times,
//! trace ids and API Gateway's timestamps all count from the Unix epoch; each crate used
//! to convert `SystemTime` itself, with its own integer type and its own fallback.

/// Milliseconds since the Unix epoch.
pub fn epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whole seconds since the Unix epoch.
pub fn epoch_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_and_seconds_agree() {
        let (ms, secs) = (epoch_ms(), epoch_secs());
        // After 2020 and consistent with each other (read a moment apart).
        assert!(secs > 1_577_836_800, "{secs}");
        assert!((ms / 1000 - secs).abs() <= 1, "{ms} {secs}");
    }
}
