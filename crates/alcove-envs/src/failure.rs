//! The errors an invoke ends with when the platform, not the function's code, names them:
//! Lambda's `Runtime.*` and `Sandbox.*` error types. A function's own errors carry whatever
//! type its runtime reports; these are the ones Alcove itself decides, named once here so
//! that every place that makes or recognises one agrees on the spelling.

use bytes::Bytes;
use serde_json::json;

/// An error type the platform reports, as Lambda spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformError {
    /// The runtime process exited (or was killed) mid-invoke or during init.
    ExitError,
    /// The runtime was killed by the kernel for exceeding its memory.
    OutOfMemory,
    /// Init did not finish within Lambda's limit.
    InitTimeout,
    /// The code package has no entry point the runtime can start.
    InvalidEntrypoint,
    /// The runtime reported an init failure without a type, or vanished during init.
    Unknown,
    /// This server cannot run the runtime (not installed, or the Runtime API could not be
    /// served).
    Unavailable,
    /// The sandbox could not be started or resumed.
    SandboxFailure,
    /// The invoke ran past the function's timeout.
    Timeout,
    /// A response streamed to a caller that wanted it whole was over the synchronous limit.
    ResponseSizeTooLarge,
}

impl PlatformError {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformError::ExitError => "Runtime.ExitError",
            PlatformError::OutOfMemory => "Runtime.OutOfMemory",
            PlatformError::InitTimeout => "Runtime.InitTimeout",
            PlatformError::InvalidEntrypoint => "Runtime.InvalidEntrypoint",
            PlatformError::Unknown => "Runtime.Unknown",
            PlatformError::Unavailable => "Runtime.Unavailable",
            PlatformError::SandboxFailure => "Sandbox.Failure",
            PlatformError::Timeout => "Sandbox.Timedout",
            PlatformError::ResponseSizeTooLarge => "Function.ResponseSizeTooLarge",
        }
    }
}

/// A failure the caller sees as the function's own error (`X-Amz-Function-Error: Unhandled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFailure {
    pub error_type: String,
    /// The error document returned as the invoke's payload.
    pub body: Bytes,
}

impl FunctionFailure {
    /// A failure the platform names, with Lambda's `{errorType, errorMessage}` document.
    pub fn platform(kind: PlatformError, message: &str) -> Self {
        let body = json!({ "errorType": kind.as_str(), "errorMessage": message }).to_string();
        FunctionFailure { error_type: kind.as_str().to_owned(), body: Bytes::from(body) }
    }

    /// Whether the platform ended the invoke with `kind`.
    pub fn is(&self, kind: PlatformError) -> bool {
        self.error_type == kind.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_failures_carry_lambdas_names_in_type_and_document() {
        let failure = FunctionFailure::platform(PlatformError::OutOfMemory, "killed");
        assert_eq!(failure.error_type, "Runtime.OutOfMemory");
        assert!(failure.is(PlatformError::OutOfMemory) && !failure.is(PlatformError::ExitError));
        let document: serde_json::Value = serde_json::from_slice(&failure.body).unwrap();
        assert_eq!(document, json!({ "errorType": "Runtime.OutOfMemory", "errorMessage": "killed" }));
        assert_eq!(PlatformError::Timeout.as_str(), "Sandbox.Timedout");
    }
}
