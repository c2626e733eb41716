//! Parameter expressions: the keys of a method's `requestParameters`
//! (`method.request.header.x-tenant-id`), the keys of an integration's
//! (`integration.request.header.X-Amz-Tenant-Id`) and the expressions those map from.
//! Parsed once when a method or integration is put, so the data plane only evaluates.

use std::fmt;

use crate::error::{Error, Result};

/// Where in a request a parameter lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamLocation {
    Path,
    QueryString,
    Header,
    MultiValueQueryString,
    MultiValueHeader,
}

impl ParamLocation {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "path" => ParamLocation::Path,
            "querystring" => ParamLocation::QueryString,
            "header" => ParamLocation::Header,
            "multivaluequerystring" => ParamLocation::MultiValueQueryString,
            "multivalueheader" => ParamLocation::MultiValueHeader,
            _ => return None,
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::QueryString => "querystring",
            ParamLocation::Header => "header",
            ParamLocation::MultiValueQueryString => "multivaluequerystring",
            ParamLocation::MultiValueHeader => "multivalueheader",
        }
    }
}

/// API Gateway's message for a mapping it cannot accept.
pub fn invalid_mapping(detail: &str) -> Error {
    Error::invalid(format!(
        "Invalid mapping expression specified: Validation Result: warnings : [], errors : [{detail}]"
    ))
}

/// Splits `<prefix><location>.<name>`.
fn split_param(expression: &str, prefix: &str) -> Option<(ParamLocation, String)> {
    let rest = expression.strip_prefix(prefix)?;
    let (location, name) = rest.split_once('.')?;
    let location = ParamLocation::parse(location)?;
    let valid_name =
        !name.is_empty() && name.len() <= 256 && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    valid_name.then(|| (location, name.to_owned()))
}

/// A method request parameter: `method.request.<location>.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MethodParam {
    pub location: ParamLocation,
    pub name: String,
}

impl MethodParam {
    pub fn parse(expression: &str) -> Result<Self> {
        split_param(expression, "method.request.")
            .map(|(location, name)| MethodParam { location, name })
            .ok_or_else(|| invalid_mapping(&format!("Invalid method parameter specified: {expression}")))
    }
}

impl fmt::Display for MethodParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "method.request.{}.{}", self.location.as_str(), self.name)
    }
}

/// Where an integration parameter goes: `integration.request.<header|querystring|path>.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntegrationTarget {
    pub location: ParamLocation,
    pub name: String,
}

impl IntegrationTarget {
    pub fn parse(expression: &str) -> Result<Self> {
        match split_param(expression, "integration.request.") {
            Some((
                location @ (ParamLocation::Header | ParamLocation::QueryString | ParamLocation::Path),
                name,
            )) => Ok(IntegrationTarget { location, name }),
            _ => Err(invalid_mapping(&format!("Invalid mapping expression specified: {expression}"))),
        }
    }

    /// Whether this sets Lambda's `X-Amz-Tenant-Id` invoke header.
    pub fn is_tenant_header(&self) -> bool {
        self.location == ParamLocation::Header && self.name.eq_ignore_ascii_case("x-amz-tenant-id")
    }
}

/// What an integration parameter is mapped from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingSource {
    /// A method request parameter.
    Method(MethodParam),
    /// A literal: `'value'`.
    Static(String),
    /// `context.<name>`, e.g. `context.requestId`.
    Context(String),
    /// `stageVariables.<name>`.
    StageVariable(String),
}

impl MappingSource {
    pub fn parse(expression: &str) -> Result<Self> {
        let invalid = || invalid_mapping(&format!("Invalid mapping expression specified: {expression}"));
        if let Some(literal) = expression.strip_prefix('\'').and_then(|rest| rest.strip_suffix('\'')) {
            return Ok(MappingSource::Static(literal.to_owned()));
        }
        if expression.starts_with("method.request.") {
            return match MethodParam::parse(expression) {
                Ok(param) => Ok(MappingSource::Method(param)),
                Err(_) => Err(invalid()),
            };
        }
        let simple_name = |name: &str| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        };
        if let Some(name) = expression.strip_prefix("context.").filter(|n| simple_name(n)) {
            return Ok(MappingSource::Context(name.to_owned()));
        }
        if let Some(name) = expression.strip_prefix("stageVariables.").filter(|n| simple_name(n)) {
            return Ok(MappingSource::StageVariable(name.to_owned()));
        }
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_parameters() {
        let p = MethodParam::parse("method.request.header.x-tenant-id").unwrap();
        assert_eq!((p.location, p.name.as_str()), (ParamLocation::Header, "x-tenant-id"));
        assert_eq!(p.to_string(), "method.request.header.x-tenant-id");
        assert_eq!(
            MethodParam::parse("method.request.querystring.q").unwrap().location,
            ParamLocation::QueryString
        );
        for bad in
            ["method.request.body.x", "method.request.header.", "request.header.x", "method.request.header"]
        {
            assert!(MethodParam::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integration_targets_and_sources() {
        let t = IntegrationTarget::parse("integration.request.header.X-Amz-Tenant-Id").unwrap();
        assert!(t.is_tenant_header());
        assert!(!IntegrationTarget::parse("integration.request.header.other").unwrap().is_tenant_header());
        assert!(IntegrationTarget::parse("integration.request.multivalueheader.x").is_err());
        assert!(IntegrationTarget::parse("method.request.header.x").is_err());
        assert_eq!(
            MappingSource::parse("method.request.path.id").unwrap(),
            MappingSource::Method(MethodParam { location: ParamLocation::Path, name: "id".into() })
        );
        assert_eq!(MappingSource::parse("'Blue'").unwrap(), MappingSource::Static("Blue".into()));
        assert_eq!(
            MappingSource::parse("context.requestId").unwrap(),
            MappingSource::Context("requestId".into())
        );
        assert_eq!(
            MappingSource::parse("stageVariables.t").unwrap(),
            MappingSource::StageVariable("t".into())
        );
        assert!(MappingSource::parse("$input.body").is_err());
        assert!(MappingSource::parse("method.request.nowhere.x").is_err());
    }
}
