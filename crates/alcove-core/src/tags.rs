//! Function tags, and the Alcove settings carried in them.
//!
//! Tags are how AWS lets a user attach their own key/value pairs to a function (the CLI's
//! `--tags`, CloudFormation's and SAM's `Tags`), so they are also where Alcove takes
//! per-function settings Lambda has no field for, under the `alcove:` prefix:
//!
//! - `alcove:network` = `none` (loopback only) or `egress` (outbound network through a
//!   user-space stack). Without the tag, PER_TENANT functions get `none`, the strict
//!   default for code that serves many tenants, and other functions `egress`, as Lambda
//!   gives every function outside a VPC.

use std::collections::BTreeMap;

use crate::{Error, Result, TenantIsolationMode};

pub type Tags = BTreeMap<String, String>;

/// Lambda's limits on tags.
const MAX_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

/// The tag that chooses a function's outbound network.
pub const NETWORK_TAG: &str = "alcove:network";

/// Whether an environment may open connections beyond its own loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkAccess {
    None,
    Egress,
}

impl NetworkAccess {
    fn parse(value: &str) -> Option<NetworkAccess> {
        match value {
            "none" => Some(NetworkAccess::None),
            "egress" => Some(NetworkAccess::Egress),
            _ => None,
        }
    }

    /// The access `tags` give a function of `tenancy`.
    pub fn of(tags: &Tags, tenancy: Option<TenantIsolationMode>) -> NetworkAccess {
        match tags.get(NETWORK_TAG).and_then(|v| NetworkAccess::parse(v)) {
            Some(access) => access,
            None if tenancy.is_some() => NetworkAccess::None,
            None => NetworkAccess::Egress,
        }
    }
}

/// Checks tags about to be added to a function that has `existing` ones.
pub fn validate_tags(existing: &Tags, added: &Tags) -> Result<()> {
    for (key, value) in added {
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            return Err(Error::invalid(format!(
                "Tag key '{key}' must be 1 to {MAX_KEY_CHARS} characters long."
            )));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::invalid(format!(
                "The value of tag '{key}' must be at most {MAX_VALUE_CHARS} characters long."
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::invalid(format!("Tag key '{key}' uses the reserved prefix 'aws:'.")));
        }
        if key == NETWORK_TAG && NetworkAccess::parse(value).is_none() {
            return Err(Error::invalid(format!(
                "Tag '{NETWORK_TAG}' must be 'none' or 'egress', not '{value}'."
            )));
        }
    }
    let total = existing.keys().chain(added.keys()).collect::<std::collections::BTreeSet<_>>().len();
    if total > MAX_TAGS {
        return Err(Error::invalid(format!(
            "A function can have at most {MAX_TAGS} tags; this request would give it {total}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn network_defaults_follow_tenancy_and_the_tag_overrides() {
        let per_tenant = Some(TenantIsolationMode::PerTenant);
        assert_eq!(NetworkAccess::of(&Tags::new(), per_tenant), NetworkAccess::None);
        assert_eq!(NetworkAccess::of(&Tags::new(), None), NetworkAccess::Egress);
        assert_eq!(NetworkAccess::of(&tags(&[(NETWORK_TAG, "egress")]), per_tenant), NetworkAccess::Egress);
        assert_eq!(NetworkAccess::of(&tags(&[(NETWORK_TAG, "none")]), None), NetworkAccess::None);
    }

    #[test]
    fn validation() {
        let none = Tags::new();
        assert!(validate_tags(&none, &tags(&[("team", "blue"), (NETWORK_TAG, "none")])).is_ok());
        assert!(validate_tags(&none, &tags(&[(NETWORK_TAG, "open")])).is_err());
        assert!(validate_tags(&none, &tags(&[("aws:cloudformation:stack", "x")])).is_err());
        assert!(validate_tags(&none, &tags(&[("", "x")])).is_err());
        assert!(validate_tags(&none, &tags(&[(&"k".repeat(129), "x")])).is_err());
        assert!(validate_tags(&none, &tags(&[("k", &"v".repeat(257))])).is_err());
        let fifty: Tags = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(validate_tags(&none, &fifty).is_ok());
        assert!(validate_tags(&fifty, &tags(&[("k0", "again")])).is_ok());
        assert!(validate_tags(&fifty, &tags(&[("one-more", "")])).is_err());
    }
}
