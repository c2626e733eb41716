//! The identity an environment is bound to for life.

use alcove_core::{FunctionConfig, FunctionName, TenantId, Version};

/// What an environment may serve: one version of one function, at the configuration
/// revision it was started with, for one tenant (or for no tenant, on functions without
/// tenant isolation). Fields are private: a key can only be made from a configuration and
/// the invoke's tenant, so it always says what the environment really runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvKey {
    function: FunctionName,
    version: Version,
    revision: String,
    tenant: Option<TenantId>,
}

impl EnvKey {
    pub fn new(config: &FunctionConfig, tenant: Option<TenantId>) -> Self {
        EnvKey {
            function: config.name.clone(),
            version: config.version,
            revision: config.revision_id.clone(),
            tenant,
        }
    }

    pub fn function(&self) -> &FunctionName {
        &self.function
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn tenant(&self) -> Option<&TenantId> {
        self.tenant.as_ref()
    }
}
