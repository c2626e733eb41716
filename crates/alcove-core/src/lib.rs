//! Alcove's domain: what a function, a version, an alias, a tenant and an API Gateway
//! REST API are, the rules their values must follow, and the trait every persistence
//! backend implements.
//!
//! Everything here is pure: no I/O, no HTTP. Values are validated once, when they are
//! built from untrusted input, so the rest of the system handles only valid ones.

#![forbid(unsafe_code)]

pub mod apigateway;
pub mod clock;
pub mod code_signing;
pub mod error;
pub mod event_config;
pub mod function;
pub mod function_url;
pub mod lifecycle;
pub mod limits;
pub mod logging;
pub mod names;
pub mod provisioned;
pub mod recorded;
pub mod routing;
pub mod runtime;
pub mod store;
pub mod tags;
pub mod tenant;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod usage;
pub mod vpc;

pub use code_signing::{CodeSigningConfig, UntrustedArtifactPolicy};
pub use error::{Error, Result};
pub use event_config::{DeadLetter, EventInvokeConfig, FailureCondition};
pub use function::{Architecture, CodeRef, FunctionConfig, FunctionSettings, SettingsPatch, Version, LIMITS};
pub use function_url::{AuthType, Cors, FunctionUrlConfig, InvokeMode, RecursiveLoop};
pub use lifecycle::{Busy, FunctionState, Lifecycle, UpdateStatus};
pub use limits::TenantLimits;
pub use logging::{LogFormat, LogLevel, LoggingConfig, LoggingPatch};
pub use names::{AliasName, FunctionName, FunctionRef, Qualifier, ACCOUNT_ID};
pub use provisioned::{ProvisionedConcurrency, ProvisionedLimits};
pub use recorded::{SnapStartApplyOn, TracingMode};
pub use routing::AdditionalVersion;
pub use runtime::Runtime;
pub use store::{
    plan_publish, resolve_invocation, resolve_reference, AccountUsage, Alias, AliasPatch, ApiKeyUpdate,
    DeploymentRequest, EventQueue, LatestUpdate, Page, PublishRequest, QueuedEvent, RestApiUpdate,
    StageLookup, StageRequest, StageUpdate, Store, UsagePlanUpdate,
};
pub use tags::{validate_tags, NetworkAccess, Tags, NETWORK_TAG};
pub use tenant::{TenantId, TenantIsolationMode};
pub use usage::{Charges, PriceTable, UsageCounters, UsageFilter, UsageKey, UsageRecord};
pub use vpc::{VpcConfig, VpcPatch};
