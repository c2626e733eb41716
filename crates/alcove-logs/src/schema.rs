//! The log store's own SQLite database, `logs.db` in the data directory, apart from the
//! control plane's: log traffic never contends with function metadata for one lock, and
//! the file can be bounded (and deleted) on its own.

use rusqlite::Connection;

use crate::LogsError;

/// Schema versions in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE log_groups (
        id             INTEGER PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE,
        created_ms     INTEGER NOT NULL,
        retention_days INTEGER,
        function_name  TEXT
    );
    CREATE TABLE log_streams (
        id                INTEGER PRIMARY KEY,
        group_id          INTEGER NOT NULL,
        name              TEXT NOT NULL,
        created_ms        INTEGER NOT NULL,
        first_event_ms    INTEGER,
        last_event_ms     INTEGER,
        last_ingestion_ms INTEGER,
        stored_bytes      INTEGER NOT NULL DEFAULT 0,
        tenant_id         TEXT,
        function_version  TEXT,
        UNIQUE (group_id, name)
    );
    CREATE TABLE log_events (
        id         INTEGER PRIMARY KEY,
        group_id   INTEGER NOT NULL,
        stream_id  INTEGER NOT NULL,
        ts         INTEGER NOT NULL,
        ingested   INTEGER NOT NULL,
        size       INTEGER NOT NULL,
        message    TEXT NOT NULL
    );
    CREATE INDEX log_events_by_stream ON log_events (stream_id, ts);
    CREATE INDEX log_events_by_group ON log_events (group_id, ts);
"];

/// Opens a connection with the store's settings, migrating the schema if `migrate`.
pub fn open(path: &std::path::Path, migrate: bool) -> Result<Connection, LogsError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if migrate {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(LogsError::NewerSchema(version));
        }
        if version == 0 {
            // Freed pages go back to the file system at each sweep, so deleting old
            // logs shrinks the file; it must be chosen before the first table exists.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        let tx = conn.transaction()?;
        for (done, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", done as i64 + 1)?;
        }
        tx.commit()?;
    }
    // WAL with synchronous=NORMAL: a killed server keeps every committed batch; a power
    // loss may lose the last ones (docs/LOGS.md).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // After a burst, the write-ahead log shrinks back to this once checkpointed.
    conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
    Ok(conn)
}
