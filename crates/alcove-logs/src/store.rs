//! The log store: groups, streams and events in SQLite (`schema.rs`), with the space
//! rules applied by [`LogStore::sweep`] (retention) and on append (the size cap).
//!
//! Writes go through one connection, reads through another, so `FilterLogEvents`
//! scanning a large group never holds up an environment's append (WAL lets them run
//! side by side). Appends are one transaction per batch: the output copier hands a
//! whole read from the pipe at once.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::filter::FilterPattern;
use crate::retention::Retention;
use crate::schema;
use crate::token::{self, EventToken, Position};
use crate::LogsError;

/// Bytes an event counts for beyond its message, as CloudWatch counts them.
pub const EVENT_OVERHEAD: u64 = 26;

/// Most message bytes one `GetLogEvents` or `FilterLogEvents` answer carries (1 MB, as
/// on CloudWatch); at least one event is always returned.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How often the write-ahead log is copied into the database, once the sweeper runs.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Most events one `FilterLogEvents` call examines before it answers with a `nextToken`.
pub const FILTER_SCAN_LIMIT: usize = 100_000;

/// Settings of a log store.
#[derive(Debug, Clone, Copy)]
pub struct LogStoreSettings {
    /// The total size cap (message bytes plus [`EVENT_OVERHEAD`] per event).
    pub max_bytes: u64,
}

impl Default for LogStoreSettings {
    /// A cap of 1 GiB.
    fn default() -> Self {
        LogStoreSettings { max_bytes: 1 << 30 }
    }
}

/// A log group, as `DescribeLogGroups` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<u32>,
    pub stored_bytes: u64,
    /// The function whose environments write here, when Lambda created the group.
    pub function: Option<String>,
}

/// A log stream, as `DescribeLogStreams` reports it, with what Alcove keeps beyond the
/// wire: which tenant's and which version's environment wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamInfo {
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
    pub stored_bytes: u64,
    pub tenant: Option<String>,
    pub function_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub id: i64,
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

impl LogEvent {
    fn position(&self) -> Position {
        Position { timestamp: self.timestamp, id: self.id }
    }
}

/// An event found by [`LogStore::filter_events`], with its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteredEvent {
    pub stream: String,
    pub tenant: Option<String>,
    pub event: LogEvent,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    pub prefix: Option<String>,
    /// A case-insensitive substring of the name (`logGroupNamePattern`).
    pub pattern: Option<String>,
    pub limit: usize,
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamOrder {
    #[default]
    Name,
    LastEventTime,
}

#[derive(Debug, Clone, Default)]
pub struct StreamQuery {
    pub group: String,
    pub prefix: Option<String>,
    pub order: StreamOrder,
    pub descending: bool,
    pub limit: usize,
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    pub group: String,
    pub stream: String,
    /// Inclusive.
    pub start_ms: Option<i64>,
    /// Exclusive.
    pub end_ms: Option<i64>,
    pub token: Option<String>,
    pub limit: usize,
    pub start_from_head: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPage {
    pub events: Vec<LogEvent>,
    pub forward_token: String,
    pub backward_token: String,
}

/// Which streams of a group `FilterLogEvents` searches.
#[derive(Debug, Clone, Default)]
pub enum StreamSelection {
    #[default]
    All,
    Names(Vec<String>),
    Prefix(String),
}

#[derive(Debug, Clone)]
pub struct FilterQuery {
    pub group: String,
    pub streams: StreamSelection,
    /// Only streams written by this tenant's environments (Alcove's own API).
    pub tenant: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub pattern: FilterPattern,
    pub limit: usize,
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPage {
    pub events: Vec<FilteredEvent>,
    /// The streams searched, and whether completely (no `nextToken`).
    pub searched: Vec<String>,
    /// Set when more events may match.
    pub next_token: Option<String>,
    /// Where to resume to see events added later (what `alcove logs --follow` polls with).
    pub resume_token: String,
}

/// What a stream is and who writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOwner {
    pub group: String,
    pub stream: String,
    pub function: Option<String>,
    pub function_version: Option<String>,
    pub tenant: Option<String>,
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_events: u64,
    pub removed_streams: u64,
}

/// The log store; cheap to clone.
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
}

struct Shared {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Copies the write-ahead log into the database (and syncs both) off the append path,
    /// once the sweeper runs.
    checkpointer: Mutex<Connection>,
    settings: LogStoreSettings,
    /// Stored bytes of all streams (kept in step with `log_streams.stored_bytes`).
    total_bytes: AtomicU64,
    /// Streams an environment is writing now: the cap drops them last.
    open: Mutex<HashSet<i64>>,
    /// Whether the background thread runs (checkpoints, cap, retention).
    background: std::sync::atomic::AtomicBool,
    /// Wakes the background thread when an append takes the total over the cap.
    wake: (Mutex<bool>, std::sync::Condvar),
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// `LIKE` pattern for names starting with `prefix`.
fn like_prefix(prefix: &str) -> String {
    let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("{escaped}%")
}

impl LogStore {
    /// Opens (or creates) the store in `path`, a file of its own.
    pub fn open(path: &Path, settings: LogStoreSettings) -> Result<LogStore, LogsError> {
        let writer = schema::open(path, true)?;
        let reader = schema::open(path, false)?;
        let checkpointer = schema::open(path, false)?;
        let total: i64 =
            writer.query_row("SELECT COALESCE(SUM(stored_bytes), 0) FROM log_streams", [], |r| r.get(0))?;
        Ok(LogStore {
            shared: Arc::new(Shared {
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
                checkpointer: Mutex::new(checkpointer),
                settings,
                total_bytes: AtomicU64::new(total.max(0) as u64),
                open: Mutex::default(),
                background: Default::default(),
                wake: Default::default(),
            }),
        })
    }

    /// Stored bytes of every stream together.
    pub fn total_bytes(&self) -> u64 {
        self.shared.total_bytes.load(Ordering::Relaxed)
    }

    /// Starts the store's background thread, for as long as the store lives. From then
    /// on the append path neither syncs nor deletes: the thread checkpoints the
    /// write-ahead log every [`CHECKPOINT_EVERY`], applies the size cap as soon as an
    /// append takes the total over it, and runs [`LogStore::sweep`] every `sweep_every`.
    pub fn start_sweeper(&self, sweep_every: Duration) {
        if let Err(e) = lock(&self.shared.writer).pragma_update(None, "wal_autocheckpoint", 0) {
            tracing::warn!(error = %e, "cannot move log checkpoints off the append path");
        }
        self.shared.background.store(true, Ordering::Relaxed);
        let store: Weak<Shared> = Arc::downgrade(&self.shared);
        let mut next_sweep = std::time::Instant::now() + sweep_every;
        let spawned = std::thread::Builder::new().name("alcove-logs-sweeper".into()).spawn(move || loop {
            let Some(shared) = store.upgrade() else { return };
            {
                let (woken, signal) = &shared.wake;
                let wait = CHECKPOINT_EVERY.min(sweep_every);
                let (mut woken, _) = signal
                    .wait_timeout_while(lock(woken), wait, |woken| !*woken)
                    .unwrap_or_else(|p| p.into_inner());
                *woken = false;
            }
            let store = LogStore { shared };
            store.background_work(&mut next_sweep, sweep_every);
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the log store's background thread");
        }
    }

    /// One round of the background thread: the cap if over it, a checkpoint, the sweep if due.
    fn background_work(&self, next_sweep: &mut std::time::Instant, sweep_every: Duration) {
        if self.total_bytes() > self.shared.settings.max_bytes {
            if let Err(e) = self.enforce_cap(&mut lock(&self.shared.writer)) {
                tracing::error!(error = %e, "cannot apply the log size cap");
            }
        }
        if let Err(e) = lock(&self.shared.checkpointer).execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(error = %e, "cannot checkpoint the log store");
        }
        if std::time::Instant::now() < *next_sweep {
            return;
        }
        *next_sweep = std::time::Instant::now() + sweep_every;
        match self.sweep(now_ms()) {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "log retention applied")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot apply log retention"),
        }
    }

    // --- Groups -------------------------------------------------------------------

    pub fn create_group(&self, name: &str) -> Result<(), LogsError> {
        let conn = lock(&self.shared.writer);
        let created = conn.execute(
            "INSERT OR IGNORE INTO log_groups (name, created_ms) VALUES (?1, ?2)",
            params![name, now_ms()],
        )?;
        if created == 0 {
            return Err(LogsError::GroupExists);
        }
        Ok(())
    }

    /// Deletes a group with its streams and events.
    pub fn delete_group(&self, name: &str) -> Result<(), LogsError> {
        let mut conn = lock(&self.shared.writer);
        let tx = conn.transaction()?;
        let id = group_id(&tx, name)?;
        let freed: i64 = tx.query_row(
            "SELECT COALESCE(SUM(stored_bytes), 0) FROM log_streams WHERE group_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        tx.execute("DELETE FROM log_events WHERE group_id = ?1", [id])?;
        tx.execute("DELETE FROM log_streams WHERE group_id = ?1", [id])?;
        tx.execute("DELETE FROM log_groups WHERE id = ?1", [id])?;
        tx.commit()?;
        self.shared.total_bytes.fetch_sub(freed.max(0) as u64, Ordering::Relaxed);
        Ok(())
    }

    pub fn set_retention(&self, name: &str, retention: Option<Retention>) -> Result<(), LogsError> {
        let conn = lock(&self.shared.writer);
        let changed = conn.execute(
            "UPDATE log_groups SET retention_days = ?2 WHERE name = ?1",
            params![name, retention.map(Retention::get)],
        )?;
        if changed == 0 {
            return Err(LogsError::GroupNotFound);
        }
        Ok(())
    }

    pub fn describe_groups(&self, query: &GroupQuery) -> Result<Page<LogGroup>, LogsError> {
        let offset = query.token.as_deref().map(token::parse_offset).transpose()?.unwrap_or(0);
        let conn = lock(&self.shared.reader);
        let mut statement = conn.prepare_cached(
            "SELECT g.name, g.created_ms, g.retention_days, g.function_name,
                    (SELECT COALESCE(SUM(s.stored_bytes), 0) FROM log_streams s WHERE s.group_id = g.id)
             FROM log_groups g
             WHERE g.name LIKE ?1 ESCAPE '\\' AND instr(lower(g.name), lower(?2)) > 0
             ORDER BY g.name LIMIT ?3 OFFSET ?4",
        )?;
        let prefix = like_prefix(query.prefix.as_deref().unwrap_or(""));
        let pattern = query.pattern.clone().unwrap_or_default();
        let mut items = statement
            .query_map(params![prefix, pattern, query.limit as i64 + 1, offset as i64], |row| {
                Ok(LogGroup {
                    name: row.get(0)?,
                    created_ms: row.get(1)?,
                    retention_days: row.get(2)?,
                    function: row.get(3)?,
                    stored_bytes: row.get::<_, i64>(4)?.max(0) as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(&mut items, query.limit, offset))
    }

    // --- Streams ------------------------------------------------------------------

    /// Creates a stream through the API (no tenant, no function version).
    pub fn create_stream(&self, group: &str, stream: &str) -> Result<(), LogsError> {
        let conn = lock(&self.shared.writer);
        let group_id = group_id(&conn, group)?;
        let created = conn.execute(
            "INSERT OR IGNORE INTO log_streams (group_id, name, created_ms) VALUES (?1, ?2, ?3)",
            params![group_id, stream, now_ms()],
        )?;
        if created == 0 {
            return Err(LogsError::StreamExists);
        }
        Ok(())
    }

    pub fn delete_stream(&self, group: &str, stream: &str) -> Result<(), LogsError> {
        let mut conn = lock(&self.shared.writer);
        let tx = conn.transaction()?;
        let (_, stream_id) = stream_id(&tx, group, stream)?;
        let freed = delete_stream_rows(&tx, stream_id)?;
        tx.commit()?;
        self.shared.total_bytes.fetch_sub(freed, Ordering::Relaxed);
        Ok(())
    }

    pub fn describe_streams(&self, query: &StreamQuery) -> Result<Page<LogStreamInfo>, LogsError> {
        let offset = query.token.as_deref().map(token::parse_offset).transpose()?.unwrap_or(0);
        let conn = lock(&self.shared.reader);
        let group_id = group_id(&conn, &query.group)?;
        let direction = if query.descending { "DESC" } else { "ASC" };
        let order = match query.order {
            StreamOrder::Name => format!("name {direction}"),
            // Streams without events sort as the oldest, as on CloudWatch.
            StreamOrder::LastEventTime => {
                format!("COALESCE(last_event_ms, 0) {direction}, name {direction}")
            }
        };
        let sql = format!(
            "SELECT name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms, stored_bytes,
                    tenant_id, function_version
             FROM log_streams WHERE group_id = ?1 AND name LIKE ?2 ESCAPE '\\'
             ORDER BY {order} LIMIT ?3 OFFSET ?4"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let prefix = like_prefix(query.prefix.as_deref().unwrap_or(""));
        let mut items = statement
            .query_map(params![group_id, prefix, query.limit as i64 + 1, offset as i64], stream_info)?
            .collect::<Result<Vec<_>, _>>()?;
        // LIKE is case-insensitive for ASCII; prefixes are not.
        if let Some(prefix) = &query.prefix {
            items.retain(|s| s.name.starts_with(prefix.as_str()));
        }
        Ok(page(&mut items, query.limit, offset))
    }

    // --- Writing ------------------------------------------------------------------

    /// Opens an environment's stream for writing, creating its group (as Lambda does on
    /// the first write) and the stream. The stream counts as being written until the
    /// writer is dropped.
    pub fn open_stream(&self, owner: StreamOwner) -> Result<StreamWriter, LogsError> {
        let ids = {
            let conn = lock(&self.shared.writer);
            ensure_stream(&conn, &owner)?
        };
        lock(&self.shared.open).insert(ids.1);
        Ok(StreamWriter { store: self.clone(), owner, ids: Mutex::new(ids) })
    }

    /// Adds events to a stream through the API (`PutLogEvents`), in the order given.
    pub fn put_events(&self, group: &str, stream: &str, events: &[(i64, String)]) -> Result<(), LogsError> {
        let mut conn = lock(&self.shared.writer);
        let (group_id, stream_id) = stream_id(&conn, group, stream)?;
        let added = insert_events(
            &mut conn,
            group_id,
            stream_id,
            now_ms(),
            events.iter().map(|(t, m)| (*t, m.as_str())),
        )?;
        self.added(&mut conn, added)
    }

    /// Counts `added` bytes in; if they took the total over the cap, has the background
    /// thread apply it (or applies it now, without one).
    fn added(&self, conn: &mut Connection, added: u64) -> Result<(), LogsError> {
        let total = self.shared.total_bytes.fetch_add(added, Ordering::Relaxed) + added;
        if total > self.shared.settings.max_bytes {
            if self.shared.background.load(Ordering::Relaxed) {
                let (woken, signal) = &self.shared.wake;
                *lock(woken) = true;
                signal.notify_one();
            } else {
                self.enforce_cap(conn)?;
            }
        }
        Ok(())
    }

    /// Brings the total back to 90% of the cap (so that the cap is not applied at every
    /// append once reached): whole streams no environment is writing, least recently
    /// written first across all groups; then, if the streams being written alone are
    /// over, their oldest events, oldest first.
    fn enforce_cap(&self, conn: &mut Connection) -> Result<(), LogsError> {
        let target = self.shared.settings.max_bytes / 10 * 9;
        let open = lock(&self.shared.open).clone();
        let closed: Vec<(i64, i64)> = {
            let mut statement = conn.prepare_cached(
                "SELECT id, stored_bytes FROM log_streams ORDER BY COALESCE(last_event_ms, created_ms), id",
            )?;
            let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<Vec<_>, _>>()?.into_iter().filter(|(id, _)| !open.contains(id)).collect()
        };
        let mut removed_streams = 0;
        for (stream_id, _) in closed {
            if self.total_bytes() <= target {
                break;
            }
            let tx = conn.transaction()?;
            let freed = delete_stream_rows(&tx, stream_id)?;
            tx.commit()?;
            self.shared.total_bytes.fetch_sub(freed, Ordering::Relaxed);
            removed_streams += 1;
        }
        let mut dropped_events = 0;
        while self.total_bytes() > target {
            let tx = conn.transaction()?;
            let oldest: Vec<(i64, i64, i64)> = {
                let mut statement =
                    tx.prepare_cached("SELECT id, stream_id, size FROM log_events ORDER BY id LIMIT 1000")?;
                let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            if oldest.is_empty() {
                break;
            }
            let mut freed = 0u64;
            let mut touched: HashMap<i64, i64> = HashMap::new();
            let mut last_id = 0;
            for (id, stream_id, size) in &oldest {
                *touched.entry(*stream_id).or_default() += size;
                freed += *size as u64;
                last_id = *id;
                dropped_events += 1;
                if self.total_bytes().saturating_sub(freed) <= target {
                    break;
                }
            }
            tx.execute("DELETE FROM log_events WHERE id <= ?1", [last_id])?;
            for (stream_id, bytes) in touched {
                tx.execute(
                    "UPDATE log_streams SET stored_bytes = stored_bytes - ?2,
                        first_event_ms = (SELECT MIN(ts) FROM log_events WHERE stream_id = ?1)
                     WHERE id = ?1",
                    params![stream_id, bytes],
                )?;
            }
            tx.commit()?;
            self.shared.total_bytes.fetch_sub(freed, Ordering::Relaxed);
        }
        tracing::info!(
            removed_streams,
            dropped_events,
            total_bytes = self.total_bytes(),
            cap = self.shared.settings.max_bytes,
            "log size cap reached: oldest logs dropped"
        );
        Ok(())
    }

    fn close_stream(&self, stream_id: i64) {
        lock(&self.shared.open).remove(&stream_id);
    }

    // --- Reading ------------------------------------------------------------------

    pub fn get_events(&self, query: &EventsQuery) -> Result<EventsPage, LogsError> {
        let token = query.token.as_deref().map(EventToken::parse).transpose()?;
        let conn = lock(&self.shared.reader);
        let (_, stream_id) = stream_id(&conn, &query.group, &query.stream)?;
        let start = query.start_ms.unwrap_or(i64::MIN);
        let end = query.end_ms.unwrap_or(i64::MAX);
        let (forward, from) = match token {
            Some(EventToken::Forward(p)) => (true, p),
            Some(EventToken::Backward(p)) => (false, p),
            None if query.start_from_head => (true, Position::START),
            None => (false, Position::END),
        };
        let sql = if forward {
            "SELECT id, ts, ingested, message FROM log_events
             WHERE stream_id = ?1 AND (ts > ?2 OR (ts = ?2 AND id > ?3)) AND ts >= ?4 AND ts < ?5
             ORDER BY ts, id LIMIT ?6"
        } else {
            "SELECT id, ts, ingested, message FROM log_events
             WHERE stream_id = ?1 AND (ts < ?2 OR (ts = ?2 AND id < ?3)) AND ts >= ?4 AND ts < ?5
             ORDER BY ts DESC, id DESC LIMIT ?6"
        };
        let mut statement = conn.prepare_cached(sql)?;
        let mut rows =
            statement.query(params![stream_id, from.timestamp, from.id, start, end, query.limit as i64])?;
        let mut events = Vec::new();
        let mut bytes = 0;
        while let Some(row) = rows.next()? {
            let event = event_row(row)?;
            bytes += event.message.len();
            if bytes > MAX_RESPONSE_BYTES && !events.is_empty() {
                break;
            }
            events.push(event);
        }
        if !forward {
            events.reverse();
        }
        let (first, last) = match (events.first(), events.last()) {
            (Some(first), Some(last)) => (first.position(), last.position()),
            // Nothing (more): both tokens stay where the caller was, so a client polling
            // with nextForwardToken gets the same token back until new events arrive.
            _ => match token {
                Some(EventToken::Forward(p) | EventToken::Backward(p)) => (p, p),
                None if forward => (Position::START, Position::START),
                None => (Position::START, last_position(&conn, stream_id)?),
            },
        };
        Ok(EventsPage {
            events,
            forward_token: EventToken::Forward(last).encode(),
            backward_token: EventToken::Backward(first).encode(),
        })
    }

    /// The streams of a group, with their tenants (Alcove's API, and `FilterLogEvents`).
    fn select_streams(
        &self,
        conn: &Connection,
        group_id: i64,
        selection: &StreamSelection,
        tenant: Option<&str>,
    ) -> Result<HashMap<i64, (String, Option<String>)>, LogsError> {
        let mut statement = conn.prepare_cached(
            "SELECT id, name, tenant_id FROM log_streams WHERE group_id = ?1 ORDER BY name",
        )?;
        let rows = statement
            .query_map([group_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
        let mut streams = HashMap::new();
        for row in rows {
            let (id, name, stream_tenant): (i64, String, Option<String>) = row?;
            let selected = match selection {
                StreamSelection::All => true,
                StreamSelection::Names(names) => names.contains(&name),
                StreamSelection::Prefix(prefix) => name.starts_with(prefix.as_str()),
            };
            if selected && tenant.is_none_or(|t| stream_tenant.as_deref() == Some(t)) {
                streams.insert(id, (name, stream_tenant));
            }
        }
        Ok(streams)
    }

    /// Events of a group matching a pattern, in time order across its streams.
    pub fn filter_events(&self, query: &FilterQuery) -> Result<FilterPage, LogsError> {
        let from = query.token.as_deref().map(token::parse_position).transpose()?.unwrap_or(Position::START);
        let conn = lock(&self.shared.reader);
        let group_id = group_id(&conn, &query.group)?;
        let streams = self.select_streams(&conn, group_id, &query.streams, query.tenant.as_deref())?;
        let mut searched: Vec<String> = streams.values().map(|(name, _)| name.clone()).collect();
        searched.sort();
        let mut page =
            FilterPage { events: Vec::new(), searched, next_token: None, resume_token: from.encode() };
        if streams.is_empty() {
            return Ok(page);
        }
        let mut statement = conn.prepare_cached(
            "SELECT id, ts, ingested, message, stream_id FROM log_events
             WHERE group_id = ?1 AND (ts > ?2 OR (ts = ?2 AND id > ?3)) AND ts >= ?4 AND ts < ?5
             ORDER BY ts, id LIMIT ?6",
        )?;
        let mut at = from;
        let mut scanned = 0;
        let mut bytes = 0;
        const BATCH: usize = 2000;
        'scan: loop {
            let mut rows = statement.query(params![
                group_id,
                at.timestamp,
                at.id,
                query.start_ms.unwrap_or(i64::MIN),
                query.end_ms.unwrap_or(i64::MAX),
                BATCH as i64
            ])?;
            let mut in_batch = 0;
            while let Some(row) = rows.next()? {
                in_batch += 1;
                let event = event_row(row)?;
                let stream_id: i64 = row.get(4)?;
                if page.events.len() >= query.limit
                    || scanned >= FILTER_SCAN_LIMIT
                    || (bytes + event.message.len() > MAX_RESPONSE_BYTES && !page.events.is_empty())
                {
                    page.next_token = Some(at.encode());
                    break 'scan;
                }
                scanned += 1;
                at = event.position();
                let Some((name, tenant)) = streams.get(&stream_id) else { continue };
                if query.pattern.matches(&event.message) {
                    bytes += event.message.len();
                    page.events.push(FilteredEvent { stream: name.clone(), tenant: tenant.clone(), event });
                }
            }
            if in_batch < BATCH {
                break;
            }
        }
        page.resume_token = at.encode();
        Ok(page)
    }

    /// The streams of a group written by `tenant`'s environments (or all, with `None`).
    pub fn streams_of_tenant(
        &self,
        group: &str,
        tenant: Option<&str>,
    ) -> Result<Vec<LogStreamInfo>, LogsError> {
        let conn = lock(&self.shared.reader);
        let group_id = group_id(&conn, group)?;
        let mut statement = conn.prepare_cached(
            "SELECT name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms, stored_bytes,
                    tenant_id, function_version
             FROM log_streams WHERE group_id = ?1 ORDER BY name",
        )?;
        let streams = statement.query_map([group_id], stream_info)?.collect::<Result<Vec<_>, _>>()?;
        Ok(streams.into_iter().filter(|s| tenant.is_none_or(|t| s.tenant.as_deref() == Some(t))).collect())
    }

    // --- Retention ----------------------------------------------------------------

    /// Deletes events older than their group's retention, and streams left empty that
    /// no environment is writing; then returns freed pages to the file system.
    pub fn sweep(&self, now_ms: i64) -> Result<SweepReport, LogsError> {
        let mut conn = lock(&self.shared.writer);
        let groups: Vec<(i64, i64)> = {
            let mut statement = conn.prepare_cached(
                "SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL",
            )?;
            let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let open = lock(&self.shared.open).clone();
        let mut report = SweepReport::default();
        for (group_id, days) in groups {
            let Ok(retention) = Retention::days(days) else { continue };
            let cutoff = retention.cutoff(now_ms);
            let tx = conn.transaction()?;
            let expired = tx.execute(
                "DELETE FROM log_events WHERE group_id = ?1 AND ts < ?2",
                params![group_id, cutoff],
            )?;
            if expired > 0 {
                tx.execute(
                    "UPDATE log_streams SET
                        stored_bytes = (SELECT COALESCE(SUM(size), 0) FROM log_events e WHERE e.stream_id = log_streams.id),
                        first_event_ms = (SELECT MIN(ts) FROM log_events e WHERE e.stream_id = log_streams.id),
                        last_event_ms = (SELECT MAX(ts) FROM log_events e WHERE e.stream_id = log_streams.id)
                     WHERE group_id = ?1",
                    [group_id],
                )?;
            }
            let empty: Vec<i64> = {
                let mut statement = tx.prepare_cached(
                    "SELECT id FROM log_streams s WHERE group_id = ?1 AND created_ms < ?2
                       AND NOT EXISTS (SELECT 1 FROM log_events e WHERE e.stream_id = s.id)",
                )?;
                let rows = statement.query_map(params![group_id, cutoff], |r| r.get(0))?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            for stream_id in empty.into_iter().filter(|id| !open.contains(id)) {
                tx.execute("DELETE FROM log_streams WHERE id = ?1", [stream_id])?;
                report.removed_streams += 1;
            }
            tx.commit()?;
            report.expired_events += expired as u64;
        }
        let total: i64 =
            conn.query_row("SELECT COALESCE(SUM(stored_bytes), 0) FROM log_streams", [], |r| r.get(0))?;
        self.shared.total_bytes.store(total.max(0) as u64, Ordering::Relaxed);
        conn.execute_batch("PRAGMA incremental_vacuum")?;
        Ok(report)
    }
}

/// Splits `items` (fetched with one extra row) into a page and the token of the next.
fn page<T>(items: &mut Vec<T>, limit: usize, offset: usize) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    Page { items: std::mem::take(items), next_token: more.then(|| token::encode_offset(offset + limit)) }
}

fn group_id(conn: &Connection, name: &str) -> Result<i64, LogsError> {
    conn.query_row("SELECT id FROM log_groups WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or(LogsError::GroupNotFound)
}

fn stream_id(conn: &Connection, group: &str, stream: &str) -> Result<(i64, i64), LogsError> {
    let group_id = group_id(conn, group)?;
    let stream_id = conn
        .query_row(
            "SELECT id FROM log_streams WHERE group_id = ?1 AND name = ?2",
            params![group_id, stream],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(LogsError::StreamNotFound)?;
    Ok((group_id, stream_id))
}

/// The position of a stream's newest event.
fn last_position(conn: &Connection, stream_id: i64) -> Result<Position, LogsError> {
    let last = conn
        .query_row(
            "SELECT ts, id FROM log_events WHERE stream_id = ?1 ORDER BY ts DESC, id DESC LIMIT 1",
            [stream_id],
            |r| Ok(Position { timestamp: r.get(0)?, id: r.get(1)? }),
        )
        .optional()?;
    Ok(last.unwrap_or(Position::START))
}

/// Creates the owner's group (if missing) and stream; returns their ids.
fn ensure_stream(conn: &Connection, owner: &StreamOwner) -> Result<(i64, i64), LogsError> {
    let now = now_ms();
    conn.execute(
        "INSERT OR IGNORE INTO log_groups (name, created_ms, function_name) VALUES (?1, ?2, ?3)",
        params![owner.group, now, owner.function],
    )?;
    let group_id = group_id(conn, &owner.group)?;
    conn.execute(
        "INSERT OR IGNORE INTO log_streams (group_id, name, created_ms, tenant_id, function_version)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![group_id, owner.stream, now, owner.tenant, owner.function_version],
    )?;
    stream_id(conn, &owner.group, &owner.stream)
}

/// Inserts events in one transaction and updates the stream's figures; returns the bytes added.
fn insert_events<'m>(
    conn: &mut Connection,
    group_id: i64,
    stream_id: i64,
    ingested: i64,
    events: impl Iterator<Item = (i64, &'m str)>,
) -> Result<u64, LogsError> {
    let tx = conn.transaction()?;
    let mut added = 0u64;
    let mut first = i64::MAX;
    let mut last = i64::MIN;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO log_events (group_id, stream_id, ts, ingested, size, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (timestamp, message) in events {
            let size = message.len() as u64 + EVENT_OVERHEAD;
            insert.execute(params![group_id, stream_id, timestamp, ingested, size as i64, message])?;
            added += size;
            first = first.min(timestamp);
            last = last.max(timestamp);
        }
    }
    if added > 0 {
        tx.execute(
            "UPDATE log_streams SET
                first_event_ms = MIN(COALESCE(first_event_ms, ?2), ?2),
                last_event_ms = MAX(COALESCE(last_event_ms, ?3), ?3),
                last_ingestion_ms = ?4,
                stored_bytes = stored_bytes + ?5
             WHERE id = ?1",
            params![stream_id, first, last, ingested, added as i64],
        )?;
    }
    tx.commit()?;
    Ok(added)
}

/// Deletes a stream and its events; returns the bytes freed.
fn delete_stream_rows(tx: &rusqlite::Transaction<'_>, stream_id: i64) -> Result<u64, LogsError> {
    let freed: i64 = tx
        .query_row("SELECT stored_bytes FROM log_streams WHERE id = ?1", [stream_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    tx.execute("DELETE FROM log_events WHERE stream_id = ?1", [stream_id])?;
    tx.execute("DELETE FROM log_streams WHERE id = ?1", [stream_id])?;
    Ok(freed.max(0) as u64)
}

fn stream_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogStreamInfo> {
    Ok(LogStreamInfo {
        name: row.get(0)?,
        created_ms: row.get(1)?,
        first_event_ms: row.get(2)?,
        last_event_ms: row.get(3)?,
        last_ingestion_ms: row.get(4)?,
        stored_bytes: row.get::<_, i64>(5)?.max(0) as u64,
        tenant: row.get(6)?,
        function_version: row.get(7)?,
    })
}

fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogEvent> {
    Ok(LogEvent {
        id: row.get(0)?,
        timestamp: row.get(1)?,
        ingestion_time: row.get(2)?,
        message: row.get(3)?,
    })
}

/// An environment's stream, open for appends; dropping it marks the stream as no longer
/// written (the size cap may then drop it whole).
pub struct StreamWriter {
    store: LogStore,
    owner: StreamOwner,
    /// (group id, stream id); they change if the group was deleted and is created again.
    ids: Mutex<(i64, i64)>,
}

impl StreamWriter {
    pub fn owner(&self) -> &StreamOwner {
        &self.owner
    }

    /// Appends whole lines, each one event (its newline kept, as Lambda's events keep
    /// it), stamped now, in one transaction.
    pub fn append_lines(&self, lines: &[u8]) -> Result<(), LogsError> {
        if lines.is_empty() {
            return Ok(());
        }
        let shared = &self.store.shared;
        let mut conn = lock(&shared.writer);
        let mut ids = lock(&self.ids);
        // The group (and with it the stream) may have been deleted since: as Lambda does,
        // logging creates them again.
        let exists: bool = conn.prepare_cached("SELECT 1 FROM log_streams WHERE id = ?1")?.exists([ids.1])?;
        if !exists {
            lock(&shared.open).remove(&ids.1);
            *ids = ensure_stream(&conn, &self.owner)?;
            lock(&shared.open).insert(ids.1);
        }
        let now = now_ms();
        let events = lines
            .split_inclusive(|b| *b == b'\n')
            .map(|line| (now, String::from_utf8_lossy(line)))
            .collect::<Vec<_>>();
        let added =
            insert_events(&mut conn, ids.0, ids.1, now, events.iter().map(|(t, m)| (*t, m.as_ref())))?;
        drop(ids);
        self.store.added(&mut conn, added)
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let id = lock(&self.ids).1;
        self.store.close_stream(id);
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
