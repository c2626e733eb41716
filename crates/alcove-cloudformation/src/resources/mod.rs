//! The resource types Alcove deploys, each in its own module, each calling its service's
//! public API through [`crate::services::Services`].

use crate::resource::ResourceType;

/// Every supported type; a template naming any other type fails its stack with
/// `Unsupported resource type`.
pub fn all() -> Vec<Box<dyn ResourceType>> {
    Vec::new()
}
