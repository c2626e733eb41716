//! The persistence contract. Each method is one atomic unit: a backend runs it in a single
//! transaction, so a crash leaves either all of a change or none of it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::apigateway::{ApiKey, Deployment, RestApi, Stage, StageName, UsagePlan};
use crate::code_signing::CodeSigningConfig;
use crate::error::{Error, Result};
use crate::event_config::{DeadLetter, EventInvokeConfig};
use crate::function::{FunctionConfig, Version};
use crate::function_url::{FunctionUrlConfig, RecursiveLoop};
use crate::limits::TenantLimits;
use crate::names::{AliasName, FunctionName, FunctionRef, Qualifier};
use crate::provisioned::{ProvisionedConcurrency, ProvisionedLimits};
use crate::routing::{pick_version, AdditionalVersion};
use crate::tags::Tags;
use crate::usage::{UsageFilter, UsageRecord};

/// One page of a listing and the marker that fetches the next, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_marker: Option<String>,
}

/// An alias: a stable name for one version of a function, optionally sending a share of
/// its invokes to a second published version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub function: FunctionName,
    pub name: AliasName,
    pub version: Version,
    pub description: String,
    pub revision_id: String,
    /// `RoutingConfig.AdditionalVersionWeights`: at most one entry, as on AWS.
    pub routing: Option<AdditionalVersion>,
}

/// Requested changes to an alias; absent fields are kept.
#[derive(Debug, Clone, Default)]
pub struct AliasPatch {
    pub version: Option<Version>,
    pub description: Option<String>,
    pub expected_revision: Option<String>,
    /// `Some(None)` removes the routing; `None` keeps it.
    pub routing: Option<Option<AdditionalVersion>>,
}

/// What `PublishVersion` was asked to check before publishing.
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    pub description: Option<String>,
    pub expected_code_sha256: Option<String>,
    pub expected_revision: Option<String>,
    /// For `PublishVersion`: refuse while `$LATEST` is being created or updated, naming
    /// the function by this (unqualified) ARN. `None` for the publishing that
    /// `CreateFunction` and `UpdateFunctionCode` do in the same write as their change.
    pub refuse_busy_as: Option<String>,
}

/// Account-wide figures for `GetAccountSettings`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountUsage {
    pub function_count: u64,
    pub total_code_size: u64,
    pub reserved_concurrency: u64,
}

/// A change to `$LATEST`, run inside the backend's transaction on the current value.
pub type LatestUpdate = Box<dyn FnOnce(&FunctionConfig) -> Result<FunctionConfig> + Send>;

/// A change to a REST API, run inside the backend's transaction on the stored document;
/// the document is saved only if the change succeeds.
pub type RestApiUpdate = Box<dyn FnOnce(&mut RestApi) -> Result<()> + Send>;

/// A change to an API key (UpdateApiKey), run on the stored key inside the transaction.
pub type ApiKeyUpdate = Box<dyn FnOnce(&mut ApiKey) -> Result<()> + Send>;

/// A change to a usage plan, run on the stored plan inside the transaction.
pub type UsagePlanUpdate = Box<dyn FnOnce(&mut UsagePlan) -> Result<()> + Send>;

/// A change to a stage (UpdateStage), run inside the backend's transaction on the stored
/// stage; saved only if it succeeds and the stage still names a deployment of its API.
pub type StageUpdate = Box<dyn FnOnce(&mut Stage) -> Result<()> + Send>;

/// What CreateDeployment asks for.
#[derive(Debug, Clone)]
pub struct DeploymentRequest {
    pub id: String,
    pub description: Option<String>,
    pub created_date: i64,
    /// The stage to create or point at the new deployment.
    pub stage: Option<StageRequest>,
}

#[derive(Debug, Clone)]
pub struct StageRequest {
    pub name: StageName,
    pub description: Option<String>,
    /// Replaces the stage's variables when given.
    pub variables: Option<BTreeMap<String, String>>,
}

/// What a request to a stage's URL finds.
#[derive(Debug, Clone)]
pub enum StageLookup {
    NoApi,
    NoStage,
    Deployed { stage: Stage, deployment: Box<Deployment> },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a function; with `publish`, version 1 too, which is returned.
    async fn create_function(&self, latest: FunctionConfig, publish: bool) -> Result<FunctionConfig>;
    async fn get_function(&self, name: &FunctionName, version: Version) -> Result<Option<FunctionConfig>>;
    /// Functions ordered by name; with `all_versions`, each followed by its published versions.
    async fn list_functions(
        &self,
        all_versions: bool,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionConfig>>;
    /// `$LATEST` then published versions in order.
    async fn list_versions(
        &self,
        name: &FunctionName,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionConfig>>;
    /// Replaces `$LATEST` with what `update` makes of it; with `publish`, also publishes it.
    async fn update_latest(
        &self,
        name: &FunctionName,
        update: LatestUpdate,
        publish: bool,
    ) -> Result<FunctionConfig>;
    async fn publish_version(&self, name: &FunctionName, request: PublishRequest) -> Result<FunctionConfig>;
    /// Deletes a function with all its versions, aliases and settings.
    async fn delete_function(&self, name: &FunctionName) -> Result<()>;
    /// Adds or replaces tags (validated against the function's current ones) on the
    /// function and every version; returns all its tags.
    async fn tag_function(&self, name: &FunctionName, tags: Tags) -> Result<Tags>;
    /// Removes tags by key; absent keys are ignored. Returns the remaining tags.
    async fn untag_function(&self, name: &FunctionName, keys: Vec<String>) -> Result<Tags>;
    async fn delete_version(&self, name: &FunctionName, version: u64) -> Result<()>;
    /// Completes a version's lifecycle transition (see `crate::lifecycle`): if the version
    /// still has `revision_id` and is not settled, stores it settled with a new revision.
    /// Returns the settled configuration, or `None` when there was nothing to settle (a
    /// later write replaced it, or the function is gone).
    async fn settle_lifecycle(
        &self,
        name: &FunctionName,
        version: Version,
        revision_id: &str,
    ) -> Result<Option<FunctionConfig>>;
    /// Settles every version left unsettled (by a stop before its transition ran);
    /// returns how many there were.
    async fn settle_all_lifecycles(&self) -> Result<usize>;

    async fn create_alias(&self, alias: Alias) -> Result<Alias>;
    async fn get_alias(&self, function: &FunctionName, name: &AliasName) -> Result<Option<Alias>>;
    async fn list_aliases(
        &self,
        function: &FunctionName,
        version: Option<Version>,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<Alias>>;
    async fn update_alias(
        &self,
        function: &FunctionName,
        name: &AliasName,
        patch: AliasPatch,
    ) -> Result<Alias>;
    async fn delete_alias(&self, function: &FunctionName, name: &AliasName) -> Result<()>;

    /// Sets reserved concurrency, refusing if the account's total reserved would exceed
    /// `max_total_reserved`.
    async fn put_concurrency(
        &self,
        name: &FunctionName,
        reserved: u32,
        max_total_reserved: u64,
    ) -> Result<()>;
    async fn get_concurrency(&self, name: &FunctionName) -> Result<Option<u32>>;
    async fn delete_concurrency(&self, name: &FunctionName) -> Result<()>;
    /// Every reservation, for the admission controller at start.
    async fn list_concurrency(&self) -> Result<Vec<(FunctionName, u32)>>;
    /// Puts (or replaces) the provisioned concurrency of one qualifier, refusing it when
    /// the function's configs together would exceed its reserved concurrency, or, for a
    /// function without one, leave the account less than its unreserved minimum.
    async fn put_provisioned_concurrency(
        &self,
        config: ProvisionedConcurrency,
        limits: ProvisionedLimits,
    ) -> Result<ProvisionedConcurrency>;
    async fn get_provisioned_concurrency(
        &self,
        name: &FunctionName,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConcurrency>>;
    /// Removes one qualifier's config; false if there was none.
    async fn delete_provisioned_concurrency(&self, name: &FunctionName, qualifier: &str) -> Result<bool>;
    /// The configs of one function (by qualifier), or of every function (at start).
    async fn list_provisioned_concurrency(
        &self,
        name: Option<&FunctionName>,
    ) -> Result<Vec<ProvisionedConcurrency>>;
    /// Replaces a function's per-tenant limits (empty limits remove them).
    async fn put_tenant_limits(&self, name: &FunctionName, limits: TenantLimits) -> Result<()>;
    async fn get_tenant_limits(&self, name: &FunctionName) -> Result<Option<TenantLimits>>;
    async fn list_tenant_limits(&self) -> Result<Vec<(FunctionName, TenantLimits)>>;
    /// Sets the async settings of one qualifier (`$LATEST`, a version or an alias).
    async fn put_event_invoke_config(
        &self,
        name: &FunctionName,
        qualifier: &str,
        config: EventInvokeConfig,
    ) -> Result<()>;
    async fn get_event_invoke_config(
        &self,
        name: &FunctionName,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>>;
    /// Removes one qualifier's settings; false if there were none.
    async fn delete_event_invoke_config(&self, name: &FunctionName, qualifier: &str) -> Result<bool>;
    /// Every qualifier's settings of a function, by qualifier.
    async fn list_event_invoke_configs(
        &self,
        name: &FunctionName,
    ) -> Result<Vec<(String, EventInvokeConfig)>>;
    /// Adds a statement to a qualifier's resource policy; a taken statement id is a conflict.
    async fn add_permission(
        &self,
        name: &FunctionName,
        qualifier: &str,
        statement_id: &str,
        statement: serde_json::Value,
    ) -> Result<()>;
    /// Removes a statement; false if there was none with that id.
    async fn remove_permission(
        &self,
        name: &FunctionName,
        qualifier: &str,
        statement_id: &str,
    ) -> Result<bool>;
    /// A qualifier's resource policy statements, in the order they were added.
    async fn policy(&self, name: &FunctionName, qualifier: &str) -> Result<Vec<serde_json::Value>>;
    /// Keeps an event that failed for good with no destination.
    async fn add_dead_letter(&self, letter: DeadLetter) -> Result<()>;
    /// Dead letters, newest first, of one function or all.
    async fn list_dead_letters(&self, name: Option<FunctionName>, limit: usize) -> Result<Vec<DeadLetter>>;
    /// Adds counters to their hourly buckets.
    async fn add_usage(&self, records: Vec<UsageRecord>) -> Result<()>;
    /// Usage matching `filter`, summed over hours per (function, tenant, architecture,
    /// memory size).
    async fn usage(&self, filter: UsageFilter) -> Result<Vec<UsageRecord>>;
    async fn account_usage(&self) -> Result<AccountUsage>;

    // Function URLs, one per (function, qualifier); a URL id names one URL server-wide.
    /// Stores a new URL; a URL on the same qualifier already is a conflict.
    async fn create_function_url(&self, config: FunctionUrlConfig) -> Result<()>;
    async fn function_url(&self, name: &FunctionName, qualifier: &str) -> Result<Option<FunctionUrlConfig>>;
    async fn function_url_by_id(&self, url_id: &str) -> Result<Option<FunctionUrlConfig>>;
    /// Replaces a stored URL's settings; `NotFound` if it is gone.
    async fn update_function_url(&self, config: FunctionUrlConfig) -> Result<()>;
    /// Removes a URL; false if there was none.
    async fn delete_function_url(&self, name: &FunctionName, qualifier: &str) -> Result<bool>;
    /// A function's URLs, ordered by qualifier.
    async fn list_function_urls(&self, name: &FunctionName) -> Result<Vec<FunctionUrlConfig>>;

    async fn put_recursion_config(&self, name: &FunctionName, setting: RecursiveLoop) -> Result<()>;
    /// The stored setting, None when never set (the default applies).
    async fn recursion_config(&self, name: &FunctionName) -> Result<Option<RecursiveLoop>>;

    // Code signing configurations, by id, and the one a function uses.
    async fn create_code_signing_config(&self, config: CodeSigningConfig) -> Result<()>;
    async fn code_signing_config(&self, id: &str) -> Result<Option<CodeSigningConfig>>;
    /// Replaces a stored configuration; `NotFound` if it is gone.
    async fn update_code_signing_config(&self, config: CodeSigningConfig) -> Result<()>;
    /// Deletes a configuration: false if there was none, `Conflict` while a function uses it.
    async fn delete_code_signing_config(&self, id: &str) -> Result<bool>;
    /// Configurations ordered by id; the marker is the last id of the previous page.
    async fn list_code_signing_configs(
        &self,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<CodeSigningConfig>>;
    /// Makes a function use a configuration: `NotFound` for a missing function or
    /// configuration (told apart by the message the backend gives).
    async fn put_function_code_signing(&self, name: &FunctionName, id: &str) -> Result<()>;
    async fn function_code_signing(&self, name: &FunctionName) -> Result<Option<String>>;
    /// Unlinks a function's configuration; false if it had none.
    async fn delete_function_code_signing(&self, name: &FunctionName) -> Result<bool>;
    /// The functions using a configuration, ordered by name.
    async fn functions_by_code_signing(
        &self,
        id: &str,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionName>>;

    // API Gateway REST APIs. Unknown ids fail with `Error::NotFound` in API Gateway's
    // words (see `crate::apigateway`).
    async fn create_rest_api(&self, api: RestApi) -> Result<RestApi>;
    async fn get_rest_api(&self, id: &str) -> Result<Option<RestApi>>;
    /// APIs ordered by id; the marker is the last id of the previous page.
    async fn list_rest_apis(&self, marker: Option<String>, limit: usize) -> Result<Page<RestApi>>;
    /// Applies `update` to the stored API and saves the result.
    async fn update_rest_api(&self, id: &str, update: RestApiUpdate) -> Result<RestApi>;
    /// Deletes an API with its deployments and stages.
    async fn delete_rest_api(&self, id: &str) -> Result<()>;
    /// Snapshots the API as it stands, after checking it can be deployed; with a stage
    /// request, creates that stage or points it at the new deployment.
    async fn create_deployment(&self, api_id: &str, request: DeploymentRequest) -> Result<Deployment>;
    async fn get_deployment(&self, api_id: &str, id: &str) -> Result<Deployment>;
    /// Oldest first.
    async fn list_deployments(&self, api_id: &str) -> Result<Vec<Deployment>>;
    /// Refused while a stage serves the deployment.
    async fn delete_deployment(&self, api_id: &str, id: &str) -> Result<()>;
    async fn create_stage(&self, api_id: &str, stage: Stage) -> Result<Stage>;
    async fn get_stage(&self, api_id: &str, name: &str) -> Result<Stage>;
    /// Applies `update` to the stored stage and saves the result.
    async fn update_stage(&self, api_id: &str, name: &str, update: StageUpdate) -> Result<Stage>;
    /// Ordered by name; only the stages of `deployment_id` when given.
    async fn list_stages(&self, api_id: &str, deployment_id: Option<String>) -> Result<Vec<Stage>>;
    async fn delete_stage(&self, api_id: &str, name: &str) -> Result<()>;
    /// The stage and the deployment it serves, for the data plane.
    async fn deployed_stage(&self, api_id: &str, stage: &str) -> Result<StageLookup>;

    // API Gateway API keys and usage plans (account-wide).
    /// Refused (`Conflict`) when another key has the same value.
    async fn create_api_key(&self, key: ApiKey) -> Result<ApiKey>;
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>>;
    async fn api_key_by_value(&self, value: &str) -> Result<Option<ApiKey>>;
    /// Ordered by id.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    async fn update_api_key(&self, id: &str, update: ApiKeyUpdate) -> Result<ApiKey>;
    /// Also removes the key from every usage plan.
    async fn delete_api_key(&self, id: &str) -> Result<()>;
    async fn create_usage_plan(&self, plan: UsagePlan) -> Result<UsagePlan>;
    async fn get_usage_plan(&self, id: &str) -> Result<Option<UsagePlan>>;
    /// Ordered by id.
    async fn list_usage_plans(&self) -> Result<Vec<UsagePlan>>;
    async fn update_usage_plan(&self, id: &str, update: UsagePlanUpdate) -> Result<UsagePlan>;
    async fn delete_usage_plan(&self, id: &str) -> Result<()>;
    /// Adds a key to a plan; the key must exist. Refused (`Conflict`) if already there.
    async fn add_usage_plan_key(&self, plan_id: &str, key_id: &str) -> Result<ApiKey>;
    /// Counts one request of `key_id` under `plan_id` in the quota period starting at
    /// `period_start` (a new period starts from zero), unless `limit` is reached; the
    /// requests used after this one, or None when the quota was already exhausted.
    async fn consume_quota(
        &self,
        plan_id: &str,
        key_id: &str,
        period_start: i64,
        limit: i64,
    ) -> Result<Option<i64>>;
    /// Requests used by each key of a plan in the period starting at `period_start`.
    async fn quota_usage(&self, plan_id: &str, period_start: i64) -> Result<BTreeMap<String, i64>>;
}

/// The configuration a function reference designates, following an alias to its
/// version; `None` if the function, version or alias does not exist.
pub async fn resolve_reference(store: &dyn Store, reference: &FunctionRef) -> Result<Option<FunctionConfig>> {
    let version = match &reference.qualifier {
        None | Some(Qualifier::Latest) => Version::Latest,
        Some(Qualifier::Version(n)) => Version::Published(*n),
        Some(Qualifier::Unknown(_)) => return Ok(None),
        Some(Qualifier::Alias(alias)) => match store.get_alias(&reference.name, alias).await? {
            Some(alias) => alias.version,
            None => return Ok(None),
        },
    };
    store.get_function(&reference.name, version).await
}

/// The configuration an invoke of `reference` runs: as [`resolve_reference`], except that
/// a weighted alias sends the invoke to its additional version when `draw` (uniform in
/// `[0, 1)`) falls below that version's weight.
pub async fn resolve_invocation(
    store: &dyn Store,
    reference: &FunctionRef,
    draw: f64,
) -> Result<Option<FunctionConfig>> {
    let Some(Qualifier::Alias(alias)) = &reference.qualifier else {
        return resolve_reference(store, reference).await;
    };
    let Some(alias) = store.get_alias(&reference.name, alias).await? else { return Ok(None) };
    store.get_function(&reference.name, pick_version(alias.version, alias.routing, draw)).await
}

/// The publishing rule, shared by every backend: check the caller's preconditions, then
/// either reuse the newest version (nothing changed since) or number a new one.
pub fn plan_publish(
    latest: &FunctionConfig,
    newest_published: Option<&FunctionConfig>,
    last_number: u64,
    request: &PublishRequest,
) -> Result<Option<FunctionConfig>> {
    if let Some(arn) = &request.refuse_busy_as {
        crate::lifecycle::require_ready(latest.lifecycle, arn)?;
    }
    if let Some(expected) = &request.expected_revision {
        if *expected != latest.revision_id {
            return Err(Error::revision_mismatch());
        }
    }
    if let Some(expected) = &request.expected_code_sha256 {
        if *expected != latest.code.sha256_base64() {
            return Err(Error::invalid(format!(
                "CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST ({}). \
                 Please try again with the CodeSHA256 in $LATEST.",
                latest.code.sha256_base64()
            )));
        }
    }
    if let Some(newest) = newest_published {
        if latest.same_deployment_as(newest) {
            return Ok(None);
        }
    }
    let mut version = latest.clone();
    version.version = Version::Published(last_number + 1);
    if let Some(description) = &request.description {
        version.settings.description = description.clone();
    }
    version.revision_id = FunctionConfig::new_revision_id();
    version.lifecycle = crate::lifecycle::Lifecycle::creating();
    Ok(Some(version))
}

/// An accepted asynchronous invocation, waiting in the durable queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    /// The request id returned to the caller; the invoke keeps it.
    pub id: String,
    pub function: FunctionName,
    /// The version resolved when the event was accepted.
    pub version: Version,
    /// The qualifier the caller used, for the invoked function ARN.
    pub qualifier: Option<String>,
    pub tenant: Option<crate::TenantId>,
    pub payload: Vec<u8>,
    pub client_context: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Milliseconds since the Unix epoch.
    pub next_attempt_ms: i64,
    pub enqueued_ms: i64,
}

/// The durable queue of asynchronous invocations. Events stay until completed, so an
/// event accepted before a crash runs after the restart (at least once).
#[async_trait]
pub trait EventQueue: Send + Sync + 'static {
    async fn enqueue(&self, event: QueuedEvent) -> Result<()>;
    /// Events due at `now_ms`, oldest first, skipping the ids in `exclude` (in flight).
    async fn due(&self, now_ms: i64, exclude: Vec<String>, limit: usize) -> Result<Vec<QueuedEvent>>;
    /// When the earliest pending event is due, if any.
    async fn next_due_ms(&self) -> Result<Option<i64>>;
    async fn reschedule(&self, id: &str, attempts: u32, next_attempt_ms: i64) -> Result<()>;
    async fn complete(&self, id: &str) -> Result<()>;
    async fn pending_count(&self) -> Result<u64>;
}
