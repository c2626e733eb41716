//! `alcove serve`: opens the data directory, binds the listener and serves until SIGINT or
//! SIGTERM, finishing requests in flight.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alcove_api::{AccountConfig, AppState, InProcessServices};
use alcove_async::{AsyncSettings, Dispatcher};
use alcove_core::PriceTable;
use alcove_envs::{
    DiskReserve, LogLimits, LogRate, LogStore, LogStoreSettings, Manager, ManagerSettings, RuntimeSettings,
};
use alcove_sandbox::{Sandbox, SandboxError, Staging};
use alcove_store::{CodeStore, SqlStore};
use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use clap::Args;

use crate::tls::TlsFiles;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port; the bound address is printed on
    /// standard output as `alcove listening on http://ADDR`.
    #[arg(long, env = "ALCOVE_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,

    /// Who may call: `sigv4` (every request signed with an access key made by `alcove keys
    /// create`) or `none` (any caller, any credentials). Defaults to `none` on a loopback
    /// address; on any other address it must be given.
    #[arg(long, env = "ALCOVE_AUTH", value_enum)]
    auth: Option<AuthMode>,

    /// PEM file with the listener's TLS certificate chain (server certificate first).
    /// With `--tls-key`, the listener speaks HTTPS only, HTTP/2 and HTTP/1.1 (ALPN), and
    /// prints `alcove listening on https://ADDR`. SIGHUP re-reads both files.
    #[arg(long, env = "ALCOVE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// PEM file with the private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "ALCOVE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Directory holding the database and code packages. Created if missing.
    #[arg(long, env = "ALCOVE_DATA_DIR", default_value = "./.alcove")]
    data_dir: PathBuf,
    /// Where functions, versions, aliases, limits, the async queue, usage and API Gateway
    /// state live: `postgres://user[:password]@host[:port]/database` for a PostgreSQL
    /// database (shared by every node of a cluster), or `sqlite:DIRECTORY`. By default a
    /// SQLite file in the data directory.
    #[arg(long, env = "ALCOVE_STORE")]
    store: Option<String>,

    /// Where the other nodes of a cluster reach this node's API, on a PostgreSQL store
    /// (`http://host:port`). By default the address this server listens on, which must
    /// then be a specific address (not 0.0.0.0 or ::).
    #[arg(long, env = "ALCOVE_ADVERTISE_URL")]
    advertise_url: Option<String>,

    /// This node's name in the cluster (`alcove cluster status` shows it). By default a
    /// fresh name at every start.
    #[arg(long, env = "ALCOVE_NODE_ID")]
    node_id: Option<String>,

    /// The account's concurrency limit, shared by all functions and their tenants.
    #[arg(long, env = "ALCOVE_ACCOUNT_CONCURRENCY", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    account_concurrency: u32,

    /// Seconds a synchronous invoke over a concurrency limit waits for its turn before it
    /// is throttled (429). Waiting invokes get freed concurrency tenant by tenant in turn,
    /// so a tenant flooding a function cannot starve the others. 0 throttles at once, as
    /// Lambda does.
    #[arg(long, env = "ALCOVE_QUEUE_WAIT", default_value_t = 0.0)]
    queue_wait: f64,

    /// Price table (JSON, the format of config/prices.json) for usage charges; the
    /// built-in table has the public Lambda prices.
    #[arg(long, env = "ALCOVE_PRICES")]
    prices: Option<PathBuf>,

    /// Seconds an idle execution environment is kept warm before it is shut down.
    #[arg(long, env = "ALCOVE_IDLE_TIMEOUT", default_value_t = 600)]
    idle_timeout: u64,

    /// Most execution environments alive at once; idle ones are evicted least recently
    /// used first to make room. Also sizes the process and memory limits of the cgroup
    /// the sandboxes share (docs/SANDBOX.md).
    #[arg(long, env = "ALCOVE_MAX_ENVIRONMENTS", default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_environments: u64,

    /// Base delay of async retries: retry n waits n times this many seconds.
    #[arg(long, env = "ALCOVE_ASYNC_RETRY_BASE", default_value_t = 60.0)]
    async_retry_base: f64,

    /// Seconds the execution-role credentials given to each environment last. An
    /// environment is retired before its credentials could expire during an invoke, and
    /// its tenant's next invoke starts one with fresh credentials.
    #[arg(long, env = "ALCOVE_FUNCTION_CREDENTIALS_TTL", default_value_t = alcove_api::DEFAULT_CREDENTIALS_LIFETIME.as_secs(),
          value_parser = clap::value_parser!(u64).range(60..=129_600))]
    function_credentials_ttl: u64,

    /// Region functions see in AWS_REGION.
    #[arg(long, env = "ALCOVE_REGION", default_value = "us-east-1")]
    region: String,

    /// Python interpreter that runs AWS's SAM translator (`pip install aws-sam-translator`)
    /// for CloudFormation templates declaring `Transform: AWS::Serverless-2016-10-31`.
    #[arg(long, env = "ALCOVE_SAM_PYTHON", default_value = "python3")]
    sam_python: String,

    /// Python interpreter (with awslambdaric installed) serving python3.* functions.
    #[arg(long, env = "ALCOVE_PYTHON", default_value = "python3")]
    python: String,

    /// Node.js executable serving nodejs* functions.
    #[arg(long, env = "ALCOVE_NODE", default_value = "node")]
    node: String,

    /// Run execution environments as plain host processes, without the sandbox. Tenants
    /// are then separated only by the environment pools, not by the kernel: for
    /// development on hosts that cannot sandbox, never for untrusted code.
    #[arg(long, env = "ALCOVE_INSECURE_NO_SANDBOX")]
    insecure_no_sandbox: bool,

    /// MiB per second of output each execution environment may log; more is dropped, and
    /// a marker line says how much.
    #[arg(long, env = "ALCOVE_LOG_RATE_PER_ENVIRONMENT", default_value_t = 1.0, value_parser = positive)]
    log_rate_per_environment: f64,

    /// MiB an environment may log at once above its rate (at least 256 KiB, one line).
    #[arg(long, env = "ALCOVE_LOG_BURST_PER_ENVIRONMENT", default_value_t = 4.0, value_parser = positive)]
    log_burst_per_environment: f64,

    /// MiB per second of output all environments of one function may log together.
    #[arg(long, env = "ALCOVE_LOG_RATE_PER_FUNCTION", default_value_t = 5.0, value_parser = positive)]
    log_rate_per_function: f64,

    /// MiB all environments of one function may log at once above their rate.
    #[arg(long, env = "ALCOVE_LOG_BURST_PER_FUNCTION", default_value_t = 16.0, value_parser = positive)]
    log_burst_per_function: f64,

    /// MiB of free space function logs leave on the data directory's file system (for
    /// the database and the control plane); below it function output is dropped.
    #[arg(long, env = "ALCOVE_LOG_DISK_RESERVE", default_value_t = 1024.0, value_parser = non_negative)]
    log_disk_reserve: f64,

    /// Percentage of the data directory's file system left free likewise; the larger of
    /// the two reserves applies.
    #[arg(long, env = "ALCOVE_LOG_DISK_RESERVE_PERCENT", default_value_t = 5.0, value_parser = non_negative)]
    log_disk_reserve_percent: f64,

    /// MiB all stored function logs may take together (messages plus 26 bytes per event);
    /// over it the oldest are dropped first (docs/LOGS.md).
    #[arg(long, env = "ALCOVE_LOGS_MAX_MIB", default_value_t = 1024.0, value_parser = positive)]
    logs_max_mib: f64,

    /// Milliseconds after a CreateFunction, PublishVersion or function update commits
    /// before the version settles (`State: Pending` → `Active`, `LastUpdateStatus:
    /// InProgress` → `Successful`), as Lambda's do moments later. 0 settles it at once.
    #[arg(long, env = "ALCOVE_STATE_TRANSITION_MS", default_value_t = 0)]
    state_transition_ms: u64,

    /// Seconds between two applications of log groups' retention policies.
    #[arg(long, env = "ALCOVE_LOGS_SWEEP_INTERVAL", default_value_t = 300.0, value_parser = positive)]
    logs_sweep_interval: f64,
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    None,
    Sigv4,
}

/// The mode to serve in: as given, or `none` on loopback; an address others can reach
/// without authentication is refused unless `--auth none` says so on purpose.
fn auth_mode(args: &ServeArgs) -> anyhow::Result<alcove_api::auth::Mode> {
    match args.auth {
        Some(AuthMode::Sigv4) => Ok(alcove_api::auth::Mode::SigV4),
        Some(AuthMode::None) => {
            if !args.listen.ip().is_loopback() {
                tracing::warn!(
                    listen = %args.listen,
                    "--auth none on an address other machines can reach: ANY caller may deploy and run code"
                );
            }
            Ok(alcove_api::auth::Mode::None)
        }
        None if args.listen.ip().is_loopback() => Ok(alcove_api::auth::Mode::None),
        None => anyhow::bail!(
            "refusing to listen on {} without authentication; pass --auth sigv4 (and create a key with \
             `alcove keys create`), or --auth none to accept any caller on purpose",
            args.listen
        ),
    }
}

/// A number of MiB (or MiB per second) greater than zero.
fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("expected a number greater than 0, got {text:?}")),
    }
}

/// A number of MiB, or a percentage, of zero or more.
fn non_negative(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value >= 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("expected a number of 0 or more, got {text:?}")),
    }
}

fn mib(value: f64) -> u64 {
    (value * (1u64 << 20) as f64) as u64
}

impl ServeArgs {
    fn tls_files(&self) -> Option<TlsFiles> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
            _ => None,
        }
    }

    fn log_limits(&self) -> LogLimits {
        LogLimits {
            environment: LogRate {
                bytes_per_second: mib(self.log_rate_per_environment),
                burst_bytes: mib(self.log_burst_per_environment),
            },
            function: LogRate {
                bytes_per_second: mib(self.log_rate_per_function),
                burst_bytes: mib(self.log_burst_per_function),
            },
            disk_reserve: DiskReserve {
                min_free_bytes: mib(self.log_disk_reserve),
                min_free_percent: self.log_disk_reserve_percent.clamp(0.0, 100.0),
            },
        }
    }
}

/// Host paths resolved before the server starts: interpreters and the Node.js bootstrap.
struct HostRuntimes {
    node: PathBuf,
    node_bootstrap: PathBuf,
    python: PathBuf,
    /// Directories of the Python installation a sandbox must see (prefix, base prefix).
    python_dirs: Vec<PathBuf>,
}

/// Alcove's Node.js runtime bootstrap, shipped inside the binary.
const NODE_BOOTSTRAP: &str = include_str!("../../../runtimes/nodejs/bootstrap.mjs");

/// Runs `program` with `probe` and reads the lines it prints.
fn ask(program: &str, probe: &[&str]) -> Vec<String> {
    std::process::Command::new(program)
        .args(probe)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Resolves the interpreters to the real executables, so functions start them without
/// depending on the server's PATH or on wrapper scripts, and writes out the bootstrap.
fn host_runtimes(args: &ServeArgs) -> anyhow::Result<HostRuntimes> {
    let node = ask(&args.node, &["-e", "console.log(process.execPath)"]).into_iter().next();
    let python = ask(
        &args.python,
        &["-c", "import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix)"],
    );
    if node.is_none() {
        tracing::warn!(node = %args.node, "Node.js not found; nodejs functions will fail to start");
    }
    if python.is_empty() {
        tracing::warn!(python = %args.python, "Python not found; python functions will fail to start");
    }
    let node_bootstrap = args.data_dir.join("runtimes").join("nodejs").join("bootstrap.mjs");
    std::fs::create_dir_all(node_bootstrap.parent().expect("a parent directory"))?;
    std::fs::write(&node_bootstrap, NODE_BOOTSTRAP).context("writing the Node.js bootstrap")?;
    let mut python_dirs: Vec<PathBuf> = python.iter().skip(1).map(PathBuf::from).collect();
    python_dirs.dedup();
    Ok(HostRuntimes {
        node: PathBuf::from(node.unwrap_or_else(|| args.node.clone())),
        node_bootstrap,
        python: python.first().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(&args.python)),
        python_dirs,
    })
}

/// Prepares the sandbox's staging while the process is single-threaded.
fn stage(args: &ServeArgs, runtimes: &HostRuntimes) -> Result<Staging, SandboxError> {
    let mut dirs = vec![(args.data_dir.join("runtimes"), PathBuf::from("/var/runtime"))];
    dirs.extend(runtimes.python_dirs.iter().map(|d| (d.clone(), d.clone())));
    Staging::prepare(&args.data_dir.join("code"), &dirs)
}

pub fn run(mut args: ServeArgs) -> anyhow::Result<()> {
    let mode = auth_mode(&args)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    // Environments run with their own working directory; every path handed to them is
    // absolute.
    args.data_dir = std::fs::canonicalize(&args.data_dir)?;
    // A certificate that cannot serve is found before anything else starts.
    let tls = match args.tls_files() {
        Some(files) => {
            let config = files.load().context("loading the TLS certificate and key")?;
            Some((files, config))
        }
        None => None,
    };
    std::fs::create_dir_all(args.data_dir.join("code"))?;
    let runtimes = host_runtimes(&args)?;
    let staging = (!args.insecure_no_sandbox).then(|| stage(&args, &runtimes));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, mode, runtimes, staging, tls))
}

/// The sandbox, or why there is none.
fn sandbox(
    staging: Option<Result<Staging, SandboxError>>,
    max_environments: u64,
) -> (Option<Arc<Sandbox>>, Option<String>) {
    match staging.map(|s| s.and_then(|staging| Sandbox::new(staging, max_environments))) {
        None => {
            tracing::warn!("--insecure-no-sandbox: environments run as plain host processes, tenants are not isolated by the kernel");
            (None, None)
        }
        Some(Ok(sandbox)) => {
            tracing::info!("environments are sandboxed");
            (Some(Arc::new(sandbox)), None)
        }
        Some(Err(e)) => {
            tracing::error!(
                reason = %e,
                "cannot sandbox environments: PER_TENANT functions will be refused; functions without tenant \
                 isolation run as plain host processes (use --insecure-no-sandbox to run all that way)"
            );
            (None, Some(e.to_string()))
        }
    }
}

async fn serve(
    args: ServeArgs,
    mode: alcove_api::auth::Mode,
    runtimes: HostRuntimes,
    staging: Option<Result<Staging, SandboxError>>,
    tls: Option<(TlsFiles, rustls::ServerConfig)>,
) -> anyhow::Result<()> {
    let location = match &args.store {
        Some(store) => alcove_sql::Location::parse(store)?,
        None => alcove_sql::Location::Sqlite(args.data_dir.clone()),
    };
    let store = SqlStore::open(&location)
        .await
        .map_err(|e| anyhow::anyhow!("opening the store ({}): {}", location.describe(), e.chain()))?;
    tracing::info!(store = %location.describe(), "store opened");
    let code = CodeStore::open(args.data_dir.join("code"))
        .context("opening the code store")?
        .share(&location)
        .await
        .map_err(|e| anyhow::anyhow!("opening the shared code packages: {}", e.chain()))?;
    let objects =
        alcove_s3::ObjectStore::open(&args.data_dir.join("s3")).context("opening the S3 object store")?;
    let parameters = alcove_ssm::ParameterStore::open(&args.data_dir.join("ssm"))
        .map_err(|e| anyhow::anyhow!("opening the SSM parameter store: {}", alcove_core::error::chain(&e)))?;
    let auth = alcove_api::auth::AuthState::open(mode, &args.data_dir.join("auth"))
        .map_err(|e| anyhow::anyhow!("opening the key store: {e}"))?;
    let function_callers = alcove_api::FunctionCallers::new(
        auth.sessions.clone(),
        Duration::from_secs(args.function_credentials_ttl),
    );
    let (sandbox, tenant_isolation_unavailable) = sandbox(staging, args.max_environments);
    let logs_root = args.data_dir.join("logs");
    std::fs::create_dir_all(&logs_root).context("creating the logs directory")?;
    let log_store =
        LogStore::open(&logs_root.join("logs.db"), LogStoreSettings { max_bytes: mib(args.logs_max_mib) })
            .map_err(|e| anyhow::anyhow!("opening the log store: {}", alcove_core::error::chain(&e)))?;
    log_store.start_sweeper(Duration::from_secs_f64(args.logs_sweep_interval));
    let envs = Manager::new(ManagerSettings {
        runtimes: RuntimeSettings {
            node: runtimes.node,
            node_bootstrap: runtimes.node_bootstrap,
            python: runtimes.python,
            region: args.region.clone(),
            sandbox: sandbox.clone(),
            function_access: Some(function_callers.clone()),
        },
        tenant_isolation_unavailable,
        logs_root,
        log_store,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_environments: args.max_environments as usize,
        account_concurrency: args.account_concurrency,
        queue_wait: Duration::from_secs_f64(args.queue_wait.max(0.0)),
        log_limits: args.log_limits(),
    });
    load_limits(&store, &envs).await?;
    settle_lifecycles(&store).await?;
    let store = Arc::new(store);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let membership = join_cluster(&args, &location, &format!("{scheme}://{address}")).await?;
    if let Some(membership) = &membership {
        tokio::spawn(share_account_concurrency(
            Arc::clone(membership),
            envs.clone(),
            args.account_concurrency,
        ));
        // The async queue is shared: this node takes events as itself, and leaves alone
        // those the nodes in the cluster hold. Set before the queue's worker first looks.
        let view = Arc::clone(membership);
        store.share_queue(membership.node_id().to_owned(), move || {
            view.live().iter().map(|member| member.id.clone()).collect()
        });
    }
    let events = Dispatcher::start(
        store.clone(),
        store.clone(),
        code.clone(),
        envs.clone(),
        AsyncSettings {
            retry_base: Duration::from_secs_f64(args.async_retry_base.max(0.0)),
            region: args.region.clone(),
            ..AsyncSettings::default()
        },
    );
    let prices = match &args.prices {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            PriceTable::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => PriceTable::default_table(),
    };
    let usage_flusher = tokio::spawn(flush_usage_every_second(store.clone(), envs.clone()));
    // Stacks reach every service through its public API, in-process: the services get the
    // router once it is built.
    let services = InProcessServices::new(args.region.clone());
    let stacks_dir = args.data_dir.join("cloudformation");
    std::fs::create_dir_all(&stacks_dir).context("creating the cloudformation directory")?;
    let cloudformation = alcove_cloudformation::CloudFormation::open(
        &stacks_dir.join("stacks.db"),
        services.clone(),
        alcove_cloudformation::Settings {
            region: args.region.clone(),
            account_id: "000000000000".into(),
            sam_python: args.sam_python.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("opening the stack database: {}", alcove_core::error::chain(&e)))?;
    if mode == alcove_api::auth::Mode::SigV4 {
        tracing::info!("authentication: sigv4, with the access keys of `alcove keys`");
    }
    let state = AppState {
        cluster: membership.clone().map(alcove_api::ClusterRouting::new),
        auth,
        store: store.clone(),
        events,
        code,
        account: AccountConfig { concurrency_limit: args.account_concurrency },
        envs: envs.clone(),
        prices: Arc::new(prices),
        throttles: Default::default(),
        authorizer_cache: Default::default(),
        state_transition_delay: Duration::from_millis(args.state_transition_ms),
        cloudformation,
        services: services.clone(),
        objects,
        parameters,
    };
    alcove_api::restore_provisioned_concurrency(&state).await?;
    tracing::info!(%address, data_dir = %args.data_dir.display(), "serving");
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "alcove listening on {scheme}://{address}")?;
        stdout.flush()?;
    }
    let app = alcove_api::router(state).layer(axum::middleware::map_request(authority_as_host));
    services.attach(app.clone());
    function_callers.attach(app.clone());
    // The client's address reaches API Gateway events as `requestContext.identity.sourceIp`.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving HTTP")?,
        Some((files, config)) => {
            let config = RustlsConfig::from_config(Arc::new(config));
            let reloader = tokio::spawn(crate::tls::reload_on_sighup(files, config.clone()));
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(None);
            });
            axum_server::from_tcp_rustls(listener.into_std()?, config)
                .handle(handle)
                .serve(app)
                .await
                .context("serving HTTPS")?;
            reloader.abort();
        }
    }
    if let Some(membership) = &membership {
        // Out of the cluster at once: the others stop sending it work now rather than
        // when its lease lapses.
        if let Err(e) = membership.leave().await {
            tracing::warn!(error = %e, "cannot leave the cluster; the others drop this node when its lease lapses");
        }
    }
    envs.shutdown().await;
    // What the environments' own shutdown has not removed yet (their clean-up runs in the
    // background, which the process does not wait for), environments still busy, and
    // the sandboxes kept ready: every cgroup the server created goes with it.
    if let Some(sandbox) = sandbox {
        let _ = tokio::task::spawn_blocking(move || sandbox.shutdown()).await;
    }
    usage_flusher.abort();
    if let Err(e) = alcove_api::flush_usage(store.as_ref(), &envs).await {
        tracing::error!(error = %e.chain(), "cannot store the last usage counts");
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long a node stays in the cluster without renewing its lease, and how often it
/// renews it (and reads who else is in).
const CLUSTER_LEASE: Duration = Duration::from_secs(10);
const CLUSTER_HEARTBEAT: Duration = Duration::from_secs(2);

/// A node of a cluster admits its share of the account's concurrency: the limit divided
/// by the live nodes (rounded down), following this node's view of the membership (read
/// at every heartbeat, checked here four times as often), so together the nodes never run
/// more than the limit. A node that joins takes its share at once while the
/// others lower theirs at their next heartbeat, and invocations a node admitted under its
/// old share run to their end: for up to a heartbeat plus those invocations' duration
/// after a join, the cluster may run up to one share more than the limit (docs/CLUSTER.md).
async fn share_account_concurrency(membership: Arc<alcove_cluster::Membership>, envs: Manager, limit: u32) {
    let mut ticks = tokio::time::interval(CLUSTER_HEARTBEAT / 4);
    let mut share = None;
    loop {
        ticks.tick().await;
        let nodes = membership.live().len().max(1) as u32;
        if share != Some(limit / nodes) {
            share = Some(limit / nodes);
            tracing::info!(
                nodes,
                share = limit / nodes,
                limit,
                "this node's share of the account's concurrency"
            );
            envs.admission().set_account_limit(limit / nodes);
        }
    }
}

/// Joins the cluster of a shared store; a SQLite store is a cluster of one.
async fn join_cluster(
    args: &ServeArgs,
    location: &alcove_sql::Location,
    listening: &str,
) -> anyhow::Result<Option<Arc<alcove_cluster::Membership>>> {
    if !location.is_shared() {
        return Ok(None);
    }
    let address = match &args.advertise_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if args.listen.ip().is_unspecified() => anyhow::bail!(
            "listening on {} with a shared store: name the address other nodes reach this one at \
             with --advertise-url http://HOST:PORT",
            args.listen
        ),
        None => listening.to_owned(),
    };
    let settings = alcove_cluster::MembershipSettings {
        node_id: args.node_id.clone(),
        address,
        lease: CLUSTER_LEASE,
        heartbeat: CLUSTER_HEARTBEAT,
    };
    let membership = alcove_cluster::Membership::join(location, settings)
        .await
        .map_err(|e| anyhow::anyhow!("joining the cluster ({}): {e}", location.describe()))?;
    tracing::info!(
        node = membership.node_id(),
        address = membership.address(),
        members = membership.live().len(),
        "joined the cluster"
    );
    Ok(Some(membership))
}

/// HTTP/2 carries the host in the `:authority` pseudo-header, which reaches handlers as
/// the URI's authority rather than as a `Host` header; the routes that look at the host
/// (function URLs, S3's virtual-hosted buckets, stage URLs) read `Host`, so it is filled in.
async fn authority_as_host(mut request: axum::extract::Request) -> axum::extract::Request {
    if !request.headers().contains_key(axum::http::header::HOST) {
        let host = request.uri().authority().and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok());
        if let Some(host) = host {
            request.headers_mut().insert(axum::http::header::HOST, host);
        }
    }
    request
}

/// Stores usage counts once a second, so a crash loses at most a second of them.
async fn flush_usage_every_second(store: Arc<SqlStore>, envs: Manager) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) = alcove_api::flush_usage(store.as_ref(), &envs).await {
            tracing::error!(error = %e.chain(), "cannot store usage counts");
        }
    }
}

/// Hands the stored reservations and per-tenant limits to the admission controller.
async fn load_limits(store: &SqlStore, envs: &Manager) -> anyhow::Result<()> {
    use alcove_core::Store;
    let admission = envs.admission();
    for (function, reserved) in store.list_concurrency().await? {
        admission.set_reserved(&function, Some(reserved));
    }
    for (function, limits) in store.list_tenant_limits().await? {
        admission.set_tenant_limits(&function, limits);
    }
    Ok(())
}

/// Settles the versions a stop left `Pending` or `InProgress` (see the API's
/// `lambda::transitions`): their writes committed, so they complete rather than fail.
async fn settle_lifecycles(store: &SqlStore) -> anyhow::Result<()> {
    use alcove_core::Store;
    let settled = store.settle_all_lifecycles().await?;
    if settled > 0 {
        tracing::info!(settled, "versions left pending or updating by the last stop are settled");
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
