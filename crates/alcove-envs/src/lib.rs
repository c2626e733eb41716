//! Execution environments: the processes that run function code, and the pools that keep
//! them warm.
//!
//! An environment is started for exactly one [`EnvKey`]: a function version, the exact
//! configuration revision it was started with, and the tenant (for `PER_TENANT`
//! functions). The key is fixed for the environment's life and only the pool for that key
//! ever hands it out, so an environment that has run tenant A's code can never serve
//! tenant B.

#![forbid(unsafe_code)]

mod admission;
mod app_log_level;
mod disk_watermark;
mod environment;
mod failure;
mod fair_queue;
mod function_access;
mod key;
mod launch;
mod lines;
mod log_budget;
mod logs;
mod manager;
mod output;
mod platform_log;
mod pool;
mod process;
mod provisioning;
mod registry;
mod response;
mod usage;

pub use admission::{Admission, Permit, ThrottleReason};
pub use alcove_logs::{LogStore, LogStoreSettings};
pub use disk_watermark::DiskReserve;
pub use environment::InvokeReport;
pub use failure::FunctionFailure;
pub use failure::PlatformError;
pub use function_access::{AccessGuard, EnvironmentIdentity, FunctionAccess, RoleCredentials};
pub use key::EnvKey;
pub use launch::{InitType, RuntimeSettings};
pub use lines::MAX_LINE;
pub use log_budget::{LogLimits, LogRate};
pub use manager::{
    InvokeError, InvokeRequest, InvokeResponse, InvokeTarget, Manager, ManagerSettings, ProvisionedState,
    StreamedInvoke,
};
pub use provisioning::ProvisionedStatus;
pub use registry::{EnvState, EnvironmentInfo};
pub use usage::{FunctionTotals, UsageMeter};
