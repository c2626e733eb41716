//! `AWS::IAM::Role`, `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy`: recorded, not
//! enforced. Alcove has no IAM service (a function's role is stored, never assumed), so
//! these types call nothing; they exist so templates that declare the role their
//! functions name deploy unchanged, and they answer the ids and attributes AWS does
//! (`arn:aws:iam::{account}:role{path}{name}`, an `AROA…` role id, ...).

use async_trait::async_trait;
use serde_json::Value;

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::props::{self, Props};

/// An IAM unique id: a four-letter prefix naming the kind and 17 upper-case letters and
/// digits.
pub fn unique_id(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    format!("{prefix}{}", &random[..17])
}

/// A path as IAM takes it: `/`, or `/`-delimited text beginning and ending with `/`.
fn path(properties: &Props) -> Result<String, ResourceError> {
    let path = props::opt_str(properties, "Path")?.unwrap_or_else(|| "/".into());
    if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 {
        return Err(ResourceError::InvalidProperties(
            "Model validation failed (#/Path: failed validation constraint for keyword [pattern])".into(),
        ));
    }
    Ok(path)
}

pub struct Role;

const ROLE: &[&str] = &[
    "AssumeRolePolicyDocument",
    "Description",
    "ManagedPolicyArns",
    "MaxSessionDuration",
    "Path",
    "PermissionsBoundary",
    "Policies",
    "RoleName",
    "Tags",
];

/// The role's ARN and attributes for `name`.
pub fn role(
    context: &Context<'_>,
    name: &str,
    properties: &Props,
    id: Option<&Value>,
) -> Result<Provisioned, ResourceError> {
    let arn = format!("arn:aws:iam::{}:role{}{name}", context.account_id, path(properties)?);
    let id = id.cloned().unwrap_or_else(|| unique_id("AROA").into());
    Ok(Provisioned::new(name).with("Arn", arn).with("RoleId", id))
}

#[async_trait]
impl ResourceType for Role {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::Role"
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        matches!(property, "RoleName" | "Path")
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(self.type_name(), properties, ROLE, &[])?;
        props::required(properties, "AssumeRolePolicyDocument")?;
        let name = props::opt_str(properties, "RoleName")?.unwrap_or_else(|| context.generated_name(64));
        role(context, &name, properties, None)
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(self.type_name(), new, ROLE, &[])?;
        props::required(new, "AssumeRolePolicyDocument")?;
        role(context, &current.physical_id, new, current.attributes.get("RoleId"))
    }

    async fn delete(&self, _: &Context<'_>, _: &Provisioned, _: &Props) -> Result<(), ResourceError> {
        Ok(())
    }
}

pub struct Policy;

const POLICY: &[&str] = &["PolicyDocument", "PolicyName", "Groups", "Roles", "Users"];

#[async_trait]
impl ResourceType for Policy {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::Policy"
    }

    fn replaces_on_change(&self, _: &str) -> bool {
        false
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(self.type_name(), properties, POLICY, &[])?;
        props::required(properties, "PolicyDocument")?;
        props::required_str(properties, "PolicyName")?;
        let id = context.generated_name(64);
        Ok(Provisioned::new(&id).with("Id", id))
    }

    async fn update(
        &self,
        _: &Context<'_>,
        current: &Provisioned,
        _: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(self.type_name(), new, POLICY, &[])?;
        props::required(new, "PolicyDocument")?;
        Ok(current.clone())
    }

    async fn delete(&self, _: &Context<'_>, _: &Provisioned, _: &Props) -> Result<(), ResourceError> {
        Ok(())
    }
}

pub struct ManagedPolicy;

const MANAGED: &[&str] =
    &["ManagedPolicyName", "Path", "Description", "PolicyDocument", "Groups", "Roles", "Users"];

#[async_trait]
impl ResourceType for ManagedPolicy {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::ManagedPolicy"
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        matches!(property, "ManagedPolicyName" | "Path" | "Description")
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        props::check(self.type_name(), properties, MANAGED, &[])?;
        props::required(properties, "PolicyDocument")?;
        let name =
            props::opt_str(properties, "ManagedPolicyName")?.unwrap_or_else(|| context.generated_name(128));
        let arn = format!("arn:aws:iam::{}:policy{}{name}", context.account_id, path(properties)?);
        Ok(Provisioned::new(&arn)
            .with("PolicyArn", arn)
            .with("PolicyId", unique_id("ANPA"))
            .with("DefaultVersionId", "v1")
            .with("IsAttachable", true))
    }

    async fn update(
        &self,
        _: &Context<'_>,
        current: &Provisioned,
        old: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        props::check(self.type_name(), new, MANAGED, &[])?;
        props::required(new, "PolicyDocument")?;
        let mut updated = current.clone();
        if props::changed(old, new, "PolicyDocument") {
            // Each new document is the policy's next default version.
            let version = current.attributes.get("DefaultVersionId").and_then(Value::as_str).unwrap_or("v1");
            let next = version.trim_start_matches('v').parse::<u32>().unwrap_or(1) + 1;
            updated.attributes.insert("DefaultVersionId".into(), format!("v{next}").into());
        }
        Ok(updated)
    }

    async fn delete(&self, _: &Context<'_>, _: &Provisioned, _: &Props) -> Result<(), ResourceError> {
        Ok(())
    }
}
