//! Function URLs: a function's (or an alias's) own HTTPS endpoint on AWS, its own HTTP
//! host name here. The configuration is what `CreateFunctionUrlConfig` stores: who may
//! call (`AuthType`), the CORS rules applied to responses, and how the response is
//! delivered (`InvokeMode`). Values are checked here against botocore's model, once, as
//! they are built from a request; the HTTP edge words the errors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::FunctionName;

/// Who may call the URL: anyone the resource policy admits (`NONE`), or signed callers
/// (`AWS_IAM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "AWS_IAM")]
    AwsIam,
}

impl AuthType {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "NONE" => Ok(AuthType::None),
            "AWS_IAM" => Ok(AuthType::AwsIam),
            other => Err(enum_error(other, "authType", "[NONE, AWS_IAM]")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::None => "NONE",
            AuthType::AwsIam => "AWS_IAM",
        }
    }
}

/// How the response reaches the caller: whole (`BUFFERED`) or as the function writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum InvokeMode {
    #[default]
    #[serde(rename = "BUFFERED")]
    Buffered,
    #[serde(rename = "RESPONSE_STREAM")]
    ResponseStream,
}

impl InvokeMode {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "BUFFERED" => Ok(InvokeMode::Buffered),
            "RESPONSE_STREAM" => Ok(InvokeMode::ResponseStream),
            other => Err(enum_error(other, "invokeMode", "[BUFFERED, RESPONSE_STREAM]")),
        }
    }
}

fn enum_error(value: &str, member: &str, set: &str) -> Error {
    Error::invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must satisfy enum value set: {set}"
    ))
}

/// The CORS settings, in the API's own shape (stored and returned as given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cors {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

impl Cors {
    /// The model's constraints: list sizes, member lengths, `MaxAge` 0..=86400.
    pub fn validate(&self) -> Result<()> {
        /// Member, value, most items, least and most characters per item.
        type Limit<'a> = (&'a str, &'a Option<Vec<String>>, usize, usize, usize);
        let lists: [Limit<'_>; 4] = [
            ("cors.allowHeaders", &self.allow_headers, 100, 0, 1024),
            ("cors.allowMethods", &self.allow_methods, 6, 0, 6),
            ("cors.allowOrigins", &self.allow_origins, 100, 1, 253),
            ("cors.exposeHeaders", &self.expose_headers, 100, 0, 1024),
        ];
        for (member, list, max_items, min_len, max_len) in lists {
            let Some(list) = list else { continue };
            if list.len() > max_items {
                return Err(Error::invalid(format!(
                    "1 validation error detected: Value '[{}]' at '{member}' failed to satisfy constraint: \
                     Member must have length less than or equal to {max_items}",
                    list.join(", ")
                )));
            }
            if let Some(bad) = list.iter().find(|v| v.len() < min_len || v.len() > max_len) {
                return Err(Error::invalid(format!(
                    "1 validation error detected: Value '{bad}' at '{member}' failed to satisfy constraint: \
                     Member must have length between {min_len} and {max_len}"
                )));
            }
        }
        if let Some(age) = self.max_age.filter(|age| !(0..=86_400).contains(age)) {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '{age}' at 'cors.maxAge' failed to satisfy constraint: \
                 Member must have value between 0 and 86400"
            )));
        }
        Ok(())
    }
}

/// One function URL: of `$LATEST` or of an alias (never of a version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionUrlConfig {
    pub function: FunctionName,
    /// `$LATEST` or an alias name.
    pub qualifier: String,
    /// The host label of the URL: 32 lower-case letters and digits, as AWS's.
    pub url_id: String,
    pub auth_type: AuthType,
    pub cors: Option<Cors>,
    pub invoke_mode: InvokeMode,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

impl FunctionUrlConfig {
    /// A fresh URL id: random, 32 characters of `[0-9a-f]`, a subset of AWS's `[a-z0-9]`.
    pub fn new_url_id() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// Whether `id` could be a URL id (so a host name that is not one is never looked up).
    pub fn is_url_id(id: &str) -> bool {
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
}

/// Lambda's recursive loop detection setting of a function (`Terminate` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RecursiveLoop {
    Allow,
    #[default]
    Terminate,
}

impl RecursiveLoop {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "Allow" => Ok(RecursiveLoop::Allow),
            "Terminate" => Ok(RecursiveLoop::Terminate),
            other => Err(enum_error(other, "recursiveLoop", "[Allow, Terminate]")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_the_model_values_only() {
        assert_eq!(AuthType::parse("AWS_IAM").unwrap(), AuthType::AwsIam);
        assert_eq!(InvokeMode::parse("RESPONSE_STREAM").unwrap(), InvokeMode::ResponseStream);
        assert_eq!(RecursiveLoop::parse("Allow").unwrap(), RecursiveLoop::Allow);
        let Error::InvalidParameter(message) = AuthType::parse("none").unwrap_err() else { panic!() };
        assert_eq!(
            message,
            "1 validation error detected: Value 'none' at 'authType' failed to satisfy constraint: \
             Member must satisfy enum value set: [NONE, AWS_IAM]"
        );
        assert!(RecursiveLoop::parse("terminate").is_err());
    }

    #[test]
    fn cors_limits_follow_the_model() {
        let ok = Cors {
            allow_methods: Some(vec!["GET".into(), "*".into()]),
            max_age: Some(86_400),
            ..Cors::default()
        };
        assert!(ok.validate().is_ok());
        let long_method = Cors { allow_methods: Some(vec!["CONNECTX".into()]), ..Cors::default() };
        assert!(long_method.validate().is_err());
        let age = Cors { max_age: Some(86_401), ..Cors::default() };
        assert!(age.validate().is_err());
        let empty_origin = Cors { allow_origins: Some(vec![String::new()]), ..Cors::default() };
        assert!(empty_origin.validate().is_err());
    }

    #[test]
    fn url_ids_are_32_lower_case_characters() {
        let id = FunctionUrlConfig::new_url_id();
        assert!(FunctionUrlConfig::is_url_id(&id), "{id}");
        assert!(!FunctionUrlConfig::is_url_id("ABC"));
        assert!(!FunctionUrlConfig::is_url_id(&"A".repeat(32)));
    }
}
