//! An SSM Parameter Store subset: named (optionally hierarchical, `/a/b/c`) parameters of
//! type `String`, `StringList` or `SecureString`, each write a new version, kept in the
//! store's own SQLite database (`parameters.db` in the data directory's `ssm/`).
//!
//! This crate is the store and its rules (names, values, versions, paths, pages), as
//! Parameter Store applies them; the JSON 1.1 wire protocol lives in `alcove-api`.
//! `SecureString` values are stored as given: Alcove has no KMS, so nothing is encrypted.

#![forbid(unsafe_code)]

mod error;
mod names;
mod schema;
mod store;

pub use error::SsmError;
pub use names::{check_name, check_path, MAX_HIERARCHY_LEVELS, MAX_VALUE_BYTES};
pub use store::{Filter, FilterKey, Page, Parameter, ParameterStore, ParameterType, PutInput, MAX_VERSIONS};
