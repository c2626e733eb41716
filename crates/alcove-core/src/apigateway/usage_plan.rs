//! API keys and usage plans: the account-wide side of API Gateway that AWS recommends for a
//! noisy tenant. A key is a secret value a client sends (`x-api-key`, or the authorizer's
//! `usageIdentifierKey`); a usage plan names the API stages it covers, a per-key token
//! bucket (`throttle`) and a per-key request quota per day, week or month (`quota`), and
//! the keys it admits. The rules of CreateApiKey, CreateUsagePlan and their PATCH updates
//! live here; the data plane only asks "which plan admits this key on this stage".

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::stage_settings::{PatchOperation, ThrottleLimits};
use crate::error::{Error, Result};

/// Shortest key value CreateApiKey accepts.
pub const MIN_KEY_VALUE_LEN: usize = 20;

pub fn api_key_not_found() -> Error {
    Error::NotFound("Invalid API Key identifier specified".into())
}

pub fn usage_plan_not_found(id: &str) -> Error {
    Error::NotFound(format!("Invalid Usage Plan ID specified: {id}"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub value: String,
    pub name: Option<String>,
    pub customer_id: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_date: i64,
    pub last_updated_date: i64,
    pub stage_keys: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

impl ApiKey {
    pub fn check_value(value: &str) -> Result<()> {
        if value.chars().count() < MIN_KEY_VALUE_LEN || value.len() > 128 {
            return Err(Error::invalid("API Key value should be at least 20 characters"));
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::invalid("API Key value must be printable ASCII without spaces"));
        }
        Ok(())
    }

    /// UpdateApiKey: `replace` of `/name`, `/description`, `/enabled`, `/customerId`.
    pub fn patch(&mut self, operations: &[PatchOperation], now: i64) -> Result<()> {
        for operation in operations {
            let op = operation.op.as_deref().unwrap_or_default();
            let path = operation.path.as_deref().unwrap_or_default();
            let value = operation.value.clone().filter(|v| !v.is_empty());
            match (op, path) {
                ("replace", "/name") => self.name = value,
                ("replace", "/description") => self.description = value,
                ("replace", "/customerId") => self.customer_id = value,
                ("replace", "/enabled") => self.enabled = parse_bool(path, value.as_deref())?,
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid patch path '{path}' specified for op '{op}'. Must be one of: [/name, \
                         /description, /enabled, /customerId]"
                    )))
                }
            }
        }
        self.last_updated_date = now;
        Ok(())
    }
}

fn parse_bool(path: &str, value: Option<&str>) -> Result<bool> {
    match value {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        other => {
            Err(Error::invalid(format!("Invalid boolean value for {path}: {}", other.unwrap_or_default())))
        }
    }
}

/// `ApiStage`: one stage of one API a plan covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStage {
    pub api_id: String,
    pub stage: String,
}

/// `ThrottleSettings`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanThrottle {
    pub burst_limit: i64,
    pub rate_limit: f64,
}

impl PlanThrottle {
    pub fn limits(&self) -> Option<ThrottleLimits> {
        let burst = u64::try_from(self.burst_limit).ok()?;
        (self.rate_limit >= 0.0).then_some(ThrottleLimits { rate: self.rate_limit, burst })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuotaPeriod {
    #[serde(rename = "DAY")]
    Day,
    #[serde(rename = "WEEK")]
    Week,
    #[serde(rename = "MONTH")]
    Month,
}

impl QuotaPeriod {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "DAY" => Ok(QuotaPeriod::Day),
            "WEEK" => Ok(QuotaPeriod::Week),
            "MONTH" => Ok(QuotaPeriod::Month),
            other => Err(Error::invalid(format!(
                "1 validation error detected: Value '{other}' at 'quota.period' failed to satisfy constraint: \
                 Member must satisfy enum value set: [DAY, WEEK, MONTH]"
            ))),
        }
    }

    /// The start (epoch seconds, UTC) of the period holding `at`: midnight, Monday
    /// midnight, or the first of the month.
    pub fn start_of(self, at: i64) -> i64 {
        let Some(time) = Utc.timestamp_opt(at, 0).single() else { return 0 };
        let day = time.date_naive();
        let start = match self {
            QuotaPeriod::Day => day,
            QuotaPeriod::Week => day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday())),
            QuotaPeriod::Month => day.with_day(1).unwrap_or(day),
        };
        start.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or(0)
    }
}

/// `QuotaSettings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub limit: i64,
    pub offset: i64,
    pub period: QuotaPeriod,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePlan {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub api_stages: Vec<ApiStage>,
    pub throttle: Option<PlanThrottle>,
    pub quota: Option<Quota>,
    pub tags: BTreeMap<String, String>,
    /// The API keys the plan admits, by id.
    pub key_ids: BTreeSet<String>,
    pub created_date: i64,
}

impl UsagePlan {
    pub fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("Usage plan name must be non-empty"));
        }
        if let Some(throttle) = self.throttle {
            if throttle.rate_limit < 0.0 || throttle.burst_limit < 0 {
                return Err(Error::invalid("Throttle rate and burst limits must be non-negative"));
            }
        }
        if let Some(quota) = self.quota {
            if quota.limit < 0 {
                return Err(Error::invalid("Quota limit must be non-negative"));
            }
            if quota.offset < 0 || quota.offset >= quota.limit.max(1) {
                return Err(Error::invalid("Quota offset must be at least 0 and less than the limit"));
            }
        }
        Ok(())
    }

    pub fn covers(&self, api_id: &str, stage: &str) -> bool {
        self.api_stages.iter().any(|s| s.api_id == api_id && s.stage == stage)
    }

    /// The requests a key may make in the period starting at `period_start`: the limit, less
    /// the offset in the plan's first period.
    pub fn quota_limit(&self, period_start: i64) -> Option<i64> {
        let quota = self.quota?;
        let first = quota.period.start_of(self.created_date) == period_start;
        Some(if first { quota.limit - quota.offset } else { quota.limit })
    }

    /// UpdateUsagePlan's patch operations.
    pub fn patch(&mut self, operations: &[PatchOperation]) -> Result<()> {
        for operation in operations {
            let op = operation.op.as_deref().unwrap_or_default();
            let path = operation.path.as_deref().unwrap_or_default();
            let value = operation.value.clone().unwrap_or_default();
            let number = |what: &str| -> Result<f64> {
                value.parse::<f64>().map_err(|_| Error::invalid(format!("Invalid value for {what}: {value}")))
            };
            match (op, path) {
                ("replace", "/name") => self.name = value.clone(),
                ("replace", "/description") => self.description = Some(value.clone()).filter(|v| !v.is_empty()),
                ("replace", "/throttle/rateLimit") => {
                    let throttle = self.throttle.get_or_insert(PlanThrottle { burst_limit: 0, rate_limit: 0.0 });
                    throttle.rate_limit = number(path)?;
                }
                ("replace", "/throttle/burstLimit") => {
                    let throttle = self.throttle.get_or_insert(PlanThrottle { burst_limit: 0, rate_limit: 0.0 });
                    throttle.burst_limit = number(path)? as i64;
                }
                ("remove", "/throttle") => self.throttle = None,
                ("replace", "/quota/limit") => self.quota_mut().limit = number(path)? as i64,
                ("replace", "/quota/offset") => self.quota_mut().offset = number(path)? as i64,
                ("replace", "/quota/period") => self.quota_mut().period = QuotaPeriod::parse(&value)?,
                ("remove", "/quota") => self.quota = None,
                ("add" | "remove", "/apiStages") => {
                    let (api_id, stage) = value.split_once(':').ok_or_else(|| {
                        Error::invalid(format!("Invalid API stage specified: {value}. Use apiId:stageName"))
                    })?;
                    let api_stage = ApiStage { api_id: api_id.to_owned(), stage: stage.to_owned() };
                    if op == "add" {
                        if !self.api_stages.contains(&api_stage) {
                            self.api_stages.push(api_stage);
                        }
                    } else {
                        self.api_stages.retain(|s| *s != api_stage);
                    }
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid patch path '{path}' specified for op '{op}'. Must be one of: [/name, \
                         /description, /throttle/rateLimit, /throttle/burstLimit, /quota/limit, /quota/offset, \
                         /quota/period, /apiStages]"
                    )))
                }
            }
        }
        self.check()
    }

    fn quota_mut(&mut self) -> &mut Quota {
        self.quota.get_or_insert(Quota { limit: 0, offset: 0, period: QuotaPeriod::Day })
    }
}

/// A key value: 40 random characters of `[a-zA-Z0-9]`, as API Gateway generates them.
pub fn new_key_value() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut value = String::with_capacity(40);
    while value.len() < 40 {
        for byte in uuid::Uuid::new_v4().as_bytes() {
            // 248 = 4 * 62: bytes below it keep every character equally likely.
            if *byte < 248 && value.len() < 40 {
                value.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> UsagePlan {
        UsagePlan {
            id: "p".into(),
            name: "gold".into(),
            description: None,
            api_stages: vec![ApiStage { api_id: "a".into(), stage: "prod".into() }],
            throttle: Some(PlanThrottle { burst_limit: 2, rate_limit: 1.0 }),
            quota: Some(Quota { limit: 10, offset: 3, period: QuotaPeriod::Day }),
            tags: BTreeMap::new(),
            key_ids: BTreeSet::new(),
            created_date: 1_700_000_000,
        }
    }

    #[test]
    fn periods_and_quota() {
        // 2023-11-14T22:13:20Z, a Tuesday.
        let at = 1_700_000_000;
        assert_eq!(QuotaPeriod::Day.start_of(at), 1_699_920_000);
        assert_eq!(QuotaPeriod::Week.start_of(at), 1_699_920_000 - 86_400);
        assert_eq!(QuotaPeriod::Month.start_of(at), 1_698_796_800);
        let p = plan();
        assert_eq!(p.quota_limit(QuotaPeriod::Day.start_of(at)), Some(7));
        assert_eq!(p.quota_limit(QuotaPeriod::Day.start_of(at + 86_400)), Some(10));
        assert!(p.covers("a", "prod") && !p.covers("a", "dev"));
    }

    #[test]
    fn patches_and_checks() {
        let mut p = plan();
        p.patch(&[
            PatchOperation::new("replace", "/throttle/rateLimit", Some("5")),
            PatchOperation::new("add", "/apiStages", Some("b:dev")),
            PatchOperation::new("replace", "/quota/period", Some("WEEK")),
        ])
        .unwrap();
        assert_eq!(p.throttle.unwrap().rate_limit, 5.0);
        assert!(p.covers("b", "dev"));
        assert_eq!(p.quota.unwrap().period, QuotaPeriod::Week);
        assert!(p.clone().patch(&[PatchOperation::new("replace", "/quota/period", Some("YEAR"))]).is_err());
        assert!(p.clone().patch(&[PatchOperation::new("add", "/apiStages", Some("nocolon"))]).is_err());
        assert!(p.patch(&[PatchOperation::new("replace", "/quota/offset", Some("10"))]).is_err());
        assert!(ApiKey::check_value("short").is_err());
        ApiKey::check_value(&new_key_value()).unwrap();
    }
}
