//! The parameter store's own SQLite database. Every version of a parameter is a row;
//! the current one is the highest. `PRAGMA user_version` records the migrations run.

use rusqlite::Connection;

use crate::SsmError;

/// Schema versions in order.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE parameter_versions (
        name            TEXT NOT NULL,
        version         INTEGER NOT NULL,
        type            TEXT NOT NULL,
        value           TEXT NOT NULL,
        description     TEXT,
        allowed_pattern TEXT,
        data_type       TEXT NOT NULL,
        modified_ms     INTEGER NOT NULL,
        PRIMARY KEY (name, version)
    );
",
    "
    CREATE TABLE parameter_tags (
        name  TEXT NOT NULL,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, key)
    );
",
];

/// Opens the database at `path`, migrating its schema.
pub fn open(path: &std::path::Path) -> Result<Connection, SsmError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > MIGRATIONS.len() as i64 {
        return Err(SsmError::NewerSchema(version));
    }
    let tx = conn.transaction()?;
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", done as i64 + 1)?;
    }
    tx.commit()?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_database_is_migrated_with_its_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parameters.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO parameter_versions VALUES ('/old', 1, 'String', 'kept', NULL, NULL, 'text', 0)",
                [],
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let value: String = conn
            .query_row("SELECT value FROM parameter_versions WHERE name = '/old'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(value, "kept");
        conn.execute("INSERT INTO parameter_tags VALUES ('/old', 'k', 'v')", []).unwrap();
        drop(conn);
        let newer = Connection::open(&path).unwrap();
        newer.pragma_update(None, "user_version", 99).unwrap();
        drop(newer);
        assert!(matches!(open(&path), Err(SsmError::NewerSchema(99))));
    }
}
