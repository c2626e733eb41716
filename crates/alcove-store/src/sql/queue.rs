//! The durable queue behind asynchronous invocations: each accepted event is one
//! `async_events` row until it succeeds or fails for good, so a killed server resumes
//! where it stopped; events that fail for good with no destination become dead letters.
//! Rows are not tied to their function by a foreign key: an event accepted before its
//! function was deleted still runs its course (and fails, as in Lambda).
//!
//! On a store several nodes share, each node takes the events it runs: taking marks the
//! row with the node's name (in the statement that selects it, skipping rows another
//! transaction holds), and no node takes a row marked by another node still in the
//! cluster. Rows marked by a node that left (killed, its lease lapsed) are taken by the
//! next node that looks, so an event held by a dead node is run by another: delivered at
//! least once, never lost. A retry is scheduled unmarked, for any node to take.

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

/// A node taking events from a queue it shares with others.
#[derive(Debug, Clone)]
pub(crate) struct Claimant {
    pub node: String,
    /// The nodes in the cluster now: events they hold are theirs.
    pub live: Vec<String>,
}

/// The elements of the JSON array of strings bound at `param`, as a subquery.
fn json_strings(tx: &dyn Tx, param: &str) -> String {
    match tx.dialect() {
        Dialect::Sqlite => format!("SELECT value FROM json_each({param})"),
        Dialect::Postgres => format!("SELECT jsonb_array_elements_text(CAST({param} AS jsonb))"),
    }
}

/// The rows the node bound at `node` may take, `live` binding the nodes in the cluster.
fn claimable(tx: &dyn Tx, node: &str, live: &str) -> String {
    format!("(claimed_by IS NULL OR claimed_by = {node} OR claimed_by NOT IN ({}))", json_strings(tx, live))
}

/// Events due by `now_ms`, oldest first, leaving out those in `exclude` (in flight);
/// with a claimant, only those it may take, marked as its own.
pub(crate) fn due(
    tx: &dyn Tx,
    now_ms: i64,
    exclude: &[String],
    limit: usize,
    claimant: Option<&Claimant>,
) -> Result<Vec<QueuedEvent>> {
    let excluded = to_json(&exclude)?;
    let in_flight = json_strings(tx, "?2");
    let Some(claimant) = claimant else {
        let rows = tx.rows(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM async_events WHERE next_attempt_ms <= ?1
                 AND id NOT IN ({in_flight})
                 ORDER BY next_attempt_ms, enqueued_ms LIMIT ?3"
            ),
            &[&now_ms, &excluded, &(limit as i64)],
            event_row,
        )?;
        return rows.into_iter().map(EventRow::into_event).collect();
    };
    let skip_held = match tx.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    let live = to_json(&claimant.live)?;
    let mut rows = tx.rows(
        &format!(
            "UPDATE async_events SET claimed_by = ?4 WHERE id IN (
                 SELECT id FROM async_events WHERE next_attempt_ms <= ?1
                 AND id NOT IN ({in_flight}) AND {}
                 ORDER BY next_attempt_ms, enqueued_ms LIMIT ?3 {skip_held})
             RETURNING {EVENT_COLUMNS}",
            claimable(tx, "?4", "?5")
        ),
        &[&now_ms, &excluded, &(limit as i64), &claimant.node, &live],
        event_row,
    )?;
    rows.sort_by_key(|row| (row.next_attempt_ms, row.enqueued_ms));
    rows.into_iter().map(EventRow::into_event).collect()
}

/// When the earliest event (that `claimant` may take) is due.
pub(crate) fn next_due_ms(tx: &dyn Tx, claimant: Option<&Claimant>) -> Result<Option<i64>> {
    let Some(claimant) = claimant else {
        return tx.row_one("SELECT MIN(next_attempt_ms) FROM async_events", &[], |row| row.get(0));
    };
    let live = to_json(&claimant.live)?;
    tx.row_one(
        &format!("SELECT MIN(next_attempt_ms) FROM async_events WHERE {}", claimable(tx, "?1", "?2")),
        &[&claimant.node, &live],
        |row| row.get(0),
    )
}

pub(crate) fn reschedule(tx: &dyn Tx, id: &str, attempts: u32, next_attempt_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE async_events SET attempts = ?2, next_attempt_ms = ?3, claimed_by = NULL WHERE id = ?1",
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

    fn ids(events: &[QueuedEvent]) -> Vec<&str> {
        events.iter().map(|e| e.id.as_str()).collect()
    }

    /// Two nodes on one PostgreSQL store share the queue (runs when
    /// `ALCOVE_TEST_POSTGRES` names a server).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_take_events_once_and_take_over_those_of_a_node_that_left() {
        use std::sync::{Arc, Mutex};
        let Ok(url) = std::env::var(alcove_sql::TEST_POSTGRES) else { return };
        let location = alcove_sql::scratch_database(&url).await.unwrap();
        let (a, b) = (
            crate::SqlStore::open(&location).await.unwrap(),
            crate::SqlStore::open(&location).await.unwrap(),
        );
        let live = Arc::new(Mutex::new(vec!["a".to_string(), "b".to_string()]));
        let (seen_by_a, seen_by_b) = (Arc::clone(&live), Arc::clone(&live));
        a.share_queue("a".into(), move || seen_by_a.lock().unwrap().clone());
        b.share_queue("b".into(), move || seen_by_b.lock().unwrap().clone());
        for (id, due) in [("e1", 10), ("e2", 20), ("e3", 30)] {
            a.enqueue(event(id, due)).await.unwrap();
        }
        assert_eq!(ids(&a.due(100, vec![], 2).await.unwrap()), ["e1", "e2"]);
        // b never gets what a holds, and a does not take e3 from b once b holds it.
        assert_eq!(ids(&b.due(100, vec![], 10).await.unwrap()), ["e3"]);
        assert!(a.due(100, vec!["e1".into(), "e2".into()], 10).await.unwrap().is_empty());
        assert_eq!(b.next_due_ms().await.unwrap(), Some(30), "b waits only for its own");
        // a retry is anyone's.
        a.reschedule("e2", 1, 50).await.unwrap();
        assert_eq!(ids(&b.due(100, vec!["e3".into()], 10).await.unwrap()), ["e2"]);
        // a leaves the cluster holding e1: b takes it over.
        live.lock().unwrap().retain(|n| n != "a");
        assert_eq!(ids(&b.due(100, vec!["e2".into(), "e3".into()], 10).await.unwrap()), ["e1"]);
        for id in ["e1", "e2", "e3"] {
            b.complete(id).await.unwrap();
        }
        assert_eq!(b.pending_count().await.unwrap(), 0);
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
