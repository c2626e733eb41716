//! The embedded SQLite backend: one database file in the data directory, WAL journal,
//! every trait method one `IMMEDIATE` transaction. Configurations are stored as JSON
//! documents keyed by (function, version); the columns beside them are the ones queries
//! filter or order on.
//!
//! This module opens the database (bringing its schema up to date, see [`schema`]) and
//! runs transactions; each feature's SQL lives in its own module as functions over the
//! caller's transaction, and `trait_impls` maps the `Store` and `EventQueue` methods onto
//! them.

use std::path::Path;
use std::sync::{Arc, Mutex};

use alcove_core::{Error, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::cache::FunctionCache;

mod aliases;
mod code_signing;
mod event_configs;
mod function_urls;
mod functions;
mod limits;
mod policies;
mod provisioned;
mod queue;
mod rest_apis;
mod rows;
mod schema;
#[cfg(test)]
mod testing;
mod trait_impls;
mod usage;
mod usage_plans;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// What was read of functions and aliases, dropped on every change to them.
    cache: Arc<FunctionCache>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, migrating it to the current schema. A
    /// database written by a newer Alcove is refused, untouched.
    pub fn open(path: &Path) -> Result<Self> {
        Self::init(Connection::open(path).map_err(rows::sql)?)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(rows::sql)?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "foreign_keys", "ON").map_err(rows::sql)?;
        // The schema first: a database this build must refuse is refused before anything,
        // the journal mode included, is written to it.
        let migrated = schema::migrate(&mut conn).map_err(|e| Error::caused("migrating the database", e))?;
        if migrated.adopted {
            tracing::info!("database from before schema versions adopted as schema version 1");
        }
        if migrated.from != migrated.to {
            tracing::info!(from = migrated.from, to = migrated.to, "database schema migrated");
        }
        // WAL with synchronous=NORMAL survives a killed process (committed pages are in the
        // OS's hands); FULL would only add protection against power loss.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(rows::sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(rows::sql)?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), cache: Arc::default() })
    }

    /// Runs `work` in one transaction on a blocking thread; commits only if it succeeds.
    async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.run(work, None).await
    }

    /// A transaction that changes functions, versions, tags or aliases: the cache is
    /// dropped as soon as it has committed, on the blocking thread and under the
    /// connection's lock, so neither a caller that goes away nor a concurrent read can
    /// leave it holding what the change replaced.
    async fn change_functions<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.run(work, Some(Arc::clone(&self.cache))).await
    }

    async fn run<T, F>(&self, work: F, invalidates: Option<Arc<FunctionCache>>) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(rows::sql)?;
            let value = work(&tx)?;
            tx.commit().map_err(rows::sql)?;
            if let Some(cache) = invalidates {
                cache.invalidate();
            }
            Ok(value)
        })
        .await
        .map_err(|e| Error::caused("the database task", e))?
    }
}

#[cfg(test)]
mod tests {
    use alcove_core::{Alias, AliasName, AliasPatch, LatestUpdate, Store, Version};

    use super::testing::{config, name};
    use super::*;

    #[tokio::test]
    async fn cached_reads_follow_every_change() {
        let store = SqliteStore::open_in_memory().unwrap();
        let f = name("f");
        store.create_function(config("f", "aa"), true).await.unwrap();
        let alias = Alias {
            function: f.clone(),
            name: AliasName::parse("live").unwrap(),
            version: Version::Published(1),
            description: String::new(),
            revision_id: "r".into(),
            routing: None,
        };
        store.create_alias(alias.clone()).await.unwrap();
        // Read twice: the second read is served from the cache.
        for _ in 0..2 {
            assert_eq!(
                store.get_function(&f, Version::Latest).await.unwrap().unwrap().code.sha256_hex,
                "aa".repeat(32)
            );
            assert_eq!(
                store.get_alias(&f, &alias.name).await.unwrap().unwrap().version,
                Version::Published(1)
            );
        }
        let update: LatestUpdate = Box::new(|current| {
            let mut next = current.clone();
            next.code.sha256_hex = "bb".repeat(32);
            Ok(next)
        });
        store.update_latest(&f, update, true).await.unwrap();
        assert_eq!(
            store.get_function(&f, Version::Latest).await.unwrap().unwrap().code.sha256_hex,
            "bb".repeat(32)
        );
        store
            .update_alias(
                &f,
                &alias.name,
                AliasPatch { version: Some(Version::Published(2)), ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(store.get_alias(&f, &alias.name).await.unwrap().unwrap().version, Version::Published(2));
        store.tag_function(&f, [("team".to_string(), "blue".to_string())].into()).await.unwrap();
        assert_eq!(store.get_function(&f, Version::Published(2)).await.unwrap().unwrap().tags.len(), 1);
        store.delete_alias(&f, &alias.name).await.unwrap();
        assert_eq!(store.get_alias(&f, &alias.name).await.unwrap(), None);
        store.delete_function(&f).await.unwrap();
        assert_eq!(store.get_function(&f, Version::Latest).await.unwrap(), None);
        assert_eq!(store.get_function(&f, Version::Published(1)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alcove.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            store.create_function(config("f", "aa"), true).await.unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.get_function(&name("f"), Version::Published(1)).await.unwrap().is_some());
    }
}
