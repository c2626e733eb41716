//! The runtime's phase, as Lambda's Runtime API tracks it: which lifecycle requests make
//! sense now, and which are refused.
//!
//! A runtime starts (`Started`), then either asks for its first event (`Ready`: init is
//! over, and stays over) or reports a failed initialisation once (`InitError`: final, the
//! environment is torn down). Anything else is a transition Lambda does not allow and is
//! answered `403 InvalidStateTransition`, as AWS's runtime interface emulator does. This
//! is what keeps `init/error` from being a channel into the server: it is accepted once,
//! before the first `/next`, and never again.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The runtime process runs its initialisation.
    Started,
    /// The runtime has asked for an event at least once.
    Ready,
    /// The runtime reported that its initialisation failed.
    InitError,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Started => "Started",
            Phase::Ready => "Ready",
            Phase::InitError => "InitError",
        })
    }
}

/// A request that would move the runtime to a phase it cannot reach from where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("State transition from {from} to {to} failed for runtime. Error: State transition is not allowed")]
pub(crate) struct InvalidStateTransition {
    pub from: Phase,
    pub to: Phase,
}

/// What a `GET /next` means for initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// The first `/next`: initialisation has just ended.
    InitDone,
    /// A later `/next`.
    Again,
}

impl Phase {
    /// `GET /next`.
    pub fn ready(&mut self) -> Result<Readiness, InvalidStateTransition> {
        match *self {
            Phase::Started => {
                *self = Phase::Ready;
                Ok(Readiness::InitDone)
            }
            Phase::Ready => Ok(Readiness::Again),
            Phase::InitError => Err(InvalidStateTransition { from: *self, to: Phase::Ready }),
        }
    }

    /// `POST /init/error`.
    pub fn init_error(&mut self) -> Result<(), InvalidStateTransition> {
        match *self {
            Phase::Started => {
                *self = Phase::InitError;
                Ok(())
            }
            Phase::Ready | Phase::InitError => {
                Err(InvalidStateTransition { from: *self, to: Phase::InitError })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_next_ends_init_and_later_ones_do_not() {
        let mut phase = Phase::Started;
        assert_eq!(phase.ready(), Ok(Readiness::InitDone));
        assert_eq!(phase.ready(), Ok(Readiness::Again));
        assert_eq!(phase, Phase::Ready);
    }

    #[test]
    fn init_error_is_accepted_once_and_only_before_ready() {
        let mut failed = Phase::Started;
        assert_eq!(failed.init_error(), Ok(()));
        assert_eq!(
            failed.init_error(),
            Err(InvalidStateTransition { from: Phase::InitError, to: Phase::InitError })
        );
        assert_eq!(failed.ready(), Err(InvalidStateTransition { from: Phase::InitError, to: Phase::Ready }));

        let mut ready = Phase::Started;
        ready.ready().unwrap();
        let refused = ready.init_error().unwrap_err();
        assert_eq!(ready, Phase::Ready);
        assert_eq!(
            refused.to_string(),
            "State transition from Ready to InitError failed for runtime. Error: State transition is not allowed"
        );
    }
}
