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

mod converge;
mod delete;
mod lifecycle;
mod outputs;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::{Map, Value};

use crate::intrinsics::Known;
use crate::prepare::{Prepared, Target};
use crate::resource::{Context, ResourceType};
use crate::services::Services;
use crate::store::{EventRow, ResourceRow, StackRow, Store};
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
pub(super) enum Failure {
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
pub(super) type Exported = Vec<(String, String)>;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Create,
    Update,
    Rollback,
}

pub(super) fn known(rows: &[ResourceRow]) -> BTreeMap<String, Known> {
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

    pub(super) fn target<'a>(&'a self, stack: &'a StackRow) -> Target<'a> {
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

    pub(super) fn settle_after_panic(&self, stack_id: &str) {
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
    pub(super) fn event(
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

    pub(super) fn context<'a>(&'a self, stack: &'a StackRow, logical_id: &'a str) -> Context<'a> {
        Context {
            services: &*self.services,
            region: &self.settings.region,
            account_id: &self.settings.account_id,
            stack_name: &stack.name,
            stack_id: &stack.stack_id,
            logical_id,
            claim: None,
        }
    }

    pub(super) fn unsupported(&self, type_name: &str) -> String {
        let supported: Vec<&str> = self.types.keys().map(String::as_str).collect();
        format!("Unsupported resource type {type_name}: Alcove deploys {}", supported.join(", "))
    }
}
