//! API Gateway REST APIs as Alcove keeps them: an API is one document (its resource tree,
//! each resource's methods and each method's integration), changed only through the rules
//! in [`model`] so every change that reaches the store is valid. A deployment is a frozen
//! copy of that document; a stage names the deployment its URL serves.
//!
//! Messages are API Gateway's own wording, so clients see what AWS would tell them.

pub mod authorizer;
pub mod mapping;
pub mod model;
pub mod stage_settings;
pub mod usage_plan;

pub use authorizer::{Authorizer, AuthorizerType, IdentitySource};
pub use mapping::{IntegrationTarget, MappingSource, MethodParam, ParamLocation};
pub use model::{
    Deployment, Integration, IntegrationType, Method, Resource, RestApi, Stage, StageName, HTTP_METHODS,
};
pub use stage_settings::{MethodSetting, PatchOperation, ThrottleLimits};
pub use usage_plan::{ApiKey, ApiStage, PlanThrottle, Quota, QuotaPeriod, UsagePlan};

use crate::error::Error;
use crate::names::ACCOUNT_ID;

/// `NotFoundException` for an API id that names nothing.
pub fn api_not_found(id: &str) -> Error {
    Error::NotFound(format!("Invalid API identifier specified {ACCOUNT_ID}:{id}"))
}

pub fn resource_not_found() -> Error {
    Error::NotFound("Invalid Resource identifier specified".into())
}

pub fn method_not_found() -> Error {
    Error::NotFound("Invalid Method identifier specified".into())
}

pub fn integration_not_found() -> Error {
    Error::NotFound("No integration defined for method".into())
}

pub fn stage_not_found() -> Error {
    Error::NotFound("Invalid Stage identifier specified".into())
}

pub fn deployment_not_found() -> Error {
    Error::NotFound("Invalid Deployment identifier specified".into())
}

/// A random identifier of `len` characters of `[a-z0-9]`, as API Gateway's ids are.
pub fn new_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(len);
    while id.len() < len {
        for byte in uuid::Uuid::new_v4().as_bytes() {
            // 252 = 7 * 36: taking bytes below it keeps every character equally likely.
            if *byte < 252 && id.len() < len {
                id.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
            }
        }
    }
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_the_right_shape() {
        let id = super::new_id(10);
        assert_eq!(id.len(), 10);
        assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(super::new_id(10), id);
    }
}
