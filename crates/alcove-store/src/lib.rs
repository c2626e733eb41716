//! Persistence for Alcove. Metadata (functions, the async queue, API Gateway REST APIs) lives in an embedded SQLite database behind the
//! [`alcove_core::Store`] trait; code packages live on disk, content-addressed by SHA-256
//! and unpacked once per digest so every environment of every version shares one copy.

#![forbid(unsafe_code)]

mod blobs;
mod cache;
mod rest_apis;
mod sqlite;

pub use blobs::CodeStore;
pub use sqlite::SqliteStore;
