//! One execution environment: a runtime process, its Runtime API and its log stream, and
//! the lifecycle Lambda gives them: init (start the process, wait for its first `/next`),
//! invoke (one at a time), shutdown (SIGTERM to the process group, SIGKILL after a grace
//! period).

use std::path::Path;
use std::time::{Duration, Instant};

use alcove_core::{FunctionConfig, NetworkAccess};
use alcove_logs::LogStore;
use alcove_runtime_api::{Invocation, Lifecycle, RuntimeApi};
use bytes::Bytes;
use nix::sys::signal::Signal;
use tokio::net::TcpListener;

use crate::app_log_level::AppLogFilter;
use crate::failure::{FunctionFailure, PlatformError};
use crate::function_access::{Access, EnvironmentIdentity};
use crate::key::EnvKey;
use crate::launch::{self, AwsAccess, InitType, RuntimeSettings};
use crate::log_budget::LogBudgets;
use crate::logs::LogStream;
use crate::output::Output;
use crate::platform_log::{InvokeStatus, PlatformLog, ReportFigures};
use crate::process::RuntimeProcess;
use crate::registry::{EnvState, EnvironmentInfo, Registration, Registry};
use crate::response::{self, ResponseSink};
use alcove_sandbox::{Confinement, Launched, SandboxSpec};
use std::sync::Arc;
use tokio::net::unix::pipe;

/// Lambda's limit on initialisation.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a runtime gets between SIGTERM and SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Figures of one invoke, as in its `REPORT` line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvokeReport {
    pub duration: Duration,
    pub billed_ms: u64,
    pub max_memory_used_mb: u64,
    pub init_duration: Option<Duration>,
}

/// Why an environment did not start, and what its log shows of it when the invoke that
/// started it asked for the tail.
#[derive(Debug)]
pub(crate) struct StartFailure {
    pub failure: FunctionFailure,
    /// The runtime's output during init and the `INIT_REPORT` line, when captured.
    pub log_tail: Vec<u8>,
}

impl From<FunctionFailure> for StartFailure {
    fn from(failure: FunctionFailure) -> Self {
        StartFailure { failure, log_tail: Vec::new() }
    }
}

/// How an invoke ended, and whether the environment survived it.
pub(crate) struct InvokeEnd {
    pub result: Result<Bytes, FunctionFailure>,
    pub report: InvokeReport,
    pub log_tail: Vec<u8>,
    /// False after a timeout or crash: the environment must be destroyed.
    pub reusable: bool,
}

pub(crate) struct Environment {
    pub key: EnvKey,
    pub id: String,
    pub epoch: (u64, u64),
    pub last_used: Instant,
    pub invokes: u64,
    process: RuntimeProcess,
    api: RuntimeApi,
    log: Arc<LogStream>,
    /// Writes the platform's records in the function's log format.
    platform: PlatformLog,
    memory_mb: u32,
    timeout: Duration,
    pending_init: Option<Duration>,
    /// Copies the runtime's stdout and stderr into the log stream.
    output: Output,
    /// The sandbox's cgroup and uid, when sandboxed.
    confinement: Option<Confinement>,
    /// The channel to Alcove's API and its credentials' expiry, when functions have one.
    access: Option<Access>,
    /// Its entry in the live list, removed when the environment is dropped.
    registration: Option<Registration>,
    /// Whether its processes are stopped by the cgroup freezer.
    frozen: bool,
    /// Started to keep its version's provisioned concurrency ready: it returns to the
    /// provisioned pool after each invoke, and is neither reaped nor evicted.
    pub provisioned: bool,
}

fn unavailable(e: std::io::Error) -> FunctionFailure {
    FunctionFailure::platform(PlatformError::Unavailable, &format!("cannot serve the Runtime API: {e}"))
}

impl Environment {
    /// Starts the runtime and waits for it to ask for its first event. With `capture_tail`,
    /// the log is captured from the start, so that when init fails, what the runtime printed
    /// and the `INIT_REPORT` line are in the failed invoke's tail. When init succeeds the
    /// invoke's own capture starts afresh at its `START` line, as on AWS.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        settings: &RuntimeSettings,
        log_store: &LogStore,
        log_budgets: &LogBudgets,
        config: &FunctionConfig,
        task_root: &Path,
        key: EnvKey,
        epoch: (u64, u64),
        capture_tail: bool,
        init_type: InitType,
    ) -> Result<Environment, StartFailure> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let log = Arc::new(LogStream::create(log_store, config, key.tenant(), &id));
        let platform = PlatformLog::new(config, key.tenant()).with_init_type(init_type);
        write_platform(&log, platform.init_start(chrono::Utc::now()));
        if capture_tail {
            log.begin_capture();
        }
        let started = Instant::now();
        let mut output =
            Output::new(log_budgets.environment(&config.name)).with_filter(AppLogFilter::of(config));
        let identity = EnvironmentIdentity {
            environment_id: id.clone(),
            function_arn: config.qualified_arn(&settings.region),
            role_arn: config.settings.role.clone(),
            tenant: key.tenant().cloned(),
        };
        let credentials = match &settings.function_access {
            Some(serving) => Some(serving.credentials(&identity).map_err(|e| {
                FunctionFailure::platform(
                    PlatformError::Unavailable,
                    &format!("cannot issue the execution role's credentials: {e}"),
                )
            })?),
            None => None,
        };
        let access: Option<Access>;
        let (mut process, mut api, confinement) = match &settings.sandbox {
            Some(sandbox) => {
                let aws = credentials
                    .as_ref()
                    .map(|credentials| AwsAccess { endpoint: alcove_sandbox::AWS_API_ADDRESS, credentials });
                let plan = launch::plan(
                    settings,
                    config,
                    task_root,
                    alcove_sandbox::RUNTIME_API_ADDRESS,
                    aws,
                    log.name(),
                    init_type,
                )?;
                let spec = SandboxSpec {
                    program: plan.program,
                    args: plan.args,
                    env: plan.env,
                    code: config.code.sha256_hex.clone(),
                    memory_mb: config.settings.memory_mb,
                    tmp_mb: config.settings.ephemeral_storage_mb,
                    egress: config.network_access() == NetworkAccess::Egress,
                };
                let Launched { process, stdout, stderr, runtime_api, aws_api, confinement } =
                    sandbox.launch(&spec).await.map_err(|e| {
                        FunctionFailure::platform(
                            PlatformError::SandboxFailure,
                            &alcove_core::error::chain(&e),
                        )
                    })?;
                let served = TcpListener::from_std(runtime_api).and_then(RuntimeApi::serve).and_then(|api| {
                    let stdout = pipe::Receiver::from_owned_fd(stdout)?;
                    let stderr = pipe::Receiver::from_owned_fd(stderr)?;
                    Ok((api, stdout, stderr))
                });
                let (api, stdout, stderr) = match served {
                    Ok(served) => served,
                    Err(e) => {
                        drop(process);
                        tokio::task::spawn_blocking(move || confinement.release());
                        return Err(unavailable(e).into());
                    }
                };
                output.copy(stdout, Arc::clone(&log));
                output.copy(stderr, Arc::clone(&log));
                access = match (&settings.function_access, credentials) {
                    (Some(serving), Some(credentials)) => match TcpListener::from_std(aws_api) {
                        Ok(listener) => Some(Access::new(
                            serving.serve(identity.clone(), listener),
                            credentials.expiration,
                        )),
                        Err(e) => {
                            drop(process);
                            tokio::task::spawn_blocking(move || confinement.release());
                            return Err(unavailable(e).into());
                        }
                    },
                    _ => None,
                };
                (RuntimeProcess::Sandboxed(process), api, Some(confinement))
            }
            None => {
                let listener = TcpListener::bind("127.0.0.1:0").await.map_err(unavailable)?;
                let api = RuntimeApi::serve(listener).map_err(unavailable)?;
                // Without a sandbox the function's channel is a loopback port of the host.
                let channel = match (&settings.function_access, credentials) {
                    (Some(serving), Some(credentials)) => {
                        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(unavailable)?;
                        let endpoint = listener.local_addr().map_err(unavailable)?.to_string();
                        let guard = serving.serve(identity.clone(), listener);
                        Some((endpoint, credentials, guard))
                    }
                    _ => None,
                };
                let aws =
                    channel.as_ref().map(|(endpoint, credentials, _)| AwsAccess { endpoint, credentials });
                let plan = launch::plan(
                    settings,
                    config,
                    task_root,
                    &api.address().to_string(),
                    aws,
                    log.name(),
                    init_type,
                )?;
                access = channel.map(|(_, credentials, guard)| Access::new(guard, credentials.expiration));
                let mut child = launch::host_command(&plan).spawn().map_err(|e| {
                    FunctionFailure::platform(
                        PlatformError::InvalidEntrypoint,
                        &format!("cannot start the runtime: {e}"),
                    )
                })?;
                if let Some(out) = child.stdout.take() {
                    output.copy(out, Arc::clone(&log));
                }
                if let Some(err) = child.stderr.take() {
                    output.copy(err, Arc::clone(&log));
                }
                (RuntimeProcess::host(child), api, None)
            }
        };
        tracing::debug!(environment = %id, log_stream = %log.name(), sandboxed = confinement.is_some(), "environment starting");
        let outcome = tokio::time::timeout(INIT_TIMEOUT, async {
            tokio::select! {
                event = api.lifecycle() => match event {
                    Some(Lifecycle::Ready) => Ok(()),
                    Some(Lifecycle::InitError { error_type, body }) => Err(FunctionFailure {
                        error_type: error_type.unwrap_or_else(|| PlatformError::Unknown.as_str().into()),
                        body,
                    }),
                    None => Err(FunctionFailure::platform(PlatformError::Unknown, "The Runtime API stopped during init.")),
                },
                status = process.wait() => Err(FunctionFailure::platform(PlatformError::ExitError,
                    &format!("Runtime exited with error: {}", describe_exit(status.ok())),
                )),
            }
        })
        .await
        .unwrap_or_else(|_| {
            Err(FunctionFailure::platform(PlatformError::InitTimeout,
                &format!("Init timed out after {:.2} seconds", INIT_TIMEOUT.as_secs_f64()),
            ))
        });
        let init_duration = started.elapsed();
        let environment = Environment {
            key,
            id,
            epoch,
            last_used: Instant::now(),
            invokes: 0,
            process,
            api,
            log,
            platform,
            memory_mb: config.settings.memory_mb,
            timeout: Duration::from_secs(u64::from(config.settings.timeout_secs)),
            // The REPORT of an invoke served by a provisioned environment has no Init
            // Duration: its init was not on any invoke's path.
            pending_init: (init_type == InitType::OnDemand).then_some(init_duration),
            provisioned: init_type == InitType::ProvisionedConcurrency,
            output,
            confinement,
            access,
            registration: None,
            frozen: false,
        };
        match outcome {
            Ok(()) => Ok(environment),
            Err(failure) => {
                // What the runtime printed before it failed goes in before the report.
                environment.output.settle().await;
                let line =
                    environment.platform.init_failed(chrono::Utc::now(), init_duration, &failure.error_type);
                write_platform(&environment.log, line);
                let log_tail = if capture_tail { environment.log.end_capture() } else { Vec::new() };
                environment.shutdown().await;
                Err(StartFailure { failure, log_tail })
            }
        }
    }

    /// Runs one invocation to its end: until its response has reached `sink` whole.
    pub async fn invoke(
        &mut self,
        mut invocation: Invocation,
        executed_version: &str,
        capture_tail: bool,
        sink: &ResponseSink,
    ) -> InvokeEnd {
        let request_id = invocation.request_id.clone();
        if let Err(e) = self.thaw() {
            tracing::warn!(environment = %self.id, error = %e, "cannot thaw environment");
            let report = InvokeReport {
                duration: Duration::ZERO,
                billed_ms: 0,
                max_memory_used_mb: 0,
                init_duration: None,
            };
            let failure = FunctionFailure::platform(
                PlatformError::SandboxFailure,
                &format!("RequestId: {request_id} Error: the environment could not be resumed"),
            );
            return InvokeEnd { result: Err(failure), report, log_tail: Vec::new(), reusable: false };
        }
        let started = Instant::now();
        invocation.deadline_ms =
            alcove_core::clock::epoch_ms().max(0) as u64 + self.timeout.as_millis() as u64;
        if capture_tail {
            self.log.begin_capture();
        }
        write_platform(&self.log, self.platform.start(chrono::Utc::now(), &request_id, executed_version));
        let delivered = self.api.deliver(invocation).await;
        let (result, reusable) = match delivered {
            Err(_) => (Err(self.crash(&request_id).await), false),
            Ok(settled) => {
                // A streamed response is part of the invoke: its timeout and the runtime's
                // exit apply until the last chunk.
                let received = async {
                    match settled.await {
                        Ok(outcome) => Ok(response::receive(outcome, sink).await),
                        Err(closed) => Err(closed),
                    }
                };
                tokio::select! {
                    outcome = received => match outcome {
                        Ok(result) => (result, true),
                        Err(_) => (Err(self.crash(&request_id).await), false),
                    },
                    status = self.process.wait() => {
                        let failure = FunctionFailure::platform(PlatformError::ExitError,
                            &format!("RequestId: {request_id} Error: Runtime exited with error: {}", describe_exit(status.ok())),
                        );
                        (Err(failure), false)
                    }
                    _ = tokio::time::sleep(self.timeout) => {
                        let message = format!(
                            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                            self.timeout.as_secs_f64()
                        );
                        self.log.line(&format!(
                            "{} {request_id} Task timed out after {:.2} seconds",
                            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                            self.timeout.as_secs_f64()
                        ));
                        (Err(FunctionFailure::platform(PlatformError::Timeout, &message)), false)
                    }
                }
            }
        };
        let result = match result {
            Err(failure) if failure.is(PlatformError::ExitError) && self.oom_killed() => Err(FunctionFailure::platform(PlatformError::OutOfMemory,
                &format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed\nRuntime.OutOfMemory"),
            )),
            other => other,
        };
        let duration = started.elapsed();
        // The runtime wrote its output before settling: it goes in before END.
        self.output.settle().await;
        let init_duration = self.pending_init.take();
        let report = InvokeReport {
            duration,
            billed_ms: (duration.as_micros() as u64).div_ceil(1000).max(1),
            max_memory_used_mb: self.max_memory_used_mb(),
            init_duration,
        };
        let status = InvokeStatus::of(&result, reusable);
        let produced = result.as_ref().map_or_else(|f| f.body.len(), Bytes::len);
        let now = chrono::Utc::now();
        write_platform(&self.log, self.platform.end(now, &request_id, &status, duration, produced));
        let figures = ReportFigures {
            duration,
            billed_ms: report.billed_ms,
            memory_mb: self.memory_mb,
            max_memory_used_mb: report.max_memory_used_mb,
            init_duration,
        };
        write_platform(&self.log, self.platform.report(now, &request_id, &status, &figures));
        let log_tail = if capture_tail { self.log.end_capture() } else { Vec::new() };
        self.invokes += 1;
        self.last_used = Instant::now();
        InvokeEnd { result, report, log_tail, reusable }
    }

    /// Stops every process of an idle sandboxed environment: it uses no CPU until its
    /// next invoke thaws it. Environments without a sandbox have no freezer.
    pub fn freeze(&mut self) {
        if let (false, Some(confinement)) = (self.frozen, &self.confinement) {
            match confinement.cgroup.freeze() {
                Ok(()) => self.frozen = true,
                Err(e) => tracing::warn!(environment = %self.id, error = %e, "cannot freeze environment"),
            }
        }
    }

    fn thaw(&mut self) -> std::io::Result<()> {
        if let (true, Some(confinement)) = (self.frozen, &self.confinement) {
            confinement.cgroup.thaw()?;
            self.frozen = false;
        }
        Ok(())
    }

    /// The failure reported when the runtime vanished mid-invoke.
    async fn crash(&mut self, request_id: &str) -> FunctionFailure {
        let status =
            tokio::time::timeout(SHUTDOWN_GRACE, self.process.wait()).await.ok().and_then(Result::ok);
        FunctionFailure::platform(
            PlatformError::ExitError,
            &format!(
                "RequestId: {request_id} Error: Runtime exited without providing a reason ({})",
                describe_exit(status)
            ),
        )
    }

    fn oom_killed(&self) -> bool {
        self.confinement.as_ref().is_some_and(|c| c.cgroup.oom_killed())
    }

    /// Peak memory of the environment (its cgroup, or the runtime process), in MB.
    fn max_memory_used_mb(&self) -> u64 {
        if let Some(bytes) = self.confinement.as_ref().and_then(|c| c.cgroup.peak_memory_bytes()) {
            return bytes.div_ceil(1024 * 1024);
        }
        let Some(pid) = self.process.id() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb.div_ceil(1024))
            .unwrap_or(0)
    }

    /// Lists the environment in `registry` for as long as it lives.
    pub fn register(&mut self, registry: &Arc<Registry>) {
        let info = EnvironmentInfo {
            id: self.id.clone(),
            function: self.key.function().clone(),
            version: self.key.version(),
            tenant: self.key.tenant().cloned(),
            state: EnvState::Busy,
            started: std::time::SystemTime::now(),
            invokes: self.invokes,
            sandboxed: self.confinement.is_some(),
            memory_file: self.confinement.as_ref().map(|c| c.cgroup.memory_usage_file()),
        };
        self.registration = Some(registry.register(info));
    }

    /// What the live list shows for this environment between invokes.
    /// Whether its role's credentials could expire before an invoke it might yet take
    /// (within `idle_for`, the longest it may wait idle) would end.
    pub fn credentials_expiring(&self, idle_for: Duration) -> bool {
        self.access
            .as_ref()
            .is_some_and(|access| access.expires_within(std::time::SystemTime::now(), idle_for, self.timeout))
    }

    pub fn idle_state(&self) -> EnvState {
        if self.frozen {
            EnvState::Frozen
        } else {
            EnvState::Idle
        }
    }

    /// Stops the runtime. On the host: SIGTERM to its process group, SIGKILL if it
    /// lingers. In a sandbox: SIGKILL to everything inside, so that bwrap reaps its child
    /// and exits by itself (killing bwrap first would leave the sandbox's pid 1 to be
    /// reaped by the host's init), then bwrap is reaped.
    pub async fn shutdown(mut self) {
        let mut inside_killed = false;
        if let Some(confinement) = &self.confinement {
            let _ = confinement.cgroup.thaw();
            if let Some(bwrap) = self.process.id() {
                confinement.cgroup.kill_all_but(bwrap);
                inside_killed = true;
            }
        }
        if self.process.id().is_some() {
            if !inside_killed {
                self.process.signal(Signal::SIGTERM);
            }
            if tokio::time::timeout(SHUTDOWN_GRACE, self.process.wait()).await.is_err() {
                self.process.signal(Signal::SIGKILL);
                let _ = self.process.wait().await;
            } else {
                // The leader is gone; make sure nothing it started survives it.
                self.process.signal(Signal::SIGKILL);
            }
        }
        if let Some(confinement) = self.confinement.take() {
            tokio::task::spawn_blocking(move || confinement.release());
        }
        tracing::debug!(environment = %self.id, invokes = self.invokes, "environment shut down");
    }
}

/// Writes a platform record, unless the log level left it out.
fn write_platform(log: &LogStream, line: Option<String>) {
    if let Some(line) = line {
        log.line(&line);
    }
}

fn describe_exit(status: Option<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(s) if s.code().is_some() => format!("exit status {}", s.code().unwrap_or_default()),
        Some(s) => format!("signal: {}", s.signal().unwrap_or_default()),
        None => "unknown status".into(),
    }
}
