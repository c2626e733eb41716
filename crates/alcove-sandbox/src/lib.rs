//! Launching one execution environment isolated from every other and from the host.
//!
//! The building block is bubblewrap (`bwrap`), which creates the namespaces and the
//! minimal root file system; this crate adds what bwrap does not do:
//!
//! - a distinct unprivileged host uid/gid per environment (bwrap runs as that uid, so the
//!   runtime is root only inside its own user namespace);
//! - a network namespace per environment, created here so that the Runtime API listener
//!   and the AWS API listener for the function's own calls can be bound inside it at
//!   `127.0.0.1:9001` and `127.0.0.1:9002` before the runtime starts (`netns`), and
//!   for functions with egress a user-space network stack attached to it (`egress`);
//! - slots prepared ahead of need (uid, cgroup, network namespace, and the sandbox itself,
//!   started and waiting) by the spawner thread (`slot`, `spawner`); a cold start hands
//!   one its function, which the activator inside mounts before it drops every privilege
//!   and executes the runtime (`activation`); the sandboxes are forked by a small starter
//!   process on the server's behalf, so the server never forks itself (`starter`,
//!   `process`);
//! - cgroup limits (memory, pids, CPU share) and the freezer, on cgroup v2 or v1
//!   (`cgroup`), under a cgroup of the server's own that bounds what its environments
//!   use together (`aggregate`);
//! - a seccomp filter denying what a function never needs (`seccomp`);
//! - a private mount namespace for the server, where the data directory's code store and
//!   the runtimes' directories are staged read-only at a path an unprivileged uid can
//!   traverse (`staging`).
//!
//! This is the only crate allowed `unsafe` code (every other crate root forbids it, and
//! clippy requires a `SAFETY:` comment on every block here): the `pre_exec` hooks that
//! join the cgroup and drop the egress stack's privileges, the forks of the starter and
//! the activator, the ioctls and the netlink request that set loopback up, pidfd
//! signalling, and the activator's rlimit, capability and seccomp calls. Raw return codes
//! become `io::Result`s in one place (`sys`).

mod activation;
mod aggregate;
mod cgroup;
mod egress;
mod launcher;
mod netns;
mod process;
mod seccomp;
mod slot;
mod spawner;
mod staging;
mod starter;
mod sys;
mod wire;

pub use activation::{run_activator, ACTIVATOR_ARG};
pub use cgroup::{Cgroup, CgroupError, CgroupVersion};
pub use launcher::{Confinement, Launched, Sandbox, SandboxError, SandboxSpec};
pub use process::SandboxProcess;
pub use staging::Staging;
pub use starter::{run_starter, STARTER_ARG};

/// Where the Runtime API listens inside every environment, as in Lambda.
pub const RUNTIME_API_ADDRESS: &str = "127.0.0.1:9001";

/// Where Alcove's AWS API answers the function's own calls (`AWS_ENDPOINT_URL`), signed
/// with its execution role's credentials. Requests on it are known to come from this
/// environment: the server holds the listener, bound inside the namespace.
pub const AWS_API_ADDRESS: &str = "127.0.0.1:9002";
