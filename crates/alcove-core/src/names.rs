//! Names and references: function names, qualifiers, alias names, and the many ways a
//! request may name a function (plain name, `name:qualifier`, partial or full ARN).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The single account every resource of this server belongs to.
pub const ACCOUNT_ID: &str = "000000000000";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A function's own name: 1..=64 characters of `[a-zA-Z0-9-_]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FunctionName(String);

impl FunctionName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Result<Self> {
        if value.is_empty() || value.len() > Self::MAX_LEN || !value.chars().all(is_name_char) {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '{value}' at 'functionName' failed to satisfy \
                 constraint: Member must have length between 1 and {} and match the pattern \
                 [a-zA-Z0-9-_]+",
                Self::MAX_LEN
            )));
        }
        Ok(FunctionName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    pub fn arn(&self, region: &str) -> String {
        format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{}", self.0)
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An alias name: 1..=128 characters of `[a-zA-Z0-9-_]`, not all digits (that would read as
/// a version number) and never `$LATEST`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AliasName(String);

impl AliasName {
    pub fn parse(value: &str) -> Result<Self> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value.chars().all(is_name_char)
            && !value.chars().all(|c| c.is_ascii_digit());
        if !ok {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '{value}' at 'name' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \
                 (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
            )));
        }
        Ok(AliasName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What follows the function name: `$LATEST`, a published version number, or an alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qualifier {
    Latest,
    Version(u64),
    Alias(AliasName),
    /// A qualifier Lambda's pattern (`[a-zA-Z0-9$_-]+`) accepts but that can designate
    /// nothing: `$latest` (qualifiers are case-sensitive), `0`, `007`, `$PROD`. Lambda
    /// answers these with `ResourceNotFoundException`, not a validation error.
    Unknown(String),
}

impl Qualifier {
    pub fn parse(value: &str) -> Result<Self> {
        if value == "$LATEST" {
            return Ok(Qualifier::Latest);
        }
        let valid = !value.is_empty()
            && value.len() <= 128
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "$_-".contains(c));
        if !valid {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value '{value}' at 'qualifier' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
            )));
        }
        if value.chars().all(|c| c.is_ascii_digit()) {
            // Versions are numbered from 1 and named without leading zeros.
            return Ok(match value.parse::<u64>() {
                Ok(n) if n > 0 && !value.starts_with('0') => Qualifier::Version(n),
                _ => Qualifier::Unknown(value.to_owned()),
            });
        }
        Ok(AliasName::parse(value)
            .map(Qualifier::Alias)
            .unwrap_or_else(|_| Qualifier::Unknown(value.to_owned())))
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Latest => f.write_str("$LATEST"),
            Qualifier::Version(v) => write!(f, "{v}"),
            Qualifier::Alias(a) => f.write_str(a.as_str()),
            Qualifier::Unknown(raw) => f.write_str(raw),
        }
    }
}

/// A function as named in a request path, with the qualifier it may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: FunctionName,
    pub qualifier: Option<Qualifier>,
}

impl FunctionRef {
    /// Parses `name`, `name:qualifier`, `account:function:name[:qualifier]` or
    /// `arn:<partition>:lambda:<region>:<account>:function:name[:qualifier]`.
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid(format!(
                "1 validation error detected: Value '{value}' at 'functionName' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: \
                 (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?\
                 (function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            ))
        };
        if value.is_empty() || value.len() > 256 {
            return Err(invalid());
        }
        let parts: Vec<&str> = value.split(':').collect();
        let (account, rest): (Option<&str>, &[&str]) = match parts.as_slice() {
            ["arn", partition, "lambda", region, account, "function", rest @ ..]
                if partition.starts_with("aws") && !region.is_empty() =>
            {
                (Some(*account), rest)
            }
            [account, "function", rest @ ..] => (Some(*account), rest),
            rest => (None, rest),
        };
        if let Some(account) = account {
            if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            if account != ACCOUNT_ID {
                return Err(Error::NotFound(format!(
                    "Function not found: {value} (this server's account is {ACCOUNT_ID})"
                )));
            }
        }
        let (name, qualifier) = match rest {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(Qualifier::parse(qualifier)?)),
            _ => return Err(invalid()),
        };
        let name = FunctionName::parse(name).map_err(|_| invalid())?;
        Ok(FunctionRef { name, qualifier })
    }

    /// The region of a full ARN (`arn:<partition>:lambda:<region>:…`), if `value` is one.
    pub fn arn_region(value: &str) -> Option<&str> {
        let mut parts = value.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(_), Some("lambda"), Some(region)) if !region.is_empty() => Some(region),
            _ => None,
        }
    }

    /// Combines the qualifier inside the name with a separate `Qualifier` parameter; the two
    /// must agree when both are present.
    pub fn with_qualifier(mut self, explicit: Option<&str>) -> Result<Self> {
        let Some(explicit) = explicit.filter(|q| !q.is_empty()) else {
            return Ok(self);
        };
        let explicit = Qualifier::parse(explicit)?;
        match &self.qualifier {
            Some(derived) if *derived != explicit => Err(Error::invalid(
                "The derived qualifier from the function name does not match the specified qualifier.",
            )),
            _ => {
                self.qualifier = Some(explicit);
                Ok(self)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        assert!(FunctionName::parse("my-func_1").is_ok());
        assert!(FunctionName::parse(&"a".repeat(64)).is_ok());
        for bad in ["", "bad name", "a.b", "x:y", &"a".repeat(65)] {
            assert!(FunctionName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            FunctionName::parse("f").unwrap().arn("eu-west-1"),
            "arn:aws:lambda:eu-west-1:000000000000:function:f"
        );
    }

    #[test]
    fn qualifiers() {
        assert_eq!(Qualifier::parse("$LATEST").unwrap(), Qualifier::Latest);
        assert_eq!(Qualifier::parse("12").unwrap(), Qualifier::Version(12));
        assert!(matches!(Qualifier::parse("live").unwrap(), Qualifier::Alias(_)));
        // Accepted by Lambda's pattern, but designating nothing: case matters.
        for unknown in ["0", "007", "$OTHER", "$latest"] {
            assert_eq!(Qualifier::parse(unknown).unwrap(), Qualifier::Unknown(unknown.into()), "{unknown}");
        }
        for bad in ["", "a.b", "x/y", &"a".repeat(129)] {
            assert!(Qualifier::parse(bad).is_err(), "{bad:?}");
        }
        assert!(AliasName::parse("123").is_err());
        assert!(AliasName::parse("v1").is_ok());
    }

    #[test]
    fn function_refs_in_every_form() {
        let plain = FunctionRef::parse("f").unwrap();
        assert_eq!(plain.name.as_str(), "f");
        assert_eq!(plain.qualifier, None);
        let q = FunctionRef::parse("f:live").unwrap();
        assert!(matches!(q.qualifier, Some(Qualifier::Alias(_))));
        let partial = FunctionRef::parse("000000000000:function:f:3").unwrap();
        assert_eq!(partial.qualifier, Some(Qualifier::Version(3)));
        let full = FunctionRef::parse("arn:aws:lambda:us-east-1:000000000000:function:f").unwrap();
        assert_eq!(full.name.as_str(), "f");
        let latest = FunctionRef::parse("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST").unwrap();
        assert_eq!(latest.qualifier, Some(Qualifier::Latest));
    }

    #[test]
    fn malformed_refs() {
        for bad in ["", "a:b:c:d", "bad name", "arn:aws:lambda:us-east-1:12:function:f", "f:"] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            FunctionRef::parse("arn:aws:lambda:us-east-1:123456789012:function:f"),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn the_region_of_full_arns() {
        assert_eq!(
            FunctionRef::arn_region("arn:aws:lambda:eu-west-1:000000000000:function:f"),
            Some("eu-west-1")
        );
        assert_eq!(FunctionRef::arn_region("000000000000:function:f"), None);
        assert_eq!(FunctionRef::arn_region("f:1"), None);
    }

    #[test]
    fn explicit_qualifier_must_agree() {
        let r = FunctionRef::parse("f:1").unwrap();
        assert!(r.clone().with_qualifier(Some("1")).is_ok());
        assert!(r.with_qualifier(Some("2")).is_err());
        let r = FunctionRef::parse("f").unwrap().with_qualifier(Some("live")).unwrap();
        assert!(matches!(r.qualifier, Some(Qualifier::Alias(_))));
    }
}
