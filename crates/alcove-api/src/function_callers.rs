//! The API as a function's own code reaches it: the channel each environment gets
//! (`AWS_ENDPOINT_URL`, a listener the server holds in the environment's namespace) and
//! the execution role's credentials issued for it (see `alcove_envs::FunctionAccess`).
//!
//! Every request on a channel goes through the same router as any client's, with one
//! addition the client cannot forge: the [`EnvironmentIdentity`] of the channel it came
//! in on, as a request extension. Authentication accepts an environment's session
//! credentials only with that extension naming the same environment, and authorizes them
//! by the function's role policy; so credentials are worthless outside their own
//! environment, and stop working when it goes (its listener closes with it).
//!
//! Like [`crate::InProcessServices`], the handle exists before the router it serves (the
//! environment manager is built first), so the router is attached afterwards; a channel
//! opened before that waits for it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use alcove_auth::{SessionIssuer, SessionPrincipal};
use alcove_envs::{AccessGuard, EnvironmentIdentity, FunctionAccess, RoleCredentials};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long an environment's credentials last unless the server is told otherwise.
pub const DEFAULT_CREDENTIALS_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Issues environments' credentials and serves their channels.
pub struct FunctionCallers {
    issuer: SessionIssuer,
    lifetime: Duration,
    router: watch::Sender<Option<Router>>,
}

impl FunctionCallers {
    pub fn new(issuer: SessionIssuer, lifetime: Duration) -> Arc<FunctionCallers> {
        Arc::new(FunctionCallers { issuer, lifetime, router: watch::Sender::new(None) })
    }

    /// Makes `router` the application the channels serve.
    pub fn attach(&self, router: Router) {
        self.router.send_replace(Some(router));
    }
}

impl FunctionAccess for FunctionCallers {
    fn credentials(&self, identity: &EnvironmentIdentity) -> std::io::Result<RoleCredentials> {
        let principal = SessionPrincipal::Environment {
            role_arn: identity.role_arn.clone(),
            function_arn: identity.function_arn.clone(),
            tenant_id: identity.tenant.as_ref().map(|t| t.as_str().to_owned()),
            environment_id: identity.environment_id.clone(),
        };
        let issued = self.issuer.issue(principal, SystemTime::now(), self.lifetime)?;
        Ok(RoleCredentials {
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret_access_key,
            session_token: issued.session_token,
            expiration: issued.expiration,
        })
    }

    fn serve(&self, identity: EnvironmentIdentity, listener: TcpListener) -> AccessGuard {
        let mut attached = self.router.subscribe();
        let environment = identity.environment_id.clone();
        let task = tokio::spawn(async move {
            let Ok(router) = attached.wait_for(Option::is_some).await.map(|r| r.clone()) else {
                return;
            };
            let app = router.unwrap_or_default().layer(Extension(identity));
            let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
            if let Err(e) = served {
                tracing::warn!(%environment, error = %e, "an environment's API channel stopped");
            }
        });
        AccessGuard::new(task.abort_handle())
    }
}
