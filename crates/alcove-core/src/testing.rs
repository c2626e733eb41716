//! Test fixtures shared by the crates' unit tests, behind the `test-support` feature (each
//! crate enables it from its `[dev-dependencies]`, so no release build carries it).
//!
//! One builder for a valid function configuration means a new required field is added
//! once, here, rather than in every crate's tests; tests state only what they vary.

use crate::{CodeRef, FunctionConfig, FunctionName, SettingsPatch, TenantIsolationMode, Version};

/// A valid `$LATEST` configuration of function `name`: PER_TENANT, Python 3.12,
/// `app.handler`, Lambda's default settings, code digest `ab…ab` of 10 bytes, a fresh
/// revision, no tags. Panics if `name` is not a valid function name.
pub fn function_config(name: &str) -> FunctionConfig {
    let settings = SettingsPatch {
        runtime: Some("python3.12".into()),
        handler: Some("app.handler".into()),
        role: Some("arn:aws:iam::123456789012:role/r".into()),
        ..Default::default()
    }
    .create()
    .expect("the fixture's settings are valid");
    FunctionConfig {
        name: FunctionName::parse(name).expect("a valid function name"),
        version: Version::Latest,
        settings,
        tenancy: Some(TenantIsolationMode::PerTenant),
        code: CodeRef { sha256_hex: "ab".repeat(32), size: 10 },
        last_modified: chrono::Utc::now(),
        revision_id: FunctionConfig::new_revision_id(),
        tags: Default::default(),
        lifecycle: Default::default(),
    }
}

/// Builder methods for what tests vary.
impl FunctionConfig {
    pub fn with_version(self, version: Version) -> Self {
        FunctionConfig { version, ..self }
    }

    pub fn with_revision(self, revision_id: &str) -> Self {
        FunctionConfig { revision_id: revision_id.to_owned(), ..self }
    }

    /// `None` for a function without tenant isolation.
    pub fn with_tenancy(self, tenancy: Option<TenantIsolationMode>) -> Self {
        FunctionConfig { tenancy, ..self }
    }

    /// Code with this hex SHA-256 digest (64 hex digits) and size.
    pub fn with_code(self, sha256_hex: &str, size: u64) -> Self {
        FunctionConfig { code: CodeRef { sha256_hex: sha256_hex.to_owned(), size }, ..self }
    }

    pub fn with_memory(mut self, memory_mb: u32) -> Self {
        self.settings.memory_mb = memory_mb;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_is_a_valid_per_tenant_function_and_the_builders_change_one_thing() {
        let base = function_config("orders");
        assert_eq!((base.name.as_str(), base.version), ("orders", Version::Latest));
        assert_eq!(base.tenancy, Some(TenantIsolationMode::PerTenant));
        assert_eq!(base.settings.runtime.as_str(), "python3.12");
        let changed = base
            .clone()
            .with_version(Version::Published(2))
            .with_revision("r2")
            .with_tenancy(None)
            .with_code(&"cd".repeat(32), 7)
            .with_memory(256);
        assert_eq!((changed.version, changed.revision_id.as_str()), (Version::Published(2), "r2"));
        assert_eq!((changed.tenancy, changed.code.size, changed.settings.memory_mb), (None, 7, 256));
        assert_eq!(changed.settings.handler, base.settings.handler);
    }
}
