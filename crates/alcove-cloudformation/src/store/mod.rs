//! The stack database: stacks, their resources, the physical resources waiting for
//! cleanup after a replacement, events, change sets and exports. One connection behind a
//! mutex, held only for one statement or transaction, so every step of a stack operation
//! is committed before the next begins.

mod schema;

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Map, Value};

use crate::model::{Output, ResourceChange, StackParameter, Tag};
use crate::CloudFormationError;

type Result<T> = std::result::Result<T, CloudFormationError>;

/// A stack as stored.
#[derive(Debug, Clone)]
pub struct StackRow {
    pub stack_id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    /// The template the engine runs (after any transform).
    pub template: String,
    /// The template as submitted, when a transform rewrote it into `template`.
    pub original_template: Option<String>,
    pub parameters: Vec<StackParameter>,
    /// During an update: what a rollback returns to.
    pub previous_template: Option<String>,
    pub previous_original_template: Option<String>,
    pub previous_parameters: Vec<StackParameter>,
    pub description: Option<String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<Tag>,
    pub disable_rollback: bool,
    pub on_failure: Option<String>,
    pub outputs: Vec<Output>,
    /// Export names the stack's template imports.
    pub imports: Vec<String>,
    pub created: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub deleted: Option<DateTime<Utc>>,
    pub change_set_id: Option<String>,
    pub token: Option<String>,
}

/// A resource of a stack, as last provisioned.
#[derive(Debug, Clone)]
pub struct ResourceRow {
    pub stack_id: String,
    pub logical_id: String,
    pub type_name: String,
    pub physical_id: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub properties: Map<String, Value>,
    pub attributes: Map<String, Value>,
    pub updated: DateTime<Utc>,
    pub ord: i64,
}

/// A physical resource replaced during an update, deleted at cleanup (or restored by a
/// rollback).
#[derive(Debug, Clone)]
pub struct RetiredRow {
    pub seq: i64,
    pub stack_id: String,
    pub logical_id: String,
    pub type_name: String,
    pub physical_id: String,
    pub properties: Map<String, Value>,
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub stack_id: String,
    pub event_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    pub timestamp: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub properties: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChangeSetRow {
    pub change_set_id: String,
    pub name: String,
    pub stack_id: String,
    /// `CREATE` or `UPDATE`.
    pub kind: String,
    /// The template the change set runs (after any transform).
    pub template: String,
    /// The template as submitted, when a transform rewrote it into `template`.
    pub original_template: Option<String>,
    pub parameters: Vec<StackParameter>,
    pub capabilities: Vec<String>,
    pub tags: Option<Vec<Tag>>,
    pub description: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub execution_status: String,
    pub changes: Vec<ResourceChange>,
    pub created: DateTime<Utc>,
}

pub struct Store {
    conn: Mutex<Connection>,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|t| t.with_timezone(&Utc))
}

fn pairs_json(pairs: impl Iterator<Item = (String, String)>) -> String {
    Value::Array(pairs.map(|(k, v)| json!([k, v])).collect()).to_string()
}

fn pairs(text: &str) -> Vec<(String, String)> {
    serde_json::from_str::<Vec<(String, String)>>(text).unwrap_or_default()
}

/// Parameters as `[key, value]` pairs, or `[key, value, resolved]` for SSM-typed ones.
fn parameters_json(p: &[StackParameter]) -> String {
    let entries = p.iter().map(|p| match &p.resolved_value {
        Some(resolved) => json!([p.key, p.value, resolved]),
        None => json!([p.key, p.value]),
    });
    Value::Array(entries.collect()).to_string()
}

fn parameters(text: &str) -> Vec<StackParameter> {
    let entries = serde_json::from_str::<Vec<Vec<String>>>(text).unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|entry| {
            let mut entry = entry.into_iter();
            let (key, value) = (entry.next()?, entry.next()?);
            Some(StackParameter { key, value, resolved_value: entry.next() })
        })
        .collect()
}

fn tags_json(t: &[Tag]) -> String {
    pairs_json(t.iter().map(|t| (t.key.clone(), t.value.clone())))
}

fn tags(text: &str) -> Vec<Tag> {
    pairs(text).into_iter().map(|(key, value)| Tag { key, value }).collect()
}

fn strings(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn strings_json(s: &[String]) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "[]".into())
}

fn outputs_json(outputs: &[Output]) -> String {
    Value::Array(
        outputs
            .iter()
            .map(|o| json!({"key": o.key, "value": o.value, "description": o.description, "export": o.export_name}))
            .collect(),
    )
    .to_string()
}

fn outputs(text: &str) -> Vec<Output> {
    let items: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    items
        .iter()
        .map(|o| Output {
            key: o["key"].as_str().unwrap_or_default().to_owned(),
            value: o["value"].as_str().unwrap_or_default().to_owned(),
            description: o["description"].as_str().map(str::to_owned),
            export_name: o["export"].as_str().map(str::to_owned),
        })
        .collect()
}

fn changes_json(changes: &[ResourceChange]) -> String {
    Value::Array(
        changes
            .iter()
            .map(|c| {
                json!({"action": c.action, "logical": c.logical_resource_id, "physical": c.physical_resource_id,
                       "type": c.resource_type, "replacement": c.replacement, "scope": c.scope,
                       "properties": c.changed_properties})
            })
            .collect(),
    )
    .to_string()
}

fn changes(text: &str) -> Vec<ResourceChange> {
    let items: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    items
        .iter()
        .map(|c| ResourceChange {
            action: c["action"].as_str().unwrap_or_default().to_owned(),
            logical_resource_id: c["logical"].as_str().unwrap_or_default().to_owned(),
            physical_resource_id: c["physical"].as_str().map(str::to_owned),
            resource_type: c["type"].as_str().unwrap_or_default().to_owned(),
            replacement: c["replacement"].as_str().map(str::to_owned),
            scope: list(&c["scope"]),
            changed_properties: list(&c["properties"]),
        })
        .collect()
}

fn object(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

const STACK_COLUMNS: &str = "stack_id, name, status, reason, template, parameters, previous_template,
    previous_parameters, description, capabilities, tags, disable_rollback, on_failure, outputs, imports,
    created, updated, deleted, change_set_id, token, original_template, previous_original_template";

fn stack_row(row: &Row) -> rusqlite::Result<StackRow> {
    Ok(StackRow {
        stack_id: row.get(0)?,
        name: row.get(1)?,
        status: row.get(2)?,
        reason: row.get(3)?,
        template: row.get(4)?,
        parameters: parameters(&row.get::<_, String>(5)?),
        previous_template: row.get(6)?,
        previous_parameters: parameters(&row.get::<_, String>(7)?),
        description: row.get(8)?,
        capabilities: strings(&row.get::<_, String>(9)?),
        tags: tags(&row.get::<_, String>(10)?),
        disable_rollback: row.get(11)?,
        on_failure: row.get(12)?,
        outputs: outputs(&row.get::<_, String>(13)?),
        imports: strings(&row.get::<_, String>(14)?),
        created: parse_time(row.get(15)?).unwrap_or_else(Utc::now),
        updated: parse_time(row.get(16)?),
        deleted: parse_time(row.get(17)?),
        change_set_id: row.get(18)?,
        token: row.get(19)?,
        original_template: row.get(20)?,
        previous_original_template: row.get(21)?,
    })
}

const RESOURCE_COLUMNS: &str =
    "stack_id, logical_id, type, physical_id, status, reason, properties, attributes, updated, ord";

fn resource_row(row: &Row) -> rusqlite::Result<ResourceRow> {
    Ok(ResourceRow {
        stack_id: row.get(0)?,
        logical_id: row.get(1)?,
        type_name: row.get(2)?,
        physical_id: row.get(3)?,
        status: row.get(4)?,
        reason: row.get(5)?,
        properties: object(&row.get::<_, String>(6)?),
        attributes: object(&row.get::<_, String>(7)?),
        updated: parse_time(row.get(8)?).unwrap_or_else(Utc::now),
        ord: row.get(9)?,
    })
}

const CHANGE_SET_COLUMNS: &str =
    "change_set_id, name, stack_id, kind, template, parameters, capabilities, tags,
    description, status, reason, execution_status, changes, created, original_template";

fn change_set_row(row: &Row) -> rusqlite::Result<ChangeSetRow> {
    Ok(ChangeSetRow {
        change_set_id: row.get(0)?,
        name: row.get(1)?,
        stack_id: row.get(2)?,
        kind: row.get(3)?,
        template: row.get(4)?,
        parameters: parameters(&row.get::<_, String>(5)?),
        capabilities: strings(&row.get::<_, String>(6)?),
        tags: row.get::<_, Option<String>>(7)?.map(|t| tags(&t)),
        description: row.get(8)?,
        status: row.get(9)?,
        reason: row.get(10)?,
        execution_status: row.get(11)?,
        changes: changes(&row.get::<_, String>(12)?),
        created: parse_time(row.get(13)?).unwrap_or_else(Utc::now),
        original_template: row.get(14)?,
    })
}

impl Store {
    pub fn open(path: &std::path::Path) -> Result<Store> {
        Ok(Store { conn: Mutex::new(schema::open(path)?) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Inserts or rewrites a stack.
    pub fn put_stack(&self, s: &StackRow) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO stacks ({STACK_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)
                 ON CONFLICT (stack_id) DO UPDATE SET status=?3, reason=?4, template=?5, parameters=?6,
                 previous_template=?7, previous_parameters=?8, description=?9, capabilities=?10, tags=?11,
                 disable_rollback=?12, on_failure=?13, outputs=?14, imports=?15, updated=?17, deleted=?18,
                 change_set_id=?19, token=?20, original_template=?21, previous_original_template=?22"
            ),
            params![
                s.stack_id,
                s.name,
                s.status,
                s.reason,
                s.template,
                parameters_json(&s.parameters),
                s.previous_template,
                parameters_json(&s.previous_parameters),
                s.description,
                strings_json(&s.capabilities),
                tags_json(&s.tags),
                s.disable_rollback,
                s.on_failure,
                outputs_json(&s.outputs),
                strings_json(&s.imports),
                time(&s.created),
                s.updated.as_ref().map(time),
                s.deleted.as_ref().map(time),
                s.change_set_id,
                s.token,
                s.original_template,
                s.previous_original_template,
            ],
        )?;
        Ok(())
    }

    pub fn stack(&self, stack_id: &str) -> Result<Option<StackRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {STACK_COLUMNS} FROM stacks WHERE stack_id = ?1"),
                [stack_id],
                stack_row,
            )
            .optional()?)
    }

    /// The live (not deleted) stack of that name.
    pub fn live_stack(&self, name: &str) -> Result<Option<StackRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {STACK_COLUMNS} FROM stacks WHERE name = ?1 AND status != 'DELETE_COMPLETE' ORDER BY seq DESC LIMIT 1"
                ),
                [name],
                stack_row,
            )
            .optional()?)
    }

    /// Every stack, oldest first.
    pub fn stacks(&self) -> Result<Vec<StackRow>> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!("SELECT {STACK_COLUMNS} FROM stacks ORDER BY seq"))?;
        let rows = statement.query_map([], stack_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn put_resource(&self, r: &ResourceRow) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT OR REPLACE INTO resources ({RESOURCE_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
            ),
            params![
                r.stack_id,
                r.logical_id,
                r.type_name,
                r.physical_id,
                r.status,
                r.reason,
                Value::Object(r.properties.clone()).to_string(),
                Value::Object(r.attributes.clone()).to_string(),
                time(&r.updated),
                r.ord,
            ],
        )?;
        Ok(())
    }

    pub fn remove_resource(&self, stack_id: &str, logical_id: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM resources WHERE stack_id = ?1 AND logical_id = ?2",
            [stack_id, logical_id],
        )?;
        Ok(())
    }

    /// A stack's resources in creation order.
    pub fn resources(&self, stack_id: &str) -> Result<Vec<ResourceRow>> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE stack_id = ?1 ORDER BY ord"))?;
        let rows = statement.query_map([stack_id], resource_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The resource with this physical id, in whichever stack holds it.
    pub fn resource_by_physical_id(&self, physical_id: &str) -> Result<Option<ResourceRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE physical_id = ?1 LIMIT 1"),
                [physical_id],
                resource_row,
            )
            .optional()?)
    }

    pub fn next_ord(&self, stack_id: &str) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT COALESCE(MAX(ord), 0) + 1 FROM resources WHERE stack_id = ?1",
            [stack_id],
            |row| row.get(0),
        )?)
    }

    pub fn add_retired(&self, r: &RetiredRow) -> Result<()> {
        self.conn().execute(
            "INSERT INTO retired (stack_id, logical_id, type, physical_id, properties, attributes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                r.stack_id,
                r.logical_id,
                r.type_name,
                r.physical_id,
                Value::Object(r.properties.clone()).to_string(),
                Value::Object(r.attributes.clone()).to_string(),
            ],
        )?;
        Ok(())
    }

    pub fn retired(&self, stack_id: &str) -> Result<Vec<RetiredRow>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT seq, stack_id, logical_id, type, physical_id, properties, attributes FROM retired
             WHERE stack_id = ?1 ORDER BY seq",
        )?;
        let rows = statement
            .query_map([stack_id], |row| {
                Ok(RetiredRow {
                    seq: row.get(0)?,
                    stack_id: row.get(1)?,
                    logical_id: row.get(2)?,
                    type_name: row.get(3)?,
                    physical_id: row.get(4)?,
                    properties: object(&row.get::<_, String>(5)?),
                    attributes: object(&row.get::<_, String>(6)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn remove_retired(&self, seq: i64) -> Result<()> {
        self.conn().execute("DELETE FROM retired WHERE seq = ?1", [seq])?;
        Ok(())
    }

    pub fn add_event(&self, e: &EventRow) -> Result<()> {
        self.conn().execute(
            "INSERT INTO events (stack_id, event_id, logical_id, physical_id, type, ts, status, reason, properties, token)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                e.stack_id,
                e.event_id,
                e.logical_id,
                e.physical_id,
                e.type_name,
                time(&e.timestamp),
                e.status,
                e.reason,
                e.properties,
                e.token,
            ],
        )?;
        Ok(())
    }

    /// A stack's events, newest first.
    pub fn events(&self, stack_id: &str) -> Result<Vec<EventRow>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT stack_id, event_id, logical_id, physical_id, type, ts, status, reason, properties, token
             FROM events WHERE stack_id = ?1 ORDER BY seq DESC",
        )?;
        let rows = statement
            .query_map([stack_id], |row| {
                Ok(EventRow {
                    stack_id: row.get(0)?,
                    event_id: row.get(1)?,
                    logical_id: row.get(2)?,
                    physical_id: row.get(3)?,
                    type_name: row.get(4)?,
                    timestamp: parse_time(row.get(5)?).unwrap_or_else(Utc::now),
                    status: row.get(6)?,
                    reason: row.get(7)?,
                    properties: row.get(8)?,
                    token: row.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn put_change_set(&self, c: &ChangeSetRow) -> Result<()> {
        self.conn().execute(
            &format!(
                "INSERT INTO change_sets ({CHANGE_SET_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)
                 ON CONFLICT (change_set_id) DO UPDATE SET status=?10, reason=?11, execution_status=?12, changes=?13"
            ),
            params![
                c.change_set_id,
                c.name,
                c.stack_id,
                c.kind,
                c.template,
                parameters_json(&c.parameters),
                strings_json(&c.capabilities),
                c.tags.as_deref().map(tags_json),
                c.description,
                c.status,
                c.reason,
                c.execution_status,
                changes_json(&c.changes),
                time(&c.created),
                c.original_template,
            ],
        )?;
        Ok(())
    }

    pub fn change_set(&self, change_set_id: &str) -> Result<Option<ChangeSetRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {CHANGE_SET_COLUMNS} FROM change_sets WHERE change_set_id = ?1"),
                [change_set_id],
                change_set_row,
            )
            .optional()?)
    }

    /// A stack's change sets, oldest first.
    pub fn change_sets(&self, stack_id: &str) -> Result<Vec<ChangeSetRow>> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {CHANGE_SET_COLUMNS} FROM change_sets WHERE stack_id = ?1 ORDER BY seq"
        ))?;
        let rows = statement.query_map([stack_id], change_set_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn remove_change_set(&self, change_set_id: &str) -> Result<()> {
        self.conn().execute("DELETE FROM change_sets WHERE change_set_id = ?1", [change_set_id])?;
        Ok(())
    }

    /// Replaces a stack's exports.
    pub fn set_exports(&self, stack_id: &str, exports: &[(String, String)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM exports WHERE stack_id = ?1", [stack_id])?;
        for (name, value) in exports {
            tx.execute(
                "INSERT INTO exports (name, stack_id, value) VALUES (?1, ?2, ?3)",
                params![name, stack_id, value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every export: `(name, stack id, value)`, by name.
    pub fn exports(&self) -> Result<Vec<(String, String, String)>> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT name, stack_id, value FROM exports ORDER BY name")?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cf.db")).unwrap();
        let stack = StackRow {
            stack_id: "arn:s".into(),
            name: "s".into(),
            status: "CREATE_COMPLETE".into(),
            reason: Some("why".into()),
            template: "{}".into(),
            original_template: Some("Transform: X".into()),
            parameters: vec![StackParameter {
                key: "P".into(),
                value: "v".into(),
                resolved_value: Some("r".into()),
            }],
            previous_template: None,
            previous_original_template: Some("Transform: Y".into()),
            previous_parameters: Vec::new(),
            description: Some("d".into()),
            capabilities: vec!["CAPABILITY_IAM".into()],
            tags: vec![Tag { key: "k".into(), value: "v".into() }],
            disable_rollback: true,
            on_failure: Some("DELETE".into()),
            outputs: vec![Output {
                key: "O".into(),
                value: "1".into(),
                description: None,
                export_name: Some("e".into()),
            }],
            imports: vec!["x".into()],
            created: Utc::now(),
            updated: None,
            deleted: None,
            change_set_id: None,
            token: Some("t".into()),
        };
        store.put_stack(&stack).unwrap();
        let back = store.live_stack("s").unwrap().unwrap();
        assert_eq!(
            (back.parameters.clone(), back.tags.clone()),
            (stack.parameters.clone(), stack.tags.clone())
        );
        assert_eq!(back.outputs, stack.outputs);
        assert_eq!(
            (back.imports.clone(), back.capabilities.clone()),
            (stack.imports.clone(), stack.capabilities.clone())
        );
        assert_eq!(back.token, stack.token);
        assert_eq!(
            (back.original_template.as_deref(), back.previous_original_template.as_deref()),
            (Some("Transform: X"), Some("Transform: Y"))
        );
        assert!(back.disable_rollback);
        store.set_exports("arn:s", &[("e".into(), "1".into())]).unwrap();
        assert_eq!(store.exports().unwrap(), vec![("e".into(), "arn:s".into(), "1".into())]);
        let mut deleted = back;
        deleted.status = "DELETE_COMPLETE".into();
        store.put_stack(&deleted).unwrap();
        assert!(store.live_stack("s").unwrap().is_none());
        assert!(store.stack("arn:s").unwrap().is_some());
    }
}
