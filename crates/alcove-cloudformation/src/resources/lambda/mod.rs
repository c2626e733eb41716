//! Lambda's resource types. Each calls the Lambda API as a client would; CloudFormation
//! spells most of their properties as the API does, so they pass through and Lambda's own
//! validation answers for them.

mod alias;
mod event_invoke_config;
mod function;
mod inline_code;
mod permission;
mod provisioned_concurrency;
mod settle;
mod version;

pub use alias::Alias;
pub use event_invoke_config::EventInvokeConfig;
pub use function::Function;
pub use permission::Permission;
pub use version::Version;
