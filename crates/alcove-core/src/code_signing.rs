//! Code signing configurations: which signing profiles a function's code must come from,
//! and what happens to unsigned code. Alcove stores and returns them and keeps the link
//! from functions to them (so a configuration in use cannot be deleted), but does not
//! verify signatures: there is no AWS Signer to sign with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::ACCOUNT_ID;

/// What Lambda does with code that fails the signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UntrustedArtifactPolicy {
    #[default]
    Warn,
    Enforce,
}

impl UntrustedArtifactPolicy {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "Warn" => Ok(UntrustedArtifactPolicy::Warn),
            "Enforce" => Ok(UntrustedArtifactPolicy::Enforce),
            other => Err(Error::invalid(format!(
                "1 validation error detected: Value '{other}' at \
                 'codeSigningPolicies.untrustedArtifactOnDeployment' failed to satisfy constraint: \
                 Member must satisfy enum value set: [Warn, Enforce]"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSigningConfig {
    /// `csc-` and 17 hex digits, as AWS mints them.
    pub id: String,
    pub description: String,
    /// ARNs of signing profile versions, 1..=20.
    pub allowed_publishers: Vec<String>,
    pub untrusted_artifact_on_deployment: UntrustedArtifactPolicy,
    pub last_modified: DateTime<Utc>,
}

impl CodeSigningConfig {
    pub fn new_id() -> String {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        format!("csc-{}", &hex[..17])
    }

    pub fn arn(&self, region: &str) -> String {
        format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:code-signing-config:{}", self.id)
    }

    /// The id an ARN names, when the ARN has the model's pattern
    /// (`arn:aws:lambda:<region>:<account>:code-signing-config:csc-<17 [a-z0-9]>`).
    pub fn id_of_arn(arn: &str) -> Option<&str> {
        let mut parts = arn.splitn(7, ':');
        let (arn_, partition, service, region, account, kind, id) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let valid = arn_ == "arn"
            && partition.starts_with("aws")
            && service == "lambda"
            && !region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && kind == "code-signing-config"
            && id.len() == 21
            && id.starts_with("csc-")
            && id[4..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        valid.then_some(id)
    }

    /// Checks the members a request sets: the description's length and the publishers.
    pub fn validate(&self) -> Result<()> {
        if self.description.chars().count() > 256 {
            return Err(Error::invalid(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: \
                 Member must have length less than or equal to 256",
            ));
        }
        let arns = &self.allowed_publishers;
        if arns.is_empty() || arns.len() > 20 {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '[{}]' at 'allowedPublishers.signingProfileVersionArns' \
                 failed to satisfy constraint: Member must have length between 1 and 20",
                arns.join(", ")
            )));
        }
        if let Some(bad) = arns.iter().find(|arn| !is_arn(arn)) {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '[{bad}]' at 'allowedPublishers.signingProfileVersionArns' \
                 failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular \
                 expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}})?:(\\d{{12}})?:(.*)]"
            )));
        }
        Ok(())
    }
}

/// The model's `Arn` pattern, in outline: `arn:aws…:<service>:<region or empty>:<12 digits or empty>:<rest>`.
fn is_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, _region, account, _rest] = parts.as_slice() else { return false };
    *arn == "arn"
        && partition.starts_with("aws")
        && !service.is_empty()
        && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && (account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(publishers: &[&str]) -> CodeSigningConfig {
        CodeSigningConfig {
            id: CodeSigningConfig::new_id(),
            description: String::new(),
            allowed_publishers: publishers.iter().map(|s| s.to_string()).collect(),
            untrusted_artifact_on_deployment: UntrustedArtifactPolicy::Warn,
            last_modified: Utc::now(),
        }
    }

    #[test]
    fn ids_and_arns_take_aws_shape() {
        let c = config(&["arn:aws:signer:us-east-1:123456789012:/signing-profiles/p/abcdefghij"]);
        assert!(c.validate().is_ok());
        assert_eq!(c.id.len(), 21);
        let arn = c.arn("eu-west-1");
        assert_eq!(arn, format!("arn:aws:lambda:eu-west-1:000000000000:code-signing-config:{}", c.id));
        assert_eq!(CodeSigningConfig::id_of_arn(&arn), Some(c.id.as_str()));
        assert_eq!(CodeSigningConfig::id_of_arn("csc-0123456789abcdefg"), None);
        assert_eq!(
            CodeSigningConfig::id_of_arn("arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-1"),
            None
        );
    }

    #[test]
    fn publishers_are_required_and_must_be_arns() {
        assert!(config(&[]).validate().is_err());
        assert!(config(&["not-an-arn"]).validate().is_err());
        assert!(config(&["arn:aws:signer:us-east-1:12:/x"]).validate().is_err());
    }
}
