//! The environment manager: pools of idle environments keyed by [`EnvKey`], scale-out
//! when every environment of a key is busy, a cap on the number of environments with
//! least-recently-used idle ones evicted first, an idle reaper, and retirement of
//! environments whose function changed.
//!
//! Idle sandboxed environments are frozen, but not the instant they go idle: the freezer
//! task freezes an environment once it has stayed idle for [`FREEZE_AFTER`]. A client
//! invoking in a loop sends its next request well within that, and finds its environment
//! running instead of paying a freeze and a thaw (two cgroup writes and the wake-up of
//! every process in it) on each invoke.
//!
//! Which environment an invoke gets, and which are evicted, reaped or retired, is decided
//! by the pool bookkeeping of the `pool` module; this module starts, invokes and shuts
//! down the environments it names.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alcove_core::{FunctionConfig, FunctionName, TenantId, Version};
use alcove_logs::LogStore;
use alcove_runtime_api::Invocation;
use bytes::Bytes;

use crate::admission::{tenant_environment_cap, Admission, Permit, ThrottleReason};
use crate::environment::{Environment, InvokeReport, StartFailure};
use crate::failure::FunctionFailure;
use crate::key::EnvKey;
use crate::launch::{InitType, RuntimeSettings};
use crate::log_budget::{LogBudgets, LogLimits};
use crate::pool::{Claim, Pools};
use crate::provisioning::{self, ProvisionedStatus};
use crate::registry::{EnvState, EnvironmentInfo, Registry};
use crate::response::ResponseSink;
use crate::usage::UsageMeter;

/// How long an environment stays idle before its processes are frozen.
pub const FREEZE_AFTER: Duration = Duration::from_millis(2);

#[derive(Clone)]
pub struct ManagerSettings {
    pub runtimes: RuntimeSettings,
    /// The directory of the log store: the disk watermark measures its file system.
    pub logs_root: PathBuf,
    /// Where environments' log streams are written.
    pub log_store: LogStore,
    /// Idle environments older than this are shut down.
    pub idle_timeout: Duration,
    /// Most environments alive at once, busy or idle.
    pub max_environments: usize,
    /// Why environments cannot be sandboxed on this host, when they cannot and the server
    /// was not told to run tenants without isolation: PER_TENANT functions are refused.
    pub tenant_isolation_unavailable: Option<String>,
    /// The account's concurrency limit.
    pub account_concurrency: u32,
    /// How long a synchronous invoke over a concurrency limit waits for its turn before
    /// it is throttled; zero throttles at once, as Lambda does.
    pub queue_wait: Duration,
    /// How much function output reaches the log streams.
    pub log_limits: LogLimits,
}

/// What to run: a resolved configuration, where its code is unpacked, and for whom.
pub struct InvokeTarget {
    pub config: FunctionConfig,
    pub task_root: PathBuf,
    pub tenant: Option<TenantId>,
}

pub struct InvokeRequest {
    pub request_id: String,
    pub payload: Bytes,
    pub invoked_function_arn: String,
    pub client_context: Option<String>,
    pub want_log_tail: bool,
    /// Whether the invoke may wait for concurrency (`queue_wait`) rather than be
    /// throttled at once. Queued async events never wait here: they wait in their queue.
    pub may_wait: bool,
}

#[derive(Debug)]
pub struct InvokeResponse {
    /// The function's result, or its error document.
    pub result: Result<Bytes, FunctionFailure>,
    pub report: InvokeReport,
    pub cold_start: bool,
    /// Last 4 KB of this invoke's log, when asked for.
    pub log_tail: Vec<u8>,
}

/// An invoke whose response is streamed: its chunks as the function produces them, then,
/// once the channel has ended, how the invoke ended (its `result` is empty on success:
/// the body went through `chunks`).
pub struct StreamedInvoke {
    pub chunks: tokio::sync::mpsc::Receiver<Bytes>,
    pub end: tokio::sync::oneshot::Receiver<InvokeResponse>,
}

/// Chunks of a streamed response held between the environment and its caller.
const STREAMED_CHUNKS: usize = 4;

/// An invoke that may run: its concurrency permit (held until the invoke ends) and the
/// environment it got from the pool, or the right to start one.
struct Admitted {
    _permit: Permit,
    key: EnvKey,
    slot: Slot,
}

/// What the pool gave an admitted invoke.
enum Slot {
    Warm(Environment),
    Cold { epoch: (u64, u64), evicted: Option<Environment> },
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("{}", throttle_message(*.0))]
    Throttled(ThrottleReason),
    #[error("all {0} execution environments are busy")]
    AtCapacity(usize),
    /// A `PER_TENANT` function has as many environments as Lambda's quota allows (2,500 per
    /// 1,000 of its concurrency), active or idle.
    #[error(
        "the function has {0} tenant execution environments, active or idle, the most its \
         concurrency allows (2,500 for every 1,000 concurrent executions)"
    )]
    TenantEnvironmentsExhausted(usize),
    #[error(
        "this server cannot isolate tenants ({0}); PER_TENANT functions run only on a host that can \
         sandbox, or on a server started with --insecure-no-sandbox"
    )]
    IsolationUnavailable(String),
}

#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ManagerSettings,
    pools: Mutex<Pools<Environment>>,
    admission: Arc<Admission>,
    usage: UsageMeter,
    registry: Arc<Registry>,
    /// Log budgets per function, handed to each environment.
    log_budgets: LogBudgets,
    /// Environments just gone idle, for the freezer task.
    to_freeze: tokio::sync::mpsc::UnboundedSender<IdleSince>,
    /// Provisioned concurrency to keep ready, by function and qualifier.
    provisions: Mutex<HashMap<(FunctionName, String), Provision>>,
}

/// One provisioned concurrency configuration as the manager keeps it: the version the
/// qualifier designates now and the last reason an environment of it failed to start.
struct Provision {
    key: EnvKey,
    config: FunctionConfig,
    task_root: PathBuf,
    last_failure: Option<String>,
}

/// The live side of a provisioned concurrency configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedState {
    /// Environments initialised and kept (idle or busy).
    pub allocated: usize,
    /// Of those, how many can take an invoke: all of them, as each serves invokes one at a
    /// time and scales out on demand beyond them.
    pub available: usize,
    pub status: ProvisionedStatus,
}

/// An environment that went idle at `since`; frozen at `since + FREEZE_AFTER` unless it
/// was taken again by then.
struct IdleSince {
    key: EnvKey,
    id: String,
    since: Instant,
}

fn throttle_message(reason: ThrottleReason) -> &'static str {
    match reason {
        ThrottleReason::Reserved => "the function's reserved concurrency is in use",
        ThrottleReason::Account => "the account's unreserved concurrency is in use",
        ThrottleReason::Tenant => "the tenant's concurrency limit for this function is in use",
    }
}

/// Shuts environments down off the caller's path.
fn dispose(envs: Vec<Environment>) {
    if envs.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for env in envs {
            env.shutdown().await;
        }
    });
}

impl Manager {
    pub fn new(settings: ManagerSettings) -> Self {
        let admission = Admission::new(settings.account_concurrency);
        let (to_freeze, idle) = tokio::sync::mpsc::unbounded_channel();
        let log_budgets = LogBudgets::new(settings.log_limits, &settings.logs_root);
        let inner = Inner {
            log_budgets,
            settings,
            pools: Mutex::new(Pools::default()),
            admission,
            usage: UsageMeter::default(),
            registry: Arc::default(),
            to_freeze,
            provisions: Mutex::default(),
        };
        let manager = Manager { inner: Arc::new(inner) };
        manager.spawn_reaper();
        manager.spawn_freezer(idle);
        manager
    }

    /// The log store environments write their streams to.
    pub fn log_store(&self) -> &LogStore {
        &self.inner.settings.log_store
    }

    /// The environments alive now.
    pub fn environments(&self) -> Vec<EnvironmentInfo> {
        self.inner.registry.list()
    }

    /// What invocations consumed, not yet stored.
    pub fn usage(&self) -> &UsageMeter {
        &self.inner.usage
    }

    /// The concurrency limits every invoke is admitted under.
    pub fn admission(&self) -> &Arc<Admission> {
        &self.inner.admission
    }

    fn pools(&self) -> std::sync::MutexGuard<'_, Pools<Environment>> {
        self.inner.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one invocation in an environment of the target's key: a warm one if any is
    /// idle, else a new one. The invoke runs to its end in its own task even if the caller
    /// goes away, so no environment is ever left half-used.
    pub async fn invoke(
        &self,
        target: InvokeTarget,
        request: InvokeRequest,
    ) -> Result<InvokeResponse, InvokeError> {
        let manager = self.clone();
        tokio::spawn(async move {
            let admitted = manager.admit(&target, request.may_wait).await?;
            Ok(manager.run(admitted, target, request, ResponseSink::Buffered).await)
        })
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
    }

    /// Like [`Manager::invoke`], but the response is handed out chunk by chunk as the
    /// function produces it. Admission (throttling, capacity) is decided before this
    /// returns; from then on the invoke runs in its own task, its environment busy until the
    /// last chunk has been taken or the caller has gone.
    pub async fn invoke_streamed(
        &self,
        target: InvokeTarget,
        request: InvokeRequest,
    ) -> Result<StreamedInvoke, InvokeError> {
        let admitted = self.admit(&target, request.may_wait).await?;
        let (chunks, receiver) = tokio::sync::mpsc::channel(STREAMED_CHUNKS);
        let (ended, end) = tokio::sync::oneshot::channel();
        let manager = self.clone();
        tokio::spawn(async move {
            let response = manager.run(admitted, target, request, ResponseSink::Streamed(chunks)).await;
            let _ = ended.send(response);
        });
        Ok(StreamedInvoke { chunks: receiver, end })
    }

    /// Takes the target's concurrency and an environment of its key (or the right to start
    /// one), or says why the invoke may not run. Nothing here awaits after the claim, so a
    /// caller that goes away never leaves a claim behind.
    async fn admit(&self, target: &InvokeTarget, may_wait: bool) -> Result<Admitted, InvokeError> {
        if let (Some(_), Some(reason)) =
            (target.config.tenancy, &self.inner.settings.tenant_isolation_unavailable)
        {
            return Err(InvokeError::IsolationUnavailable(reason.clone()));
        }
        let wait = if may_wait { self.inner.settings.queue_wait } else { Duration::ZERO };
        let permit =
            self.inner.admission.acquire(&target.config.name, target.tenant.as_ref(), wait).await.map_err(
                |reason| {
                    self.inner.usage.throttled(&target.config, target.tenant.as_ref(), reason);
                    InvokeError::Throttled(reason)
                },
            )?;
        let key = EnvKey::new(&target.config, target.tenant.clone());
        let function_cap = target
            .config
            .tenancy
            .map(|_| tenant_environment_cap(self.inner.admission.function_concurrency(&target.config.name)));
        let slot = match self.pools().claim_within(&key, self.inner.settings.max_environments, function_cap) {
            Claim::AtCapacity => return Err(InvokeError::AtCapacity(self.inner.settings.max_environments)),
            Claim::FunctionAtCapacity => {
                return Err(InvokeError::TenantEnvironmentsExhausted(function_cap.unwrap_or_default()))
            }
            Claim::Warm(env) => Slot::Warm(env),
            Claim::Cold { epoch, evicted } => Slot::Cold { epoch, evicted },
        };
        Ok(Admitted { _permit: permit, key, slot })
    }

    async fn run(
        &self,
        admitted: Admitted,
        target: InvokeTarget,
        request: InvokeRequest,
        sink: ResponseSink,
    ) -> InvokeResponse {
        let Admitted { _permit, key, slot } = admitted;
        let cold_start = !matches!(slot, Slot::Warm(_));
        let mut env = match slot {
            Slot::Warm(env) => {
                self.inner.registry.update(&env.id, EnvState::Busy, env.invokes);
                env
            }
            Slot::Cold { epoch, evicted } => {
                if let Some(old) = evicted {
                    tracing::debug!(environment = %old.id, "evicted least recently used idle environment");
                    dispose(vec![old]);
                }
                let started = Environment::start(
                    &self.inner.settings.runtimes,
                    &self.inner.settings.log_store,
                    &self.inner.log_budgets,
                    &target.config,
                    &target.task_root,
                    key.clone(),
                    epoch,
                    request.want_log_tail,
                    InitType::OnDemand,
                )
                .await;
                match started {
                    Ok(mut env) => {
                        env.register(&self.inner.registry);
                        tracing::info!(
                            function = %target.config.name,
                            tenant = target.tenant.as_ref().map(TenantId::as_str),
                            environment = %env.id,
                            "environment started"
                        );
                        env
                    }
                    Err(StartFailure { failure, log_tail }) => {
                        self.pools().start_failed(&key);
                        let report = InvokeReport {
                            duration: Duration::ZERO,
                            billed_ms: 0,
                            max_memory_used_mb: 0,
                            init_duration: None,
                        };
                        self.inner.usage.invoked(&target.config, target.tenant.as_ref(), &report, true, true);
                        return InvokeResponse { result: Err(failure), report, cold_start: true, log_tail };
                    }
                }
            }
        };
        let tenant = target.tenant.clone();
        let invocation = Invocation {
            request_id: request.request_id,
            payload: request.payload,
            deadline_ms: 0,
            invoked_function_arn: request.invoked_function_arn,
            trace_id: trace_id(),
            client_context: request.client_context,
            cognito_identity: None,
            tenant_id: tenant,
        };
        let version = target.config.version.to_string();
        let end = env.invoke(invocation, &version, request.want_log_tail, &sink).await;
        self.release(env, end.reusable);
        self.inner.usage.invoked(
            &target.config,
            target.tenant.as_ref(),
            &end.report,
            cold_start,
            end.result.is_err(),
        );
        InvokeResponse { result: end.result, report: end.report, cold_start, log_tail: end.log_tail }
    }

    /// Returns an environment to its pool, or destroys it.
    fn release(&self, env: Environment, reusable: bool) {
        // An on-demand environment may next be used only before it is reaped; a provisioned
        // one is never reaped, so it is judged on its next invoke alone (it may yet idle
        // past its credentials' expiry: it is then retired after that invoke).
        let idle_for = if env.provisioned { Duration::ZERO } else { self.inner.settings.idle_timeout };
        let reusable = reusable && !env.credentials_expiring(idle_for);
        let mut pools = self.pools();
        match pools.give_back(env, reusable) {
            Ok(env) => {
                self.inner.registry.update(&env.id, env.idle_state(), env.invokes);
                let idle = IdleSince { key: env.key.clone(), id: env.id.clone(), since: env.last_used };
                drop(pools);
                let _ = self.inner.to_freeze.send(idle);
            }
            Err(env) => {
                drop(pools);
                let provisioned = env.provisioned;
                dispose(vec![env]);
                if provisioned {
                    // A provisioned environment died or was retired: replace it.
                    self.reconcile_provisioned();
                }
            }
        }
    }

    /// Keeps `requested` initialised environments of `target`'s version ready for the
    /// qualifier `qualifier` (a version number or an alias name) of its function,
    /// replacing what the qualifier had before. Functions with tenant isolation have no
    /// provisioned concurrency: their environments belong to one tenant each.
    pub fn provision(&self, qualifier: &str, target: InvokeTarget, requested: usize) {
        debug_assert!(target.tenant.is_none() && target.config.tenancy.is_none());
        let key = EnvKey::new(&target.config, None);
        let id = (target.config.name.clone(), qualifier.to_owned());
        let replaced = {
            let mut provisions = self.provisions();
            let provision = Provision {
                key: key.clone(),
                config: target.config,
                task_root: target.task_root,
                last_failure: None,
            };
            provisions.insert(id, provision).map(|old| old.key).filter(|old| *old != key)
        };
        {
            let mut pools = self.pools();
            if let Some(old) = &replaced {
                pools.set_provisioned_target(old, 0);
            }
            pools.set_provisioned_target(&key, requested);
        }
        self.reconcile_provisioned();
    }

    /// Stops keeping environments ready for `qualifier`: idle ones are shut down now,
    /// busy ones when their invoke ends.
    pub fn unprovision(&self, function: &FunctionName, qualifier: &str) {
        let removed = self.provisions().remove(&(function.clone(), qualifier.to_owned()));
        if let Some(provision) = removed {
            self.pools().set_provisioned_target(&provision.key, 0);
            self.reconcile_provisioned();
        }
    }

    /// How far the provisioning of `qualifier` has come, if it is provisioned.
    pub fn provisioned_state(&self, function: &FunctionName, qualifier: &str) -> Option<ProvisionedState> {
        let provisions = self.provisions();
        let provision = provisions.get(&(function.clone(), qualifier.to_owned()))?;
        let count = self.pools().provisioned_count(&provision.key);
        let initialised = count.alive - count.starting;
        Some(ProvisionedState {
            allocated: initialised.min(count.target),
            available: initialised.min(count.target),
            status: provisioning::status(count, provision.last_failure.as_deref()),
        })
    }

    fn provisions(&self) -> std::sync::MutexGuard<'_, HashMap<(FunctionName, String), Provision>> {
        self.inner.provisions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings every provisioned version to its target: starts what is missing (in the
    /// background, as room allows under `max_environments`), shuts down idle ones beyond
    /// it. Run on every change, when a provisioned environment is lost, and by the reaper.
    fn reconcile_provisioned(&self) {
        let targets: Vec<(EnvKey, FunctionConfig, PathBuf)> = self
            .provisions()
            .values()
            .map(|p| (p.key.clone(), p.config.clone(), p.task_root.clone()))
            .collect();
        let mut surplus = Vec::new();
        let mut starts = Vec::new();
        {
            let mut pools = self.pools();
            surplus.extend(pools.drain_unwanted_provisioned());
            for (key, config, task_root) in targets {
                let adjustment =
                    provisioning::adjust(pools.provisioned_count(&key), pools.provisioned_idle(&key));
                surplus.extend(pools.take_provisioned(&key, adjustment.stop));
                for _ in 0..adjustment.start {
                    match pools.claim_provisioned(&key, self.inner.settings.max_environments) {
                        Claim::Cold { epoch, evicted } => {
                            surplus.extend(evicted);
                            starts.push((key.clone(), config.clone(), task_root.clone(), epoch));
                        }
                        _ => break,
                    }
                }
            }
        }
        dispose(surplus);
        for (key, config, task_root, epoch) in starts {
            let manager = self.clone();
            tokio::spawn(async move { manager.start_provisioned(key, config, task_root, epoch).await });
        }
    }

    async fn start_provisioned(
        &self,
        key: EnvKey,
        config: FunctionConfig,
        task_root: PathBuf,
        epoch: (u64, u64),
    ) {
        let started = Environment::start(
            &self.inner.settings.runtimes,
            &self.inner.settings.log_store,
            &self.inner.log_budgets,
            &config,
            &task_root,
            key.clone(),
            epoch,
            false,
            InitType::ProvisionedConcurrency,
        )
        .await;
        let failure = match started {
            Ok(mut env) => {
                env.register(&self.inner.registry);
                tracing::info!(function = %config.name, version = %config.version, environment = %env.id,
                    "provisioned environment ready");
                self.pools().provisioned_started(&key, true);
                self.release(env, true);
                None
            }
            Err(StartFailure { failure, .. }) => {
                self.pools().provisioned_started(&key, false);
                let reason = format!("{}: {}", failure.error_type, String::from_utf8_lossy(&failure.body));
                tracing::warn!(function = %config.name, version = %config.version, %reason,
                    "provisioned environment failed to initialise");
                Some(reason)
            }
        };
        for provision in self.provisions().values_mut().filter(|p| p.key == key) {
            provision.last_failure = failure.clone();
        }
    }

    /// Retires the environments of one version of `function`, or of all its versions:
    /// idle ones now, busy ones when their invoke ends. Called when code or configuration
    /// changes, or when the function or version is deleted.
    pub fn retire(&self, function: &FunctionName, version: Option<Version>) {
        self.provisions()
            .retain(|(name, _), p| !(name == function && version.is_none_or(|v| p.key.version() == v)));
        let retired = self.pools().retire(function, version);
        dispose(retired);
    }

    /// Number of environments alive (idle, busy or starting).
    pub fn alive(&self) -> usize {
        self.pools().alive()
    }

    /// Environments alive, and how many of them are idle.
    pub fn counts(&self) -> (usize, usize) {
        let pools = self.pools();
        (pools.alive(), pools.idle())
    }

    /// Shuts down every idle environment; used when the server stops.
    pub async fn shutdown(&self) {
        let envs = self.pools().drain();
        for env in envs {
            env.shutdown().await;
        }
    }

    /// Freezes each environment that stayed idle for [`FREEZE_AFTER`]. Environments go idle
    /// in order, so the queue is in order of when each is due.
    fn spawn_freezer(&self, mut idle: tokio::sync::mpsc::UnboundedReceiver<IdleSince>) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(entry) = idle.recv().await {
                let due = entry.since + FREEZE_AFTER;
                if Instant::now() < due {
                    tokio::time::sleep_until(due.into()).await;
                }
                let Some(inner) = weak.upgrade() else { break };
                let mut pools = inner.pools.lock().unwrap_or_else(|p| p.into_inner());
                // Taken and released again since: a later entry is due for it.
                if let Some(env) = pools.idle_since(&entry.key, &entry.id, entry.since) {
                    env.freeze();
                    inner.registry.update(&env.id, env.idle_state(), env.invokes);
                }
            }
        });
    }

    fn spawn_reaper(&self) {
        let weak = Arc::downgrade(&self.inner);
        let idle_timeout = self.inner.settings.idle_timeout;
        let period = (idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let expired =
                    inner.pools.lock().unwrap_or_else(|p| p.into_inner()).reap(Instant::now(), idle_timeout);
                if !expired.is_empty() {
                    tracing::debug!(count = expired.len(), "reaping idle environments");
                }
                dispose(expired);
                Manager { inner }.reconcile_provisioned();
            }
        });
    }
}

/// An X-Ray style trace header for the invoke.
fn trace_id() -> String {
    let now = alcove_core::clock::epoch_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{now:08x}-{};Parent={};Sampled=0", &random[..24], &random[16..32])
}
