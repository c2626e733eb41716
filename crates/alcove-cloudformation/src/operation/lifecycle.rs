//! The operations themselves — create, update, delete — and their failure paths, each
//! a sequence of persisted statuses, and the resumption of whatever a restart cut short.

use std::sync::Arc;

use super::{Engine, Failure, Mode, RESTARTED};
use crate::prepare::Prepared;
use crate::store::StackRow;
use crate::CloudFormationError;

impl Engine {
    pub(super) fn load(&self, stack_id: &str) -> Option<StackRow> {
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
    pub(super) async fn run_rollback(&self, mut stack: StackRow) {
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

    pub(super) async fn finish_update_cleanup(&self, mut stack: StackRow, prepared: &Prepared) {
        if self.cleanup(&stack, prepared, false).await.is_ok() {
            stack.previous_template = None;
            stack.previous_original_template = None;
            stack.previous_parameters.clear();
            let _ = self.set_status(&mut stack, "UPDATE_COMPLETE", None);
        }
    }

    /// UPDATE_ROLLBACK_IN_PROGRESS: the stack takes its previous template back.
    pub(super) async fn start_update_rollback(&self, mut stack: StackRow, reason: &str) {
        let Some(previous) = stack.previous_template.clone() else {
            let _ = self.set_status(&mut stack, "UPDATE_ROLLBACK_FAILED", Some(reason));
            return;
        };
        stack.previous_template = Some(std::mem::replace(&mut stack.template, previous));
        let failed_original = stack.original_template.take();
        stack.original_template = std::mem::replace(&mut stack.previous_original_template, failed_original);
        let failed_parameters = std::mem::take(&mut stack.parameters);
        stack.parameters = std::mem::replace(&mut stack.previous_parameters, failed_parameters);
        if self.set_status(&mut stack, "UPDATE_ROLLBACK_IN_PROGRESS", Some(reason)).is_ok() {
            self.continue_update_rollback(stack).await;
        }
    }

    pub(super) async fn continue_update_rollback(&self, mut stack: StackRow) {
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

    pub(super) async fn finish_rollback_cleanup(&self, mut stack: StackRow, prepared: &Prepared) {
        if self.cleanup(&stack, prepared, true).await.is_ok() {
            stack.previous_template = None;
            stack.previous_original_template = None;
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
    pub(super) async fn continue_delete(&self, mut stack: StackRow, rolling_back_creation: bool) {
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

    pub(super) async fn resume_one(self: Arc<Self>, stack_id: String) {
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
