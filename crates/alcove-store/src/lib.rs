//! Persistence for Alcove. Metadata lives in an embedded SQLite database behind the
//! [`alcove_core::Store`] trait; code packages live on disk, content-addressed by SHA-256
//! and unpacked once per digest so every environment of every version shares one copy.

mod blobs;
mod sqlite;

pub use blobs::CodeStore;
pub use sqlite::SqliteStore;
