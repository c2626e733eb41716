//! API Gateway's resource types, each calling the REST API control plane (REST-JSON,
//! camelCase members) as a client would. CloudFormation's properties are PascalCase, so
//! each type maps them; a property Alcove's API Gateway cannot honour is refused.

mod authorizer;
mod deployment;
mod method;
mod method_settings;
mod resource;
mod rest_api;
mod stage;
mod usage_plan;

pub use authorizer::Authorizer;
pub use deployment::Deployment;
pub use method::Method;
pub use resource::Resource;
pub use rest_api::RestApi;
pub use stage::Stage;
pub use usage_plan::{ApiKey, UsagePlan, UsagePlanKey};

use crate::resources::call::segment;

fn api_path(api: &str) -> String {
    format!("/restapis/{}", segment(api))
}
