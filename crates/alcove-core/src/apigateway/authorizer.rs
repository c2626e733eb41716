//! Lambda authorizers of a REST API (`TOKEN` and `REQUEST`), kept in the API document so a
//! deployment freezes them with the methods that use them, as API Gateway does (a change
//! to an authorizer takes effect at the next deployment). The rules CreateAuthorizer and
//! UpdateAuthorizer follow live here: the function URI, the identity sources, the
//! validation expression and the result TTL (0..=3600, 300 by default, 0 disables the
//! cache). `COGNITO_USER_POOLS` is refused: there is no user pool to ask.

use serde::{Deserialize, Serialize};

use super::mapping::{MethodParam, ParamLocation};
use super::model::lambda_function_of;
use super::stage_settings::PatchOperation;
use crate::error::{Error, Result};

/// `authorizerResultTtlInSeconds` when CreateAuthorizer gives none.
pub const DEFAULT_TTL: u32 = 300;
/// The longest a result may be cached.
pub const MAX_TTL: u32 = 3600;

pub fn authorizer_not_found() -> Error {
    Error::NotFound("Invalid authorizer ID specified".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthorizerType {
    #[serde(rename = "TOKEN")]
    Token,
    #[serde(rename = "REQUEST")]
    Request,
}

impl AuthorizerType {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "TOKEN" => Ok(AuthorizerType::Token),
            "REQUEST" => Ok(AuthorizerType::Request),
            "COGNITO_USER_POOLS" => Err(Error::invalid(
                "Authorizers of type COGNITO_USER_POOLS are not supported by this server.",
            )),
            other => Err(Error::invalid(format!(
                "1 validation error detected: Value '{other}' at 'createAuthorizerInput.type' failed to \
                 satisfy constraint: Member must satisfy enum value set: [TOKEN, REQUEST, COGNITO_USER_POOLS]"
            ))),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            AuthorizerType::Token => "TOKEN",
            AuthorizerType::Request => "REQUEST",
        }
    }
}

/// Where one identity source is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    Header(String),
    QueryString(String),
    StageVariable(String),
    /// `context.<name>`, e.g. `context.identity.sourceIp`.
    Context(String),
}

impl IdentitySource {
    fn parse(kind: AuthorizerType, expression: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(format!(
                "Invalid identity source specified: {expression}. Identity source must be a comma-separated \
                 list of method.request.header.*, method.request.querystring.*, stageVariables.* or context.* \
                 expressions"
            ))
        };
        if let Ok(param) = MethodParam::parse(expression) {
            return match param.location {
                ParamLocation::Header => Ok(IdentitySource::Header(param.name)),
                ParamLocation::QueryString if kind == AuthorizerType::Request => {
                    Ok(IdentitySource::QueryString(param.name))
                }
                _ => Err(invalid()),
            };
        }
        if kind == AuthorizerType::Token {
            return Err(Error::invalid(format!(
                "Invalid identity source specified: {expression}. A TOKEN authorizer takes one \
                 method.request.header.* expression"
            )));
        }
        let name_ok =
            |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if let Some(name) = expression.strip_prefix("stageVariables.").filter(|n| name_ok(n)) {
            return Ok(IdentitySource::StageVariable(name.to_owned()));
        }
        if let Some(name) = expression.strip_prefix("context.").filter(|n| name_ok(n)) {
            return Ok(IdentitySource::Context(name.to_owned()));
        }
        Err(invalid())
    }
}

/// `identitySource`: one header for TOKEN, a comma-separated list for REQUEST.
pub fn identity_sources(kind: AuthorizerType, value: &str) -> Result<Vec<IdentitySource>> {
    let parts: Vec<&str> = value.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if kind == AuthorizerType::Token && parts.len() != 1 {
        return Err(Error::invalid(format!(
            "Invalid identity source specified: {value}. A TOKEN authorizer takes one method.request.header.* \
             expression"
        )));
    }
    parts.into_iter().map(|p| IdentitySource::parse(kind, p)).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorizer {
    pub id: String,
    pub name: String,
    pub kind: AuthorizerType,
    pub authorizer_uri: String,
    pub authorizer_credentials: Option<String>,
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub result_ttl_seconds: u32,
    pub auth_type: Option<String>,
}

impl Authorizer {
    /// Checks the authorizer as CreateAuthorizer and UpdateAuthorizer leave it.
    pub fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("Authorizer name must be non-empty"));
        }
        if self.authorizer_uri.is_empty() {
            return Err(Error::invalid(
                "Authorizer URI must be specified for authorizer type TOKEN and REQUEST",
            ));
        }
        lambda_function_of(&self.authorizer_uri)
            .map_err(|_| Error::invalid(format!("Invalid Authorizer URI: {}", self.authorizer_uri)))?;
        if self.result_ttl_seconds > MAX_TTL {
            return Err(Error::invalid(format!(
                "Invalid authorizer result TTL specified: {}. TTL must be between 0 and {MAX_TTL} seconds",
                self.result_ttl_seconds
            )));
        }
        match (&self.identity_source, self.kind) {
            (Some(source), kind) => {
                identity_sources(kind, source)?;
            }
            (None, AuthorizerType::Token) => {
                return Err(Error::invalid("Identity source must be specified for authorizer type TOKEN"));
            }
            (None, AuthorizerType::Request) if self.result_ttl_seconds > 0 => {
                return Err(Error::invalid(
                    "Identity source must be specified for authorizer type REQUEST when caching is enabled",
                ));
            }
            (None, AuthorizerType::Request) => {}
        }
        if let Some(expression) = &self.identity_validation_expression {
            if self.kind == AuthorizerType::Request {
                return Err(Error::invalid(
                    "Identity validation expression is only supported for authorizer type TOKEN",
                ));
            }
            fancy_regex::Regex::new(&format!("^(?:{expression})$")).map_err(|e| {
                Error::invalid(format!("Invalid identity validation expression specified: {expression}: {e}"))
            })?;
        }
        Ok(())
    }

    /// The parsed identity sources (checked when the authorizer was put).
    pub fn sources(&self) -> Vec<IdentitySource> {
        self.identity_source
            .as_deref()
            .map(|s| identity_sources(self.kind, s).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Applies UpdateAuthorizer's patch operations, then checks the result.
    pub fn patch(&mut self, operations: &[PatchOperation]) -> Result<()> {
        for operation in operations {
            let op = operation.op.as_deref().unwrap_or_default();
            let path = operation.path.as_deref().unwrap_or_default();
            if op != "replace" {
                return Err(Error::invalid(format!(
                    "Invalid patch operation specified. Must be 'replace' for path {path}"
                )));
            }
            let value = operation.value.clone().filter(|v| !v.is_empty());
            match path {
                "/name" => self.name = value.unwrap_or_default(),
                "/type" => self.kind = AuthorizerType::parse(value.as_deref().unwrap_or_default())?,
                "/authorizerUri" => self.authorizer_uri = value.unwrap_or_default(),
                "/authorizerCredentials" => self.authorizer_credentials = value,
                "/identitySource" => self.identity_source = value,
                "/identityValidationExpression" => self.identity_validation_expression = value,
                "/authType" => self.auth_type = value,
                "/authorizerResultTtlInSeconds" => {
                    let raw = value.unwrap_or_default();
                    self.result_ttl_seconds = raw.parse().map_err(|_| {
                        Error::invalid(format!("Invalid authorizer result TTL specified: {raw}"))
                    })?;
                }
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid patch path '{other}' specified for op 'replace'. Must be one of: [/name, /type, \
                         /authorizerUri, /authorizerCredentials, /identitySource, /identityValidationExpression, \
                         /authorizerResultTtlInSeconds, /authType]"
                    )))
                }
            }
        }
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations";

    fn token() -> Authorizer {
        Authorizer {
            id: "a1".into(),
            name: "auth".into(),
            kind: AuthorizerType::Token,
            authorizer_uri: URI.into(),
            authorizer_credentials: None,
            identity_source: Some("method.request.header.Authorization".into()),
            identity_validation_expression: None,
            result_ttl_seconds: DEFAULT_TTL,
            auth_type: None,
        }
    }

    #[test]
    fn checks_what_create_and_update_take() {
        token().check().unwrap();
        let bad = |f: &dyn Fn(&mut Authorizer)| {
            let mut a = token();
            f(&mut a);
            a.check().is_err()
        };
        assert!(bad(&|a| a.identity_source = None));
        assert!(bad(&|a| a.identity_source = Some("method.request.querystring.t".into())));
        assert!(bad(&|a| a.identity_source = Some("method.request.header.a,method.request.header.b".into())));
        assert!(bad(&|a| a.result_ttl_seconds = 3601));
        assert!(bad(&|a| a.authorizer_uri = "arn:aws:apigateway:us-east-1:s3:path/x".into()));
        assert!(bad(&|a| a.identity_validation_expression = Some("(".into())));
        let mut request = token();
        request.kind = AuthorizerType::Request;
        request.identity_source = Some(
            "method.request.header.x-tenant, method.request.querystring.q, stageVariables.s, context.stage"
                .into(),
        );
        request.check().unwrap();
        assert_eq!(request.sources().len(), 4);
        request.identity_source = None;
        assert!(request.check().is_err());
        request.result_ttl_seconds = 0;
        request.check().unwrap();
    }

    #[test]
    fn patches() {
        let mut a = token();
        a.patch(&[
            PatchOperation::new("replace", "/authorizerResultTtlInSeconds", Some("0")),
            PatchOperation::new("replace", "/identityValidationExpression", Some("Bearer .+")),
        ])
        .unwrap();
        assert_eq!(a.result_ttl_seconds, 0);
        assert!(a.clone().patch(&[PatchOperation::new("add", "/name", Some("x"))]).is_err());
        assert!(a.clone().patch(&[PatchOperation::new("replace", "/nope", Some("x"))]).is_err());
        assert!(a
            .patch(&[PatchOperation::new("replace", "/authorizerResultTtlInSeconds", Some("x"))])
            .is_err());
    }
}
