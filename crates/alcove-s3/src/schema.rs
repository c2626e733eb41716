//! The object store's SQLite database, `s3/s3.db` under the data directory: names,
//! sizes, ETags and headers of buckets and objects, and the state of multipart uploads.
//! Bodies are files beside it (`objects/`, `parts/`); a row names its body's file, and a
//! row is written only after its file is on disk, so a row never points at nothing.

use rusqlite::Connection;

use crate::error::{S3Error, S3Result};

/// Schema versions in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE buckets (
        name       TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL,
        region     TEXT NOT NULL
    );
    CREATE TABLE objects (
        bucket      TEXT NOT NULL,
        key         TEXT NOT NULL,
        file        TEXT NOT NULL,
        size        INTEGER NOT NULL,
        etag        TEXT NOT NULL,
        modified_ms INTEGER NOT NULL,
        headers     TEXT NOT NULL,
        PRIMARY KEY (bucket, key)
    ) WITHOUT ROWID;
    CREATE TABLE uploads (
        id          TEXT PRIMARY KEY,
        bucket      TEXT NOT NULL,
        key         TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        headers     TEXT NOT NULL
    );
    CREATE TABLE parts (
        upload_id   TEXT NOT NULL,
        number      INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        md5         TEXT NOT NULL,
        modified_ms INTEGER NOT NULL,
        PRIMARY KEY (upload_id, number)
    ) WITHOUT ROWID;
"];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens the database, migrating its schema to [`VERSION`].
pub fn open(path: &std::path::Path) -> S3Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > VERSION {
        return Err(S3Error::NewerSchema(version));
    }
    let tx = conn.transaction()?;
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", done as i64 + 1)?;
    }
    tx.commit()?;
    // An acknowledged PUT survives a crash of the process and of the machine.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}
