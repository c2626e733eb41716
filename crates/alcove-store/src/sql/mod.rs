//! The store on SQL: the embedded SQLite file in the data directory (the default) or a
//! PostgreSQL database every node shares (`alcove serve --store postgres://...`), one copy
//! of the SQL for both (see `alcove_sql`). Configurations are stored as JSON documents keyed
//! by (function, version); the columns beside them are the ones queries filter or order on.
//!
//! This module opens the database (bringing its schema up to date, see [`schema`]) and
//! runs transactions: a method that only reads runs a read transaction (concurrent on
//! PostgreSQL, on one snapshot), one that may write runs a write transaction (serialized
//! with every other write of this store, on this node or any other). Each feature's SQL
//! lives in its own module as functions over the caller's transaction, and `trait_impls`
//! maps the `Store` and `EventQueue` methods onto them.

use std::sync::{Arc, RwLock};

use alcove_core::{Error, Result};
use alcove_sql::{Database, Location, Tx};

use crate::cache::FunctionCache;

mod aliases;
mod changes;
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

/// The store's SQLite file in the data directory.
pub const SQLITE_FILE: &str = "alcove.db";

#[derive(Clone)]
pub struct SqlStore {
    database: Database,
    /// What was read of functions and aliases, dropped on every change to them.
    cache: Arc<FunctionCache>,
    /// Who this node is in a cluster sharing the store, for the async queue.
    queue_sharing: Arc<RwLock<Option<QueueSharing>>>,
}

/// This node's name and where to read who else is in the cluster now.
#[derive(Clone)]
struct QueueSharing {
    node: String,
    live: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
}

impl SqlStore {
    /// Opens (or creates) the store at `location`, migrating it to the current schema. A
    /// database written by a newer Alcove is refused, untouched.
    pub async fn open(location: &Location) -> Result<Self> {
        let (database, migrated) = Database::open(location, SQLITE_FILE, &schema::MIGRATIONS)
            .await
            .map_err(|e| Error::caused("migrating the database", e))?;
        if migrated.adopted {
            tracing::info!("database from before schema versions adopted as schema version 1");
        }
        if migrated.from != migrated.to {
            tracing::info!(from = migrated.from, to = migrated.to, "database schema migrated");
        }
        let cache = Arc::<FunctionCache>::default();
        if let Location::Postgres(url) = location {
            changes::follow(url.clone(), Arc::downgrade(&cache));
        }
        Ok(SqlStore { database, cache, queue_sharing: Arc::default() })
    }

    /// Shares the async queue with the other nodes of a cluster: this node takes events
    /// as `node`, and leaves alone those held by the nodes `live` names (read at each
    /// look at the queue). Until called, the queue is this node's alone.
    pub fn share_queue(&self, node: String, live: impl Fn() -> Vec<String> + Send + Sync + 'static) {
        *self.queue_sharing.write().unwrap_or_else(|p| p.into_inner()) =
            Some(QueueSharing { node, live: Arc::new(live) });
    }

    fn claimant(&self) -> Option<queue::Claimant> {
        let sharing = self.queue_sharing.read().unwrap_or_else(|p| p.into_inner()).clone()?;
        Some(queue::Claimant { node: sharing.node, live: (sharing.live)() })
    }

    /// A store in memory, for tests.
    pub async fn open_in_memory() -> Result<Self> {
        Self::open(&Location::Memory).await
    }

    /// Runs `work` in one read-only transaction.
    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T> + Send + 'static,
    {
        self.database.read(|tx| work(tx).map_err(Failed::Domain)).await.map_err(Failed::into_error)
    }

    /// Runs `work` in one write transaction; commits only if it succeeds.
    async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T> + Send + 'static,
    {
        self.database.write(|tx| work(tx).map_err(Failed::Domain)).await.map_err(Failed::into_error)
    }

    /// A transaction that changes functions, versions, tags or aliases: the cache is
    /// dropped as soon as it has committed, in a task of its own, so a caller that goes
    /// away cannot leave it holding what the change replaced (and the cache's generation
    /// keeps a concurrent read from storing it again); other nodes sharing the store drop
    /// theirs when they hear of it (see `changes`).
    async fn change_functions<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T> + Send + 'static,
    {
        let (database, cache) = (self.database.clone(), Arc::clone(&self.cache));
        tokio::spawn(async move {
            let value = database
                .write(|tx| {
                    let value = work(tx).map_err(Failed::Domain)?;
                    changes::announce(tx).map_err(Failed::Domain)?;
                    Ok(value)
                })
                .await
                .map_err(Failed::into_error);
            if value.is_ok() {
                cache.invalidate();
            }
            value
        })
        .await
        .map_err(|e| Error::caused("the database task", e))?
    }
}

/// Why a transaction failed: the work's own error, or the database (beginning or
/// committing the transaction).
enum Failed {
    Domain(Error),
    Sql(alcove_sql::SqlError),
}

impl From<alcove_sql::SqlError> for Failed {
    fn from(e: alcove_sql::SqlError) -> Self {
        Failed::Sql(e)
    }
}

impl Failed {
    fn into_error(self) -> Error {
        match self {
            Failed::Domain(e) => e,
            Failed::Sql(e) => rows::sql(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use alcove_core::{Alias, AliasName, AliasPatch, LatestUpdate, Store, Version};

    use super::testing::{config, name};
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_reads_follow_every_change() {
        for store in crate::sql::testing::stores().await {
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
            assert_eq!(
                store.get_alias(&f, &alias.name).await.unwrap().unwrap().version,
                Version::Published(2)
            );
            store.tag_function(&f, [("team".to_string(), "blue".to_string())].into()).await.unwrap();
            assert_eq!(store.get_function(&f, Version::Published(2)).await.unwrap().unwrap().tags.len(), 1);
            store.delete_alias(&f, &alias.name).await.unwrap();
            assert_eq!(store.get_alias(&f, &alias.name).await.unwrap(), None);
            store.delete_function(&f).await.unwrap();
            assert_eq!(store.get_function(&f, Version::Latest).await.unwrap(), None);
            assert_eq!(store.get_function(&f, Version::Published(1)).await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Sqlite(dir.path().to_owned());
        {
            let store = SqlStore::open(&location).await.unwrap();
            store.create_function(config("f", "aa"), true).await.unwrap();
        }
        let store = SqlStore::open(&location).await.unwrap();
        assert!(store.get_function(&name("f"), Version::Published(1)).await.unwrap().is_some());
    }
}

/// Two nodes on one PostgreSQL store (runs when `ALCOVE_TEST_POSTGRES` names a server).
#[cfg(test)]
mod shared_tests {
    use std::time::Duration;

    use alcove_core::{Store, Version};

    use super::testing::{config, name};
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_on_one_node_reaches_the_cache_of_another() {
        let Ok(url) = std::env::var(alcove_sql::TEST_POSTGRES) else { return };
        let location = alcove_sql::scratch_database(&url).await.unwrap();
        let (one, two) = (SqlStore::open(&location).await.unwrap(), SqlStore::open(&location).await.unwrap());
        let f = name("f");
        one.create_function(config("f", "aa"), true).await.unwrap();
        // The second node reads it (and caches it).
        for _ in 0..2 {
            assert!(two.get_function(&f, Version::Latest).await.unwrap().is_some());
        }
        one.tag_function(&f, [("team".to_string(), "blue".to_string())].into()).await.unwrap();
        let tagged = async {
            loop {
                if two.get_function(&f, Version::Latest).await.unwrap().unwrap().tags.len() == 1 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(2), tagged).await.expect("the tag reached the other node");
        one.delete_function(&f).await.unwrap();
        let gone = async {
            while two.get_function(&f, Version::Published(1)).await.unwrap().is_some() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(2), gone).await.expect("the delete reached the other node");
    }
}
