//! Retention periods: only the values CloudWatch Logs accepts for `retentionInDays`.

use crate::LogsError;

/// Every `retentionInDays` CloudWatch Logs accepts.
pub const RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const DAY_MS: i64 = 86_400_000;

/// A retention period CloudWatch accepts, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(u32);

impl Retention {
    /// Checks `days` against [`RETENTION_DAYS`], with CloudWatch's message when it is not one.
    pub fn days(days: i64) -> Result<Retention, LogsError> {
        match u32::try_from(days) {
            Ok(days) if RETENTION_DAYS.contains(&days) => Ok(Retention(days)),
            _ => {
                let allowed: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
                Err(LogsError::InvalidParameter(format!(
                    "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy \
                     constraint: Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                )))
            }
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Events older than this (ms since the epoch) have expired at `now_ms`.
    pub fn cutoff(self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.0) * DAY_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cloudwatch_values_are_accepted() {
        assert_eq!(Retention::days(1).unwrap().get(), 1);
        assert_eq!(Retention::days(3653).unwrap().get(), 3653);
        for bad in [0, 2, 10, -1, 4000, i64::MAX] {
            let error = Retention::days(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("Value '{bad}' at 'retentionInDays'")), "{error}");
            assert!(error.ends_with("3288, 3653]"), "{error}");
        }
    }

    #[test]
    fn the_cutoff_is_whole_days_back() {
        assert_eq!(Retention::days(1).unwrap().cutoff(100 * DAY_MS), 99 * DAY_MS);
    }
}
