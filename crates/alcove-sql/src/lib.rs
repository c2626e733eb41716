//! One transaction API over the two databases Alcove keeps its state in: the embedded
//! SQLite file that needs nothing (the default) and a PostgreSQL database that many nodes
//! share (scale-out).
//!
//! Every store writes its SQL once, against [`Tx`]: numbered `?1` placeholders, owned
//! [`Row`]s, the common subset of both dialects (`ON CONFLICT ... DO UPDATE`, `CAST`,
//! `COALESCE`), and where the dialects part ways, a branch on [`Tx::dialect`]. That keeps
//! one copy of each store's semantics whichever backend runs it.
//!
//! A [`Database`] runs a store's work as one transaction on a blocking thread, like the
//! SQLite-only code did: [`Database::write`] transactions are serialized (SQLite's single
//! writer; on PostgreSQL a transaction-scoped advisory lock per store), so a
//! read-modify-write never interleaves with another, on one node or across many;
//! [`Database::read`] transactions run concurrently on PostgreSQL, each on one snapshot.
//! Schemas evolve by the versioned steps of [`migrate`], one list per dialect.

#![forbid(unsafe_code)]

mod database;
mod error;
mod migrate;
mod postgres;
mod scratch;
mod sqlite;
mod tx;
mod value;

pub use database::{Database, Location};
pub use error::SqlError;
pub use migrate::{Migrated, Migration, MigrationError, Migrations};
pub use scratch::{scratch_database, test_locations, TEST_POSTGRES};
pub use tx::{Dialect, Tx};
pub use value::{FromValue, Param, Row, ToParam, Value};
