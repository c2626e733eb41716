//! Deleting resources: in reverse dependency order, honouring `DeletionPolicy`, and
//! the physical resources a replacement set aside.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Map, Value};

use super::Engine;
use crate::prepare::Prepared;
use crate::resource::{Provisioned, ResourceError};
use crate::store::{ResourceRow, StackRow};
use crate::CloudFormationError;

impl Engine {
    /// Deletes one physical resource; `Err` carries the reason.
    pub(super) async fn delete_physical(
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
    pub(super) fn deletion_order(
        &self,
        bodies: &[Option<&str>],
        mut rows: Vec<ResourceRow>,
    ) -> Vec<ResourceRow> {
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
    pub(super) async fn delete_rows(
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
    pub(super) async fn cleanup(
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
}
