//! The `Store` and `EventQueue` traits over the feature modules. Each method picks its
//! transaction (one that changes functions or aliases also drops the read cache) and
//! calls one feature function inside it; function and alias reads go through the cache.

use std::collections::BTreeMap;

use alcove_core::apigateway::{ApiKey, Deployment, RestApi, Stage, UsagePlan};
use alcove_core::store::{AccountUsage, LatestUpdate, PublishRequest};
use alcove_core::{
    Alias, AliasName, AliasPatch, ApiKeyUpdate, CodeSigningConfig, DeadLetter, DeploymentRequest,
    EventInvokeConfig, EventQueue, FunctionConfig, FunctionName, FunctionUrlConfig, Page,
    ProvisionedConcurrency, ProvisionedLimits, QueuedEvent, RecursiveLoop, RestApiUpdate, Result,
    StageLookup, StageUpdate, Store, Tags, TenantLimits, UsageFilter, UsagePlanUpdate, UsageRecord, Version,
};
use async_trait::async_trait;

use super::{
    aliases, code_signing, event_configs, function_urls, functions, limits, policies, provisioned, queue,
    rest_apis, usage, usage_plans, SqlStore,
};

#[async_trait]
impl Store for SqlStore {
    async fn create_function(&self, latest: FunctionConfig, publish: bool) -> Result<FunctionConfig> {
        self.change_functions(move |tx| functions::create(tx, latest, publish)).await
    }

    async fn get_function(&self, name: &FunctionName, version: Version) -> Result<Option<FunctionConfig>> {
        if let Some(config) = self.cache.function(name, version) {
            return Ok(Some(config));
        }
        let generation = self.cache.generation();
        let name = name.clone();
        let found = self.read(move |tx| functions::get(tx, &name, version)).await?;
        if let Some(config) = &found {
            self.cache.keep_function(generation, version, config);
        }
        Ok(found)
    }

    async fn list_functions(
        &self,
        all_versions: bool,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionConfig>> {
        self.read(move |tx| functions::list(tx, all_versions, marker, limit)).await
    }

    async fn list_versions(
        &self,
        name: &FunctionName,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionConfig>> {
        let name = name.clone();
        self.read(move |tx| functions::list_versions(tx, &name, marker, limit)).await
    }

    async fn update_latest(
        &self,
        name: &FunctionName,
        update: LatestUpdate,
        publish: bool,
    ) -> Result<FunctionConfig> {
        let name = name.clone();
        self.change_functions(move |tx| functions::update_latest(tx, &name, update, publish)).await
    }

    async fn publish_version(&self, name: &FunctionName, request: PublishRequest) -> Result<FunctionConfig> {
        let name = name.clone();
        self.change_functions(move |tx| functions::publish_latest(tx, &name, &request)).await
    }

    async fn settle_lifecycle(
        &self,
        name: &FunctionName,
        version: Version,
        revision_id: &str,
    ) -> Result<Option<FunctionConfig>> {
        let (name, revision_id) = (name.clone(), revision_id.to_owned());
        self.change_functions(move |tx| functions::settle(tx, &name, version, &revision_id)).await
    }

    async fn settle_all_lifecycles(&self) -> Result<usize> {
        self.change_functions(functions::settle_all).await
    }

    async fn delete_function(&self, name: &FunctionName) -> Result<()> {
        let name = name.clone();
        self.change_functions(move |tx| functions::delete(tx, &name)).await
    }

    async fn tag_function(&self, name: &FunctionName, tags: Tags) -> Result<Tags> {
        let name = name.clone();
        self.change_functions(move |tx| functions::tag(tx, &name, tags)).await
    }

    async fn untag_function(&self, name: &FunctionName, keys: Vec<String>) -> Result<Tags> {
        let name = name.clone();
        self.change_functions(move |tx| functions::untag(tx, &name, &keys)).await
    }

    async fn delete_version(&self, name: &FunctionName, version: u64) -> Result<()> {
        let name = name.clone();
        self.change_functions(move |tx| functions::delete_version(tx, &name, version)).await
    }

    async fn create_alias(&self, alias: Alias) -> Result<Alias> {
        self.change_functions(move |tx| aliases::create(tx, alias)).await
    }

    async fn get_alias(&self, function: &FunctionName, name: &AliasName) -> Result<Option<Alias>> {
        if let Some(alias) = self.cache.alias(function, name) {
            return Ok(Some(alias));
        }
        let generation = self.cache.generation();
        let (function, name) = (function.clone(), name.clone());
        let found = self.read(move |tx| aliases::get(tx, &function, &name)).await?;
        if let Some(alias) = &found {
            self.cache.keep_alias(generation, alias);
        }
        Ok(found)
    }

    async fn list_aliases(
        &self,
        function: &FunctionName,
        version: Option<Version>,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<Alias>> {
        let function = function.clone();
        self.read(move |tx| aliases::list(tx, &function, version, marker, limit)).await
    }

    async fn update_alias(
        &self,
        function: &FunctionName,
        name: &AliasName,
        patch: AliasPatch,
    ) -> Result<Alias> {
        let (function, name) = (function.clone(), name.clone());
        self.change_functions(move |tx| aliases::update(tx, &function, &name, patch)).await
    }

    async fn delete_alias(&self, function: &FunctionName, name: &AliasName) -> Result<()> {
        let (function, name) = (function.clone(), name.clone());
        self.change_functions(move |tx| aliases::delete(tx, &function, &name)).await
    }

    async fn put_concurrency(
        &self,
        name: &FunctionName,
        reserved: u32,
        max_total_reserved: u64,
    ) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| limits::put_concurrency(tx, &name, reserved, max_total_reserved)).await
    }

    async fn get_concurrency(&self, name: &FunctionName) -> Result<Option<u32>> {
        let name = name.clone();
        self.read(move |tx| limits::get_concurrency(tx, &name)).await
    }

    async fn delete_concurrency(&self, name: &FunctionName) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| limits::delete_concurrency(tx, &name)).await
    }

    async fn list_concurrency(&self) -> Result<Vec<(FunctionName, u32)>> {
        self.read(limits::list_concurrency).await
    }

    async fn put_provisioned_concurrency(
        &self,
        config: ProvisionedConcurrency,
        limits: ProvisionedLimits,
    ) -> Result<ProvisionedConcurrency> {
        self.transaction(move |tx| provisioned::put(tx, config, limits)).await
    }

    async fn get_provisioned_concurrency(
        &self,
        name: &FunctionName,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConcurrency>> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.read(move |tx| provisioned::get(tx, &name, &qualifier)).await
    }

    async fn delete_provisioned_concurrency(&self, name: &FunctionName, qualifier: &str) -> Result<bool> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| provisioned::delete(tx, &name, &qualifier)).await
    }

    async fn list_provisioned_concurrency(
        &self,
        name: Option<&FunctionName>,
    ) -> Result<Vec<ProvisionedConcurrency>> {
        let name = name.cloned();
        self.read(move |tx| provisioned::list(tx, name.as_ref())).await
    }

    async fn put_tenant_limits(&self, name: &FunctionName, tenant_limits: TenantLimits) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| limits::put_tenant_limits(tx, &name, &tenant_limits)).await
    }

    async fn get_tenant_limits(&self, name: &FunctionName) -> Result<Option<TenantLimits>> {
        let name = name.clone();
        self.read(move |tx| limits::get_tenant_limits(tx, &name)).await
    }

    async fn list_tenant_limits(&self) -> Result<Vec<(FunctionName, TenantLimits)>> {
        self.read(limits::list_tenant_limits).await
    }

    async fn put_event_invoke_config(
        &self,
        name: &FunctionName,
        qualifier: &str,
        config: EventInvokeConfig,
    ) -> Result<()> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| event_configs::put(tx, &name, &qualifier, &config)).await
    }

    async fn get_event_invoke_config(
        &self,
        name: &FunctionName,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.read(move |tx| event_configs::get(tx, &name, &qualifier)).await
    }

    async fn delete_event_invoke_config(&self, name: &FunctionName, qualifier: &str) -> Result<bool> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| event_configs::delete(tx, &name, &qualifier)).await
    }

    async fn list_event_invoke_configs(
        &self,
        name: &FunctionName,
    ) -> Result<Vec<(String, EventInvokeConfig)>> {
        let name = name.clone();
        self.read(move |tx| event_configs::list(tx, &name)).await
    }

    async fn add_permission(
        &self,
        name: &FunctionName,
        qualifier: &str,
        statement_id: &str,
        statement: serde_json::Value,
    ) -> Result<()> {
        let (name, qualifier, statement_id) = (name.clone(), qualifier.to_owned(), statement_id.to_owned());
        self.transaction(move |tx| policies::add(tx, &name, &qualifier, &statement_id, &statement)).await
    }

    async fn remove_permission(
        &self,
        name: &FunctionName,
        qualifier: &str,
        statement_id: &str,
    ) -> Result<bool> {
        let (name, qualifier, statement_id) = (name.clone(), qualifier.to_owned(), statement_id.to_owned());
        self.transaction(move |tx| policies::remove(tx, &name, &qualifier, &statement_id)).await
    }

    async fn policy(&self, name: &FunctionName, qualifier: &str) -> Result<Vec<serde_json::Value>> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.read(move |tx| policies::statements(tx, &name, &qualifier)).await
    }

    async fn create_function_url(&self, config: FunctionUrlConfig) -> Result<()> {
        self.transaction(move |tx| function_urls::create(tx, &config)).await
    }

    async fn function_url(&self, name: &FunctionName, qualifier: &str) -> Result<Option<FunctionUrlConfig>> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.read(move |tx| function_urls::get(tx, &name, &qualifier)).await
    }

    async fn function_url_by_id(&self, url_id: &str) -> Result<Option<FunctionUrlConfig>> {
        let url_id = url_id.to_owned();
        self.read(move |tx| function_urls::by_id(tx, &url_id)).await
    }

    async fn update_function_url(&self, config: FunctionUrlConfig) -> Result<()> {
        self.transaction(move |tx| function_urls::update(tx, &config)).await
    }

    async fn delete_function_url(&self, name: &FunctionName, qualifier: &str) -> Result<bool> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| function_urls::delete(tx, &name, &qualifier)).await
    }

    async fn list_function_urls(&self, name: &FunctionName) -> Result<Vec<FunctionUrlConfig>> {
        let name = name.clone();
        self.read(move |tx| function_urls::list(tx, &name)).await
    }

    async fn put_recursion_config(&self, name: &FunctionName, setting: RecursiveLoop) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| function_urls::put_recursion(tx, &name, setting)).await
    }

    async fn recursion_config(&self, name: &FunctionName) -> Result<Option<RecursiveLoop>> {
        let name = name.clone();
        self.read(move |tx| function_urls::recursion(tx, &name)).await
    }

    async fn create_code_signing_config(&self, config: CodeSigningConfig) -> Result<()> {
        self.transaction(move |tx| code_signing::create(tx, &config)).await
    }

    async fn code_signing_config(&self, id: &str) -> Result<Option<CodeSigningConfig>> {
        let id = id.to_owned();
        self.read(move |tx| code_signing::get(tx, &id)).await
    }

    async fn update_code_signing_config(&self, config: CodeSigningConfig) -> Result<()> {
        self.transaction(move |tx| code_signing::update(tx, &config)).await
    }

    async fn delete_code_signing_config(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.transaction(move |tx| code_signing::delete(tx, &id)).await
    }

    async fn list_code_signing_configs(
        &self,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<CodeSigningConfig>> {
        self.read(move |tx| code_signing::list(tx, marker, limit)).await
    }

    async fn put_function_code_signing(&self, name: &FunctionName, id: &str) -> Result<()> {
        let (name, id) = (name.clone(), id.to_owned());
        self.transaction(move |tx| code_signing::put_for_function(tx, &name, &id)).await
    }

    async fn function_code_signing(&self, name: &FunctionName) -> Result<Option<String>> {
        let name = name.clone();
        self.read(move |tx| code_signing::of_function(tx, &name)).await
    }

    async fn delete_function_code_signing(&self, name: &FunctionName) -> Result<bool> {
        let name = name.clone();
        self.transaction(move |tx| code_signing::delete_for_function(tx, &name)).await
    }

    async fn functions_by_code_signing(
        &self,
        id: &str,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionName>> {
        let id = id.to_owned();
        self.read(move |tx| code_signing::functions_using(tx, &id, marker, limit)).await
    }

    async fn add_dead_letter(&self, letter: DeadLetter) -> Result<()> {
        self.transaction(move |tx| queue::add_dead_letter(tx, &letter)).await
    }

    async fn list_dead_letters(&self, name: Option<FunctionName>, limit: usize) -> Result<Vec<DeadLetter>> {
        self.read(move |tx| queue::list_dead_letters(tx, name.as_ref(), limit)).await
    }

    async fn add_usage(&self, records: Vec<UsageRecord>) -> Result<()> {
        self.transaction(move |tx| usage::add(tx, &records)).await
    }

    async fn usage(&self, filter: UsageFilter) -> Result<Vec<UsageRecord>> {
        self.read(move |tx| usage::report(tx, &filter)).await
    }

    async fn account_usage(&self) -> Result<AccountUsage> {
        self.read(usage::account).await
    }

    async fn create_rest_api(&self, api: RestApi) -> Result<RestApi> {
        self.transaction(move |tx| rest_apis::create(tx, api)).await
    }

    async fn get_rest_api(&self, id: &str) -> Result<Option<RestApi>> {
        let id = id.to_owned();
        self.read(move |tx| rest_apis::get(tx, &id)).await
    }

    async fn list_rest_apis(&self, marker: Option<String>, limit: usize) -> Result<Page<RestApi>> {
        self.read(move |tx| rest_apis::list(tx, marker, limit)).await
    }

    async fn update_rest_api(&self, id: &str, update: RestApiUpdate) -> Result<RestApi> {
        let id = id.to_owned();
        self.transaction(move |tx| rest_apis::update(tx, &id, update)).await
    }

    async fn delete_rest_api(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| rest_apis::delete(tx, &id)).await
    }

    async fn create_deployment(&self, api_id: &str, request: DeploymentRequest) -> Result<Deployment> {
        let api_id = api_id.to_owned();
        self.transaction(move |tx| rest_apis::create_deployment(tx, &api_id, request)).await
    }

    async fn get_deployment(&self, api_id: &str, id: &str) -> Result<Deployment> {
        let (api_id, id) = (api_id.to_owned(), id.to_owned());
        self.read(move |tx| rest_apis::get_deployment(tx, &api_id, &id)).await
    }

    async fn list_deployments(&self, api_id: &str) -> Result<Vec<Deployment>> {
        let api_id = api_id.to_owned();
        self.read(move |tx| rest_apis::list_deployments(tx, &api_id)).await
    }

    async fn delete_deployment(&self, api_id: &str, id: &str) -> Result<()> {
        let (api_id, id) = (api_id.to_owned(), id.to_owned());
        self.transaction(move |tx| rest_apis::delete_deployment(tx, &api_id, &id)).await
    }

    async fn create_stage(&self, api_id: &str, stage: Stage) -> Result<Stage> {
        let api_id = api_id.to_owned();
        self.transaction(move |tx| rest_apis::create_stage(tx, &api_id, stage)).await
    }

    async fn get_stage(&self, api_id: &str, name: &str) -> Result<Stage> {
        let (api_id, name) = (api_id.to_owned(), name.to_owned());
        self.read(move |tx| rest_apis::get_stage(tx, &api_id, &name)).await
    }

    async fn update_stage(&self, api_id: &str, name: &str, update: StageUpdate) -> Result<Stage> {
        let (api_id, name) = (api_id.to_owned(), name.to_owned());
        let now = alcove_core::clock::epoch_secs();
        self.transaction(move |tx| rest_apis::update_stage(tx, &api_id, &name, update, now)).await
    }

    async fn list_stages(&self, api_id: &str, deployment_id: Option<String>) -> Result<Vec<Stage>> {
        let api_id = api_id.to_owned();
        self.read(move |tx| rest_apis::list_stages(tx, &api_id, deployment_id)).await
    }

    async fn delete_stage(&self, api_id: &str, name: &str) -> Result<()> {
        let (api_id, name) = (api_id.to_owned(), name.to_owned());
        self.transaction(move |tx| rest_apis::delete_stage(tx, &api_id, &name)).await
    }

    async fn deployed_stage(&self, api_id: &str, stage: &str) -> Result<StageLookup> {
        let (api_id, stage) = (api_id.to_owned(), stage.to_owned());
        self.read(move |tx| rest_apis::deployed_stage(tx, &api_id, &stage)).await
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<ApiKey> {
        self.transaction(move |tx| usage_plans::create_key(tx, key)).await
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        let id = id.to_owned();
        self.read(move |tx| usage_plans::get_key(tx, &id)).await
    }

    async fn api_key_by_value(&self, value: &str) -> Result<Option<ApiKey>> {
        let value = value.to_owned();
        self.read(move |tx| usage_plans::key_by_value(tx, &value)).await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.read(usage_plans::list_keys).await
    }

    async fn update_api_key(&self, id: &str, update: ApiKeyUpdate) -> Result<ApiKey> {
        let id = id.to_owned();
        self.transaction(move |tx| usage_plans::update_key(tx, &id, update)).await
    }

    async fn delete_api_key(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| usage_plans::delete_key(tx, &id)).await
    }

    async fn create_usage_plan(&self, plan: UsagePlan) -> Result<UsagePlan> {
        self.transaction(move |tx| usage_plans::create_plan(tx, plan)).await
    }

    async fn get_usage_plan(&self, id: &str) -> Result<Option<UsagePlan>> {
        let id = id.to_owned();
        self.read(move |tx| usage_plans::get_plan(tx, &id)).await
    }

    async fn list_usage_plans(&self) -> Result<Vec<UsagePlan>> {
        self.read(usage_plans::list_plans).await
    }

    async fn update_usage_plan(&self, id: &str, update: UsagePlanUpdate) -> Result<UsagePlan> {
        let id = id.to_owned();
        self.transaction(move |tx| usage_plans::update_plan(tx, &id, update)).await
    }

    async fn delete_usage_plan(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| usage_plans::delete_plan(tx, &id)).await
    }

    async fn add_usage_plan_key(&self, plan_id: &str, key_id: &str) -> Result<ApiKey> {
        let (plan_id, key_id) = (plan_id.to_owned(), key_id.to_owned());
        self.transaction(move |tx| usage_plans::add_plan_key(tx, &plan_id, &key_id)).await
    }

    async fn consume_quota(
        &self,
        plan_id: &str,
        key_id: &str,
        period_start: i64,
        limit: i64,
    ) -> Result<Option<i64>> {
        let (plan_id, key_id) = (plan_id.to_owned(), key_id.to_owned());
        self.transaction(move |tx| usage_plans::consume_quota(tx, &plan_id, &key_id, period_start, limit))
            .await
    }

    async fn quota_usage(&self, plan_id: &str, period_start: i64) -> Result<BTreeMap<String, i64>> {
        let plan_id = plan_id.to_owned();
        self.read(move |tx| usage_plans::quota_usage(tx, &plan_id, period_start)).await
    }
}

#[async_trait]
impl EventQueue for SqlStore {
    async fn enqueue(&self, event: QueuedEvent) -> Result<()> {
        self.transaction(move |tx| queue::enqueue(tx, &event)).await
    }

    async fn due(&self, now_ms: i64, exclude: Vec<String>, limit: usize) -> Result<Vec<QueuedEvent>> {
        match self.claimant() {
            None => self.read(move |tx| queue::due(tx, now_ms, &exclude, limit, None)).await,
            Some(claimant) => {
                self.transaction(move |tx| queue::due(tx, now_ms, &exclude, limit, Some(&claimant))).await
            }
        }
    }

    async fn next_due_ms(&self) -> Result<Option<i64>> {
        let claimant = self.claimant();
        self.read(move |tx| queue::next_due_ms(tx, claimant.as_ref())).await
    }

    async fn reschedule(&self, id: &str, attempts: u32, next_attempt_ms: i64) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| queue::reschedule(tx, &id, attempts, next_attempt_ms)).await
    }

    async fn complete(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| queue::complete(tx, &id)).await
    }

    async fn pending_count(&self) -> Result<u64> {
        self.read(queue::pending_count).await
    }
}
