//! The database's schema version and the numbered steps that bring a database up to it.
//!
//! A user upgrading Alcove keeps their data directory, so the schema must change only by
//! steps applied in place, each exactly once: migration *n* is `migrations/000n_*.sql`,
//! and SQLite's `user_version` header field records the last one applied. Opening runs
//! the missing steps, all in one transaction with the version bump, so a failure leaves
//! the database as it was.
//!
//! Three cases are not simply "apply what is missing":
//! - A database from before versions has `user_version` 0 but holds data: the old code
//!   created its tables with `CREATE TABLE IF NOT EXISTS` on every start. Migration 1 is
//!   exactly those statements, so running it over such a database creates only the tables
//!   an older release lacked and touches no row; the database is then version 1. That is
//!   why migration 1 must stay idempotent; later migrations need not be.
//! - A database written by a newer Alcove (a version above the last known) is refused
//!   before anything is written to it: running old code over a newer schema could
//!   misread or damage rows it does not understand.
//! - A negative version was never written by Alcove; it is refused too.
//!
//! A future migration that rebuilds a table (SQLite's only way to change most column
//! definitions) needs `foreign_keys` off, or dropping the old table fires the cascades;
//! the pragma is a no-op inside a transaction, so the runner would have to turn it off
//! before opening its own.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Every migration, in order: index 0 is version 1.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_alias_routing.sql"),
    include_str!("../../migrations/0003_provisioned_concurrency.sql"),
    include_str!("../../migrations/0004_function_urls_code_signing.sql"),
    include_str!("../../migrations/0005_api_keys_usage_plans.sql"),
];

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database has schema version {found}, newer than this Alcove knows (up to {known}); \
         it was written by a newer Alcove, so run that version (or a later one) on it"
    )]
    Newer { found: i64, known: u32 },
    #[error("the database has schema version {0}, which no Alcove writes")]
    Invalid(i64),
    #[error("applying schema migration {version}: {}", brief(.source))]
    Migration { version: u32, source: rusqlite::Error },
    #[error("reading or writing the schema version: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// SQLite's message without the statement text, which for a migration is its whole file.
fn brief(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

/// What `migrate` found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Migrated {
    pub from: u32,
    pub to: u32,
    /// The database predates schema versions and was adopted as version 1.
    pub adopted: bool,
}

/// Brings the database up to the last migration's version, or refuses it (see the module docs).
pub(crate) fn migrate(conn: &mut Connection) -> Result<Migrated, SchemaError> {
    migrate_with(conn, MIGRATIONS)
}

fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<Migrated, SchemaError> {
    let known = migrations.len() as u32;
    // IMMEDIATE: a second process opening the same file waits rather than migrating twice.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let from = match u32::try_from(found) {
        Err(_) => return Err(SchemaError::Invalid(found)),
        Ok(from) if from > known => return Err(SchemaError::Newer { found, known }),
        Ok(from) => from,
    };
    let adopted = from == 0 && predates_versions(&tx)?;
    for (version, sql) in (1..).zip(migrations).skip(from as usize) {
        tx.execute_batch(sql).map_err(|source| SchemaError::Migration { version, source })?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(Migrated { from, to: known, adopted })
}

/// Whether an unversioned database holds the store's tables, created before versions.
fn predates_versions(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<bool> {
    tx.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'functions'", [], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: u32 = MIGRATIONS.len() as u32;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap()
    }

    fn tables(conn: &Connection) -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_every_migration() {
        let mut conn = Connection::open_in_memory().unwrap();
        let migrated = migrate(&mut conn).unwrap();
        assert_eq!(migrated, Migrated { from: 0, to: CURRENT, adopted: false });
        assert_eq!(version(&conn), i64::from(CURRENT));
        assert!(tables(&conn).contains(&"tenant_limits".to_string()));
        // Opening again applies nothing.
        assert_eq!(migrate(&mut conn).unwrap(), Migrated { from: CURRENT, to: CURRENT, adopted: false });
    }

    #[test]
    fn steps_apply_in_order_and_only_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y INTEGER"];
        assert_eq!(migrate_with(&mut conn, &steps[..1]).unwrap().to, 1);
        conn.execute("INSERT INTO a (x) VALUES (7)", []).unwrap();
        // A later build adds step 2; step 1 (not idempotent) is not run again.
        assert_eq!(migrate_with(&mut conn, &steps).unwrap(), Migrated { from: 1, to: 2, adopted: false });
        let row: (i64, Option<i64>) =
            conn.query_row("SELECT x, y FROM a", [], |row| Ok((row.get(0)?, row.get(1)?))).unwrap();
        assert_eq!(row, (7, None));
    }

    #[test]
    fn a_failed_step_leaves_the_database_as_it_was() {
        let mut conn = Connection::open_in_memory().unwrap();
        let steps = ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER); SELECT * FROM missing"];
        match migrate_with(&mut conn, &steps) {
            Err(failed @ SchemaError::Migration { version: 2, .. }) => {
                assert_eq!(failed.to_string(), "applying schema migration 2: no such table: missing")
            }
            other => panic!("expected migration 2 to fail, got {other:?}"),
        }
        assert_eq!(version(&conn), 0);
        assert!(tables(&conn).is_empty());
    }

    #[test]
    fn the_first_store_schema_is_adopted_as_version_1() {
        // The three tables of the first release, with a row: every later table is added,
        // the row stays.
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE functions (name TEXT PRIMARY KEY, latest TEXT NOT NULL,
                 last_version INTEGER NOT NULL DEFAULT 0, reserved_concurrency INTEGER);
             CREATE TABLE versions (function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                 version INTEGER NOT NULL, config TEXT NOT NULL, PRIMARY KEY (function, version));
             CREATE TABLE aliases (function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
                 name TEXT NOT NULL, version TEXT NOT NULL, description TEXT NOT NULL,
                 revision_id TEXT NOT NULL, PRIMARY KEY (function, name));
             INSERT INTO functions (name, latest) VALUES ('f', '{}');",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), Migrated { from: 0, to: CURRENT, adopted: true });
        // Adopted as version 1, then brought up by the later migrations.
        assert_eq!(version(&conn), i64::from(CURRENT));
        for table in [
            "async_events",
            "tenant_limits",
            "rest_api_stages",
            "usage",
            "provisioned_concurrency",
            "function_urls",
        ] {
            assert!(tables(&conn).contains(&table.to_string()), "{table} was not added");
        }
        let kept: String = conn.query_row("SELECT name FROM functions", [], |row| row.get(0)).unwrap();
        assert_eq!(kept, "f");
    }

    #[test]
    fn newer_and_invalid_versions_are_refused_untouched() {
        for (found, expected) in [(i64::from(CURRENT) + 1, "newer"), (-3, "no Alcove writes")] {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(&format!("CREATE TABLE future (x INTEGER); PRAGMA user_version = {found};"))
                .unwrap();
            let refused = migrate(&mut conn).unwrap_err();
            assert!(refused.to_string().contains(expected), "{refused}");
            assert_eq!(version(&conn), found);
            assert_eq!(tables(&conn), ["future"]);
        }
    }
}
