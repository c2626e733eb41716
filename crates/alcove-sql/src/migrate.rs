//! A store's schema version and the numbered steps that bring a database up to it.
//!
//! A user upgrading Alcove keeps their data, so a schema changes only by steps applied in
//! place, each exactly once; step *n* exists in both dialects, written for each, so the two
//! backends always hold the same schema version for the same release. SQLite records the
//! last step applied in its `user_version` header field, PostgreSQL in the store's
//! `schema_version` table. Opening runs the missing steps, all in one transaction with the
//! version bump, so a failure leaves the database as it was; on PostgreSQL the transaction
//! holds the store's advisory lock, so nodes starting together migrate once.
//!
//! Three cases are not simply "apply what is missing":
//! - A SQLite database from before versions has `user_version` 0 but holds data (its
//!   tables were created with `CREATE TABLE IF NOT EXISTS` on every start). A store that
//!   had such releases names one of those tables as `legacy_table`; step 1 is exactly
//!   those statements, so running it over such a database creates only the tables an
//!   older release lacked; the database is then adopted as version 1.
//! - A database written by a newer Alcove (a version above the last known) is refused
//!   before anything is written to it: running old code over a newer schema could
//!   misread or damage rows it does not understand.
//! - A negative version was never written by Alcove; it is refused too.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::database::lock_key;
use crate::SqlError;

/// One schema step, in each dialect.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// A store's schema: its steps in order (index 0 is version 1).
#[derive(Debug)]
pub struct Migrations {
    /// The PostgreSQL schema the store's tables live in.
    pub schema: &'static str,
    pub steps: &'static [Migration],
    /// A table that only an unversioned SQLite database of an early release holds.
    pub legacy_table: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database has schema version {found}, newer than this Alcove knows (up to {known}); \
         it was written by a newer Alcove, so run that version (or a later one) on it"
    )]
    Newer { found: i64, known: u32 },
    #[error("the database has schema version {0}, which no Alcove writes")]
    Invalid(i64),
    #[error("applying schema migration {version}: {}", brief(.source))]
    Step { version: u32, source: SqlError },
    #[error("reading or writing the schema version: {0}")]
    Database(#[from] SqlError),
}

/// The database's message without the statement text, which for a step is its whole file.
fn brief(error: &SqlError) -> String {
    match error {
        SqlError::Sqlite(rusqlite::Error::SqlInputError { msg, .. }) => msg.clone(),
        other => other.to_string(),
    }
}

/// What opening found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub from: u32,
    pub to: u32,
    /// An unversioned SQLite database was adopted as version 1.
    pub adopted: bool,
}

fn check(found: i64, known: u32) -> Result<u32, MigrationError> {
    match u32::try_from(found) {
        Err(_) => Err(MigrationError::Invalid(found)),
        Ok(from) if from > known => Err(MigrationError::Newer { found, known }),
        Ok(from) => Ok(from),
    }
}

pub(crate) fn sqlite(conn: &mut Connection, migrations: &Migrations) -> Result<Migrated, MigrationError> {
    let known = migrations.steps.len() as u32;
    // IMMEDIATE: a second process opening the same file waits rather than migrating twice.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(SqlError::from)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(SqlError::from)?;
    let from = check(found, known)?;
    let adopted = match migrations.legacy_table {
        Some(table) if from == 0 => tx
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |_| Ok(()))
            .optional()
            .map_err(SqlError::from)?
            .is_some(),
        _ => false,
    };
    for (version, step) in (1..).zip(migrations.steps).skip(from as usize) {
        tx.execute_batch(step.sqlite).map_err(|e| MigrationError::Step { version, source: e.into() })?;
        tx.pragma_update(None, "user_version", version).map_err(SqlError::from)?;
    }
    tx.commit().map_err(SqlError::from)?;
    Ok(Migrated { from, to: known, adopted })
}

pub(crate) async fn postgres(
    pool: &deadpool_postgres::Pool,
    migrations: &Migrations,
) -> Result<Migrated, MigrationError> {
    let known = migrations.steps.len() as u32;
    let mut client = pool.get().await.map_err(|e| SqlError::Pool(e.to_string()))?;
    let tx = client.transaction().await.map_err(SqlError::from)?;
    // A key of its own (not the store's write lock, which the steps' statements do not
    // need): nodes starting together create the schema and migrate one at a time.
    let key = lock_key(&format!("migrate {}", migrations.schema));
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key]).await.map_err(SqlError::from)?;
    let schema = migrations.schema;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_version (version BIGINT NOT NULL);"
    ))
    .await
    .map_err(SqlError::from)?;
    let found: i64 = match tx
        .query_opt(&format!("SELECT version FROM {schema}.schema_version"), &[])
        .await
        .map_err(SqlError::from)?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute(&format!("INSERT INTO {schema}.schema_version (version) VALUES (0)"), &[])
                .await
                .map_err(SqlError::from)?;
            0
        }
    };
    let from = check(found, known)?;
    for (version, step) in (1..).zip(migrations.steps).skip(from as usize) {
        tx.batch_execute(step.postgres)
            .await
            .map_err(|e| MigrationError::Step { version, source: e.into() })?;
        tx.execute(&format!("UPDATE {schema}.schema_version SET version = $1"), &[&i64::from(version)])
            .await
            .map_err(SqlError::from)?;
    }
    tx.commit().await.map_err(SqlError::from)?;
    Ok(Migrated { from, to: known, adopted: false })
}

impl crate::Database {
    pub(crate) async fn migrate(&self, migrations: &'static Migrations) -> Result<Migrated, MigrationError> {
        match self.postgres_pool() {
            Some(pool) => postgres(pool, migrations).await,
            None => {
                let this = self.clone();
                tokio::task::spawn_blocking(move || this.with_sqlite(|conn| sqlite(conn, migrations)))
                    .await
                    .map_err(|e| SqlError::Task(e.to_string()))?
            }
        }
    }
}
