//! Runtime identifiers. A function may be created with any identifier Lambda still accepts
//! for new functions; identifiers Lambda has retired are refused with its message, unknown
//! ones with the enum constraint.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Identifiers Lambda accepts for creating or updating a function.
const SUPPORTED: &[&str] = &[
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "provided",
    "provided.al2",
    "provided.al2023",
];

/// Identifiers the service model still lists but Lambda no longer accepts for new code.
const RETIRED: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs4.3-edge",
    "java8",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Runtime(String);

impl Runtime {
    /// `RuntimeVersionConfig.RuntimeVersionArn`: Lambda's format,
    /// `arn:aws:lambda:<region>::runtime:<64 hex digits>`, with the digits derived from the
    /// runtime identifier, so each runtime has one stable version here (Alcove runs the
    /// runtime its host provides; there are no runtime versions to choose from).
    pub fn version_arn(&self, region: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("alcove-runtime:{}", self.0).as_bytes());
        format!("arn:aws:lambda:{region}::runtime:{}", hex::encode(digest))
    }

    pub fn parse(value: &str) -> Result<Self> {
        if SUPPORTED.contains(&value) {
            return Ok(Runtime(value.to_owned()));
        }
        if RETIRED.contains(&value) {
            return Err(Error::invalid(format!(
                "The runtime parameter of {value} is no longer supported for creating or updating \
                 AWS Lambda functions. We recommend you use a supported runtime while creating or \
                 updating functions."
            )));
        }
        // AWS's words for this semantic check (not the model's enum, and no quotes around
        // the value), as recorded against AWS in LocalStack's Lambda API tests; the set
        // listed is what this server supports.
        Err(Error::invalid(format!(
            "Value {value} at 'runtime' failed to satisfy constraint: Member must satisfy enum \
             value set: [{}] or be a valid ARN",
            SUPPORTED.join(", ")
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// OS-only runtimes run the package's own `bootstrap` and need no handler.
    pub fn is_os_only(&self) -> bool {
        self.0.starts_with("provided")
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_retired_and_unknown() {
        assert!(Runtime::parse("python3.12").is_ok());
        assert!(Runtime::parse("provided.al2023").unwrap().is_os_only());
        assert!(!Runtime::parse("nodejs22.x").unwrap().is_os_only());
        let retired = Runtime::parse("python2.7").unwrap_err().to_string();
        assert!(retired.contains("no longer supported"));
        let unknown = Runtime::parse("cobol1.0").unwrap_err().to_string();
        assert!(unknown.contains("enum value set"));
    }

    #[test]
    fn runtime_version_arns_are_stable_per_runtime() {
        let python = Runtime::parse("python3.12").unwrap();
        let arn = python.version_arn("us-east-1");
        assert_eq!(arn, Runtime::parse("python3.12").unwrap().version_arn("us-east-1"));
        let digits = arn.strip_prefix("arn:aws:lambda:us-east-1::runtime:").unwrap();
        assert_eq!(digits.len(), 64);
        assert!(digits.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(arn, Runtime::parse("nodejs22.x").unwrap().version_arn("us-east-1"));
    }
}
