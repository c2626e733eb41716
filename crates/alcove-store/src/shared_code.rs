//! Code packages every node of a cluster reaches: on a PostgreSQL store, each package
//! uploaded to any node is also written to the `code` schema (chunked, keyed by the SHA-256
//! of its bytes), and a node that needs a package it has not seen fetches it from there
//! once, checks its digest and unpacks it into its own content-addressed `code/`
//! directory, which is the node's cache from then on.
//!
//! PostgreSQL rather than an object store: it is already the one shared dependency of a
//! cluster, packages are small (50 MB zipped at most) and written rarely, and a package
//! written in one transaction is all there or not at all. Packages are never deleted
//! (neither are the local files): versions keep pointing at them.

use alcove_core::{Error, Result};
use alcove_sql::{Database, Location, Migration, Migrations, SqlError};
use sha2::{Digest, Sha256};

/// One chunk of a package: far below PostgreSQL's limits, large enough to keep rows few.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

static MIGRATIONS: Migrations = Migrations {
    schema: "code",
    steps: &[Migration {
        sqlite: include_str!("../migrations/code/sqlite/0001_packages.sql"),
        postgres: include_str!("../migrations/code/postgres/0001_packages.sql"),
    }],
    legacy_table: None,
};

fn database_error(e: SqlError) -> Error {
    Error::caused("code package database", e)
}

/// The packages in the shared database.
#[derive(Clone)]
pub(crate) struct SharedPackages {
    database: Database,
}

impl SharedPackages {
    /// Opens the package schema at `location`; `None` for a store that is not shared (its
    /// packages stay files in the data directory).
    pub(crate) async fn open(location: &Location) -> Result<Option<Self>> {
        if !location.is_shared() {
            return Ok(None);
        }
        let (database, _) = Database::open(location, "code.db", &MIGRATIONS)
            .await
            .map_err(|e| Error::caused("opening the shared code packages", e))?;
        Ok(Some(SharedPackages { database }))
    }

    /// Stores `zip` under its digest unless it is there already. Runs on a plain thread.
    pub(crate) fn store_blocking(&self, sha256_hex: &str, zip: &[u8]) -> Result<()> {
        let sha = sha256_hex.to_owned();
        self.database
            .write_blocking(|tx| {
                if tx.query_opt("SELECT 1 FROM packages WHERE sha256 = ?1", &[&sha])?.is_some() {
                    return Ok(());
                }
                let chunks = zip.chunks(CHUNK_BYTES);
                tx.execute(
                    "INSERT INTO packages (sha256, size, chunks) VALUES (?1, ?2, ?3)",
                    &[&sha, &(zip.len() as i64), &(chunks.len() as i64)],
                )?;
                for (idx, chunk) in chunks.enumerate() {
                    tx.execute(
                        "INSERT INTO chunks (sha256, idx, data) VALUES (?1, ?2, ?3)",
                        &[&sha, &(idx as i64), &chunk],
                    )?;
                }
                Ok(())
            })
            .map_err(database_error)
    }

    /// The package's bytes, if any node stored it; checked against its digest.
    pub(crate) async fn fetch(&self, sha256_hex: &str) -> Result<Option<Vec<u8>>> {
        let sha = sha256_hex.to_owned();
        let found = self
            .database
            .read(move |tx| {
                let Some(package) =
                    tx.query_opt("SELECT size, chunks FROM packages WHERE sha256 = ?1", &[&sha])?
                else {
                    return Ok(None);
                };
                let (size, count) = (package.get::<i64>(0)?, package.get::<i64>(1)?);
                let mut zip = Vec::with_capacity(size.max(0) as usize);
                let rows = tx.query("SELECT data FROM chunks WHERE sha256 = ?1 ORDER BY idx", &[&sha])?;
                if rows.len() as i64 != count {
                    return Ok(Some(Err(format!("{} of its {count} chunks", rows.len()))));
                }
                for row in rows {
                    zip.extend_from_slice(&row.get::<Vec<u8>>(0)?);
                }
                Ok(Some(Ok(zip)))
            })
            .await
            .map_err(database_error)?;
        match found {
            None => Ok(None),
            Some(Err(what)) => {
                Err(Error::internal(format!("code package {sha256_hex} is stored with {what}")))
            }
            Some(Ok(zip)) if hex::encode(Sha256::digest(&zip)) == sha256_hex => Ok(Some(zip)),
            Some(Ok(_)) => {
                Err(Error::internal(format!("code package {sha256_hex} does not match its digest")))
            }
        }
    }
}
