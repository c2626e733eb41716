//! The stack state machine. Each operation (create, update, delete) and its failure path
//! (rollback, update rollback) runs on a spawned task holding the stack's lock, writing
//! the stack's status, each resource's row and each event before it takes the next step.
//! Because every step is on disk, [`Engine::resume`] can pick up any stack found in an
//! `*_IN_PROGRESS` state after a restart and drive it to a settled one.
//!
//! Updates converge the stack's resources toward a target template: unchanged resources
//! are kept, changed ones updated in place or replaced (the new physical resource is
//! created first, the old one set aside and deleted at cleanup). A rollback is the same
//! convergence toward the previous template, except that a replaced resource gets its
//! set-aside original back instead of a third one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::{Map, Value};

use crate::intrinsics::Known;
use crate::model::Output;
use crate::plan::{self, Step};
use crate::prepare::{Prepared, Target};
use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::services::Services;
use crate::store::{EventRow, ResourceRow, RetiredRow, StackRow, Store};
use crate::{CloudFormationError, Settings};

/// A stack operation, boxed so it can be handed to [`Engine::spawn`].
pub type Work = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pub const RESTARTED: &str = "Alcove restarted during the operation";

pub struct Engine {
    pub store: Store,
    pub services: Arc<dyn Services>,
    pub settings: Settings,
    pub types: BTreeMap<String, Box<dyn ResourceType>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Why a convergence stopped: the resources that failed and what they were doing, or a
/// stack-level reason.
enum Failure {
    Resources { verb: &'static str, logical_ids: Vec<String> },
    Reason(String),
}

impl Failure {
    fn reason(&self, suffix: &str) -> String {
        match self {
            Failure::Resources { verb, logical_ids } => {
                format!("The following resource(s) failed to {verb}: [{}]. {suffix}", logical_ids.join(", "))
            }
            Failure::Reason(reason) => reason.clone(),
        }
    }
}

impl From<CloudFormationError> for Failure {
    fn from(e: CloudFormationError) -> Self {
        Failure::Reason(e.to_string())
    }
}

/// Export names and values a stack defines.
type Exported = Vec<(String, String)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Update,
    Rollback,
}

fn known(rows: &[ResourceRow]) -> BTreeMap<String, Known> {
    rows.iter()
        .filter_map(|r| {
            Some((
                r.logical_id.clone(),
                Known { physical_id: r.physical_id.clone()?, attributes: r.attributes.clone() },
            ))
        })
        .collect()
}

impl Engine {
    pub fn new(
        store: Store,
        services: Arc<dyn Services>,
        settings: Settings,
        types: Vec<Box<dyn ResourceType>>,
    ) -> Engine {
        let types = types.into_iter().map(|t| (t.type_name().to_owned(), t)).collect();
        Engine { store, services, settings, types, locks: Mutex::new(HashMap::new()) }
    }

    fn target<'a>(&'a self, stack: &'a StackRow) -> Target<'a> {
        Target {
            region: &self.settings.region,
            account_id: &self.settings.account_id,
            stack_name: &stack.name,
            stack_id: &stack.stack_id,
        }
    }

    pub fn prepare(&self, stack: &StackRow) -> Result<Prepared, String> {
        Prepared::new(&stack.template, &stack.parameters, &self.target(stack))
    }

    pub fn export_values(&self) -> Result<BTreeMap<String, String>, CloudFormationError> {
        Ok(self.store.exports()?.into_iter().map(|(name, _, value)| (name, value)).collect())
    }

    /// Runs `work` on a spawned task once no other operation holds the stack.
    pub fn spawn<F>(self: &Arc<Self>, stack_id: &str, work: F)
    where
        F: FnOnce(Arc<Engine>, String) -> Work + Send + 'static,
    {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(stack_id.to_owned()).or_default().clone()
        };
        let engine = self.clone();
        let stack_id = stack_id.to_owned();
        tokio::spawn(async move {
            let _held = lock.lock().await;
            // The work runs on a task of its own so that a panic (a resource type's bug)
            // settles the stack in a failed state instead of leaving it in progress.
            if let Err(e) = tokio::spawn(work(engine.clone(), stack_id.clone())).await {
                tracing::error!(stack = %stack_id, error = %e, "a stack operation panicked");
                engine.settle_after_panic(&stack_id);
            }
        });
    }

    fn settle_after_panic(&self, stack_id: &str) {
        let Some(mut stack) = self.load(stack_id) else { return };
        let failed = match stack.status.as_str() {
            "CREATE_IN_PROGRESS" => "CREATE_FAILED",
            "ROLLBACK_IN_PROGRESS" => "ROLLBACK_FAILED",
            "DELETE_IN_PROGRESS" => "DELETE_FAILED",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => "UPDATE_COMPLETE",
            status if status.starts_with("UPDATE_") && status.ends_with("_IN_PROGRESS") => {
                "UPDATE_ROLLBACK_FAILED"
            }
            _ => return,
        };
        let _ = self.set_status(&mut stack, failed, Some("Internal failure"));
    }

    // ---- events and statuses ----

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        stack: &StackRow,
        logical_id: &str,
        physical_id: Option<&str>,
        type_name: &str,
        status: &str,
        reason: Option<&str>,
        properties: Option<&Map<String, Value>>,
    ) -> Result<(), CloudFormationError> {
        let now = Utc::now();
        // AWS names resource events `{logical}-{status}-{timestamp}`; two steps of one
        // resource can fall in the same millisecond here, and clients that follow events
        // skip ids they have seen, so every event gets a UUID (as the stack's own do).
        let event_id = uuid::Uuid::new_v4().to_string();
        self.store.add_event(&EventRow {
            stack_id: stack.stack_id.clone(),
            event_id,
            logical_id: logical_id.to_owned(),
            physical_id: physical_id.map(str::to_owned),
            type_name: type_name.to_owned(),
            timestamp: now,
            status: status.to_owned(),
            reason: reason.map(str::to_owned),
            properties: properties.map(|p| Value::Object(p.clone()).to_string()),
            token: stack.token.clone(),
        })
    }

    /// Writes the stack's new status and its event.
    pub fn set_status(
        &self,
        stack: &mut StackRow,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), CloudFormationError> {
        stack.status = status.to_owned();
        stack.reason = reason.map(str::to_owned);
        if status == "DELETE_COMPLETE" {
            stack.deleted = Some(Utc::now());
        }
        self.store.put_stack(stack)?;
        let stack_ref = &*stack;
        self.event(
            stack_ref,
            &stack.name,
            Some(&stack.stack_id),
            "AWS::CloudFormation::Stack",
            status,
            reason,
            None,
        )
    }

    fn context<'a>(&'a self, stack: &'a StackRow, logical_id: &'a str) -> Context<'a> {
        Context {
            services: &*self.services,
            region: &self.settings.region,
            account_id: &self.settings.account_id,
            stack_name: &stack.name,
            stack_id: &stack.stack_id,
            logical_id,
        }
    }

    fn unsupported(&self, type_name: &str) -> String {
        let supported: Vec<&str> = self.types.keys().map(String::as_str).collect();
        format!("Unsupported resource type {type_name}: Alcove deploys {}", supported.join(", "))
    }

    // ---- convergence ----

    async fn converge(&self, stack: &StackRow, prepared: &Prepared, mode: Mode) -> Result<(), Failure> {
        let rows: BTreeMap<String, ResourceRow> =
            self.store.resources(&stack.stack_id)?.into_iter().map(|r| (r.logical_id.clone(), r)).collect();
        let mut known = known(&rows.values().cloned().collect::<Vec<_>>());
        let exports = self.export_values()?;
        for (index, logical_id) in prepared.order.iter().enumerate() {
            let declaration = &prepared.template.resources[logical_id];
            let resolved =
                prepared.scope(&known, &exports, false).eval(&declaration.properties).map(|v| match v {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                });
            let outcome = match rows.get(logical_id) {
                None => self.create_one(stack, logical_id, &declaration.type_name, resolved).await,
                Some(row) => self.change_one(stack, row, &declaration.type_name, resolved, mode).await,
            };
            match outcome {
                Ok(Some(k)) => {
                    known.insert(logical_id.clone(), k);
                }
                Ok(None) => {}
                Err(verb) => {
                    if mode == Mode::Create {
                        for later in &prepared.order[index + 1..] {
                            let type_name = &prepared.template.resources[later].type_name;
                            self.event(
                                stack,
                                later,
                                None,
                                type_name,
                                "CREATE_FAILED",
                                Some("Resource creation cancelled"),
                                None,
                            )?;
                        }
                    }
                    return Err(Failure::Resources { verb, logical_ids: vec![logical_id.clone()] });
                }
            }
        }
        Ok(())
    }

    /// Creates one resource and writes its row.
    async fn create_one(
        &self,
        stack: &StackRow,
        logical_id: &str,
        type_name: &str,
        resolved: Result<Map<String, Value>, String>,
    ) -> Result<Option<Known>, &'static str> {
        let fail = |reason: &str, properties: &Map<String, Value>| -> Result<Option<Known>, &'static str> {
            let _ = self.event(
                stack,
                logical_id,
                None,
                type_name,
                "CREATE_FAILED",
                Some(reason),
                Some(properties),
            );
            let _ = self.store.put_resource(&ResourceRow {
                stack_id: stack.stack_id.clone(),
                logical_id: logical_id.to_owned(),
                type_name: type_name.to_owned(),
                physical_id: None,
                status: "CREATE_FAILED".into(),
                reason: Some(reason.to_owned()),
                properties: properties.clone(),
                attributes: Map::new(),
                updated: Utc::now(),
                ord: self.store.next_ord(&stack.stack_id).unwrap_or(0),
            });
            Err("create")
        };
        let properties = match resolved {
            Ok(p) => p,
            Err(reason) => {
                let _ = self.event(stack, logical_id, None, type_name, "CREATE_IN_PROGRESS", None, None);
                return fail(&reason, &Map::new());
            }
        };
        let shown = Some(&properties);
        let _ = self.event(stack, logical_id, None, type_name, "CREATE_IN_PROGRESS", None, shown);
        let Some(resource_type) = self.types.get(type_name) else {
            return fail(&self.unsupported(type_name), &properties);
        };
        let ord = self.store.next_ord(&stack.stack_id).map_err(|_| "create")?;
        let mut row = ResourceRow {
            stack_id: stack.stack_id.clone(),
            logical_id: logical_id.to_owned(),
            type_name: type_name.to_owned(),
            physical_id: None,
            status: "CREATE_IN_PROGRESS".into(),
            reason: None,
            properties: properties.clone(),
            attributes: Map::new(),
            updated: Utc::now(),
            ord,
        };
        self.store.put_resource(&row).map_err(|_| "create")?;
        match resource_type.create(&self.context(stack, logical_id), &properties).await {
            Ok(provisioned) => {
                let physical = Some(provisioned.physical_id.as_str());
                let initiated = Some("Resource creation Initiated");
                let _ = self.event(
                    stack,
                    logical_id,
                    physical,
                    type_name,
                    "CREATE_IN_PROGRESS",
                    initiated,
                    shown,
                );
                row.physical_id = Some(provisioned.physical_id.clone());
                row.attributes = provisioned.attributes.clone();
                row.status = "CREATE_COMPLETE".into();
                row.updated = Utc::now();
                self.store.put_resource(&row).map_err(|_| "create")?;
                let _ = self.event(stack, logical_id, physical, type_name, "CREATE_COMPLETE", None, None);
                Ok(Some(Known { physical_id: provisioned.physical_id, attributes: provisioned.attributes }))
            }
            Err(e) => fail(&e.to_string(), &properties),
        }
    }

    async fn change_one(
        &self,
        stack: &StackRow,
        row: &ResourceRow,
        type_name: &str,
        resolved: Result<Map<String, Value>, String>,
        mode: Mode,
    ) -> Result<Option<Known>, &'static str> {
        let logical_id = row.logical_id.as_str();
        let physical = row.physical_id.as_deref();
        let failed = |reason: &str| -> Result<Option<Known>, &'static str> {
            let _ = self.event(stack, logical_id, physical, type_name, "UPDATE_FAILED", Some(reason), None);
            let mut failed = row.clone();
            failed.status = "UPDATE_FAILED".into();
            failed.reason = Some(reason.to_owned());
            failed.updated = Utc::now();
            let _ = self.store.put_resource(&failed);
            Err("update")
        };
        let properties = match resolved {
            Ok(p) => p,
            Err(reason) => return failed(&reason),
        };
        let resource_type = self.types.get(type_name).map(|t| &**t);
        let dirty = row.status.ends_with("_IN_PROGRESS")
            || (mode == Mode::Rollback && row.status.ends_with("_FAILED"));
        let step = match plan::step(resource_type, row.type_name != type_name, &row.properties, &properties) {
            Step::Keep if dirty => Step::Update(Vec::new()),
            step => step,
        };
        if step == Step::Keep {
            return Ok(None);
        }
        let Some(resource_type) = resource_type else { return failed(&self.unsupported(type_name)) };
        let Some(current_physical) = row.physical_id.clone() else {
            // A resource that never came to exist: create it now.
            let _ = self.store.remove_resource(&stack.stack_id, logical_id);
            return Box::pin(self.create_one(stack, logical_id, type_name, Ok(properties))).await;
        };
        let current =
            Provisioned { physical_id: current_physical.clone(), attributes: row.attributes.clone() };
        let context = self.context(stack, logical_id);
        if let Step::Replace(_) = step {
            if mode == Mode::Rollback {
                let original = self.store.retired(&stack.stack_id).map_err(|_| "update")?;
                if let Some(original) = original.into_iter().rev().find(|r| r.logical_id == logical_id) {
                    let _ =
                        self.event(stack, logical_id, physical, type_name, "UPDATE_IN_PROGRESS", None, None);
                    self.retire(stack, row, &current_physical).map_err(|_| "update")?;
                    let restored = ResourceRow {
                        type_name: original.type_name.clone(),
                        physical_id: Some(original.physical_id.clone()),
                        status: "UPDATE_COMPLETE".into(),
                        reason: None,
                        properties: original.properties.clone(),
                        attributes: original.attributes.clone(),
                        updated: Utc::now(),
                        ..row.clone()
                    };
                    self.store.put_resource(&restored).map_err(|_| "update")?;
                    self.store.remove_retired(original.seq).map_err(|_| "update")?;
                    let physical = Some(original.physical_id.as_str());
                    let _ = self.event(stack, logical_id, physical, type_name, "UPDATE_COMPLETE", None, None);
                    return Ok(Some(Known {
                        physical_id: original.physical_id,
                        attributes: original.attributes,
                    }));
                }
            }
            let reason =
                "Requested update requires the creation of a new physical resource; hence creating one.";
            let _ =
                self.event(stack, logical_id, physical, type_name, "UPDATE_IN_PROGRESS", Some(reason), None);
            return match resource_type.create(&context, &properties).await {
                Ok(provisioned) => {
                    self.retire(stack, row, &current_physical).map_err(|_| "update")?;
                    let replaced = ResourceRow {
                        type_name: type_name.to_owned(),
                        physical_id: Some(provisioned.physical_id.clone()),
                        status: "UPDATE_COMPLETE".into(),
                        reason: None,
                        properties,
                        attributes: provisioned.attributes.clone(),
                        updated: Utc::now(),
                        ..row.clone()
                    };
                    self.store.put_resource(&replaced).map_err(|_| "update")?;
                    let physical = Some(provisioned.physical_id.as_str());
                    let initiated = Some("Resource creation Initiated");
                    let _ = self.event(
                        stack,
                        logical_id,
                        physical,
                        type_name,
                        "UPDATE_IN_PROGRESS",
                        initiated,
                        None,
                    );
                    let _ = self.event(stack, logical_id, physical, type_name, "UPDATE_COMPLETE", None, None);
                    Ok(Some(Known {
                        physical_id: provisioned.physical_id,
                        attributes: provisioned.attributes,
                    }))
                }
                Err(e) => failed(&e.to_string()),
            };
        }
        let _ = self.event(stack, logical_id, physical, type_name, "UPDATE_IN_PROGRESS", None, None);
        let mut updating = row.clone();
        updating.status = "UPDATE_IN_PROGRESS".into();
        self.store.put_resource(&updating).map_err(|_| "update")?;
        match resource_type.update(&context, &current, &row.properties, &properties).await {
            Ok(provisioned) => {
                let updated = ResourceRow {
                    physical_id: Some(provisioned.physical_id.clone()),
                    status: "UPDATE_COMPLETE".into(),
                    reason: None,
                    properties,
                    attributes: provisioned.attributes.clone(),
                    updated: Utc::now(),
                    ..row.clone()
                };
                self.store.put_resource(&updated).map_err(|_| "update")?;
                let physical = Some(provisioned.physical_id.as_str());
                let _ = self.event(stack, logical_id, physical, type_name, "UPDATE_COMPLETE", None, None);
                Ok(Some(Known { physical_id: provisioned.physical_id, attributes: provisioned.attributes }))
            }
            Err(e) => failed(&e.to_string()),
        }
    }

    fn retire(
        &self,
        stack: &StackRow,
        row: &ResourceRow,
        physical_id: &str,
    ) -> Result<(), CloudFormationError> {
        self.store.add_retired(&RetiredRow {
            seq: 0,
            stack_id: stack.stack_id.clone(),
            logical_id: row.logical_id.clone(),
            type_name: row.type_name.clone(),
            physical_id: physical_id.to_owned(),
            properties: row.properties.clone(),
            attributes: row.attributes.clone(),
        })
    }

    // ---- deletion ----

    /// Deletes one physical resource; `Err` carries the reason.
    async fn delete_physical(
        &self,
        stack: &StackRow,
        logical_id: &str,
        type_name: &str,
        current: Option<Provisioned>,
        properties: &Map<String, Value>,
    ) -> Result<(), String> {
        let physical = current.as_ref().map(|c| c.physical_id.clone());
        let physical = physical.as_deref();
        let _ = self.event(stack, logical_id, physical, type_name, "DELETE_IN_PROGRESS", None, None);
        let result = match (current, self.types.get(type_name)) {
            (None, _) | (_, None) => Ok(()),
            (Some(current), Some(resource_type)) => {
                match resource_type.delete(&self.context(stack, logical_id), &current, properties).await {
                    Ok(()) | Err(ResourceError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        match &result {
            Ok(()) => {
                let _ = self.event(stack, logical_id, physical, type_name, "DELETE_COMPLETE", None, None);
            }
            Err(reason) => {
                let _ =
                    self.event(stack, logical_id, physical, type_name, "DELETE_FAILED", Some(reason), None);
            }
        }
        result
    }

    /// Rows in the order they must be deleted: dependents before what they depend on,
    /// by the dependency order of the given templates, else newest first.
    fn deletion_order(&self, bodies: &[Option<&str>], mut rows: Vec<ResourceRow>) -> Vec<ResourceRow> {
        let mut position: BTreeMap<String, usize> = BTreeMap::new();
        for body in bodies.iter().flatten() {
            if let Ok(template) = crate::template::Template::parse(body) {
                let all = template.resources.keys().cloned().collect();
                if let Ok(order) = crate::graph::order(&template, &all) {
                    for (i, id) in order.into_iter().enumerate() {
                        position.entry(id).or_insert(i);
                    }
                }
            }
        }
        rows.sort_by_key(|r| {
            std::cmp::Reverse((position.get(&r.logical_id).copied().unwrap_or(usize::MAX), r.ord))
        });
        rows
    }

    /// Deletes the stack's set-aside replaced resources and the given rows; answers the
    /// logical ids that failed to delete (their rows kept as `DELETE_FAILED` if
    /// `keep_failed`). A resource whose `DeletionPolicy` retains it is left in place
    /// (`DELETE_SKIPPED`); `rolling_back_creation` says whether the operation that
    /// created the rows is being undone (`RetainExceptOnCreate` then deletes).
    async fn delete_rows(
        &self,
        stack: &StackRow,
        rows: Vec<ResourceRow>,
        keep_failed: bool,
        rolling_back_creation: bool,
    ) -> Vec<String> {
        let templates: Vec<crate::template::Template> =
            [Some(stack.template.as_str()), stack.previous_template.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(|body| crate::template::Template::parse(body).ok())
                .collect();
        let retained = |logical_id: &str| {
            templates
                .iter()
                .find_map(|t| t.resources.get(logical_id))
                .is_some_and(|r| r.retained(rolling_back_creation))
        };
        let mut failed = Vec::new();
        for retired in self.store.retired(&stack.stack_id).unwrap_or_default().into_iter().rev() {
            let current =
                Provisioned { physical_id: retired.physical_id.clone(), attributes: retired.attributes };
            let _ = self
                .delete_physical(
                    stack,
                    &retired.logical_id,
                    &retired.type_name,
                    Some(current),
                    &retired.properties,
                )
                .await;
            let _ = self.store.remove_retired(retired.seq);
        }
        let bodies = [Some(stack.template.as_str()), stack.previous_template.as_deref()];
        for row in self.deletion_order(&bodies, rows) {
            if retained(&row.logical_id) {
                let physical = row.physical_id.as_deref();
                let _ = self.event(
                    stack,
                    &row.logical_id,
                    physical,
                    &row.type_name,
                    "DELETE_SKIPPED",
                    None,
                    None,
                );
                let _ = self.store.remove_resource(&stack.stack_id, &row.logical_id);
                continue;
            }
            let current = row
                .physical_id
                .clone()
                .map(|p| Provisioned { physical_id: p, attributes: row.attributes.clone() });
            match self.delete_physical(stack, &row.logical_id, &row.type_name, current, &row.properties).await
            {
                Err(reason) if keep_failed => {
                    failed.push(row.logical_id.clone());
                    let _ = self.store.put_resource(&ResourceRow {
                        status: "DELETE_FAILED".into(),
                        reason: Some(reason),
                        updated: Utc::now(),
                        ..row
                    });
                }
                _ => {
                    let _ = self.store.remove_resource(&stack.stack_id, &row.logical_id);
                }
            }
        }
        failed
    }

    /// Deletes the resources the target does not hold (and set-aside replacements).
    async fn cleanup(
        &self,
        stack: &StackRow,
        prepared: &Prepared,
        rolling_back: bool,
    ) -> Result<(), CloudFormationError> {
        let stale: Vec<ResourceRow> = self
            .store
            .resources(&stack.stack_id)?
            .into_iter()
            .filter(|r| !prepared.active.contains(&r.logical_id))
            .collect();
        self.delete_rows(stack, stale, false, rolling_back).await;
        Ok(())
    }

    // ---- outputs and exports ----

    /// Evaluates the outputs and checks the exports they define against other stacks.
    fn outputs(
        &self,
        stack: &StackRow,
        prepared: &Prepared,
        check_in_use: bool,
    ) -> Result<(Vec<Output>, Exported), Failure> {
        let rows = self.store.resources(&stack.stack_id)?;
        let known = known(&rows);
        let exports = self.export_values()?;
        let scope = prepared.scope(&known, &exports, false);
        let mut outputs = Vec::new();
        let mut exported = Vec::new();
        for (key, output) in &prepared.template.outputs {
            if !prepared.output_active(output.condition.as_ref()) {
                continue;
            }
            let text = |v: Value| match v {
                Value::String(s) => s,
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            let value = text(scope.eval_value(&output.value).map_err(Failure::Reason)?);
            let export_name = match &output.export_name {
                Some(name) => Some(text(scope.eval_value(name).map_err(Failure::Reason)?)),
                None => None,
            };
            if let Some(name) = &export_name {
                exported.push((name.clone(), value.clone()));
            }
            outputs.push(Output {
                key: key.clone(),
                value,
                description: output.description.clone(),
                export_name,
            });
        }
        let all = self.store.exports()?;
        for (name, _) in &exported {
            if let Some((_, owner, _)) =
                all.iter().find(|(n, owner, _)| n == name && *owner != stack.stack_id)
            {
                let owner_name = self.store.stack(owner)?.map(|s| s.name).unwrap_or_else(|| owner.clone());
                return Err(Failure::Reason(format!(
                    "Export with name {name} is already exported by stack {owner_name}"
                )));
            }
        }
        if check_in_use {
            for (name, owner, value) in &all {
                if owner != &stack.stack_id {
                    continue;
                }
                let kept = exported.iter().find(|(n, _)| n == name);
                if kept.map(|(_, v)| v == value).unwrap_or(false) {
                    continue;
                }
                if let Some(importer) = self.importer(name, &stack.stack_id)? {
                    return Err(Failure::Reason(match kept {
                        None => format!("Export {name} cannot be deleted as it is in use by {importer}"),
                        Some(_) => format!("Cannot update export {name} as it is in use by {importer}"),
                    }));
                }
            }
        }
        Ok((outputs, exported))
    }

    /// A live stack other than `except` that imports `export`.
    fn importer(&self, export: &str, except: &str) -> Result<Option<String>, CloudFormationError> {
        Ok(self
            .store
            .stacks()?
            .into_iter()
            .find(|s| {
                s.stack_id != except && s.status != "DELETE_COMPLETE" && s.imports.iter().any(|i| i == export)
            })
            .map(|s| s.name))
    }

    fn settle_outputs(
        &self,
        stack: &mut StackRow,
        prepared: &Prepared,
        check_in_use: bool,
    ) -> Result<(), Failure> {
        let (outputs, exported) = self.outputs(stack, prepared, check_in_use)?;
        stack.outputs = outputs;
        stack.imports = prepared.imports(&self.export_values()?);
        self.store.set_exports(&stack.stack_id, &exported)?;
        self.store.put_stack(stack)?;
        Ok(())
    }

    fn finish_change_set(&self, stack: &StackRow, succeeded: bool) {
        if let Some(id) = &stack.change_set_id {
            if let Ok(Some(mut change_set)) = self.store.change_set(id) {
                if change_set.execution_status == "EXECUTE_IN_PROGRESS" {
                    change_set.execution_status =
                        if succeeded { "EXECUTE_COMPLETE" } else { "EXECUTE_FAILED" }.into();
                    let _ = self.store.put_change_set(&change_set);
                }
            }
        }
    }

    // ---- operations ----

    fn load(&self, stack_id: &str) -> Option<StackRow> {
        self.store.stack(stack_id).ok().flatten()
    }

    pub async fn run_create(self: Arc<Self>, stack_id: String) {
        let Some(mut stack) = self.load(&stack_id) else { return };
        let outcome = match self.prepare(&stack) {
            Ok(prepared) => match self.converge(&stack, &prepared, Mode::Create).await {
                Ok(()) => self.settle_outputs(&mut stack, &prepared, false),
                Err(f) => Err(f),
            },
            Err(reason) => Err(Failure::Reason(reason)),
        };
        match outcome {
            Ok(()) => {
                let _ = self.set_status(&mut stack, "CREATE_COMPLETE", None);
                self.finish_change_set(&stack, true);
            }
            Err(failure) => {
                self.finish_change_set(&stack, false);
                let keep = stack.disable_rollback || stack.on_failure.as_deref() == Some("DO_NOTHING");
                if keep {
                    let _ = self.set_status(&mut stack, "CREATE_FAILED", Some(&failure.reason("")));
                } else if stack.on_failure.as_deref() == Some("DELETE") {
                    let reason = failure.reason("Delete requested by user.");
                    if self.set_status(&mut stack, "DELETE_IN_PROGRESS", Some(&reason)).is_ok() {
                        self.continue_delete(stack, true).await;
                    }
                } else {
                    let reason = failure.reason("Rollback requested by user.");
                    if self.set_status(&mut stack, "ROLLBACK_IN_PROGRESS", Some(&reason)).is_ok() {
                        self.run_rollback(stack).await;
                    }
                }
            }
        }
    }

    /// ROLLBACK_IN_PROGRESS: deletes every resource the failed creation made.
    async fn run_rollback(&self, mut stack: StackRow) {
        let rows = self.store.resources(&stack.stack_id).unwrap_or_default();
        let failed = self.delete_rows(&stack, rows, true, true).await;
        if !failed.is_empty() {
            let reason = format!("The following resource(s) failed to delete: [{}]. ", failed.join(", "));
            let _ = self.set_status(&mut stack, "ROLLBACK_FAILED", Some(&reason));
            return;
        }
        let _ = self.store.set_exports(&stack.stack_id, &[]);
        stack.outputs.clear();
        let _ = self.set_status(&mut stack, "ROLLBACK_COMPLETE", None);
    }

    pub async fn run_update(self: Arc<Self>, stack_id: String) {
        let Some(mut stack) = self.load(&stack_id) else { return };
        let outcome = match self.prepare(&stack) {
            Ok(prepared) => match self.converge(&stack, &prepared, Mode::Update).await {
                Ok(()) => self.settle_outputs(&mut stack, &prepared, true).map(|()| prepared),
                Err(f) => Err(f),
            },
            Err(reason) => Err(Failure::Reason(reason)),
        };
        match outcome {
            Ok(prepared) => {
                self.finish_change_set(&stack, true);
                if self.set_status(&mut stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None).is_ok() {
                    self.finish_update_cleanup(stack, &prepared).await;
                }
            }
            Err(failure) => {
                self.finish_change_set(&stack, false);
                self.start_update_rollback(stack, &failure.reason("")).await;
            }
        }
    }

    async fn finish_update_cleanup(&self, mut stack: StackRow, prepared: &Prepared) {
        if self.cleanup(&stack, prepared, false).await.is_ok() {
            stack.previous_template = None;
            stack.previous_parameters.clear();
            let _ = self.set_status(&mut stack, "UPDATE_COMPLETE", None);
        }
    }

    /// UPDATE_ROLLBACK_IN_PROGRESS: the stack takes its previous template back.
    async fn start_update_rollback(&self, mut stack: StackRow, reason: &str) {
        let Some(previous) = stack.previous_template.clone() else {
            let _ = self.set_status(&mut stack, "UPDATE_ROLLBACK_FAILED", Some(reason));
            return;
        };
        stack.previous_template = Some(std::mem::replace(&mut stack.template, previous));
        let failed_parameters = std::mem::take(&mut stack.parameters);
        stack.parameters = std::mem::replace(&mut stack.previous_parameters, failed_parameters);
        if self.set_status(&mut stack, "UPDATE_ROLLBACK_IN_PROGRESS", Some(reason)).is_ok() {
            self.continue_update_rollback(stack).await;
        }
    }

    async fn continue_update_rollback(&self, mut stack: StackRow) {
        let prepared = match self.prepare(&stack) {
            Ok(p) => p,
            Err(reason) => {
                let _ = self.set_status(&mut stack, "UPDATE_ROLLBACK_FAILED", Some(&reason));
                return;
            }
        };
        let outcome = match self.converge(&stack, &prepared, Mode::Rollback).await {
            Ok(()) => self.settle_outputs(&mut stack, &prepared, false),
            Err(f) => Err(f),
        };
        if let Err(failure) = outcome {
            let _ = self.set_status(&mut stack, "UPDATE_ROLLBACK_FAILED", Some(&failure.reason("")));
            return;
        }
        if self.set_status(&mut stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None).is_ok() {
            self.finish_rollback_cleanup(stack, &prepared).await;
        }
    }

    async fn finish_rollback_cleanup(&self, mut stack: StackRow, prepared: &Prepared) {
        if self.cleanup(&stack, prepared, true).await.is_ok() {
            stack.previous_template = None;
            stack.previous_parameters.clear();
            let _ = self.set_status(&mut stack, "UPDATE_ROLLBACK_COMPLETE", None);
        }
    }

    pub async fn run_delete(self: Arc<Self>, stack_id: String) {
        let Some(mut stack) = self.load(&stack_id) else { return };
        if stack.status == "DELETE_COMPLETE" {
            return;
        }
        if stack.status != "DELETE_IN_PROGRESS"
            && self.set_status(&mut stack, "DELETE_IN_PROGRESS", Some("User Initiated")).is_err()
        {
            return;
        }
        self.continue_delete(stack, false).await;
    }

    /// DELETE_IN_PROGRESS: deletes every resource; `rolling_back_creation` when a failed
    /// creation is deleted (`OnFailure=DELETE`).
    async fn continue_delete(&self, mut stack: StackRow, rolling_back_creation: bool) {
        let in_use = self
            .store
            .exports()
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, owner, _)| owner == &stack.stack_id);
        for (name, _, _) in in_use {
            if let Ok(Some(importer)) = self.importer(&name, &stack.stack_id) {
                let reason = format!("Export {name} cannot be deleted as it is in use by {importer}");
                let _ = self.set_status(&mut stack, "DELETE_FAILED", Some(&reason));
                return;
            }
        }
        let rows = self.store.resources(&stack.stack_id).unwrap_or_default();
        let failed = self.delete_rows(&stack, rows, true, rolling_back_creation).await;
        if !failed.is_empty() {
            let reason = format!("The following resource(s) failed to delete: [{}]. ", failed.join(", "));
            let _ = self.set_status(&mut stack, "DELETE_FAILED", Some(&reason));
            return;
        }
        let _ = self.store.set_exports(&stack.stack_id, &[]);
        for change_set in self.store.change_sets(&stack.stack_id).unwrap_or_default() {
            let _ = self.store.remove_change_set(&change_set.change_set_id);
        }
        let _ = self.set_status(&mut stack, "DELETE_COMPLETE", None);
    }

    /// Drives every stack left in progress by a previous run to a settled state.
    pub fn resume(self: &Arc<Self>) -> Result<(), CloudFormationError> {
        for stack in self.store.stacks()? {
            if !stack.status.ends_with("_IN_PROGRESS") || stack.status == "REVIEW_IN_PROGRESS" {
                continue;
            }
            tracing::info!(stack = %stack.name, status = %stack.status, "resuming a stack operation after a restart");
            self.spawn(&stack.stack_id, |engine, stack_id| {
                Box::pin(async move { engine.resume_one(stack_id).await })
            });
        }
        Ok(())
    }

    async fn resume_one(self: Arc<Self>, stack_id: String) {
        let Some(mut stack) = self.load(&stack_id) else { return };
        // A creation cut short left no physical id to delete: the row is dropped.
        for row in self.store.resources(&stack_id).unwrap_or_default() {
            if row.physical_id.is_none() && row.status == "CREATE_IN_PROGRESS" {
                let _ = self.event(
                    &stack,
                    &row.logical_id,
                    None,
                    &row.type_name,
                    "CREATE_FAILED",
                    Some(RESTARTED),
                    None,
                );
                let _ = self.store.remove_resource(&stack_id, &row.logical_id);
            }
        }
        match stack.status.as_str() {
            "CREATE_IN_PROGRESS" => {
                self.finish_change_set(&stack, false);
                let reason = format!("{RESTARTED}. Rollback requested by user.");
                if self.set_status(&mut stack, "ROLLBACK_IN_PROGRESS", Some(&reason)).is_ok() {
                    self.run_rollback(stack).await;
                }
            }
            "ROLLBACK_IN_PROGRESS" => self.run_rollback(stack).await,
            "UPDATE_IN_PROGRESS" => {
                self.finish_change_set(&stack, false);
                self.start_update_rollback(stack, RESTARTED).await;
            }
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => match self.prepare(&stack) {
                Ok(prepared) => self.finish_update_cleanup(stack, &prepared).await,
                Err(reason) => {
                    let _ = self.set_status(&mut stack, "UPDATE_COMPLETE", Some(&reason));
                }
            },
            "UPDATE_ROLLBACK_IN_PROGRESS" => self.continue_update_rollback(stack).await,
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" => match self.prepare(&stack) {
                Ok(prepared) => self.finish_rollback_cleanup(stack, &prepared).await,
                Err(reason) => {
                    let _ = self.set_status(&mut stack, "UPDATE_ROLLBACK_FAILED", Some(&reason));
                }
            },
            "DELETE_IN_PROGRESS" => self.continue_delete(stack, false).await,
            _ => {}
        }
    }
}
