//! Persistence for Alcove. Metadata (functions, the async queue, usage, API Gateway REST
//! APIs...) lives behind the [`alcove_core::Store`] trait in an embedded SQLite database
//! (the default) or a PostgreSQL database many nodes share, one SQL for both, its schema
//! versioned and migrated in place so an upgrade keeps every record; code
//! packages live on disk, content-addressed by SHA-256 and unpacked once per digest so
//! every environment of every version shares one copy.

#![forbid(unsafe_code)]

mod blobs;
mod cache;
mod shared_code;
mod sql;

pub use blobs::CodeStore;
pub use sql::{SqlStore, SQLITE_FILE};
