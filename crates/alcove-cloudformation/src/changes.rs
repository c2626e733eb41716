//! What an update would do, resource by resource: the `Changes` of a change set and the
//! "No updates are to be performed." decision of UpdateStack. Properties are resolved
//! against the resources as they are; a value depending on a resource that will be added
//! or replaced is unknown until then, so it counts as a change.

use std::collections::BTreeMap;

use crate::intrinsics::Known;
use crate::model::{ResourceChange, StackParameter};
use crate::operation::Engine;
use crate::plan;
use crate::prepare::Prepared;
use crate::store::{ResourceRow, StackRow};
use crate::template::Template;
use crate::{CloudFormationError, Result};

/// The resource changes of moving `stack` to `prepared` (with parameter `values`), and
/// whether the stack changes at all.
pub fn compute(
    engine: &Engine,
    stack: &StackRow,
    prepared: &Prepared,
    values: &[StackParameter],
) -> Result<(Vec<ResourceChange>, bool)> {
    let rows: BTreeMap<String, ResourceRow> = if stack.status == "REVIEW_IN_PROGRESS" {
        BTreeMap::new()
    } else {
        engine.store.resources(&stack.stack_id)?.into_iter().map(|r| (r.logical_id.clone(), r)).collect()
    };
    let mut known: BTreeMap<String, Known> = rows
        .values()
        .filter_map(|r| {
            Some((
                r.logical_id.clone(),
                Known { physical_id: r.physical_id.clone()?, attributes: r.attributes.clone() },
            ))
        })
        .collect();
    let exports = engine.export_values()?;
    let mut changes = Vec::new();
    for logical_id in &prepared.order {
        let declaration = &prepared.template.resources[logical_id];
        let resolved = prepared
            .scope(&known, &exports, true)
            .eval(&declaration.properties)
            .map_err(CloudFormationError::Validation)?;
        let properties = match resolved {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let Some(row) = rows.get(logical_id) else {
            changes.push(ResourceChange {
                action: "Add".into(),
                logical_resource_id: logical_id.clone(),
                physical_resource_id: None,
                resource_type: declaration.type_name.clone(),
                replacement: None,
                scope: Vec::new(),
                changed_properties: Vec::new(),
            });
            continue;
        };
        let resource_type = engine.types.get(&declaration.type_name).map(|t| &**t);
        let type_changed = row.type_name != declaration.type_name;
        let (replacement, changed) =
            match plan::step(resource_type, type_changed, &row.properties, &properties) {
                plan::Step::Keep => continue,
                plan::Step::Update(changed) => ("False", changed),
                plan::Step::Replace(changed) => {
                    known.remove(logical_id);
                    ("True", changed)
                }
            };
        changes.push(ResourceChange {
            action: "Modify".into(),
            logical_resource_id: logical_id.clone(),
            physical_resource_id: row.physical_id.clone(),
            resource_type: declaration.type_name.clone(),
            replacement: Some(replacement.into()),
            scope: vec!["Properties".into()],
            changed_properties: changed,
        });
    }
    for row in rows.values().filter(|r| !prepared.active.contains(&r.logical_id)) {
        changes.push(ResourceChange {
            action: "Remove".into(),
            logical_resource_id: row.logical_id.clone(),
            physical_resource_id: row.physical_id.clone(),
            resource_type: row.type_name.clone(),
            replacement: None,
            scope: Vec::new(),
            changed_properties: Vec::new(),
        });
    }
    // Beyond resource properties, an update also records new outputs, parameter
    // values and resource attributes (DeletionPolicy, Metadata, DependsOn), which
    // change no resource now but are part of the stack.
    let declarations_changed = match Template::parse(&stack.template) {
        Ok(old) => {
            let outputs = |t: &Template| {
                t.outputs
                    .iter()
                    .map(|(k, o)| (k.clone(), o.value.clone(), o.description.clone(), o.export_name.clone()))
                    .collect::<Vec<_>>()
            };
            let attributes = |t: &Template| {
                t.resources
                    .iter()
                    .map(|(k, r)| {
                        (k.clone(), r.deletion_policy.clone(), r.metadata.clone(), r.depends_on.clone())
                    })
                    .collect::<Vec<_>>()
            };
            outputs(&old) != outputs(&prepared.template)
                || attributes(&old) != attributes(&prepared.template)
                || stack.parameters != values
        }
        Err(_) => true,
    };
    let anything = !changes.is_empty() || declarations_changed;
    Ok((changes, anything))
}
