//! The embedded SQLite backend: one database file in the data directory, WAL journal,
//! every trait method one `IMMEDIATE` transaction. Configurations are stored as JSON
//! documents keyed by (function, version); the columns beside them are the ones queries
//! filter or order on.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::cache::FunctionCache;
use alcove_core::apigateway::{Deployment, RestApi, Stage};
use alcove_core::store::{AccountUsage, LatestUpdate, PublishRequest};
use alcove_core::{
    plan_publish, validate_tags, Alias, AliasName, AliasPatch, Architecture, DeadLetter, Error,
    EventInvokeConfig, EventQueue, FunctionConfig, FunctionName, Page, QueuedEvent, Result, Store, Tags,
    TenantId, TenantLimits, UsageCounters, UsageFilter, UsageKey, UsageRecord, Version,
};
use alcove_core::{DeploymentRequest, RestApiUpdate, StageLookup};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::rest_apis;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS functions (
    name                 TEXT PRIMARY KEY,
    latest               TEXT NOT NULL,
    last_version         INTEGER NOT NULL DEFAULT 0,
    reserved_concurrency INTEGER
);
CREATE TABLE IF NOT EXISTS versions (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version  INTEGER NOT NULL,
    config   TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    function    TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
CREATE TABLE IF NOT EXISTS async_events (
    id              TEXT PRIMARY KEY,
    function        TEXT NOT NULL,
    version         TEXT NOT NULL,
    qualifier       TEXT,
    tenant          TEXT,
    payload         BLOB NOT NULL,
    client_context  TEXT,
    attempts        INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    enqueued_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS async_events_due ON async_events (next_attempt_ms);
CREATE TABLE IF NOT EXISTS usage (
    function     TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    memory_mb    INTEGER NOT NULL,
    invocations  INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    throttles    INTEGER NOT NULL,
    cold_starts  INTEGER NOT NULL,
    init_ms      REAL NOT NULL,
    duration_ms  REAL NOT NULL,
    billed_ms    INTEGER NOT NULL,
    PRIMARY KEY (function, tenant, hour, architecture, memory_mb)
);
CREATE TABLE IF NOT EXISTS event_invoke_configs (
    function  TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    config    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS policy_statements (
    function     TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier    TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    statement    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier, statement_id)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id        TEXT PRIMARY KEY,
    function  TEXT NOT NULL,
    failed_ms INTEGER NOT NULL,
    letter    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_function ON dead_letters (function, failed_ms);
CREATE TABLE IF NOT EXISTS tenant_limits (
    function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    limits   TEXT NOT NULL
);
"#;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// What was read of functions and aliases, dropped on every change to them.
    cache: Arc<FunctionCache>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(Error::internal)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(Error::internal)?)
    }

    fn init(conn: Connection) -> Result<Self> {
        // WAL with synchronous=NORMAL survives a killed process (committed pages are in the
        // OS's hands); FULL would only add protection against power loss.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(Error::internal)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(Error::internal)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(Error::internal)?;
        conn.execute_batch(SCHEMA).map_err(Error::internal)?;
        conn.execute_batch(rest_apis::SCHEMA).map_err(Error::internal)?;
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
            let tx =
                conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::internal)?;
            let value = work(&tx)?;
            tx.commit().map_err(Error::internal)?;
            if let Some(cache) = invalidates {
                cache.invalidate();
            }
            Ok(value)
        })
        .await
        .map_err(Error::internal)?
    }
}

pub(crate) fn sql(e: rusqlite::Error) -> Error {
    Error::internal(format!("database: {e}"))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::internal(format!("corrupt record: {e}")))
}

fn not_found(name: &FunctionName) -> Error {
    Error::NotFound(format!("Function not found: {name}"))
}

fn load_latest(tx: &Transaction<'_>, name: &FunctionName) -> Result<Option<(FunctionConfig, u64)>> {
    tx.query_row(
        "SELECT latest, last_version FROM functions WHERE name = ?1",
        params![name.as_str()],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )
    .optional()
    .map_err(sql)?
    .map(|(raw, last)| Ok((from_json(&raw)?, last as u64)))
    .transpose()
}

fn load_version(tx: &Transaction<'_>, name: &FunctionName, version: u64) -> Result<Option<FunctionConfig>> {
    tx.query_row(
        "SELECT config FROM versions WHERE function = ?1 AND version = ?2",
        params![name.as_str(), version as i64],
        |row| row.get::<_, String>(0),
    )
    .optional()
    .map_err(sql)?
    .map(|raw| from_json(&raw))
    .transpose()
}

fn newest_version(tx: &Transaction<'_>, name: &FunctionName) -> Result<Option<FunctionConfig>> {
    tx.query_row(
        "SELECT config FROM versions WHERE function = ?1 ORDER BY version DESC LIMIT 1",
        params![name.as_str()],
        |row| row.get::<_, String>(0),
    )
    .optional()
    .map_err(sql)?
    .map(|raw| from_json(&raw))
    .transpose()
}

/// Publishes `$LATEST` as it stands in the transaction, per the shared publishing rule.
fn publish_in(tx: &Transaction<'_>, name: &FunctionName, request: &PublishRequest) -> Result<FunctionConfig> {
    let (latest, last_number) = load_latest(tx, name)?.ok_or_else(|| not_found(name))?;
    let newest = newest_version(tx, name)?;
    match plan_publish(&latest, newest.as_ref(), last_number, request)? {
        None => Ok(newest.expect("plan_publish reuses only an existing version")),
        Some(version) => {
            let Version::Published(number) = version.version else {
                return Err(Error::internal("publish planned an unnumbered version"));
            };
            tx.execute(
                "INSERT INTO versions (function, version, config) VALUES (?1, ?2, ?3)",
                params![name.as_str(), number as i64, to_json(&version)?],
            )
            .map_err(sql)?;
            tx.execute(
                "UPDATE functions SET last_version = ?2 WHERE name = ?1",
                params![name.as_str(), number as i64],
            )
            .map_err(sql)?;
            Ok(version)
        }
    }
}

/// Tags belong to the function, so `$LATEST` and every version carry the same ones.
fn set_tags(tx: &Transaction<'_>, name: &FunctionName, tags: &Tags) -> Result<()> {
    let tags = to_json(tags)?;
    tx.execute(
        "UPDATE functions SET latest = json_set(latest, '$.tags', json(?2)) WHERE name = ?1",
        params![name.as_str(), tags],
    )
    .map_err(sql)?;
    tx.execute(
        "UPDATE versions SET config = json_set(config, '$.tags', json(?2)) WHERE function = ?1",
        params![name.as_str(), tags],
    )
    .map_err(sql)?;
    Ok(())
}

fn version_exists(tx: &Transaction<'_>, name: &FunctionName, version: Version) -> Result<bool> {
    match version {
        Version::Latest => Ok(true),
        Version::Published(n) => Ok(load_version(tx, name, n)?.is_some()),
    }
}

fn alias_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn alias_from_parts(
    (function, name, version, description, revision_id): (String, String, String, String, String),
) -> Result<Alias> {
    Ok(Alias {
        function: FunctionName::parse(&function)?,
        name: AliasName::parse(&name)?,
        version: from_json(&format!("\"{version}\""))?,
        description,
        revision_id,
    })
}

/// Splits a listing fetched with one row of look-ahead into a page and its next marker.
pub(crate) fn paginate<T>(mut items: Vec<T>, limit: usize, marker_of: impl Fn(&T) -> String) -> Page<T> {
    let next_marker = if items.len() > limit {
        items.truncate(limit);
        items.last().map(marker_of)
    } else {
        None
    };
    Page { items, next_marker }
}

const ALIAS_COLUMNS: &str = "function, name, version, description, revision_id";

fn load_alias(tx: &Transaction<'_>, function: &FunctionName, name: &AliasName) -> Result<Option<Alias>> {
    tx.query_row(
        &format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE function = ?1 AND name = ?2"),
        params![function.as_str(), name.as_str()],
        alias_from_row,
    )
    .optional()
    .map_err(sql)?
    .map(alias_from_parts)
    .transpose()
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_function(&self, latest: FunctionConfig, publish: bool) -> Result<FunctionConfig> {
        self.change_functions(move |tx| {
            let name = latest.name.clone();
            let inserted = tx
                .execute(
                    "INSERT INTO functions (name, latest) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    params![name.as_str(), to_json(&latest)?],
                )
                .map_err(sql)?;
            if inserted == 0 {
                return Err(Error::Conflict(format!("Function already exist: {name}")));
            }
            if publish {
                publish_in(tx, &name, &PublishRequest::default())
            } else {
                Ok(latest)
            }
        })
        .await
    }

    async fn get_function(&self, name: &FunctionName, version: Version) -> Result<Option<FunctionConfig>> {
        if let Some(config) = self.cache.function(name, version) {
            return Ok(Some(config));
        }
        let generation = self.cache.generation();
        let name = name.clone();
        let found = self
            .transaction(move |tx| match version {
                Version::Latest => Ok(load_latest(tx, &name)?.map(|(config, _)| config)),
                Version::Published(n) => load_version(tx, &name, n),
            })
            .await?;
        if let Some(config) = &found {
            self.cache.keep_function(generation, version, config);
        }
        Ok(found)
    }

    async fn list_functions(
        &self,
        all_versions: bool,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionConfig>> {
        // Rows are ordered by (name, version) with `$LATEST` as version 0; the marker is
        // the last row's "name:version".
        let (after_name, after_version) = match marker.as_deref().map(|m| m.rsplit_once(':')) {
            None => (String::new(), -1i64),
            Some(Some((name, version))) => (name.to_owned(), version.parse::<i64>().unwrap_or(i64::MAX)),
            Some(None) => return Err(Error::invalid("Invalid marker")),
        };
        self.transaction(move |tx| {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT n, v, c FROM (SELECT name AS n, 0 AS v, latest AS c FROM functions{})
                     WHERE n > ?1 OR (n = ?1 AND v > ?2) ORDER BY n, v LIMIT ?3",
                    if all_versions {
                        " UNION ALL SELECT function, version, config FROM versions"
                    } else {
                        ""
                    }
                ))
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![after_name, after_version, (limit + 1) as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?))
                })
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            let items = rows
                .into_iter()
                .map(|(name, version, raw)| Ok((name, version, from_json::<FunctionConfig>(&raw)?)))
                .collect::<Result<Vec<_>>>()?;
            let page = paginate(items, limit, |(name, version, _)| format!("{name}:{version}"));
            Ok(Page {
                items: page.items.into_iter().map(|(_, _, c)| c).collect(),
                next_marker: page.next_marker,
            })
        })
        .await
    }

    async fn list_versions(
        &self,
        name: &FunctionName,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<FunctionConfig>> {
        let name = name.clone();
        let after = match marker.as_deref() {
            None => -1i64,
            Some(m) => m.parse::<i64>().map_err(|_| Error::invalid("Invalid marker"))?,
        };
        self.transaction(move |tx| {
            let (latest, _) = load_latest(tx, &name)?.ok_or_else(|| not_found(&name))?;
            let mut items = Vec::new();
            if after < 0 {
                items.push(latest);
            }
            let mut stmt = tx
                .prepare("SELECT config FROM versions WHERE function = ?1 AND version > ?2 ORDER BY version LIMIT ?3")
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![name.as_str(), after.max(0), (limit + 1) as i64], |row| row.get::<_, String>(0))
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            for raw in rows {
                items.push(from_json(&raw)?);
            }
            Ok(paginate(items, limit, |c: &FunctionConfig| match c.version {
                Version::Latest => "0".to_owned(),
                Version::Published(n) => n.to_string(),
            }))
        })
        .await
    }

    async fn update_latest(
        &self,
        name: &FunctionName,
        update: LatestUpdate,
        publish: bool,
    ) -> Result<FunctionConfig> {
        let name = name.clone();
        self.change_functions(move |tx| {
            let (current, _) = load_latest(tx, &name)?.ok_or_else(|| not_found(&name))?;
            let next = update(&current)?;
            tx.execute(
                "UPDATE functions SET latest = ?2 WHERE name = ?1",
                params![name.as_str(), to_json(&next)?],
            )
            .map_err(sql)?;
            if publish {
                publish_in(tx, &name, &PublishRequest::default())
            } else {
                Ok(next)
            }
        })
        .await
    }

    async fn publish_version(&self, name: &FunctionName, request: PublishRequest) -> Result<FunctionConfig> {
        let name = name.clone();
        self.change_functions(move |tx| publish_in(tx, &name, &request)).await
    }

    async fn delete_function(&self, name: &FunctionName) -> Result<()> {
        let name = name.clone();
        self.change_functions(move |tx| {
            let deleted =
                tx.execute("DELETE FROM functions WHERE name = ?1", params![name.as_str()]).map_err(sql)?;
            if deleted == 0 {
                return Err(not_found(&name));
            }
            Ok(())
        })
        .await
    }

    async fn tag_function(&self, name: &FunctionName, tags: Tags) -> Result<Tags> {
        let name = name.clone();
        self.change_functions(move |tx| {
            let (latest, _) = load_latest(tx, &name)?.ok_or_else(|| not_found(&name))?;
            validate_tags(&latest.tags, &tags)?;
            let mut all = latest.tags;
            all.extend(tags);
            set_tags(tx, &name, &all)?;
            Ok(all)
        })
        .await
    }

    async fn untag_function(&self, name: &FunctionName, keys: Vec<String>) -> Result<Tags> {
        let name = name.clone();
        self.change_functions(move |tx| {
            let (latest, _) = load_latest(tx, &name)?.ok_or_else(|| not_found(&name))?;
            let mut all = latest.tags;
            for key in &keys {
                all.remove(key);
            }
            set_tags(tx, &name, &all)?;
            Ok(all)
        })
        .await
    }

    async fn delete_version(&self, name: &FunctionName, version: u64) -> Result<()> {
        let name = name.clone();
        self.change_functions(move |tx| {
            load_latest(tx, &name)?.ok_or_else(|| not_found(&name))?;
            let aliases: Vec<String> = tx
                .prepare("SELECT name FROM aliases WHERE function = ?1 AND version = ?2 ORDER BY name")
                .and_then(|mut stmt| {
                    stmt.query_map(params![name.as_str(), version.to_string()], |row| row.get(0))?.collect()
                })
                .map_err(sql)?;
            if !aliases.is_empty() {
                return Err(Error::Conflict(format!(
                    "Unable to delete version because the following aliases reference it: [{}]",
                    aliases.join(", ")
                )));
            }
            let deleted = tx
                .execute(
                    "DELETE FROM versions WHERE function = ?1 AND version = ?2",
                    params![name.as_str(), version as i64],
                )
                .map_err(sql)?;
            if deleted == 0 {
                return Err(Error::NotFound(format!("Function not found: {name}:{version}")));
            }
            Ok(())
        })
        .await
    }

    async fn create_alias(&self, alias: Alias) -> Result<Alias> {
        self.change_functions(move |tx| {
            load_latest(tx, &alias.function)?.ok_or_else(|| not_found(&alias.function))?;
            if !version_exists(tx, &alias.function, alias.version)? {
                return Err(Error::NotFound(format!("Function not found: {}:{}", alias.function, alias.version)));
            }
            let inserted = tx
                .execute(
                    &format!("INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"),
                    params![
                        alias.function.as_str(),
                        alias.name.as_str(),
                        alias.version.to_string(),
                        alias.description,
                        alias.revision_id
                    ],
                )
                .map_err(sql)?;
            if inserted == 0 {
                return Err(Error::Conflict(format!("Alias already exists: {}:{}", alias.function, alias.name)));
            }
            Ok(alias)
        })
        .await
    }

    async fn get_alias(&self, function: &FunctionName, name: &AliasName) -> Result<Option<Alias>> {
        if let Some(alias) = self.cache.alias(function, name) {
            return Ok(Some(alias));
        }
        let generation = self.cache.generation();
        let (function, name) = (function.clone(), name.clone());
        let found = self.transaction(move |tx| load_alias(tx, &function, &name)).await?;
        if let Some(alias) = &found {
            self.cache.keep_alias(generation, alias);
        }
        Ok(found)
    }

    async fn list_aliases(
        &self,
        function: &FunctionName,
        version: Option<Version>,
        marker: Option<String>,
        limit: usize,
    ) -> Result<Page<Alias>> {
        let function = function.clone();
        self.transaction(move |tx| {
            load_latest(tx, &function)?.ok_or_else(|| not_found(&function))?;
            let rows = tx
                .prepare(&format!(
                    "SELECT {ALIAS_COLUMNS} FROM aliases WHERE function = ?1 AND name > ?2
                     AND (?3 IS NULL OR version = ?3) ORDER BY name LIMIT ?4"
                ))
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![
                            function.as_str(),
                            marker.unwrap_or_default(),
                            version.map(|v| v.to_string()),
                            (limit + 1) as i64
                        ],
                        alias_from_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)?;
            let aliases = rows.into_iter().map(alias_from_parts).collect::<Result<Vec<_>>>()?;
            Ok(paginate(aliases, limit, |a: &Alias| a.name.to_string()))
        })
        .await
    }

    async fn update_alias(
        &self,
        function: &FunctionName,
        name: &AliasName,
        patch: AliasPatch,
    ) -> Result<Alias> {
        let (function, name) = (function.clone(), name.clone());
        self.change_functions(move |tx| {
            let mut alias = load_alias(tx, &function, &name)?
                .ok_or_else(|| Error::NotFound(format!("Alias not found: {function}:{name}")))?;
            if let Some(expected) = &patch.expected_revision {
                if *expected != alias.revision_id {
                    return Err(Error::revision_mismatch());
                }
            }
            if let Some(version) = patch.version {
                if !version_exists(tx, &function, version)? {
                    return Err(Error::NotFound(format!("Function not found: {function}:{version}")));
                }
                alias.version = version;
            }
            if let Some(description) = patch.description {
                alias.description = description;
            }
            alias.revision_id = FunctionConfig::new_revision_id();
            tx.execute(
                "UPDATE aliases SET version = ?3, description = ?4, revision_id = ?5 WHERE function = ?1 AND name = ?2",
                params![function.as_str(), name.as_str(), alias.version.to_string(), alias.description, alias.revision_id],
            )
            .map_err(sql)?;
            Ok(alias)
        })
        .await
    }

    async fn delete_alias(&self, function: &FunctionName, name: &AliasName) -> Result<()> {
        let (function, name) = (function.clone(), name.clone());
        self.change_functions(move |tx| {
            load_latest(tx, &function)?.ok_or_else(|| not_found(&function))?;
            // Deleting an alias that does not exist succeeds, as in Lambda.
            tx.execute(
                "DELETE FROM aliases WHERE function = ?1 AND name = ?2",
                params![function.as_str(), name.as_str()],
            )
            .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn put_concurrency(
        &self,
        name: &FunctionName,
        reserved: u32,
        max_total_reserved: u64,
    ) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| {
            load_latest(tx, &name)?.ok_or_else(|| not_found(&name))?;
            let others: i64 = tx
                .query_row(
                    "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions WHERE name <> ?1",
                    params![name.as_str()],
                    |row| row.get(0),
                )
                .map_err(sql)?;
            if others as u64 + u64::from(reserved) > max_total_reserved {
                return Err(Error::invalid(
                    "Specified ReservedConcurrentExecutions for function decreases account's \
                     UnreservedConcurrentExecution below its minimum value of [100].",
                ));
            }
            tx.execute(
                "UPDATE functions SET reserved_concurrency = ?2 WHERE name = ?1",
                params![name.as_str(), i64::from(reserved)],
            )
            .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn get_concurrency(&self, name: &FunctionName) -> Result<Option<u32>> {
        let name = name.clone();
        self.transaction(move |tx| {
            tx.query_row(
                "SELECT reserved_concurrency FROM functions WHERE name = ?1",
                params![name.as_str()],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()
            .map_err(sql)?
            .ok_or_else(|| not_found(&name))
            .map(|value| value.map(|v| v as u32))
        })
        .await
    }

    async fn delete_concurrency(&self, name: &FunctionName) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| {
            let updated = tx
                .execute(
                    "UPDATE functions SET reserved_concurrency = NULL WHERE name = ?1",
                    params![name.as_str()],
                )
                .map_err(sql)?;
            if updated == 0 {
                return Err(not_found(&name));
            }
            Ok(())
        })
        .await
    }

    async fn list_concurrency(&self) -> Result<Vec<(FunctionName, u32)>> {
        self.transaction(|tx| {
            let mut statement = tx
                .prepare(
                    "SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL",
                )
                .map_err(sql)?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            rows.into_iter().map(|(name, n)| Ok((FunctionName::parse(&name)?, n as u32))).collect()
        })
        .await
    }

    async fn put_tenant_limits(&self, name: &FunctionName, limits: TenantLimits) -> Result<()> {
        let name = name.clone();
        self.transaction(move |tx| {
            if load_latest(tx, &name)?.is_none() {
                return Err(not_found(&name));
            }
            if limits.is_empty() {
                tx.execute("DELETE FROM tenant_limits WHERE function = ?1", params![name.as_str()])
                    .map_err(sql)?;
            } else {
                tx.execute(
                    "INSERT INTO tenant_limits (function, limits) VALUES (?1, ?2) \
                     ON CONFLICT (function) DO UPDATE SET limits = excluded.limits",
                    params![name.as_str(), to_json(&limits)?],
                )
                .map_err(sql)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_tenant_limits(&self, name: &FunctionName) -> Result<Option<TenantLimits>> {
        let name = name.clone();
        self.transaction(move |tx| {
            if load_latest(tx, &name)?.is_none() {
                return Err(not_found(&name));
            }
            tx.query_row(
                "SELECT limits FROM tenant_limits WHERE function = ?1",
                params![name.as_str()],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map_err(sql)?
            .map(|raw| from_json(&raw))
            .transpose()
        })
        .await
    }

    async fn list_tenant_limits(&self) -> Result<Vec<(FunctionName, TenantLimits)>> {
        self.transaction(|tx| {
            let mut statement = tx.prepare("SELECT function, limits FROM tenant_limits").map_err(sql)?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            rows.into_iter().map(|(name, raw)| Ok((FunctionName::parse(&name)?, from_json(&raw)?))).collect()
        })
        .await
    }

    async fn put_event_invoke_config(
        &self,
        name: &FunctionName,
        qualifier: &str,
        config: EventInvokeConfig,
    ) -> Result<()> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| {
            if load_latest(tx, &name)?.is_none() {
                return Err(not_found(&name));
            }
            tx.execute(
                "INSERT INTO event_invoke_configs (function, qualifier, config) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (function, qualifier) DO UPDATE SET config = excluded.config",
                params![name.as_str(), qualifier, to_json(&config)?],
            )
            .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn get_event_invoke_config(
        &self,
        name: &FunctionName,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| {
            tx.query_row(
                "SELECT config FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
                params![name.as_str(), qualifier],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map_err(sql)?
            .map(|raw| from_json(&raw))
            .transpose()
        })
        .await
    }

    async fn delete_event_invoke_config(&self, name: &FunctionName, qualifier: &str) -> Result<bool> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| {
            let deleted = tx
                .execute(
                    "DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
                    params![name.as_str(), qualifier],
                )
                .map_err(sql)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn list_event_invoke_configs(
        &self,
        name: &FunctionName,
    ) -> Result<Vec<(String, EventInvokeConfig)>> {
        let name = name.clone();
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare("SELECT qualifier, config FROM event_invoke_configs WHERE function = ?1 ORDER BY qualifier")
                .map_err(sql)?;
            let rows = statement
                .query_map(params![name.as_str()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            rows.into_iter().map(|(qualifier, raw)| Ok((qualifier, from_json(&raw)?))).collect()
        })
        .await
    }

    async fn add_permission(
        &self,
        name: &FunctionName,
        qualifier: &str,
        statement_id: &str,
        statement: serde_json::Value,
    ) -> Result<()> {
        let (name, qualifier, statement_id) = (name.clone(), qualifier.to_owned(), statement_id.to_owned());
        self.transaction(move |tx| {
            if load_latest(tx, &name)?.is_none() {
                return Err(not_found(&name));
            }
            let inserted = tx
                .execute(
                    "INSERT INTO policy_statements (function, qualifier, statement_id, statement) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT DO NOTHING",
                    params![name.as_str(), qualifier, statement_id, statement.to_string()],
                )
                .map_err(sql)?;
            if inserted == 0 {
                return Err(Error::Conflict(format!(
                    "The statement id ({statement_id}) provided already exists. Please provide a new statement id, or remove the existing statement."
                )));
            }
            Ok(())
        })
        .await
    }

    async fn remove_permission(
        &self,
        name: &FunctionName,
        qualifier: &str,
        statement_id: &str,
    ) -> Result<bool> {
        let (name, qualifier, statement_id) = (name.clone(), qualifier.to_owned(), statement_id.to_owned());
        self.transaction(move |tx| {
            let deleted = tx
                .execute(
                    "DELETE FROM policy_statements WHERE function = ?1 AND qualifier = ?2 AND statement_id = ?3",
                    params![name.as_str(), qualifier, statement_id],
                )
                .map_err(sql)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn policy(&self, name: &FunctionName, qualifier: &str) -> Result<Vec<serde_json::Value>> {
        let (name, qualifier) = (name.clone(), qualifier.to_owned());
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare("SELECT statement FROM policy_statements WHERE function = ?1 AND qualifier = ?2 ORDER BY rowid")
                .map_err(sql)?;
            let rows = statement
                .query_map(params![name.as_str(), qualifier], |row| row.get::<_, String>(0))
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            rows.iter().map(|raw| from_json(raw)).collect()
        })
        .await
    }

    async fn add_dead_letter(&self, letter: DeadLetter) -> Result<()> {
        self.transaction(move |tx| {
            tx.execute(
                "INSERT INTO dead_letters (id, function, failed_ms, letter) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                params![letter.id, letter.function.as_str(), letter.failed_ms, to_json(&letter)?],
            )
            .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn list_dead_letters(&self, name: Option<FunctionName>, limit: usize) -> Result<Vec<DeadLetter>> {
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare(
                    "SELECT letter FROM dead_letters WHERE (?1 IS NULL OR function = ?1) \
                     ORDER BY failed_ms DESC, id LIMIT ?2",
                )
                .map_err(sql)?;
            let rows = statement
                .query_map(params![name.as_ref().map(FunctionName::as_str), limit as i64], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            rows.iter().map(|raw| from_json(raw)).collect()
        })
        .await
    }

    async fn add_usage(&self, records: Vec<UsageRecord>) -> Result<()> {
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "INSERT INTO usage (function, tenant, hour, architecture, memory_mb, invocations, errors, \
                     throttles, cold_starts, init_ms, duration_ms, billed_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                     ON CONFLICT (function, tenant, hour, architecture, memory_mb) DO UPDATE SET \
                     invocations = invocations + excluded.invocations, errors = errors + excluded.errors, \
                     throttles = throttles + excluded.throttles, cold_starts = cold_starts + excluded.cold_starts, \
                     init_ms = init_ms + excluded.init_ms, duration_ms = duration_ms + excluded.duration_ms, \
                     billed_ms = billed_ms + excluded.billed_ms",
                )
                .map_err(sql)?;
            for UsageRecord { key, counters: c } in &records {
                statement
                    .execute(params![
                        key.function.as_str(),
                        key.tenant.as_ref().map(TenantId::as_str).unwrap_or(""),
                        key.hour,
                        key.architecture.as_str(),
                        key.memory_mb,
                        c.invocations as i64,
                        c.errors as i64,
                        c.throttles as i64,
                        c.cold_starts as i64,
                        c.init_ms,
                        c.duration_ms,
                        c.billed_ms as i64,
                    ])
                    .map_err(sql)?;
            }
            Ok(())
        })
        .await
    }

    async fn usage(&self, filter: UsageFilter) -> Result<Vec<UsageRecord>> {
        self.transaction(move |tx| {
            let mut statement = tx
                .prepare(
                    "SELECT function, tenant, architecture, memory_mb, MIN(hour), SUM(invocations), SUM(errors), \
                     SUM(throttles), SUM(cold_starts), SUM(init_ms), SUM(duration_ms), SUM(billed_ms) FROM usage \
                     WHERE (?1 IS NULL OR function = ?1) AND (?2 IS NULL OR tenant = ?2) AND hour >= ?3 \
                     GROUP BY function, tenant, architecture, memory_mb ORDER BY function, tenant, architecture, memory_mb",
                )
                .map_err(sql)?;
            let rows = statement
                .query_map(
                    params![
                        filter.function.as_ref().map(FunctionName::as_str),
                        filter.tenant.as_ref().map(TenantId::as_str),
                        filter.since.unwrap_or(i64::MIN),
                    ],
                    |row| {
                        Ok((
                            (row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?, row.get::<_, i64>(4)?),
                            UsageCounters {
                                invocations: row.get::<_, i64>(5)? as u64,
                                errors: row.get::<_, i64>(6)? as u64,
                                throttles: row.get::<_, i64>(7)? as u64,
                                cold_starts: row.get::<_, i64>(8)? as u64,
                                init_ms: row.get(9)?,
                                duration_ms: row.get(10)?,
                                billed_ms: row.get::<_, i64>(11)? as u64,
                            },
                        ))
                    },
                )
                .map_err(sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql)?;
            rows.into_iter()
                .map(|((function, tenant, architecture, memory_mb, hour), counters)| {
                    let key = UsageKey {
                        function: FunctionName::parse(&function)?,
                        tenant: if tenant.is_empty() { None } else { Some(TenantId::parse(&tenant)?) },
                        hour,
                        architecture: Architecture::parse(&architecture)?,
                        memory_mb: memory_mb as u32,
                    };
                    Ok(UsageRecord { key, counters })
                })
                .collect()
        })
        .await
    }

    async fn account_usage(&self) -> Result<AccountUsage> {
        self.transaction(|tx| {
            let (function_count, reserved): (i64, i64) = tx
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(reserved_concurrency), 0) FROM functions",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(sql)?;
            let total_code_size: i64 = tx
                .query_row(
                    "SELECT COALESCE(SUM(json_extract(latest, '$.code.size')), 0) FROM functions",
                    [],
                    |row| row.get(0),
                )
                .map_err(sql)?;
            let versions_code_size: i64 = tx
                .query_row(
                    "SELECT COALESCE(SUM(json_extract(config, '$.code.size')), 0) FROM versions",
                    [],
                    |row| row.get(0),
                )
                .map_err(sql)?;
            Ok(AccountUsage {
                function_count: function_count as u64,
                total_code_size: (total_code_size + versions_code_size) as u64,
                reserved_concurrency: reserved as u64,
            })
        })
        .await
    }

    async fn create_rest_api(&self, api: RestApi) -> Result<RestApi> {
        self.transaction(move |tx| rest_apis::create(tx, api)).await
    }

    async fn get_rest_api(&self, id: &str) -> Result<Option<RestApi>> {
        let id = id.to_owned();
        self.transaction(move |tx| rest_apis::get(tx, &id)).await
    }

    async fn list_rest_apis(&self, marker: Option<String>, limit: usize) -> Result<Page<RestApi>> {
        self.transaction(move |tx| rest_apis::list(tx, marker, limit)).await
    }

    async fn update_rest_api(&self, id: &str, update: RestApiUpdate) -> Result<RestApi> {
        let id = id.to_owned();
        self.transaction(move |tx| rest_apis::update(tx, &id, update)).await
    }

    async fn delete_rest_api(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| rest_apis::delete(tx, &id)).await
    }

    async fn create_deployment(&self, api_id: &str, request: DeploymentRequest) -> Result<Deployment> {
        let api_id = api_id.to_owned();
        self.transaction(move |tx| rest_apis::create_deployment(tx, &api_id, request)).await
    }

    async fn get_deployment(&self, api_id: &str, id: &str) -> Result<Deployment> {
        let (api_id, id) = (api_id.to_owned(), id.to_owned());
        self.transaction(move |tx| rest_apis::get_deployment(tx, &api_id, &id)).await
    }

    async fn list_deployments(&self, api_id: &str) -> Result<Vec<Deployment>> {
        let api_id = api_id.to_owned();
        self.transaction(move |tx| rest_apis::list_deployments(tx, &api_id)).await
    }

    async fn delete_deployment(&self, api_id: &str, id: &str) -> Result<()> {
        let (api_id, id) = (api_id.to_owned(), id.to_owned());
        self.transaction(move |tx| rest_apis::delete_deployment(tx, &api_id, &id)).await
    }

    async fn create_stage(&self, api_id: &str, stage: Stage) -> Result<Stage> {
        let api_id = api_id.to_owned();
        self.transaction(move |tx| rest_apis::create_stage(tx, &api_id, stage)).await
    }

    async fn get_stage(&self, api_id: &str, name: &str) -> Result<Stage> {
        let (api_id, name) = (api_id.to_owned(), name.to_owned());
        self.transaction(move |tx| rest_apis::get_stage(tx, &api_id, &name)).await
    }

    async fn list_stages(&self, api_id: &str, deployment_id: Option<String>) -> Result<Vec<Stage>> {
        let api_id = api_id.to_owned();
        self.transaction(move |tx| rest_apis::list_stages(tx, &api_id, deployment_id)).await
    }

    async fn delete_stage(&self, api_id: &str, name: &str) -> Result<()> {
        let (api_id, name) = (api_id.to_owned(), name.to_owned());
        self.transaction(move |tx| rest_apis::delete_stage(tx, &api_id, &name)).await
    }

    async fn deployed_stage(&self, api_id: &str, stage: &str) -> Result<StageLookup> {
        let (api_id, stage) = (api_id.to_owned(), stage.to_owned());
        self.transaction(move |tx| rest_apis::deployed_stage(tx, &api_id, &stage)).await
    }
}

const EVENT_COLUMNS: &str =
    "id, function, version, qualifier, tenant, payload, client_context, attempts, next_attempt_ms, enqueued_ms";

/// An `async_events` row as stored, before validation.
struct EventRow {
    id: String,
    function: String,
    version: String,
    qualifier: Option<String>,
    tenant: Option<String>,
    payload: Vec<u8>,
    client_context: Option<String>,
    attempts: i64,
    next_attempt_ms: i64,
    enqueued_ms: i64,
}

fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        id: row.get(0)?,
        function: row.get(1)?,
        version: row.get(2)?,
        qualifier: row.get(3)?,
        tenant: row.get(4)?,
        payload: row.get(5)?,
        client_context: row.get(6)?,
        attempts: row.get(7)?,
        next_attempt_ms: row.get(8)?,
        enqueued_ms: row.get(9)?,
    })
}

impl EventRow {
    fn into_event(self) -> Result<QueuedEvent> {
        Ok(QueuedEvent {
            id: self.id,
            function: FunctionName::parse(&self.function)?,
            version: from_json(&to_json(&self.version)?)?,
            qualifier: self.qualifier,
            tenant: self.tenant.map(|t| TenantId::parse(&t)).transpose()?,
            payload: self.payload,
            client_context: self.client_context,
            attempts: self.attempts as u32,
            next_attempt_ms: self.next_attempt_ms,
            enqueued_ms: self.enqueued_ms,
        })
    }
}

#[async_trait]
impl EventQueue for SqliteStore {
    async fn enqueue(&self, event: QueuedEvent) -> Result<()> {
        self.transaction(move |tx| {
            tx.execute(
                &format!("INSERT INTO async_events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    event.id,
                    event.function.as_str(),
                    event.version.to_string(),
                    event.qualifier,
                    event.tenant.as_ref().map(TenantId::as_str),
                    event.payload,
                    event.client_context,
                    i64::from(event.attempts),
                    event.next_attempt_ms,
                    event.enqueued_ms
                ],
            )
            .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn due(&self, now_ms: i64, exclude: Vec<String>, limit: usize) -> Result<Vec<QueuedEvent>> {
        self.transaction(move |tx| {
            let excluded = to_json(&exclude)?;
            let rows = tx
                .prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM async_events WHERE next_attempt_ms <= ?1
                     AND id NOT IN (SELECT value FROM json_each(?2))
                     ORDER BY next_attempt_ms, enqueued_ms LIMIT ?3"
                ))
                .and_then(|mut stmt| {
                    stmt.query_map(params![now_ms, excluded, limit as i64], event_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql)?;
            rows.into_iter().map(EventRow::into_event).collect()
        })
        .await
    }

    async fn next_due_ms(&self) -> Result<Option<i64>> {
        self.transaction(|tx| {
            tx.query_row("SELECT MIN(next_attempt_ms) FROM async_events", [], |row| row.get(0)).map_err(sql)
        })
        .await
    }

    async fn reschedule(&self, id: &str, attempts: u32, next_attempt_ms: i64) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| {
            tx.execute(
                "UPDATE async_events SET attempts = ?2, next_attempt_ms = ?3 WHERE id = ?1",
                params![id, i64::from(attempts), next_attempt_ms],
            )
            .map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn complete(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.transaction(move |tx| {
            tx.execute("DELETE FROM async_events WHERE id = ?1", params![id]).map_err(sql)?;
            Ok(())
        })
        .await
    }

    async fn pending_count(&self) -> Result<u64> {
        self.transaction(|tx| {
            tx.query_row("SELECT COUNT(*) FROM async_events", [], |row| row.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(sql)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_core::{CodeRef, SettingsPatch, TenantIsolationMode};

    fn config(name: &str, sha: &str) -> FunctionConfig {
        let settings = SettingsPatch {
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            role: Some("arn:aws:iam::123456789012:role/r".into()),
            ..Default::default()
        }
        .create()
        .unwrap();
        FunctionConfig {
            name: FunctionName::parse(name).unwrap(),
            version: Version::Latest,
            settings,
            tenancy: Some(TenantIsolationMode::PerTenant),
            code: CodeRef { sha256_hex: sha.repeat(32), size: 10 },
            last_modified: chrono::Utc::now(),
            revision_id: FunctionConfig::new_revision_id(),
            tags: Default::default(),
        }
    }

    fn name(n: &str) -> FunctionName {
        FunctionName::parse(n).unwrap()
    }

    #[tokio::test]
    async fn tags_belong_to_the_function_and_every_version() {
        let store = SqliteStore::open_in_memory().unwrap();
        let f = name("tagged");
        store.create_function(config("tagged", "ab"), true).await.unwrap();
        let added: Tags =
            [("team".to_string(), "blue".to_string()), ("alcove:network".to_string(), "egress".to_string())]
                .into();
        assert_eq!(store.tag_function(&f, added.clone()).await.unwrap(), added);
        for version in [Version::Latest, Version::Published(1)] {
            assert_eq!(store.get_function(&f, version).await.unwrap().unwrap().tags, added);
        }
        assert!(store
            .tag_function(&f, [("alcove:network".to_string(), "open".to_string())].into())
            .await
            .is_err());
        let left = store.untag_function(&f, vec!["team".into(), "absent".into()]).await.unwrap();
        assert_eq!(left.keys().collect::<Vec<_>>(), ["alcove:network"]);
        assert_eq!(store.get_function(&f, Version::Published(1)).await.unwrap().unwrap().tags, left);
        assert!(matches!(store.tag_function(&name("missing"), Tags::new()).await, Err(Error::NotFound(_))));
    }

    #[tokio::test]
    async fn create_get_conflict_delete() {
        let store = SqliteStore::open_in_memory().unwrap();
        let created = store.create_function(config("f", "aa"), false).await.unwrap();
        assert_eq!(store.get_function(&name("f"), Version::Latest).await.unwrap(), Some(created));
        assert!(matches!(store.create_function(config("f", "aa"), false).await, Err(Error::Conflict(_))));
        store.delete_function(&name("f")).await.unwrap();
        assert_eq!(store.get_function(&name("f"), Version::Latest).await.unwrap(), None);
        assert!(matches!(store.delete_function(&name("f")).await, Err(Error::NotFound(_))));
    }

    #[tokio::test]
    async fn publishing_numbers_versions_and_reuses_unchanged() {
        let store = SqliteStore::open_in_memory().unwrap();
        let v1 = store.create_function(config("f", "aa"), true).await.unwrap();
        assert_eq!(v1.version, Version::Published(1));
        let again = store.publish_version(&name("f"), PublishRequest::default()).await.unwrap();
        assert_eq!(again.version, Version::Published(1));
        let update: LatestUpdate = Box::new(|c| {
            let mut next = c.clone();
            next.settings.timeout_secs = 30;
            Ok(next)
        });
        store.update_latest(&name("f"), update, false).await.unwrap();
        let v2 = store.publish_version(&name("f"), PublishRequest::default()).await.unwrap();
        assert_eq!(v2.version, Version::Published(2));
        assert_eq!(
            store
                .get_function(&name("f"), Version::Published(1))
                .await
                .unwrap()
                .unwrap()
                .settings
                .timeout_secs,
            3
        );
        assert_eq!(v2.tenancy, Some(TenantIsolationMode::PerTenant));
        // Numbers are never reused after a delete.
        store.delete_version(&name("f"), 2).await.unwrap();
        let update: LatestUpdate = Box::new(|c| {
            let mut next = c.clone();
            next.settings.timeout_secs = 60;
            Ok(next)
        });
        let v3 = store.update_latest(&name("f"), update, true).await.unwrap();
        assert_eq!(v3.version, Version::Published(3));
    }

    #[tokio::test]
    async fn publish_checks_preconditions() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.create_function(config("f", "aa"), false).await.unwrap();
        let wrong_revision = PublishRequest { expected_revision: Some("nope".into()), ..Default::default() };
        assert!(matches!(
            store.publish_version(&name("f"), wrong_revision).await,
            Err(Error::PreconditionFailed(_))
        ));
        let wrong_sha = PublishRequest { expected_code_sha256: Some("nope".into()), ..Default::default() };
        assert!(matches!(
            store.publish_version(&name("f"), wrong_sha).await,
            Err(Error::InvalidParameter(_))
        ));
    }

    #[tokio::test]
    async fn listing_pages_through_everything_once() {
        let store = SqliteStore::open_in_memory().unwrap();
        for n in ["c", "a", "b", "e", "d"] {
            store.create_function(config(n, "aa"), n == "b").await.unwrap();
        }
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let page = store.list_functions(false, marker, 2).await.unwrap();
            seen.extend(page.items.iter().map(|c| c.name.to_string()));
            marker = page.next_marker;
            if marker.is_none() {
                break;
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        let all = store.list_functions(true, None, 100).await.unwrap();
        let labels: Vec<String> = all.items.iter().map(|c| format!("{}:{}", c.name, c.version)).collect();
        assert_eq!(labels, ["a:$LATEST", "b:$LATEST", "b:1", "c:$LATEST", "d:$LATEST", "e:$LATEST"]);
    }

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
    async fn aliases_guard_their_versions() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.create_function(config("f", "aa"), true).await.unwrap();
        let alias = Alias {
            function: name("f"),
            name: AliasName::parse("live").unwrap(),
            version: Version::Published(1),
            description: String::new(),
            revision_id: "r".into(),
        };
        store.create_alias(alias.clone()).await.unwrap();
        assert!(matches!(store.create_alias(alias.clone()).await, Err(Error::Conflict(_))));
        assert!(matches!(store.delete_version(&name("f"), 1).await, Err(Error::Conflict(_))));
        let missing = Alias {
            name: AliasName::parse("next").unwrap(),
            version: Version::Published(9),
            ..alias.clone()
        };
        assert!(matches!(store.create_alias(missing).await, Err(Error::NotFound(_))));
        let moved = store
            .update_alias(
                &name("f"),
                &alias.name,
                AliasPatch { version: Some(Version::Latest), ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(moved.version, Version::Latest);
        store.delete_version(&name("f"), 1).await.unwrap();
        assert_eq!(store.list_aliases(&name("f"), None, None, 10).await.unwrap().items.len(), 1);
        store.delete_function(&name("f")).await.unwrap();
        store.create_function(config("f", "aa"), false).await.unwrap();
        assert_eq!(store.get_alias(&name("f"), &alias.name).await.unwrap(), None);
    }

    #[tokio::test]
    async fn reserved_concurrency_respects_the_account_pool() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.create_function(config("a", "aa"), false).await.unwrap();
        store.create_function(config("b", "bb"), false).await.unwrap();
        store.put_concurrency(&name("a"), 600, 900).await.unwrap();
        assert!(store.put_concurrency(&name("b"), 301, 900).await.is_err());
        store.put_concurrency(&name("b"), 300, 900).await.unwrap();
        // Changing a function's own reservation does not count it twice.
        store.put_concurrency(&name("a"), 600, 900).await.unwrap();
        assert_eq!(store.account_usage().await.unwrap().reserved_concurrency, 900);
        store.delete_concurrency(&name("a")).await.unwrap();
        assert_eq!(store.get_concurrency(&name("a")).await.unwrap(), None);
        assert_eq!(store.account_usage().await.unwrap().function_count, 2);
    }

    fn event(id: &str, due: i64) -> QueuedEvent {
        QueuedEvent {
            id: id.into(),
            function: name("f"),
            version: Version::Published(2),
            qualifier: Some("live".into()),
            tenant: Some(TenantId::parse("BlueTenant").unwrap()),
            payload: b"{}".to_vec(),
            client_context: None,
            attempts: 0,
            next_attempt_ms: due,
            enqueued_ms: due,
        }
    }

    #[tokio::test]
    async fn event_queue_orders_excludes_and_completes() {
        let store = SqliteStore::open_in_memory().unwrap();
        store.enqueue(event("b", 20)).await.unwrap();
        store.enqueue(event("a", 10)).await.unwrap();
        store.enqueue(event("later", 1000)).await.unwrap();
        let due = store.due(100, vec![], 10).await.unwrap();
        assert_eq!(due.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(due[0], event("a", 10));
        let due = store.due(100, vec!["a".into()], 10).await.unwrap();
        assert_eq!(due.len(), 1);
        store.reschedule("a", 1, 500).await.unwrap();
        store.complete("b").await.unwrap();
        assert_eq!(store.due(100, vec![], 10).await.unwrap().len(), 0);
        assert_eq!(store.next_due_ms().await.unwrap(), Some(500));
        assert_eq!(store.pending_count().await.unwrap(), 2);
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
