//! The store's schema: its numbered steps, each written for SQLite and for PostgreSQL
//! (`migrations/sqlite/000n_*.sql`, `migrations/postgres/000n_*.sql`), applied in place by
//! `alcove_sql`'s migration runner so an upgrade keeps every record.
//!
//! Step 1 in SQLite is exactly the `CREATE TABLE IF NOT EXISTS` statements the store ran
//! on every start before schema versions existed: a database of those releases (version 0
//! but holding the `functions` table) is adopted by running it, which adds only the tables
//! an older release lacked. That is why the SQLite step 1 must stay idempotent; later
//! steps need not be. PostgreSQL support came after versions, so its steps are plain.
//!
//! A future SQLite step that rebuilds a table (SQLite's only way to change most column
//! definitions) needs `foreign_keys` off, or dropping the old table fires the cascades;
//! the pragma is a no-op inside a transaction, so the runner would have to turn it off
//! before opening its own.

use alcove_sql::{Migration, Migrations};

macro_rules! step {
    ($file:literal) => {
        Migration {
            sqlite: include_str!(concat!("../../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../../migrations/postgres/", $file)),
        }
    };
}

/// Every step, in order: index 0 is version 1.
pub(crate) static MIGRATIONS: Migrations = Migrations {
    schema: "lambda",
    steps: &[
        step!("0001_initial.sql"),
        step!("0002_alias_routing.sql"),
        step!("0003_provisioned_concurrency.sql"),
        step!("0004_function_urls_code_signing.sql"),
        step!("0005_api_keys_usage_plans.sql"),
        step!("0006_async_event_claims.sql"),
    ],
    legacy_table: Some("functions"),
};

#[cfg(test)]
mod tests {
    use alcove_sql::{Database, Location, Migrated};

    use super::*;

    const CURRENT: u32 = MIGRATIONS.steps.len() as u32;

    fn tables(path: &std::path::Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt =
            conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        let names = stmt.query_map([], |row| row.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
        names
    }

    #[tokio::test]
    async fn a_new_database_gets_every_step_on_both_backends() {
        for location in alcove_sql::test_locations().await {
            let (_, migrated) = Database::open(&location, "alcove.db", &MIGRATIONS).await.unwrap();
            assert_eq!(
                migrated,
                Migrated { from: 0, to: CURRENT, adopted: false },
                "{}",
                location.describe()
            );
            if !matches!(location, Location::Memory) {
                // Opening again applies nothing.
                let (_, again) = Database::open(&location, "alcove.db", &MIGRATIONS).await.unwrap();
                assert_eq!(again, Migrated { from: CURRENT, to: CURRENT, adopted: false });
            }
        }
    }

    #[tokio::test]
    async fn the_first_store_schema_is_adopted_as_version_1() {
        // The three tables of the first release, with a row: every later table is added,
        // the row stays.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alcove.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
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
        let location = Location::Sqlite(dir.path().to_owned());
        let (database, migrated) = Database::open(&location, "alcove.db", &MIGRATIONS).await.unwrap();
        assert_eq!(migrated, Migrated { from: 0, to: CURRENT, adopted: true });
        for table in [
            "async_events",
            "tenant_limits",
            "rest_api_stages",
            "usage",
            "provisioned_concurrency",
            "function_urls",
        ] {
            assert!(tables(&path).contains(&table.to_string()), "{table} was not added");
        }
        let kept: String = database
            .read(|tx| tx.query_one("SELECT name FROM functions", &[])?.get::<String>(0))
            .await
            .map_err(|e: alcove_sql::SqlError| e)
            .unwrap();
        assert_eq!(kept, "f");
    }
}
