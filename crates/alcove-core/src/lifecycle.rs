//! A version's lifecycle: Lambda's `State` (is it ready to invoke?) and `LastUpdateStatus`
//! (has the last change to it landed?), with their reasons.
//!
//! On Lambda both are asynchronous: `CreateFunction` and `PublishVersion` answer `Pending`
//! and the version becomes `Active` moments later; `UpdateFunctionCode` and
//! `UpdateFunctionConfiguration` answer `LastUpdateStatus: InProgress` and the update
//! becomes `Successful` moments later. Clients are written for that (waiters, retries on
//! `ResourceConflictException`), so Alcove keeps the same shape: the write stores the
//! starting lifecycle, and a transition run after it commits stores the settled one and
//! mints a new `RevisionId`, as Lambda does when the transition completes.
//!
//! This module is the state machine alone, pure: what a write starts from, what a
//! transition settles to, and what a busy version refuses. Nothing here can fail the
//! transition itself (there is no network or image to set up), so a version always
//! settles `Active`/`Successful`; a server that stopped before a transition ran settles
//! it when it starts again.
//!
//! The reasons are AWS's words as recorded against AWS (LocalStack's snapshot tests of
//! `CreateFunction`, `UpdateFunctionConfiguration` and `UpdateFunctionCode`): Lambda gives
//! `StateReason`/`StateReasonCode` while `Pending` and the update's reason while
//! `InProgress` (an update's reason code is `Creating`, as a creation's), and no reason
//! once settled.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Lambda's `State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FunctionState {
    Pending,
    #[default]
    Active,
}

impl FunctionState {
    pub const fn as_str(self) -> &'static str {
        match self {
            FunctionState::Pending => "Pending",
            FunctionState::Active => "Active",
        }
    }
}

/// Lambda's `LastUpdateStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateStatus {
    InProgress,
    Successful,
}

impl UpdateStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::InProgress => "InProgress",
            UpdateStatus::Successful => "Successful",
        }
    }
}

/// `StateReason` and `LastUpdateStatusReason` while a version is being set up.
pub const CREATING_REASON: &str = "The function is being created.";
/// `StateReasonCode` and `LastUpdateStatusReasonCode` likewise.
pub const CREATING_CODE: &str = "Creating";

/// A version's state and the status of its last update. Records stored before lifecycles
/// existed read as settled (`Active`, `Successful`), which is what they were reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: FunctionState,
    /// `None` until a first update has settled: Lambda reports no `LastUpdateStatus` on a
    /// version that is still being created.
    pub last_update: Option<UpdateStatus>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::SETTLED
    }
}

/// Why a busy version refuses a change or an invoke (`ResourceConflictException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Still `Pending`: being created or published.
    Pending,
    /// An update has not landed yet.
    UpdateInProgress,
}

impl Busy {
    /// Lambda's message; `arn` is the function's unqualified ARN.
    pub fn message(self, arn: &str) -> String {
        match self {
            Busy::Pending => "The operation cannot be performed at this time. The function is currently in \
                              the following state: Pending"
                .to_owned(),
            Busy::UpdateInProgress => format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {arn}"
            ),
        }
    }

    pub fn into_error(self, arn: &str) -> Error {
        Error::Conflict(self.message(arn))
    }
}

impl Lifecycle {
    const SETTLED: Lifecycle =
        Lifecycle { state: FunctionState::Active, last_update: Some(UpdateStatus::Successful) };

    /// A version just created or published.
    pub const fn creating() -> Self {
        Lifecycle { state: FunctionState::Pending, last_update: None }
    }

    /// The lifecycle an update of `self` starts, or why the version cannot take one now:
    /// Lambda takes one change at a time.
    pub fn start_update(self) -> std::result::Result<Self, Busy> {
        self.ready()?;
        Ok(Lifecycle { state: self.state, last_update: Some(UpdateStatus::InProgress) })
    }

    /// Fails while a creation or an update has not settled: what publishing, updating
    /// and invoking a `Pending` version are refused for.
    pub fn ready(self) -> std::result::Result<(), Busy> {
        match (self.state, self.last_update) {
            (FunctionState::Pending, _) => Err(Busy::Pending),
            (_, Some(UpdateStatus::InProgress)) => Err(Busy::UpdateInProgress),
            _ => Ok(()),
        }
    }

    /// Whether an invoke may run: Lambda refuses only `Pending` versions (during an
    /// update, invokes keep running).
    pub fn invocable(self) -> std::result::Result<(), Busy> {
        match self.state {
            FunctionState::Pending => Err(Busy::Pending),
            FunctionState::Active => Ok(()),
        }
    }

    /// What the transition settles `self` to, or `None` when there is nothing to settle.
    pub fn settled(self) -> Option<Self> {
        (self != Lifecycle::SETTLED).then_some(Lifecycle::SETTLED)
    }

    pub fn is_settled(self) -> bool {
        self == Lifecycle::SETTLED
    }

    /// `StateReason` and `StateReasonCode`.
    pub fn state_reason(self) -> Option<(&'static str, &'static str)> {
        (self.state == FunctionState::Pending).then_some((CREATING_REASON, CREATING_CODE))
    }

    /// `LastUpdateStatusReason` and `LastUpdateStatusReasonCode`.
    pub fn update_reason(self) -> Option<(&'static str, &'static str)> {
        (self.last_update == Some(UpdateStatus::InProgress)).then_some((CREATING_REASON, CREATING_CODE))
    }
}

/// Refuses a change while `lifecycle` is busy, in Lambda's words for the function `arn`.
pub fn require_ready(lifecycle: Lifecycle, arn: &str) -> Result<()> {
    lifecycle.ready().map_err(|busy| busy.into_error(arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_is_pending_without_an_update_status_then_settles() {
        let created = Lifecycle::creating();
        assert_eq!((created.state, created.last_update), (FunctionState::Pending, None));
        assert_eq!(created.state_reason(), Some((CREATING_REASON, CREATING_CODE)));
        assert_eq!(created.update_reason(), None);
        let settled = created.settled().unwrap();
        assert_eq!(settled.state, FunctionState::Active);
        assert_eq!(settled.last_update, Some(UpdateStatus::Successful));
        assert_eq!((settled.state_reason(), settled.update_reason()), (None, None));
        assert_eq!(settled.settled(), None);
    }

    #[test]
    fn an_update_is_in_progress_while_active_then_settles() {
        let updating = Lifecycle::default().start_update().unwrap();
        assert_eq!(updating.state, FunctionState::Active);
        assert_eq!(updating.last_update, Some(UpdateStatus::InProgress));
        assert_eq!(updating.update_reason(), Some((CREATING_REASON, CREATING_CODE)));
        assert_eq!(updating.state_reason(), None);
        assert!(updating.invocable().is_ok());
        assert!(updating.settled().unwrap().is_settled());
    }

    #[test]
    fn one_change_at_a_time() {
        let updating = Lifecycle::default().start_update().unwrap();
        assert_eq!(updating.start_update(), Err(Busy::UpdateInProgress));
        assert_eq!(Lifecycle::creating().start_update(), Err(Busy::Pending));
        assert_eq!(Lifecycle::creating().invocable(), Err(Busy::Pending));
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
        assert_eq!(
            Busy::UpdateInProgress.message(arn),
            format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {arn}"
            )
        );
        assert!(Busy::Pending.message(arn).ends_with("in the following state: Pending"));
        assert!(matches!(require_ready(updating, arn), Err(Error::Conflict(_))));
    }

    #[test]
    fn records_without_a_lifecycle_read_as_settled() {
        assert!(Lifecycle::default().is_settled());
        let json = serde_json::to_string(&Lifecycle::creating()).unwrap();
        assert_eq!(serde_json::from_str::<Lifecycle>(&json).unwrap(), Lifecycle::creating());
    }
}
