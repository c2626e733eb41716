//! Keeping provisioned concurrency ready: how many environments of a version to start or
//! stop, and what status Lambda reports, given what is alive now. Pure, so the decisions
//! are tested without processes; the manager applies them under its pool lock.

use crate::pool::ProvisionedCount;

/// What to do for one key now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Adjustment {
    /// New environments to start (each may still find no room).
    pub start: usize,
    /// Idle provisioned environments to shut down now. Busy ones beyond the target are
    /// shut down when their invoke ends (see `Pools::give_back`).
    pub stop: usize,
}

/// Starts what is missing of the target (environments still initialising count as there),
/// stops idle ones beyond it.
pub(crate) fn adjust(count: ProvisionedCount, idle: usize) -> Adjustment {
    Adjustment {
        start: count.target.saturating_sub(count.alive),
        stop: count.alive.saturating_sub(count.target).min(idle),
    }
}

/// `Status` of `GetProvisionedConcurrencyConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionedStatus {
    InProgress,
    Ready,
    /// With Lambda's `StatusReason`.
    Failed(String),
}

impl ProvisionedStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProvisionedStatus::InProgress => "IN_PROGRESS",
            ProvisionedStatus::Ready => "READY",
            ProvisionedStatus::Failed(_) => "FAILED",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            ProvisionedStatus::Failed(reason) => Some(reason),
            _ => None,
        }
    }
}

/// READY once every requested environment has initialised; FAILED when one could not
/// initialise since the last success; IN_PROGRESS otherwise.
pub(crate) fn status(count: ProvisionedCount, last_failure: Option<&str>) -> ProvisionedStatus {
    let initialised = count.alive - count.starting;
    match last_failure {
        _ if initialised >= count.target => ProvisionedStatus::Ready,
        Some(reason) => ProvisionedStatus::Failed(reason.to_owned()),
        None => ProvisionedStatus::InProgress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(target: usize, alive: usize, starting: usize) -> ProvisionedCount {
        ProvisionedCount { target, alive, starting }
    }

    #[test]
    fn a_new_target_starts_every_environment() {
        assert_eq!(adjust(count(3, 0, 0), 0), Adjustment { start: 3, stop: 0 });
    }

    #[test]
    fn environments_still_starting_are_not_started_twice() {
        assert_eq!(adjust(count(3, 3, 2), 1), Adjustment { start: 0, stop: 0 });
        assert_eq!(adjust(count(3, 2, 2), 0), Adjustment { start: 1, stop: 0 });
    }

    #[test]
    fn a_lost_environment_is_replaced() {
        assert_eq!(adjust(count(2, 1, 0), 1), Adjustment { start: 1, stop: 0 });
    }

    #[test]
    fn a_lowered_target_stops_only_idle_environments() {
        assert_eq!(adjust(count(1, 3, 0), 3), Adjustment { start: 0, stop: 2 });
        assert_eq!(adjust(count(0, 3, 0), 1), Adjustment { start: 0, stop: 1 });
    }

    #[test]
    fn ready_once_all_have_initialised() {
        assert_eq!(status(count(2, 2, 1), None), ProvisionedStatus::InProgress);
        assert_eq!(status(count(2, 2, 0), None), ProvisionedStatus::Ready);
        assert_eq!(status(count(2, 2, 0), Some("boom")), ProvisionedStatus::Ready);
        assert_eq!(status(count(2, 1, 0), Some("boom")), ProvisionedStatus::Failed("boom".into()));
        assert_eq!(status(count(2, 1, 0), Some("boom")).reason(), Some("boom"));
    }
}
