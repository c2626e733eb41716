//! The durable queue behind asynchronous invocations: each accepted event is one
//! `async_events` row until it succeeds or fails for good, so a killed server resumes
//! where it stopped; events that fail for good with no destination become dead letters.
//! Rows are not tied to their function by a foreign key: an event accepted before its
//! function was deleted still runs its course (and fails, as in Lambda).

use alcove_core::{DeadLetter, FunctionName, QueuedEvent, Result, TenantId};
use alcove_sql::{Dialect, SqlError, Tx};

use super::rows::{from_json, sql, to_json, Query};

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

fn event_row(row: &alcove_sql::Row) -> std::result::Result<EventRow, SqlError> {
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

pub(crate) fn enqueue(tx: &dyn Tx, event: &QueuedEvent) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO async_events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        &[
            &event.id,
            &event.function.as_str(),
            &event.version.to_string(),
            &event.qualifier,
            &(event.tenant.as_ref().map(TenantId::as_str)),
            &event.payload,
            &event.client_context,
            &(i64::from(event.attempts)),
            &event.next_attempt_ms,
            &event.enqueued_ms,
        ],
    )
    .map_err(sql)?;
    Ok(())
}

/// Events due by `now_ms`, oldest first, leaving out those in `exclude` (in flight).
pub(crate) fn due(tx: &dyn Tx, now_ms: i64, exclude: &[String], limit: usize) -> Result<Vec<QueuedEvent>> {
    let excluded = to_json(&exclude)?;
    let in_flight = match tx.dialect() {
        Dialect::Sqlite => "SELECT value FROM json_each(?2)",
        Dialect::Postgres => "SELECT jsonb_array_elements_text(CAST(?2 AS jsonb))",
    };
    let rows = tx.rows(
        &format!(
            "SELECT {EVENT_COLUMNS} FROM async_events WHERE next_attempt_ms <= ?1
             AND id NOT IN ({in_flight})
             ORDER BY next_attempt_ms, enqueued_ms LIMIT ?3"
        ),
        &[&now_ms, &excluded, &(limit as i64)],
        event_row,
    )?;
    rows.into_iter().map(EventRow::into_event).collect()
}

pub(crate) fn next_due_ms(tx: &dyn Tx) -> Result<Option<i64>> {
    tx.row_one("SELECT MIN(next_attempt_ms) FROM async_events", &[], |row| row.get(0))
}

pub(crate) fn reschedule(tx: &dyn Tx, id: &str, attempts: u32, next_attempt_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE async_events SET attempts = ?2, next_attempt_ms = ?3 WHERE id = ?1",
        &[&id, &(i64::from(attempts)), &next_attempt_ms],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn complete(tx: &dyn Tx, id: &str) -> Result<()> {
    tx.execute("DELETE FROM async_events WHERE id = ?1", &[&id]).map_err(sql)?;
    Ok(())
}

pub(crate) fn pending_count(tx: &dyn Tx) -> Result<u64> {
    tx.row_one("SELECT COUNT(*) FROM async_events", &[], |row| row.get::<i64>(0)).map(|n| n as u64)
}

/// Keeps a letter once: a retried write of the same event is a no-op.
pub(crate) fn add_dead_letter(tx: &dyn Tx, letter: &DeadLetter) -> Result<()> {
    tx.execute(
        "INSERT INTO dead_letters (id, function, failed_ms, letter) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
        &[&letter.id, &letter.function.as_str(), &letter.failed_ms, &(to_json(letter)?)],
    )
    .map_err(sql)?;
    Ok(())
}

/// Dead letters, newest first, of one function or all.
pub(crate) fn list_dead_letters(
    tx: &dyn Tx,
    name: Option<&FunctionName>,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    let rows = tx.rows(
        "SELECT letter FROM dead_letters WHERE (CAST(?1 AS TEXT) IS NULL OR function = ?1) \
             ORDER BY failed_ms DESC, id LIMIT ?2",
        &[&(name.map(FunctionName::as_str)), &(limit as i64)],
        |row| row.get::<String>(0),
    )?;
    rows.iter().map(|raw| from_json(raw)).collect()
}

#[cfg(test)]
mod tests {
    use alcove_core::{EventQueue, Version};

    use super::*;
    use crate::sql::testing::name;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn event_queue_orders_excludes_and_completes() {
        for store in crate::sql::testing::stores().await {
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
    }
}
