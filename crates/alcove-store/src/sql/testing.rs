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

/// A fresh, empty store on each backend the tests can reach: SQLite in memory always,
/// PostgreSQL (a scratch database) when `ALCOVE_TEST_POSTGRES` names a server.
pub(crate) async fn stores() -> Vec<crate::SqlStore> {
    let mut stores = Vec::new();
    for location in alcove_sql::test_locations().await {
        stores.push(crate::SqlStore::open(&location).await.unwrap());
    }
    stores
}
