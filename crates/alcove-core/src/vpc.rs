//! `VpcConfig`: accepted, validated and returned as Lambda returns it, without network
//! effect. Alcove has no VPCs; a function's network access is set with the
//! `alcove:network` tag. Infrastructure code written for AWS sets `VpcConfig` and diffs what
//! it reads back, so the configuration is kept and reported rather than refused.
//!
//! Validation follows botocore's model (at most 16 subnets and 5 security groups) and the
//! id patterns Lambda checks (`subnet-[0-9a-z]*`, `sg-[0-9a-z]*`, as its validation messages
//! recorded against AWS show). Lambda also asks EC2 whether the subnets exist and derives
//! `VpcId` from them; with no EC2 here, any well-formed id is accepted and `VpcId` is a
//! stable id derived from the subnets (a documented difference).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MAX_SUBNETS: usize = 16;
const MAX_SECURITY_GROUPS: usize = 5;

/// A function's VPC settings; always valid once built.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VpcConfig {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub ipv6_allowed_for_dual_stack: bool,
}

/// `VpcConfig` as it arrived; absent members keep their value on update.
#[derive(Debug, Clone, Default)]
pub struct VpcPatch {
    pub subnet_ids: Option<Vec<String>>,
    pub security_group_ids: Option<Vec<String>>,
    pub ipv6_allowed_for_dual_stack: Option<bool>,
}

impl VpcPatch {
    pub fn apply(self, current: Option<&VpcConfig>) -> Result<VpcConfig> {
        let current = current.cloned().unwrap_or_default();
        let subnet_ids = self.subnet_ids.unwrap_or(current.subnet_ids);
        let security_group_ids = self.security_group_ids.unwrap_or(current.security_group_ids);
        validate_ids("vpcConfig.subnetIds", &subnet_ids, MAX_SUBNETS, "subnet-")?;
        validate_ids("vpcConfig.securityGroupIds", &security_group_ids, MAX_SECURITY_GROUPS, "sg-")?;
        Ok(VpcConfig {
            subnet_ids,
            security_group_ids,
            ipv6_allowed_for_dual_stack: self
                .ipv6_allowed_for_dual_stack
                .unwrap_or(current.ipv6_allowed_for_dual_stack),
        })
    }
}

fn validate_ids(field: &str, ids: &[String], max: usize, prefix: &str) -> Result<()> {
    if ids.len() > max {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '[{}]' at '{field}' failed to satisfy constraint: \
             Member must have length less than or equal to {max}",
            ids.join(", ")
        )));
    }
    let well_formed = |id: &String| {
        id.len() <= 1024
            && id
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()))
    };
    if let Some(bad) = ids.iter().find(|id| !well_formed(id)) {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '[{bad}]' at '{field}' failed to satisfy constraint: \
             Member must satisfy constraint: [Member must have length less than or equal to 1024, \
             Member must have length greater than or equal to 0, Member must satisfy regular \
             expression pattern: {prefix}[0-9a-z]*]"
        )));
    }
    Ok(())
}

impl VpcConfig {
    /// `VpcId`: empty without subnets (as Lambda reports a cleared configuration), else an
    /// id in EC2's format derived from the subnets, the same for the same subnets.
    pub fn vpc_id(&self) -> String {
        if self.subnet_ids.is_empty() {
            return String::new();
        }
        let mut subnets = self.subnet_ids.clone();
        subnets.sort();
        let digest = Sha256::digest(subnets.join(",").as_bytes());
        format!("vpc-{}", &hex::encode(digest)[..17])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(subnets: &[&str], groups: &[&str]) -> VpcPatch {
        VpcPatch {
            subnet_ids: Some(subnets.iter().map(|s| s.to_string()).collect()),
            security_group_ids: Some(groups.iter().map(|s| s.to_string()).collect()),
            ipv6_allowed_for_dual_stack: None,
        }
    }

    #[test]
    fn well_formed_ids_are_kept_and_the_vpc_id_is_stable() {
        let vpc = patch(&["subnet-0a1b2c3d", "subnet-99"], &["sg-0123abcd"]).apply(None).unwrap();
        assert_eq!(vpc.subnet_ids, ["subnet-0a1b2c3d", "subnet-99"]);
        let again = patch(&["subnet-99", "subnet-0a1b2c3d"], &["sg-1"]).apply(None).unwrap();
        assert_eq!(vpc.vpc_id(), again.vpc_id());
        assert!(vpc.vpc_id().starts_with("vpc-") && vpc.vpc_id().len() == 21);
        assert_eq!(patch(&[], &[]).apply(None).unwrap().vpc_id(), "");
    }

    #[test]
    fn malformed_ids_and_too_many_are_refused() {
        assert!(patch(&["subnet-X"], &[]).apply(None).is_err());
        assert!(patch(&["net-1"], &[]).apply(None).is_err());
        assert!(patch(&[], &["group-1"]).apply(None).is_err());
        let subnets: Vec<String> = (0..17).map(|i| format!("subnet-{i}")).collect();
        let refs: Vec<&str> = subnets.iter().map(String::as_str).collect();
        assert!(patch(&refs, &[]).apply(None).is_err());
        assert!(patch(&refs[..16], &["sg-1", "sg-2", "sg-3", "sg-4", "sg-5"]).apply(None).is_ok());
        assert!(patch(&[], &["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"]).apply(None).is_err());
    }

    #[test]
    fn an_update_keeps_what_it_leaves_out() {
        let vpc = patch(&["subnet-1"], &["sg-1"]).apply(None).unwrap();
        let next = VpcPatch { ipv6_allowed_for_dual_stack: Some(true), ..Default::default() }
            .apply(Some(&vpc))
            .unwrap();
        assert_eq!((next.subnet_ids.len(), next.ipv6_allowed_for_dual_stack), (1, true));
    }
}
