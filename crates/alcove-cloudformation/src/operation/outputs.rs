//! Outputs and exports: evaluated once the resources are settled, checked against
//! the exports of other stacks and the imports that hold them.

use serde_json::Value;

use super::{known, Engine, Exported, Failure};
use crate::model::Output;
use crate::prepare::Prepared;
use crate::store::StackRow;
use crate::CloudFormationError;

impl Engine {
    /// Evaluates the outputs and checks the exports they define against other stacks.
    pub(super) fn outputs(
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
    pub(super) fn importer(&self, export: &str, except: &str) -> Result<Option<String>, CloudFormationError> {
        Ok(self
            .store
            .stacks()?
            .into_iter()
            .find(|s| {
                s.stack_id != except && s.status != "DELETE_COMPLETE" && s.imports.iter().any(|i| i == export)
            })
            .map(|s| s.name))
    }

    pub(super) fn settle_outputs(
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

    pub(super) fn finish_change_set(&self, stack: &StackRow, succeeded: bool) {
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
}
