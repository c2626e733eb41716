//! Where a store's database is and how its work runs there.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use rusqlite::{Connection, TransactionBehavior};
use tokio::runtime::Handle;

use crate::migrate::{self, Migrated, MigrationError, Migrations};
use crate::postgres::PgTx;
use crate::sqlite::SqliteTx;
use crate::{Dialect, SqlError, Tx};

/// Where the stores keep their state: `alcove serve --store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// SQLite files in this directory (the data directory by default), one per store.
    Sqlite(PathBuf),
    /// SQLite in memory, for tests.
    Memory,
    /// A PostgreSQL database every node shares (`postgres://` or `postgresql://` URL),
    /// each store in its own schema.
    Postgres(String),
}

impl Location {
    /// A `postgres://` / `postgresql://` URL, or `sqlite:` followed by a directory.
    pub fn parse(text: &str) -> Result<Location, SqlError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            text.parse::<tokio_postgres::Config>()
                .map_err(|e| SqlError::Location(redact(text), e.to_string()))?;
            Ok(Location::Postgres(text.to_owned()))
        } else if let Some(dir) = text.strip_prefix("sqlite:") {
            if dir.is_empty() {
                return Err(SqlError::Location(text.into(), "name a directory after sqlite:".into()));
            }
            Ok(Location::Sqlite(PathBuf::from(dir)))
        } else {
            Err(SqlError::Location(
                redact(text),
                "expected postgres://user@host/database or sqlite:DIRECTORY".into(),
            ))
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// For messages and logs: the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(dir) => format!("SQLite in {}", dir.display()),
            Location::Memory => "SQLite in memory".into(),
            Location::Postgres(url) => format!("PostgreSQL at {}", redact(url)),
        }
    }
}

/// A connection URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
    .split("password=")
    .next()
    .map(str::to_owned)
    .unwrap_or_default()
}

/// One store's database: cheap to clone, shared by its users.
#[derive(Clone)]
pub struct Database {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// One connection: SQLite has one writer, and the stores' work is short.
    Sqlite(Arc<Mutex<Connection>>),
    Postgres {
        pool: Pool,
        /// Serializes this store's write transactions across every node.
        write_lock: i64,
        /// The runtime the pool's connections run on, for work from plain threads.
        runtime: Handle,
    },
}

/// How many connections one node opens to PostgreSQL for one store.
const POOL_SIZE: usize = 16;

impl Database {
    /// Opens the store's database at `location`, bringing its schema up to date (or
    /// refusing one written by a newer Alcove, untouched). For SQLite, `file` names the
    /// store's file in the directory; on PostgreSQL the store lives in the schema its
    /// migrations name.
    pub async fn open(
        location: &Location,
        file: &str,
        migrations: &'static Migrations,
    ) -> Result<(Database, Migrated), MigrationError> {
        let database = match location {
            Location::Sqlite(dir) => {
                Database::sqlite(Connection::open(dir.join(file)).map_err(SqlError::from)?)?
            }
            Location::Memory => Database::sqlite(Connection::open_in_memory().map_err(SqlError::from)?)?,
            Location::Postgres(url) => Database::postgres(url, migrations.schema).await?,
        };
        let migrated = database.migrate(migrations).await?;
        if let Backend::Sqlite(conn) = &database.backend {
            // WAL with synchronous=NORMAL survives a killed process (committed pages are in
            // the OS's hands); FULL would only add protection against power loss. Set after
            // the schema check, so a database this build refuses is left as it was.
            let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !matches!(location, Location::Memory) {
                conn.pragma_update(None, "journal_mode", "WAL").map_err(SqlError::from)?;
            }
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(SqlError::from)?;
        }
        Ok((database, migrated))
    }

    /// Opens a SQLite file synchronously, for stores whose callers are not async.
    pub fn open_sqlite_blocking(
        path: &Path,
        migrations: &'static Migrations,
    ) -> Result<(Database, Migrated), MigrationError> {
        let database = Database::sqlite(Connection::open(path).map_err(SqlError::from)?)?;
        let migrated = database.with_sqlite(|conn| migrate::sqlite(conn, migrations))?;
        Ok((database, migrated))
    }

    /// Runs `work` on the SQLite connection; only called on a SQLite database.
    pub(crate) fn with_sqlite<T>(&self, work: impl FnOnce(&mut Connection) -> T) -> T {
        let Backend::Sqlite(conn) = &self.backend else { unreachable!("called on a SQLite database") };
        let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut conn)
    }

    fn sqlite(conn: Connection) -> Result<Database, SqlError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Database { backend: Backend::Sqlite(Arc::new(Mutex::new(conn))) })
    }

    async fn postgres(url: &str, schema: &'static str) -> Result<Database, SqlError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| SqlError::Location(redact(url), e.to_string()))?;
        // Every statement of this store names its tables unqualified: they resolve in its schema.
        config.options(format!("-c search_path={schema}"));
        if config.get_application_name().is_none() {
            config.application_name("alcove");
        }
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| SqlError::Pool(e.to_string()))?;
        Ok(Database {
            backend: Backend::Postgres { pool, write_lock: lock_key(schema), runtime: Handle::current() },
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// The PostgreSQL pool, for the few callers that speak to PostgreSQL directly
    /// (notifications, membership). `None` on SQLite.
    pub fn postgres_pool(&self) -> Option<&Pool> {
        match &self.backend {
            Backend::Postgres { pool, .. } => Some(pool),
            Backend::Sqlite(_) => None,
        }
    }

    /// Runs `work` as one transaction that may write, serialized with every other write
    /// of this store; commits only if it returns `Ok`.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqlError> + Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, E> + Send + 'static,
    {
        self.run(Mode::Write, work).await
    }

    /// Runs `work` as one read-only transaction on a consistent snapshot.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqlError> + Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, E> + Send + 'static,
    {
        self.run(Mode::Read, work).await
    }

    /// [`Database::write`] for callers on a plain thread: a thread of their own or a
    /// blocking task, never an async worker (where waiting would stall the runtime; there,
    /// use [`Database::write`]).
    pub fn write_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        E: From<SqlError>,
        F: FnOnce(&dyn Tx) -> Result<T, E>,
    {
        self.run_blocking(Mode::Write, work)
    }

    /// [`Database::read`] for callers on a plain thread, as [`Database::write_blocking`].
    pub fn read_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        E: From<SqlError>,
        F: FnOnce(&dyn Tx) -> Result<T, E>,
    {
        self.run_blocking(Mode::Read, work)
    }

    fn run_blocking<T, E, F>(&self, mode: Mode, work: F) -> Result<T, E>
    where
        E: From<SqlError>,
        F: FnOnce(&dyn Tx) -> Result<T, E>,
    {
        match &self.backend {
            Backend::Sqlite(conn) => sqlite_transaction(conn, mode, work),
            Backend::Postgres { pool, runtime, .. } => {
                let client = runtime.block_on(pool.get()).map_err(|e| SqlError::Pool(e.to_string()))?;
                self.postgres_transaction(client, runtime.clone(), mode, work)
            }
        }
    }

    async fn run<T, E, F>(&self, mode: Mode, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqlError> + Send + 'static,
        F: FnOnce(&dyn Tx) -> Result<T, E> + Send + 'static,
    {
        let task = match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = Arc::clone(conn);
                tokio::task::spawn_blocking(move || sqlite_transaction(&conn, mode, work))
            }
            Backend::Postgres { pool, .. } => {
                // The connection is awaited here, not on the blocking thread, so waiting for
                // one holds no thread.
                let client = pool.get().await.map_err(|e| SqlError::Pool(e.to_string()))?;
                let this = self.clone();
                let handle = Handle::current();
                tokio::task::spawn_blocking(move || this.postgres_transaction(client, handle, mode, work))
            }
        };
        task.await.map_err(|e| SqlError::Task(e.to_string()))?
    }

    fn postgres_transaction<T, E, F>(
        &self,
        mut client: deadpool_postgres::Object,
        handle: Handle,
        mode: Mode,
        work: F,
    ) -> Result<T, E>
    where
        E: From<SqlError>,
        F: FnOnce(&dyn Tx) -> Result<T, E>,
    {
        let Backend::Postgres { write_lock, .. } = self.backend else { unreachable!("postgres backend") };
        let tx = handle
            .block_on(async {
                let builder = client.build_transaction();
                match mode {
                    Mode::Write => {
                        let tx = builder.start().await?;
                        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&write_lock]).await?;
                        Ok(tx)
                    }
                    Mode::Read => {
                        builder
                            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                            .read_only(true)
                            .start()
                            .await
                    }
                }
            })
            .map_err(SqlError::from)?;
        let value = work(&PgTx { tx: &tx, handle: handle.clone() });
        match value {
            Ok(value) => {
                handle.block_on(tx.commit()).map_err(SqlError::from)?;
                Ok(value)
            }
            Err(e) => {
                // A failed rollback leaves the connection broken; the pool's recycling
                // check discards it.
                let _ = handle.block_on(tx.rollback());
                Err(e)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Read,
    Write,
}

fn sqlite_transaction<T, E, F>(conn: &Mutex<Connection>, mode: Mode, work: F) -> Result<T, E>
where
    E: From<SqlError>,
    F: FnOnce(&dyn Tx) -> Result<T, E>,
{
    let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let behavior = match mode {
        Mode::Write => TransactionBehavior::Immediate,
        Mode::Read => TransactionBehavior::Deferred,
    };
    let tx = conn.transaction_with_behavior(behavior).map_err(SqlError::from)?;
    let value = work(&SqliteTx(&tx))?;
    tx.commit().map_err(SqlError::from)?;
    Ok(value)
}

/// A stable 64-bit key for a store's advisory lock: FNV-1a of its schema name, the same on
/// every node and every build.
pub(crate) fn lock_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_hide_passwords() {
        assert_eq!(Location::parse("sqlite:/tmp/x").unwrap(), Location::Sqlite("/tmp/x".into()));
        let url = "postgres://alcove:secret@db.internal:5432/alcove";
        let location = Location::parse(url).unwrap();
        assert!(location.is_shared());
        assert_eq!(location.describe(), "PostgreSQL at postgres://alcove:***@db.internal:5432/alcove");
        let refused = Location::parse("mysql://root:pw@h/db").unwrap_err().to_string();
        assert!(!refused.contains("pw"), "{refused}");
    }

    #[test]
    fn lock_keys_are_stable() {
        assert_eq!(lock_key("lambda"), lock_key("lambda"));
        assert_ne!(lock_key("lambda"), lock_key("logs"));
    }
}
