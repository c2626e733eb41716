//! Fixtures the feature modules' tests share.

use alcove_core::{CodeRef, FunctionConfig, FunctionName, SettingsPatch, TenantIsolationMode, Version};

/// A PER_TENANT Python function whose code digest is `sha` repeated.
pub(crate) fn config(name: &str, sha: &str) -> FunctionConfig {
    let settings = SettingsPatch {
        runtime: Some("python3.12".into()),
        handler: Some("app.handler".into()),
        role: Some("arn:aws:iam::123456789012:role/r".into()),
        ..Default::default()
    }
    .create()
    .unwrap();
    FunctionConfig {
        name: FunctionName::parse(name).unwrap(),
        version: Version::Latest,
        settings,
        tenancy: Some(TenantIsolationMode::PerTenant),
        code: CodeRef { sha256_hex: sha.repeat(32), size: 10 },
        last_modified: chrono::Utc::now(),
        revision_id: FunctionConfig::new_revision_id(),
        tags: Default::default(),
    }
}

pub(crate) fn name(n: &str) -> FunctionName {
    FunctionName::parse(n).unwrap()
}
