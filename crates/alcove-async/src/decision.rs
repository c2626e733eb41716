//! What becomes of a queued event: the dispatcher's decisions, as pure functions of the
//! event, what its attempt came to, its event invoke config and the clock.
//!
//! The dispatcher itself is all I/O (the queue, the store, the environment manager), so
//! the rules that matter to a customer (how many retries, when the next one runs, when an
//! event is too old, where a failure goes) live here, where they can be tested without a
//! queue, a runtime or a wait of minutes.

use std::time::Duration;

use alcove_core::{EventInvokeConfig, FailureCondition, TenantId, TenantIsolationMode};

/// Delay before an event that could not be attempted is looked at again (no attempt is
/// counted).
pub(crate) const THROTTLE_DELAY: Duration = Duration::from_secs(1);
/// Longest the dispatcher sleeps without looking at the queue.
pub(crate) const IDLE_POLL: Duration = Duration::from_secs(1);

/// What one attempt came to, as far as the queue is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The function returned.
    Succeeded,
    /// The function ran and failed (error, timeout, crash).
    Failed,
    /// The event could not start now: over a concurrency limit, or a transient error.
    Throttled,
    /// The event can never run (its function is gone, the host cannot isolate tenants).
    Dropped(&'static str),
}

/// What to do with an event next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Ran: its record goes to the on-success `destination`, if any; then off the queue.
    Succeeded { destination: Option<String> },
    /// Can never run: off the queue, with nothing sent anywhere.
    Drop { reason: &'static str },
    /// Not attempted: back in the queue until `at_ms`, its attempts unchanged.
    Postpone { at_ms: i64 },
    /// Failed with retries left: `attempts` made so far, the next one at `at_ms`.
    Retry { attempts: u32, at_ms: i64 },
    /// Will not run again after `attempts` attempts: its record goes to the on-failure
    /// `destination` if there is one (a dead letter if it is absent or unreachable).
    FailedForGood { attempts: u32, condition: FailureCondition, destination: Option<String> },
}

/// Whether an event accepted at `enqueued_ms` is past its maximum age at `now_ms`. An
/// event exactly at the limit may still run; one whose acceptance time is ahead of the
/// clock (the clock was set back) is not too old.
pub(crate) fn too_old(enqueued_ms: i64, now_ms: i64, config: Option<&EventInvokeConfig>) -> bool {
    let max_age_ms = i64::from(EventInvokeConfig::max_age_secs(config)) * 1000;
    now_ms - enqueued_ms > max_age_ms
}

/// Checked before an attempt: an event past its maximum age fails for good without being
/// run, counting only the attempts already made.
pub(crate) fn before_attempt(
    attempts: u32,
    enqueued_ms: i64,
    config: Option<&EventInvokeConfig>,
    now_ms: i64,
) -> Option<Decision> {
    too_old(enqueued_ms, now_ms, config).then(|| Decision::FailedForGood {
        attempts,
        condition: FailureCondition::EventAgeExceeded,
        destination: config.and_then(|c| c.on_failure.clone()),
    })
}

/// What follows an attempt of an event that had made `attempts` attempts before it.
///
/// A failure counts an attempt; retry `n` runs `n × retry_base` later, while `n` is
/// within the configured retries (0 to 2, default 2). A throttled attempt counts
/// nothing and is looked at again after [`THROTTLE_DELAY`].
pub(crate) fn after_attempt(
    attempts: u32,
    outcome: Outcome,
    config: Option<&EventInvokeConfig>,
    retry_base: Duration,
    now_ms: i64,
) -> Decision {
    match outcome {
        Outcome::Succeeded => Decision::Succeeded { destination: config.and_then(|c| c.on_success.clone()) },
        Outcome::Dropped(reason) => Decision::Drop { reason },
        Outcome::Throttled => Decision::Postpone { at_ms: now_ms + THROTTLE_DELAY.as_millis() as i64 },
        Outcome::Failed => {
            let attempts = attempts + 1;
            if attempts > EventInvokeConfig::retries(config) {
                return Decision::FailedForGood {
                    attempts,
                    condition: FailureCondition::RetriesExhausted,
                    destination: config.and_then(|c| c.on_failure.clone()),
                };
            }
            let delay = retry_base * attempts;
            Decision::Retry { attempts, at_ms: now_ms + delay.as_millis() as i64 }
        }
    }
}

/// Why a destination cannot take an event's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DestinationRefused {
    /// The destination isolates tenants and the event has no tenant to run it for.
    NoTenant,
}

impl std::error::Error for DestinationRefused {}

impl std::fmt::Display for DestinationRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DestinationRefused::NoTenant => {
                f.write_str("the destination isolates tenants and the event has no tenant")
            }
        }
    }
}

/// The tenant a destination runs an event's record for: the event's own tenant when the
/// destination isolates tenants (a record never crosses to another tenant's
/// environments), none otherwise.
pub(crate) fn destination_tenant(
    destination_tenancy: Option<TenantIsolationMode>,
    event_tenant: Option<&TenantId>,
) -> Result<Option<TenantId>, DestinationRefused> {
    match (destination_tenancy, event_tenant) {
        (Some(_), Some(tenant)) => Ok(Some(tenant.clone())),
        (Some(_), None) => Err(DestinationRefused::NoTenant),
        (None, _) => Ok(None),
    }
}

/// How long the dispatcher sleeps when nothing is due: until the next event is due, but
/// never less than zero (a due time already past, or a clock set forward) nor more than
/// [`IDLE_POLL`] (a new event may arrive on another path, or the clock be set back).
pub(crate) fn idle_sleep(next_due_ms: Option<i64>, now_ms: i64) -> Duration {
    match next_due_ms {
        Some(due) => Duration::from_millis((due - now_ms).clamp(0, IDLE_POLL.as_millis() as i64) as u64),
        None => IDLE_POLL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;
    const MINUTE: Duration = Duration::from_secs(60);

    fn config(retries: Option<u32>, max_age_secs: Option<u32>) -> EventInvokeConfig {
        EventInvokeConfig {
            maximum_retry_attempts: retries,
            maximum_event_age_secs: max_age_secs,
            on_success: None,
            on_failure: None,
            last_modified: chrono::Utc::now(),
        }
    }

    fn with_destinations(success: Option<&str>, failure: Option<&str>) -> EventInvokeConfig {
        EventInvokeConfig {
            on_success: success.map(str::to_owned),
            on_failure: failure.map(str::to_owned),
            ..config(None, None)
        }
    }

    /// Fails an event from its first attempt until it is not retried; returns each
    /// decision.
    fn fail_until_done(config: Option<&EventInvokeConfig>) -> Vec<Decision> {
        let mut attempts = 0;
        let mut decisions = Vec::new();
        loop {
            let decision = after_attempt(attempts, Outcome::Failed, config, MINUTE, NOW);
            decisions.push(decision.clone());
            match decision {
                Decision::Retry { attempts: made, .. } => attempts = made,
                _ => return decisions,
            }
        }
    }

    #[test]
    fn zero_retries_fail_for_good_on_the_first_failure() {
        let config = config(Some(0), None);
        assert_eq!(
            fail_until_done(Some(&config)),
            [Decision::FailedForGood {
                attempts: 1,
                condition: FailureCondition::RetriesExhausted,
                destination: None
            }]
        );
    }

    #[test]
    fn one_retry_runs_a_minute_later_then_fails_for_good() {
        let config = config(Some(1), None);
        assert_eq!(
            fail_until_done(Some(&config)),
            [
                Decision::Retry { attempts: 1, at_ms: NOW + 60_000 },
                Decision::FailedForGood {
                    attempts: 2,
                    condition: FailureCondition::RetriesExhausted,
                    destination: None
                },
            ]
        );
    }

    #[test]
    fn two_retries_back_off_linearly() {
        let config = config(Some(2), None);
        assert_eq!(
            fail_until_done(Some(&config)),
            [
                Decision::Retry { attempts: 1, at_ms: NOW + 60_000 },
                Decision::Retry { attempts: 2, at_ms: NOW + 120_000 },
                Decision::FailedForGood {
                    attempts: 3,
                    condition: FailureCondition::RetriesExhausted,
                    destination: None
                },
            ]
        );
    }

    #[test]
    fn without_a_config_lambdas_two_retries_apply() {
        assert_eq!(fail_until_done(None).len(), 3);
        // A config that leaves the retries unset means the default too.
        assert_eq!(fail_until_done(Some(&config(None, Some(60)))).len(), 3);
    }

    #[test]
    fn retry_delay_scales_with_the_configured_base() {
        let decision = after_attempt(1, Outcome::Failed, None, Duration::from_millis(250), NOW);
        assert_eq!(decision, Decision::Retry { attempts: 2, at_ms: NOW + 500 });
    }

    #[test]
    fn a_throttled_attempt_counts_nothing() {
        for attempts in [0, 2] {
            let decision =
                after_attempt(attempts, Outcome::Throttled, Some(&config(Some(0), None)), MINUTE, NOW);
            assert_eq!(decision, Decision::Postpone { at_ms: NOW + 1_000 });
        }
    }

    #[test]
    fn a_dropped_event_goes_nowhere_even_with_a_failure_destination() {
        let config = with_destinations(Some("arn:ok"), Some("arn:failed"));
        let decision = after_attempt(0, Outcome::Dropped("gone"), Some(&config), MINUTE, NOW);
        assert_eq!(decision, Decision::Drop { reason: "gone" });
    }

    #[test]
    fn success_goes_to_the_on_success_destination_only() {
        let both = with_destinations(Some("arn:ok"), Some("arn:failed"));
        assert_eq!(
            after_attempt(2, Outcome::Succeeded, Some(&both), MINUTE, NOW),
            Decision::Succeeded { destination: Some("arn:ok".into()) }
        );
        let failure_only = with_destinations(None, Some("arn:failed"));
        assert_eq!(
            after_attempt(0, Outcome::Succeeded, Some(&failure_only), MINUTE, NOW),
            Decision::Succeeded { destination: None }
        );
        assert_eq!(
            after_attempt(0, Outcome::Succeeded, None, MINUTE, NOW),
            Decision::Succeeded { destination: None }
        );
    }

    #[test]
    fn failure_for_good_goes_to_the_on_failure_destination_only() {
        let both = Some(1).map(|r| EventInvokeConfig {
            maximum_retry_attempts: Some(r),
            ..with_destinations(Some("arn:ok"), Some("arn:failed"))
        });
        assert_eq!(
            after_attempt(1, Outcome::Failed, both.as_ref(), MINUTE, NOW),
            Decision::FailedForGood {
                attempts: 2,
                condition: FailureCondition::RetriesExhausted,
                destination: Some("arn:failed".into())
            }
        );
        let success_only =
            EventInvokeConfig { maximum_retry_attempts: Some(0), ..with_destinations(Some("arn:ok"), None) };
        assert_eq!(
            after_attempt(0, Outcome::Failed, Some(&success_only), MINUTE, NOW),
            Decision::FailedForGood {
                attempts: 1,
                condition: FailureCondition::RetriesExhausted,
                destination: None
            }
        );
    }

    #[test]
    fn a_retry_sends_nothing_to_any_destination() {
        let both = with_destinations(Some("arn:ok"), Some("arn:failed"));
        assert_eq!(
            after_attempt(0, Outcome::Failed, Some(&both), MINUTE, NOW),
            Decision::Retry { attempts: 1, at_ms: NOW + 60_000 }
        );
    }

    #[test]
    fn max_event_age_is_inclusive() {
        let config = config(None, Some(60));
        assert!(!too_old(NOW - 60_000, NOW, Some(&config)), "exactly at the limit still runs");
        assert!(too_old(NOW - 60_001, NOW, Some(&config)), "a millisecond past it does not");
        assert!(!too_old(NOW - 59_999, NOW, Some(&config)));
    }

    #[test]
    fn default_max_event_age_is_six_hours() {
        let six_hours = 21_600 * 1000;
        assert!(!too_old(NOW - six_hours, NOW, None));
        assert!(too_old(NOW - six_hours - 1, NOW, None));
        assert!(too_old(NOW - six_hours - 1, NOW, Some(&config(Some(0), None))));
    }

    #[test]
    fn an_event_from_the_future_is_not_too_old() {
        // The clock was set back after the event was accepted.
        let config = config(None, Some(60));
        assert!(!too_old(NOW + 3_600_000, NOW, Some(&config)));
        assert_eq!(before_attempt(0, NOW + 3_600_000, Some(&config), NOW), None);
    }

    #[test]
    fn a_too_old_event_fails_for_good_without_counting_an_attempt() {
        let config =
            EventInvokeConfig { maximum_event_age_secs: Some(60), ..with_destinations(None, Some("arn:f")) };
        assert_eq!(
            before_attempt(1, NOW - 61_000, Some(&config), NOW),
            Some(Decision::FailedForGood {
                attempts: 1,
                condition: FailureCondition::EventAgeExceeded,
                destination: Some("arn:f".into())
            })
        );
        let no_destination = self::config(None, Some(60));
        assert_eq!(
            before_attempt(0, NOW - 61_000, Some(&no_destination), NOW),
            Some(Decision::FailedForGood {
                attempts: 0,
                condition: FailureCondition::EventAgeExceeded,
                destination: None
            })
        );
        assert_eq!(before_attempt(0, NOW - 60_000, Some(&no_destination), NOW), None);
    }

    fn tenant(t: &str) -> TenantId {
        TenantId::parse(t).unwrap()
    }

    #[test]
    fn an_isolating_destination_runs_for_the_events_tenant() {
        let a = tenant("tenant-a");
        assert_eq!(destination_tenant(Some(TenantIsolationMode::PerTenant), Some(&a)), Ok(Some(a.clone())));
        assert_eq!(
            destination_tenant(Some(TenantIsolationMode::PerTenant), None),
            Err(DestinationRefused::NoTenant)
        );
    }

    #[test]
    fn a_shared_destination_runs_for_no_tenant() {
        assert_eq!(destination_tenant(None, Some(&tenant("tenant-a"))), Ok(None));
        assert_eq!(destination_tenant(None, None), Ok(None));
    }

    #[test]
    fn idle_sleep_is_bounded_both_ways() {
        assert_eq!(idle_sleep(None, NOW), IDLE_POLL);
        assert_eq!(idle_sleep(Some(NOW + 250), NOW), Duration::from_millis(250));
        assert_eq!(idle_sleep(Some(NOW), NOW), Duration::ZERO);
        // Overdue, or the clock jumped forward: look again at once.
        assert_eq!(idle_sleep(Some(NOW - 5_000), NOW), Duration::ZERO);
        // Due far ahead, or the clock jumped back: still look every second.
        assert_eq!(idle_sleep(Some(NOW + 3_600_000), NOW), IDLE_POLL);
    }
}
