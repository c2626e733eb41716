//! Provisioned concurrency: a number of initialised execution environments Lambda keeps
//! ready for one published version or alias of a function. The configuration is what the
//! caller asked for and persists; how many environments are ready is the environment
//! manager's live state, reported next to it.

use serde::{Deserialize, Serialize};

use crate::names::FunctionName;

/// `PutProvisionedConcurrencyConfig` as stored: the function, the qualifier it was put on
/// (a version number or an alias name, never `$LATEST`) and the requested count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedConcurrency {
    pub function: FunctionName,
    pub qualifier: String,
    pub requested: u32,
    /// ISO 8601, as Lambda writes `LastModified`.
    pub last_modified: String,
}

/// What a new allocation is checked against, as Lambda counts it: a function's
/// provisioned concurrency fits within its reserved concurrency when it has one, and
/// otherwise comes out of the account's unreserved concurrency, which must keep
/// `unreserved_minimum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisionedLimits {
    pub account_concurrency: u64,
    pub unreserved_minimum: u64,
}

/// Lambda's refusal when a function's provisioned concurrency would exceed its reserved
/// concurrency.
pub const OVER_RESERVED: &str =
    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function";

/// Lambda's refusal when provisioned concurrency would leave the account less unreserved
/// concurrency than its minimum.
pub fn below_unreserved_minimum(minimum: u64) -> String {
    format!(
        "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution \
         below its minimum value of [{minimum}]."
    )
}
