//! A function's own calls to AWS APIs, with its execution role's credentials.
//!
//! On Lambda every environment gets temporary credentials of the function's role in
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and the SDKs in
//! the function use them. Here each environment gets credentials issued for it alone
//! (naming the environment, its function version and its tenant) and one way out to
//! Alcove's API: a listener the server holds inside the environment's network namespace
//! (`AWS_ENDPOINT_URL`), whose requests are known to come from that environment. The API
//! side accepts the credentials only on that listener, so they are worthless anywhere
//! else: in another environment, another tenant's included, or after the environment is
//! gone (the listener closes with it).
//!
//! This crate only starts and stops the channel; issuing credentials and serving the API
//! belong to the layers above, reached through [`FunctionAccess`] (data flows downward:
//! the environment manager cannot depend on the HTTP edge).

use std::time::{Duration, SystemTime};

use alcove_core::TenantId;
use tokio::net::TcpListener;

/// The environment a channel and its credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentIdentity {
    pub environment_id: String,
    /// The qualified ARN of the version the environment runs.
    pub function_arn: String,
    /// The function's execution role.
    pub role_arn: String,
    pub tenant: Option<TenantId>,
}

/// Temporary credentials of the function's role, as the runtime's environment gets them.
#[derive(Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: SystemTime,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Serving a function's calls: what the manager asks of the layer above.
pub trait FunctionAccess: Send + Sync {
    /// Fresh credentials of the function's role for one environment.
    fn credentials(&self, identity: &EnvironmentIdentity) -> std::io::Result<RoleCredentials>;

    /// Starts answering the environment's calls on `listener`; they stop when the
    /// returned guard is dropped.
    fn serve(&self, identity: EnvironmentIdentity, listener: TcpListener) -> AccessGuard;
}

/// Keeps one environment's channel open; dropping it stops the channel.
pub struct AccessGuard(Option<tokio::task::AbortHandle>);

impl AccessGuard {
    pub fn new(task: tokio::task::AbortHandle) -> AccessGuard {
        AccessGuard(Some(task))
    }
}

impl Drop for AccessGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// An environment's channel while it lives, and when its credentials stop working.
pub(crate) struct Access {
    _guard: AccessGuard,
    pub expiration: SystemTime,
}

impl Access {
    pub fn new(guard: AccessGuard, expiration: SystemTime) -> Access {
        Access { _guard: guard, expiration }
    }

    /// Whether an environment idle now, and kept for at most `idle_for` before it is
    /// reaped, could still be running an invoke of up to `timeout` when its credentials
    /// expire: such an environment is retired rather than kept, and its tenant's next
    /// invoke starts one with fresh credentials, as Lambda recycles its environments.
    pub fn expires_within(&self, now: SystemTime, idle_for: Duration, timeout: Duration) -> bool {
        const MARGIN: Duration = Duration::from_secs(10);
        now + idle_for + timeout + MARGIN >= self.expiration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_that_could_expire_during_a_later_invoke_retire_the_environment() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let task = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let handle = task.block_on(async { tokio::spawn(async {}).abort_handle() });
        let access = Access::new(AccessGuard::new(handle), now + Duration::from_secs(3_600));
        let (idle, timeout) = (Duration::from_secs(600), Duration::from_secs(900));
        assert!(!access.expires_within(now, idle, timeout));
        assert!(access.expires_within(now + Duration::from_secs(2_100), idle, timeout));
    }
}
