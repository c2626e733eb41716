//! The SAM transform (`Transform: AWS::Serverless-2016-10-31`), applied by the very
//! translator AWS runs: the `aws-sam-translator` Python package. Re-implementing SAM would
//! drift from it release by release (its globals, its generated logical ids, its tenancy
//! rules and their messages), so Alcove runs it out of process with a small driver
//! (`sam/translate.py`, embedded here) fed one JSON request on stdin; the driver keeps the
//! translator off the network. What comes back is a plain CloudFormation template, which
//! the engine then runs like any other.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::CloudFormationError;

/// The one transform Alcove applies.
pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

const DRIVER: &str = include_str!("../sam/translate.py");

/// The translator's work on one template is a fraction of a second; this bounds a hung one.
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Serialize)]
struct Request<'a> {
    template: &'a Value,
    parameters: &'a BTreeMap<String, String>,
    region: &'a str,
    account_id: &'a str,
}

/// What the driver answers: exactly one of the members is set.
#[derive(Deserialize, Debug, Default)]
struct Answer {
    template: Option<Value>,
    error: Option<String>,
    #[serde(default)]
    causes: Vec<String>,
    missing: Option<String>,
}

fn failed(message: impl std::fmt::Display) -> CloudFormationError {
    CloudFormationError::Transform(format!("Transform {SAM_TRANSFORM} failed with: {message}"))
}

fn not_installed(python: &str, detail: impl std::fmt::Display) -> CloudFormationError {
    failed(format!(
        "the SAM translator is not available to Alcove ({python}: {detail}). Install it with `pip install aws-sam-translator` for that interpreter, or point `alcove serve --sam-python` at one that has it."
    ))
}

/// Where to find the translator and for which account and region it translates.
pub struct Translator<'a> {
    pub python: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
}

impl Translator<'_> {
    /// The processed template of `template` (a SAM template as a JSON value), with the
    /// stack's parameter values (the translator resolves a few properties, such as
    /// `AutoPublishAlias`, from them).
    pub async fn translate(
        &self,
        template: &Value,
        parameters: &BTreeMap<String, String>,
    ) -> Result<Value, CloudFormationError> {
        let request = Request { template, parameters, region: self.region, account_id: self.account_id };
        let input = serde_json::to_vec(&request).map_err(failed)?;
        let stdout = self.run(&input).await?;
        outcome(self.python, &stdout)
    }

    async fn run(&self, input: &[u8]) -> Result<Vec<u8>, CloudFormationError> {
        let mut child = tokio::process::Command::new(self.python)
            .arg("-c")
            .arg(DRIVER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| not_installed(self.python, e))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let written = stdin.write_all(input).await;
        drop(stdin);
        let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| {
                failed(format!("the SAM translator did not answer within {} seconds", TIMEOUT.as_secs()))
            })?
            .map_err(|e| not_installed(self.python, e))?;
        if output.stdout.is_empty() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            return Err(match written {
                Err(e) => not_installed(self.python, e),
                Ok(()) => failed(format!("the SAM translator stopped ({}): {last}", output.status)),
            });
        }
        Ok(output.stdout)
    }
}

/// The driver's answer as a processed template or the error CloudFormation shows.
fn outcome(python: &str, stdout: &[u8]) -> Result<Value, CloudFormationError> {
    let answer: Answer = serde_json::from_slice(stdout)
        .map_err(|e| failed(format!("the SAM translator answered something unreadable ({e})")))?;
    if let Some(missing) = answer.missing {
        return Err(not_installed(python, missing));
    }
    if let Some(error) = answer.error {
        let mut message = error;
        for cause in answer.causes {
            message.push(' ');
            message.push_str(&cause);
        }
        return Err(failed(message));
    }
    match answer.template {
        Some(template @ Value::Object(_)) => Ok(template),
        _ => Err(failed("the SAM translator answered no template")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(result: Result<Value, CloudFormationError>) -> String {
        match result {
            Err(CloudFormationError::Transform(m)) => m,
            other => panic!("expected a transform failure, got {other:?}"),
        }
    }

    #[test]
    fn a_refused_document_reads_as_aws_shows_it() {
        let answer = json!({
            "error": "Invalid Serverless Application Specification document. Number of errors found: 1.",
            "causes": ["Resource with id [Fn] is invalid. Function URL is not supported for functions enabled with tenancy configuration."]
        });
        assert_eq!(
            message(outcome("python3", answer.to_string().as_bytes())),
            "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. Number of errors found: 1. Resource with id [Fn] is invalid. Function URL is not supported for functions enabled with tenancy configuration."
        );
    }

    #[test]
    fn a_missing_package_names_the_install_command() {
        let answer = json!({"missing": "No module named 'samtranslator'"});
        let m = message(outcome("python3", answer.to_string().as_bytes()));
        assert!(m.contains("pip install aws-sam-translator"), "{m}");
        assert!(m.contains("No module named 'samtranslator'"), "{m}");
    }

    #[test]
    fn a_processed_template_is_answered_as_is() {
        let answer = json!({"template": {"Resources": {"A": {"Type": "AWS::S3::Bucket"}}}});
        let template = outcome("python3", answer.to_string().as_bytes()).unwrap();
        assert_eq!(template["Resources"]["A"]["Type"], "AWS::S3::Bucket");
        assert!(message(outcome("python3", b"not json")).contains("unreadable"));
    }

    #[tokio::test]
    async fn a_missing_interpreter_is_a_validation_error() {
        let translator =
            Translator { python: "alcove-no-such-python", region: "us-east-1", account_id: "123456789012" };
        let m = message(translator.translate(&json!({}), &BTreeMap::new()).await);
        assert!(m.starts_with("Transform AWS::Serverless-2016-10-31 failed with: the SAM translator"), "{m}");
        assert!(m.contains("alcove-no-such-python") && m.contains("pip install aws-sam-translator"), "{m}");
    }
}
