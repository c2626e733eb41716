//! The stack database's schema, versioned with `PRAGMA user_version` so a newer Alcove
//! migrates an older file and an older Alcove refuses a newer one.

use rusqlite::Connection;

use crate::CloudFormationError;

/// Schema versions in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE stacks (
        seq               INTEGER PRIMARY KEY,
        stack_id          TEXT NOT NULL UNIQUE,
        name              TEXT NOT NULL,
        status            TEXT NOT NULL,
        reason            TEXT,
        template          TEXT NOT NULL,
        parameters        TEXT NOT NULL,
        previous_template TEXT,
        previous_parameters TEXT NOT NULL DEFAULT '[]',
        description       TEXT,
        capabilities      TEXT NOT NULL,
        tags              TEXT NOT NULL,
        disable_rollback  INTEGER NOT NULL,
        on_failure        TEXT,
        outputs           TEXT NOT NULL,
        imports           TEXT NOT NULL,
        created           TEXT NOT NULL,
        updated           TEXT,
        deleted           TEXT,
        change_set_id     TEXT,
        token             TEXT
    );
    CREATE INDEX stacks_by_name ON stacks (name);
    CREATE TABLE resources (
        stack_id    TEXT NOT NULL,
        logical_id  TEXT NOT NULL,
        type        TEXT NOT NULL,
        physical_id TEXT,
        status      TEXT NOT NULL,
        reason      TEXT,
        properties  TEXT NOT NULL,
        attributes  TEXT NOT NULL,
        updated     TEXT NOT NULL,
        ord         INTEGER NOT NULL,
        PRIMARY KEY (stack_id, logical_id)
    );
    CREATE TABLE retired (
        seq         INTEGER PRIMARY KEY,
        stack_id    TEXT NOT NULL,
        logical_id  TEXT NOT NULL,
        type        TEXT NOT NULL,
        physical_id TEXT NOT NULL,
        properties  TEXT NOT NULL,
        attributes  TEXT NOT NULL
    );
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        stack_id    TEXT NOT NULL,
        event_id    TEXT NOT NULL,
        logical_id  TEXT NOT NULL,
        physical_id TEXT,
        type        TEXT NOT NULL,
        ts          TEXT NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT,
        properties  TEXT,
        token       TEXT
    );
    CREATE INDEX events_by_stack ON events (stack_id, seq);
    CREATE TABLE change_sets (
        seq              INTEGER PRIMARY KEY,
        change_set_id    TEXT NOT NULL UNIQUE,
        name             TEXT NOT NULL,
        stack_id         TEXT NOT NULL,
        kind             TEXT NOT NULL,
        template         TEXT NOT NULL,
        parameters       TEXT NOT NULL,
        capabilities     TEXT NOT NULL,
        tags             TEXT,
        description      TEXT,
        status           TEXT NOT NULL,
        reason           TEXT,
        execution_status TEXT NOT NULL,
        changes          TEXT NOT NULL,
        created          TEXT NOT NULL
    );
    CREATE TABLE exports (
        name     TEXT PRIMARY KEY,
        stack_id TEXT NOT NULL,
        value    TEXT NOT NULL
    );
",
    "
    -- A template a transform rewrote: `template` holds what runs, these what was submitted.
    ALTER TABLE stacks ADD COLUMN original_template TEXT;
    ALTER TABLE stacks ADD COLUMN previous_original_template TEXT;
    ALTER TABLE change_sets ADD COLUMN original_template TEXT;
",
];

/// Opens the database, migrating its schema.
pub fn open(path: &std::path::Path) -> Result<Connection, CloudFormationError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > MIGRATIONS.len() as i64 {
        return Err(CloudFormationError::NewerSchema(version));
    }
    let tx = conn.transaction()?;
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", done as i64 + 1)?;
    }
    tx.commit()?;
    // Every step of an operation is committed before the next begins; WAL keeps those
    // commits cheap and a killed server loses none of them.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cf.db");
        drop(open(&path).unwrap());
        open(&path).unwrap();
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(open(&path), Err(CloudFormationError::NewerSchema(99))));
    }
}
