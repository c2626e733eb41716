//! How each runtime identifier is started on this host, and the environment variables
//! Lambda gives every runtime.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use alcove_core::FunctionConfig;
use alcove_sandbox::Sandbox;
use tokio::process::Command;

use crate::failure::{FunctionFailure, PlatformError};
use crate::function_access::{FunctionAccess, RoleCredentials};

/// Where the runtime's own files (the Node.js bootstrap) appear inside a sandbox.
pub const SANDBOX_RUNTIME_DIR: &str = "/var/runtime";
/// Where the code appears inside a sandbox.
pub const SANDBOX_TASK_ROOT: &str = "/var/task";

/// Where the host's language runtimes are.
#[derive(Clone)]
pub struct RuntimeSettings {
    /// `node` executable for `nodejs*` functions.
    pub node: PathBuf,
    /// Alcove's Node.js bootstrap (`runtimes/nodejs/bootstrap.mjs`).
    pub node_bootstrap: PathBuf,
    /// Python interpreter with `awslambdaric` installed, for `python3.*` functions.
    pub python: PathBuf,
    /// Region reported to functions in `AWS_REGION`.
    pub region: String,
    /// Runs each environment isolated when set; plain host processes otherwise.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Serves functions' own calls to Alcove's API with their role's credentials; without
    /// it a function has no credentials and no way to reach the API.
    pub function_access: Option<Arc<dyn FunctionAccess>>,
}

/// How a function reaches Alcove's API: the endpoint and its role's credentials.
pub struct AwsAccess<'a> {
    pub endpoint: &'a str,
    pub credentials: &'a RoleCredentials,
}

/// Which program serves a runtime identifier.
enum Entrypoint {
    /// `provided*`: the package's own `bootstrap`.
    Bootstrap,
    Node,
    Python,
}

fn entrypoint(runtime: &str) -> Option<Entrypoint> {
    if runtime.starts_with("provided") {
        Some(Entrypoint::Bootstrap)
    } else if runtime.starts_with("nodejs") {
        Some(Entrypoint::Node)
    } else if runtime.starts_with("python3") {
        Some(Entrypoint::Python)
    } else {
        None
    }
}

/// The program, arguments and environment that start a runtime, with paths as the
/// runtime sees them (host paths, or sandbox paths when sandboxed).
pub struct LaunchPlan {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub task_root: PathBuf,
}

/// How an environment came to be initialised, as Lambda tells the function in
/// `AWS_LAMBDA_INITIALIZATION_TYPE` and the platform log records in `initializationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitType {
    /// Started for the invoke that found no idle environment.
    OnDemand,
    /// Started ahead of invokes to keep a version's provisioned concurrency ready.
    ProvisionedConcurrency,
}

impl InitType {
    pub fn as_str(self) -> &'static str {
        match self {
            InitType::OnDemand => "on-demand",
            InitType::ProvisionedConcurrency => "provisioned-concurrency",
        }
    }
}

/// Plans the start of `config`'s runtime. `host_task_root` is the unpacked code on the
/// host; `runtime_api` the address the runtime polls; `aws` how it reaches Alcove's API.
pub fn plan(
    settings: &RuntimeSettings,
    config: &FunctionConfig,
    host_task_root: &Path,
    runtime_api: &str,
    aws: Option<AwsAccess<'_>>,
    log_stream: &str,
    init_type: InitType,
) -> Result<LaunchPlan, FunctionFailure> {
    let sandboxed = settings.sandbox.is_some();
    let task_root = if sandboxed { PathBuf::from(SANDBOX_TASK_ROOT) } else { host_task_root.to_path_buf() };
    let runtime = config.settings.runtime.as_str();
    let handler = config.settings.handler.clone().unwrap_or_default();
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let (program, args, runtime_dir): (PathBuf, Vec<OsString>, PathBuf) = match entrypoint(runtime) {
        Some(Entrypoint::Bootstrap) => {
            if !host_task_root.join("bootstrap").is_file() {
                return Err(FunctionFailure::platform(
                    PlatformError::InvalidEntrypoint,
                    "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
                ));
            }
            (task_root.join("bootstrap"), vec![], PathBuf::from("/var/runtime"))
        }
        Some(Entrypoint::Node) => {
            let bootstrap = if sandboxed {
                Path::new(SANDBOX_RUNTIME_DIR).join("nodejs").join("bootstrap.mjs")
            } else {
                settings.node_bootstrap.clone()
            };
            let dir = bootstrap.parent().map(Path::to_path_buf).unwrap_or_default();
            (settings.node.clone(), vec![bootstrap.into_os_string()], dir)
        }
        Some(Entrypoint::Python) => {
            env.push(("PYTHONPATH".into(), task_root.clone().into_os_string()));
            env.push(("PYTHONUNBUFFERED".into(), "1".into()));
            let args = vec!["-m".into(), "awslambdaric".into(), handler.clone().into()];
            (settings.python.clone(), args, PathBuf::from("/var/runtime"))
        }
        None => {
            return Err(FunctionFailure::platform(
                PlatformError::Unavailable,
                &format!("The runtime {runtime} is not available on this server."),
            ))
        }
    };
    let s = &config.settings;
    let mut set = |k: &str, v: &dyn AsRef<std::ffi::OsStr>| env.push((k.into(), v.as_ref().to_os_string()));
    set("PATH", &"/usr/local/bin:/usr/bin:/bin");
    set("LANG", &"C.UTF-8");
    set("TZ", &":UTC");
    set("LAMBDA_TASK_ROOT", &task_root);
    set("LAMBDA_RUNTIME_DIR", &runtime_dir);
    set("AWS_LAMBDA_RUNTIME_API", &runtime_api);
    set("_HANDLER", &handler);
    set("AWS_LAMBDA_FUNCTION_NAME", &config.name.as_str());
    set("AWS_LAMBDA_FUNCTION_VERSION", &config.version.to_string());
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &s.memory_mb.to_string());
    set("AWS_LAMBDA_LOG_GROUP_NAME", &config.log_group());
    set("AWS_LAMBDA_LOG_STREAM_NAME", &log_stream);
    set("AWS_LAMBDA_INITIALIZATION_TYPE", &init_type.as_str());
    set("AWS_REGION", &settings.region);
    set("AWS_DEFAULT_REGION", &settings.region);
    set("AWS_EXECUTION_ENV", &format!("AWS_Lambda_{runtime}"));
    if let Some(aws) = aws {
        set("AWS_ENDPOINT_URL", &format!("http://{}", aws.endpoint));
        set("AWS_ACCESS_KEY_ID", &aws.credentials.access_key_id);
        set("AWS_SECRET_ACCESS_KEY", &aws.credentials.secret_access_key);
        set("AWS_SESSION_TOKEN", &aws.credentials.session_token);
    }
    // With the JSON format the runtime clients write their log records as JSON lines
    // (with `requestId`, and `tenantId` on PER_TENANT functions) and filter them at the
    // application level themselves.
    if let (true, Some(level)) = (s.logging.is_json(), s.logging.application_level) {
        set("AWS_LAMBDA_LOG_FORMAT", &"JSON");
        set("AWS_LAMBDA_LOG_LEVEL", &level.as_str());
    }
    for (k, v) in &s.environment {
        set(k, v);
    }
    Ok(LaunchPlan { program, args, env, task_root })
}

/// A host process for `plan`, in its own process group, for hosts run without sandbox.
pub fn host_command(plan: &LaunchPlan) -> Command {
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .env_clear()
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&plan.task_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so shutdown reaches everything the runtime started.
        .process_group(0)
        .kill_on_drop(true);
    command
}
