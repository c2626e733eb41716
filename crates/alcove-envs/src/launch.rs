//! How each runtime identifier is started on this host, and the environment variables
//! Lambda gives every runtime.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use alcove_core::FunctionConfig;
use tokio::process::Command;

use crate::environment::FunctionFailure;

/// Where the host's language runtimes are.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// `node` executable for `nodejs*` functions.
    pub node: PathBuf,
    /// Alcove's Node.js bootstrap (`runtimes/nodejs/bootstrap.mjs`).
    pub node_bootstrap: PathBuf,
    /// Python interpreter with `awslambdaric` installed, for `python3.*` functions.
    pub python: PathBuf,
    /// Region reported to functions in `AWS_REGION`.
    pub region: String,
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

/// Builds the command that starts `config`'s runtime in `task_root`, polling the Runtime
/// API at `runtime_api`.
pub fn command(
    settings: &RuntimeSettings,
    config: &FunctionConfig,
    task_root: &Path,
    runtime_api: &str,
    log_stream: &str,
) -> Result<Command, FunctionFailure> {
    let runtime = config.settings.runtime.as_str();
    let handler = config.settings.handler.clone().unwrap_or_default();
    let mut command = match entrypoint(runtime) {
        Some(Entrypoint::Bootstrap) => {
            let bootstrap = task_root.join("bootstrap");
            if !bootstrap.is_file() {
                return Err(FunctionFailure::new(
                    "Runtime.InvalidEntrypoint",
                    "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
                ));
            }
            Command::new(bootstrap)
        }
        Some(Entrypoint::Node) => {
            let mut c = Command::new(&settings.node);
            c.arg(&settings.node_bootstrap);
            c
        }
        Some(Entrypoint::Python) => {
            let mut c = Command::new(&settings.python);
            c.args(["-m", "awslambdaric", &handler]);
            c.env("PYTHONPATH", task_root);
            c.env("PYTHONUNBUFFERED", "1");
            c
        }
        None => {
            return Err(FunctionFailure::new(
                "Runtime.Unavailable",
                &format!("The runtime {runtime} is not available on this server."),
            ))
        }
    };
    let s = &config.settings;
    command
        .env_clear()
        .current_dir(task_root)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .env("TZ", ":UTC")
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("LAMBDA_RUNTIME_DIR", runtime_dir(settings, runtime))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("_HANDLER", &handler)
        .env("AWS_LAMBDA_FUNCTION_NAME", config.name.as_str())
        .env("AWS_LAMBDA_FUNCTION_VERSION", config.version.to_string())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", s.memory_mb.to_string())
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", config.name))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream)
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", &settings.region)
        .env("AWS_DEFAULT_REGION", &settings.region)
        .env("AWS_EXECUTION_ENV", format!("AWS_Lambda_{runtime}"))
        .envs(&s.environment)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so shutdown reaches everything the runtime started.
        .process_group(0)
        .kill_on_drop(true);
    Ok(command)
}

fn runtime_dir(settings: &RuntimeSettings, runtime: &str) -> PathBuf {
    match entrypoint(runtime) {
        Some(Entrypoint::Node) => settings.node_bootstrap.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => PathBuf::from("/var/runtime"),
    }
}
