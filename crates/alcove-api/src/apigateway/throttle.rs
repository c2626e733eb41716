//! Stage throttling: one token bucket per (API, stage, method-settings key), as API
//! Gateway's stage and method throttles work. A bucket holds `burst` tokens and refills at
//! `rate` tokens a second; a request takes one or is turned away with 429. The buckets
//! are shared by every caller of the stage, whatever its tenant: this is the stage's
//! limit, not a per-tenant cap (those live with Lambda's concurrency). Time is passed in
//! so the arithmetic is tested without sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alcove_core::apigateway::ThrottleLimits;

/// Which bucket: the API, the stage and the settings key that governs the method.
pub type BucketKey = (String, String, String);

#[derive(Debug, Clone)]
struct Bucket {
    limits: ThrottleLimits,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(limits: ThrottleLimits, now: Instant) -> Self {
        Bucket { limits, tokens: limits.burst as f64, at: now }
    }

    /// Refills for the time since the last request, then takes a token if one is there.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now.max(self.at);
        let burst = self.limits.burst as f64;
        self.tokens = (self.tokens + elapsed * self.limits.rate).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Every stage's buckets, in memory: a restart starts them full, as a redeploy might.
#[derive(Debug, Clone, Default)]
pub struct Throttles(Arc<Mutex<HashMap<BucketKey, Bucket>>>);

impl Throttles {
    /// Whether a request under `limits` may pass now. A bucket whose limits changed (an
    /// UpdateStage) starts again, full, with the new ones.
    pub fn admit(&self, key: BucketKey, limits: ThrottleLimits, now: Instant) -> bool {
        let mut buckets = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(key).or_insert_with(|| Bucket::full(limits, now));
        if bucket.limits != limits {
            *bucket = Bucket::full(limits, now);
        }
        bucket.take(now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(method: &str) -> BucketKey {
        ("api".into(), "prod".into(), method.into())
    }

    #[test]
    fn a_burst_passes_then_the_rate_refills() {
        let throttles = Throttles::default();
        let limits = ThrottleLimits { rate: 2.0, burst: 3 };
        let t0 = Instant::now();
        let admitted = (0..5).filter(|_| throttles.admit(key("*/*"), limits, t0)).count();
        assert_eq!(admitted, 3, "the burst is the bucket's size");
        // Half a second at 2/s is one token.
        let t1 = t0 + Duration::from_millis(500);
        assert!(throttles.admit(key("*/*"), limits, t1));
        assert!(!throttles.admit(key("*/*"), limits, t1));
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| throttles.admit(key("*/*"), limits, t2)).count(), 3);
    }

    #[test]
    fn buckets_are_separate_and_restart_when_limits_change() {
        let throttles = Throttles::default();
        let tight = ThrottleLimits { rate: 0.0, burst: 1 };
        let now = Instant::now();
        assert!(throttles.admit(key("*/*"), tight, now));
        assert!(!throttles.admit(key("*/*"), tight, now));
        assert!(throttles.admit(key("/counter/GET"), tight, now), "another key, another bucket");
        let raised = ThrottleLimits { rate: 0.0, burst: 2 };
        assert!(throttles.admit(key("*/*"), raised, now));
        assert!(throttles.admit(key("*/*"), raised, now));
        assert!(!throttles.admit(key("*/*"), raised, now));
        let closed = ThrottleLimits { rate: 100.0, burst: 0 };
        assert!(!throttles.admit(key("/x/GET"), closed, now), "a burst of 0 admits nothing");
    }
}
