//! The lifecycle transitions the control plane starts (see `alcove_core::lifecycle`): a
//! write stores a version `Pending` or its update `InProgress`, and once it has committed,
//! it is settled after the server's transition delay. With no delay (the default: the write
//! has already done everything the version needs) it is settled before the write answers, so
//! the answer still reports `Pending`/`InProgress` as AWS does, yet the client's next call
//! never races the transition; with a delay a task settles it later.
//!
//! The task settles only the record the write produced (same `RevisionId`): a later write
//! that replaced it schedules its own. A server that stops before a task runs leaves the
//! record unsettled in the database; the server settles every such record when it starts
//! (`Store::settle_all_lifecycles`), because nothing the transition stands for can fail
//! here: the code and configuration were stored by the write itself.

use std::time::Duration;

use alcove_core::FunctionConfig;

use crate::AppState;

/// Settles the transition of `config` if it is not settled: now when the server has no
/// transition delay, otherwise in a task after it.
pub(crate) async fn settle_soon(state: &AppState, config: &FunctionConfig) {
    if config.lifecycle.is_settled() {
        return;
    }
    let store = state.store.clone();
    let delay = state.state_transition_delay;
    let (name, version, revision) = (config.name.clone(), config.version, config.revision_id.clone());
    let settle = async move {
        if delay > Duration::ZERO {
            tokio::time::sleep(delay).await;
        }
        match store.settle_lifecycle(&name, version, &revision).await {
            Ok(Some(settled)) => {
                tracing::debug!(function = %name, %version, state = ?settled.lifecycle, "lifecycle settled")
            }
            Ok(None) => {}
            // The record stays unsettled until the next start settles it.
            Err(e) => tracing::error!(function = %name, %version, error = %e, "cannot settle the lifecycle"),
        }
    };
    if delay.is_zero() {
        settle.await;
    } else {
        tokio::spawn(settle);
    }
}
