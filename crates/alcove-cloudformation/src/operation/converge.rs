//! Convergence: each resource of a target template, in dependency order, kept,
//! created, updated in place or replaced, its row and events written at every step.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Map, Value};

use super::{known, Engine, Failure, Mode};
use crate::intrinsics::Known;
use crate::plan::{self, Step};
use crate::prepare::Prepared;
use crate::resource::Provisioned;
use crate::store::{ResourceRow, RetiredRow, StackRow};
use crate::CloudFormationError;

impl Engine {
    pub(super) async fn converge(
        &self,
        stack: &StackRow,
        prepared: &Prepared,
        mode: Mode,
    ) -> Result<(), Failure> {
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
    pub(super) async fn create_one(
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
        let pending = row.clone();
        let claim = |physical_id: &str| {
            let claimed = ResourceRow { physical_id: Some(physical_id.to_owned()), ..pending.clone() };
            if let Err(error) = self.store.put_resource(&claimed) {
                tracing::warn!(%error, logical_id = %claimed.logical_id, "could not record a claimed physical id");
            }
        };
        let mut context = self.context(stack, logical_id);
        context.claim = Some(&claim);
        match resource_type.create(&context, &properties).await {
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

    pub(super) async fn change_one(
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

    pub(super) fn retire(
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
}
