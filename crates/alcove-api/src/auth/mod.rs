//! Who is calling, and whether they may: the edge's authentication and authorization.
//!
//! In `sigv4` mode every request to an AWS-shaped API (and to `/alcove/v1`) must carry a
//! SigV4 signature made with an access key Alcove manages ([`alcove_auth::KeyStore`]) or
//! with session credentials it issued ([`alcove_auth::SessionIssuer`]). The signature is
//! verified here, before any service sees the request ([`verify`]); the caller found is
//! attached to the request as a [`Caller`] extension; then the request is classified into
//! IAM terms (action, resource ARN, condition keys: [`classify`]) and the caller's policy
//! decides. Refusals leave in the shape of the service addressed ([`reject`]).
//!
//! Not checked: the API Gateway stage data plane (public, as on AWS: its protection is
//! the authorizer), function URLs with `AuthType: NONE` (public), code package downloads
//! (the URL names a content digest and is handed out by `GetFunction`, like AWS's
//! presigned `Code.Location`), and requests the CloudFormation engine makes in-process
//! (marked [`Trusted`], an extension no client can set).
//!
//! In `none` mode nothing is checked and no caller is attached: the behaviour of a
//! development server on loopback. Except for functions: a request on an environment's
//! own channel (`crate::function_callers`) is always verified, and a session of an
//! environment is accepted only on that environment's channel, in every mode.

pub mod classify;
mod reject;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alcove_auth::policy::{Decision, Request as PolicyRequest};
use alcove_auth::{AccessKey, KeyStore, Policy, SessionClaims, SessionIssuer, SessionPrincipal};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

pub use reject::Failure;
pub use verify::check;

use crate::AppState;

/// The one account Alcove serves.
pub const ACCOUNT_ID: &str = "000000000000";

/// How long a key looked up in the key store is trusted before it is read again: keys
/// created, rotated or deleted with the command line take effect within this time.
const KEY_CACHE_TTL: Duration = Duration::from_secs(2);

/// Whether callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any caller, any credentials: development on loopback.
    None,
    /// SigV4 with keys Alcove manages.
    SigV4,
}

/// Keys looked up recently: id → (when, the key and its secret, or none).
type KeyCache = HashMap<String, (Instant, Option<(AccessKey, String)>)>;

/// The authentication state every request shares.
#[derive(Clone)]
pub struct AuthState {
    pub mode: Mode,
    pub keys: Arc<KeyStore>,
    pub sessions: SessionIssuer,
    cache: Arc<Mutex<KeyCache>>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl AuthState {
    pub fn new(mode: Mode, keys: Arc<KeyStore>, sessions: SessionIssuer) -> AuthState {
        AuthState { mode, keys, sessions, cache: Arc::default() }
    }

    /// Opens (creating) the server key and key store under `auth_dir`.
    pub fn open(mode: Mode, auth_dir: &std::path::Path) -> Result<AuthState, alcove_auth::KeyStoreError> {
        let server_key = alcove_auth::ServerKey::load_or_create(auth_dir)?;
        let keys = KeyStore::open(auth_dir, &server_key)?;
        Ok(AuthState::new(mode, Arc::new(keys), SessionIssuer::new(&server_key)))
    }

    /// An access key and its secret, through a short cache.
    async fn resolve_key(&self, id: &str) -> Result<Option<(AccessKey, String)>, Failure> {
        if let Some((at, entry)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            if at.elapsed() < KEY_CACHE_TTL {
                return Ok(entry.clone());
            }
        }
        let keys = self.keys.clone();
        let owned = id.to_owned();
        let entry = tokio::task::spawn_blocking(move || keys.resolve(&owned))
            .await
            .map_err(|e| Failure::Internal(e.to_string()))?
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(id.to_owned(), (Instant::now(), entry.clone()));
        Ok(entry)
    }

    /// Forgets cached keys (after this server changed the key store itself).
    pub fn forget_cached_keys(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The policy a session's requests are decided by: its role's.
    async fn role_policy(&self, role_arn: &str) -> Result<Policy, Failure> {
        let keys = self.keys.clone();
        let role = role_arn.to_owned();
        tokio::task::spawn_blocking(move || keys.effective_role_policy(&role))
            .await
            .map_err(|e| Failure::Internal(e.to_string()))?
            .map_err(|e| Failure::Internal(e.to_string()))
    }
}

/// A request made by Alcove itself (the CloudFormation engine's calls to services), set
/// as a request extension: trusted without a signature.
#[derive(Debug, Clone, Copy)]
pub struct Trusted;

/// Who signed a request (in `sigv4` mode).
#[derive(Debug, Clone)]
pub enum Caller {
    /// A long-term access key; without a policy, an administrator.
    Key(AccessKey),
    /// Session credentials, decided by their role's policy.
    Session { claims: Box<SessionClaims>, policy: Policy },
}

impl Caller {
    pub fn access_key_id(&self) -> &str {
        match self {
            Caller::Key(key) => &key.id,
            Caller::Session { claims, .. } => &claims.access_key_id,
        }
    }

    /// The caller's ARN, as GetCallerIdentity and AccessDenied messages name it.
    pub fn arn(&self) -> String {
        match self {
            Caller::Key(key) => format!("arn:aws:iam::{ACCOUNT_ID}:user/{}", key.name),
            Caller::Session { claims, .. } => {
                let role = role_name(claims.principal.role_arn());
                let session = match &claims.principal {
                    SessionPrincipal::AssumedRole { session_name, .. } => session_name.as_str(),
                    SessionPrincipal::Environment { function_arn, .. } => function_arn
                        .split(":function:")
                        .nth(1)
                        .and_then(|f| f.split(':').next())
                        .unwrap_or(""),
                };
                format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{session}")
            }
        }
    }

    /// GetCallerIdentity's `UserId`: the key id, or `<role id>:<session>` for sessions.
    pub fn user_id(&self) -> String {
        match self {
            Caller::Key(key) => key.id.clone(),
            Caller::Session { claims, .. } => {
                let arn = self.arn();
                let session = arn.rsplit('/').next().unwrap_or_default();
                format!("{}:{session}", role_id(claims.principal.role_arn()))
            }
        }
    }

    /// The condition keys the caller brings to every request: for an environment's
    /// session, the calling function (`lambda:SourceFunctionArn`, as on AWS) and its
    /// tenant (`alcove:SourceTenantId`).
    pub fn add_condition_keys(&self, context: &mut alcove_auth::policy::Context) {
        if let Caller::Session { claims, .. } = self {
            if let SessionPrincipal::Environment { function_arn, tenant_id, .. } = &claims.principal {
                let unqualified = match function_arn.rsplit_once(':') {
                    Some((arn, _version)) if arn.contains(":function:") => arn,
                    _ => function_arn.as_str(),
                };
                context.insert("lambda:SourceFunctionArn", unqualified);
                if let Some(tenant) = tenant_id {
                    context.insert("alcove:SourceTenantId", tenant.as_str());
                }
            }
        }
    }

    pub fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        match self {
            Caller::Key(key) => key.policy.as_ref().map_or(Decision::Allow, |p| p.evaluate(request)),
            Caller::Session { policy, .. } => policy.evaluate(request),
        }
    }
}

/// The role's name (its path dropped) from its ARN.
fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

/// A stable `AROA…` id for a role, as STS shows it.
pub fn role_id(role_arn: &str) -> String {
    use sha2_like::digest_hex;
    format!("AROA{}", &digest_hex(role_arn)[..17].to_ascii_uppercase())
}

mod sha2_like {
    /// The hex MD5 of `text` (ids only, not security).
    pub fn digest_hex(text: &str) -> String {
        use md5::{Digest, Md5};
        hex::encode(Md5::digest(text.as_bytes()))
    }
}

/// The middleware: authenticates and authorizes every request in `sigv4` mode.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // A function's own calls (on its environment's channel) are held to its role in
    // every mode: `none` opens the server to outside callers, never functions to it.
    let from_function = request.extensions().get::<alcove_envs::EnvironmentIdentity>().is_some();
    if (state.auth.mode == Mode::None && !from_function) || request.extensions().get::<Trusted>().is_some() {
        return next.run(request).await;
    }
    match verify::admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err((surface, failure)) => reject::render(surface, &failure),
    }
}
