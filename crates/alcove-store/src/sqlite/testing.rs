//! Fixtures the feature modules' tests share.

use alcove_core::{FunctionConfig, FunctionName};

/// The shared PER_TENANT Python function, with code digest `sha` repeated (distinct
/// digests are distinct code blobs).
pub(crate) fn config(name: &str, sha: &str) -> FunctionConfig {
    alcove_core::testing::function_config(name).with_code(&sha.repeat(32), 10)
}

pub(crate) fn name(n: &str) -> FunctionName {
    FunctionName::parse(n).unwrap()
}
