//! Types Alcove records and does not serve: a stack may declare them (the CDK's bootstrap
//! stack declares a container image repository; every CDK app declares its metadata and,
//! with a REST API, API Gateway's account settings), and each deploys as a record that
//! answers the `Ref` and `Fn::GetAtt` values AWS does. Nothing acts on what they say:
//! Alcove has no container registry, no key service and no CloudWatch role to hand API
//! Gateway. `docs/CLOUDFORMATION.md` lists them with what that means for a template.
//!
//! Each type is a table row: its properties, which of them replace the resource when
//! they change, and how its identity (physical id and attributes) is made.

use async_trait::async_trait;

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::props::{self, Props};

/// A recorded type.
pub struct Recorded {
    type_name: &'static str,
    known: &'static [&'static str],
    required: &'static [&'static str],
    replaced_by: &'static [&'static str],
    /// The identity of a new resource, or (given the current one) of an updated one.
    identity: fn(&Context<'_>, &Props, Option<&Provisioned>) -> Result<Provisioned, ResourceError>,
}

#[async_trait]
impl ResourceType for Recorded {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        self.replaced_by.contains(&property)
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        self.check(properties)?;
        (self.identity)(context, properties, None)
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        self.check(new)?;
        (self.identity)(context, new, Some(current))
    }

    async fn delete(&self, _: &Context<'_>, _: &Provisioned, _: &Props) -> Result<(), ResourceError> {
        Ok(())
    }
}

impl Recorded {
    fn check(&self, properties: &Props) -> Result<(), ResourceError> {
        props::check(self.type_name, properties, self.known, &[])?;
        for name in self.required {
            props::required(properties, name)?;
        }
        Ok(())
    }
}

/// Twelve random lower-case letters and digits, or the current resource's physical id.
fn kept_or_new(current: Option<&Provisioned>, new: impl FnOnce() -> String) -> String {
    current.map(|c| c.physical_id.clone()).unwrap_or_else(new)
}

/// `AWS::ECR::Repository`. `Ref` is the name; `Arn` and `RepositoryUri` are ECR's.
/// Images cannot be pushed: Alcove serves no registry.
pub const ECR_REPOSITORY: Recorded = Recorded {
    type_name: "AWS::ECR::Repository",
    known: &[
        "EmptyOnDelete",
        "EncryptionConfiguration",
        "ImageScanningConfiguration",
        "ImageTagMutability",
        "ImageTagMutabilityExclusionFilters",
        "LifecyclePolicy",
        "RepositoryName",
        "RepositoryPolicyText",
        "Tags",
    ],
    required: &[],
    replaced_by: &["RepositoryName", "EncryptionConfiguration"],
    identity: |context, properties, current| {
        let name = match (current, props::opt_str(properties, "RepositoryName")?) {
            (Some(current), _) => current.physical_id.clone(),
            (None, Some(name)) => name,
            // Repository names are lower case.
            (None, None) => context.generated_name(256).to_ascii_lowercase(),
        };
        let (region, account) = (context.region, context.account_id);
        Ok(Provisioned::new(&name)
            .with("Arn", format!("arn:aws:ecr:{region}:{account}:repository/{name}"))
            .with("RepositoryUri", format!("{account}.dkr.ecr.{region}.amazonaws.com/{name}")))
    },
};

/// `AWS::KMS::Key`. `Ref` is a key id (a UUID); `Arn` and `KeyId`. Nothing is encrypted
/// with it.
pub const KMS_KEY: Recorded = Recorded {
    type_name: "AWS::KMS::Key",
    known: &[
        "BypassPolicyLockoutSafetyCheck",
        "Description",
        "Enabled",
        "EnableKeyRotation",
        "KeyPolicy",
        "KeySpec",
        "KeyUsage",
        "MultiRegion",
        "Origin",
        "PendingWindowInDays",
        "RotationPeriodInDays",
        "Tags",
    ],
    required: &[],
    replaced_by: &["KeySpec", "KeyUsage", "MultiRegion", "Origin"],
    identity: |context, _, current| {
        let id = kept_or_new(current, || uuid::Uuid::new_v4().to_string());
        let arn = format!("arn:aws:kms:{}:{}:key/{id}", context.region, context.account_id);
        Ok(Provisioned::new(&id).with("Arn", arn).with("KeyId", id))
    },
};

/// `AWS::KMS::Alias`. `Ref` is the alias name (`alias/...`).
pub const KMS_ALIAS: Recorded = Recorded {
    type_name: "AWS::KMS::Alias",
    known: &["AliasName", "TargetKeyId"],
    required: &["AliasName", "TargetKeyId"],
    replaced_by: &["AliasName"],
    identity: |_, properties, _| {
        let name = props::required_str(properties, "AliasName")?;
        if !name.starts_with("alias/") || name.starts_with("alias/aws/") {
            return Err(ResourceError::InvalidProperties(format!(
                "Model validation failed (#/AliasName: failed validation constraint for keyword [pattern]): {name}"
            )));
        }
        Ok(Provisioned::new(name))
    },
};

/// `AWS::ApiGateway::Account`: the region's API Gateway settings (the role it logs to
/// CloudWatch with). Execution logs are not written, so the role is kept only.
pub const APIGATEWAY_ACCOUNT: Recorded = Recorded {
    type_name: "AWS::ApiGateway::Account",
    known: &["CloudWatchRoleArn"],
    required: &[],
    replaced_by: &[],
    identity: |_, _, current| {
        let id = kept_or_new(current, || {
            uuid::Uuid::new_v4().simple().to_string().chars().take(12).collect::<String>()
        });
        Ok(Provisioned::new(&id).with("Id", id))
    },
};

/// `AWS::CDK::Metadata`: what the CDK reports of an app's constructs (`Analytics`).
pub const CDK_METADATA: Recorded = Recorded {
    type_name: "AWS::CDK::Metadata",
    known: &["Analytics", "Modules", "Path"],
    required: &[],
    replaced_by: &[],
    identity: |_, _, current| Ok(Provisioned::new(kept_or_new(current, || uuid::Uuid::new_v4().to_string()))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::context;

    #[tokio::test]
    async fn records_answer_the_ids_aws_gives_and_keep_them_across_updates() {
        let services = crate::testing::NoServices;
        let context = context(&services, "Bootstrap", "ContainerAssetsRepository");
        let mut properties = Props::new();
        properties.insert("ImageTagMutability".into(), "IMMUTABLE".into());
        let repository = ECR_REPOSITORY.create(&context, &properties).await.unwrap();
        assert_eq!(repository.physical_id, repository.physical_id.to_ascii_lowercase());
        assert!(repository.physical_id.starts_with("bootstrap-containerassetsrepository-"));
        let uri = repository.attributes["RepositoryUri"].as_str().unwrap();
        assert_eq!(uri, format!("000000000000.dkr.ecr.us-east-1.amazonaws.com/{}", repository.physical_id));
        let updated = ECR_REPOSITORY.update(&context, &repository, &properties, &Props::new()).await.unwrap();
        assert_eq!(updated, repository);
        assert!(ECR_REPOSITORY.replaces_on_change("RepositoryName"));

        let key = KMS_KEY.create(&context, &Props::new()).await.unwrap();
        assert!(key.attributes["Arn"].as_str().unwrap().ends_with(&format!(":key/{}", key.physical_id)));
        assert_eq!(KMS_KEY.update(&context, &key, &Props::new(), &Props::new()).await.unwrap(), key);
    }

    #[tokio::test]
    async fn unknown_or_missing_properties_fail_as_model_validation_does() {
        let services = crate::testing::NoServices;
        let context = context(&services, "S", "Alias");
        let error = KMS_ALIAS.create(&context, &Props::new()).await.unwrap_err();
        assert!(error.to_string().contains("required key [AliasName]"), "{error}");
        let mut properties = Props::new();
        properties.insert("AliasName".into(), "nope".into());
        properties.insert("TargetKeyId".into(), "k".into());
        assert!(KMS_ALIAS.create(&context, &properties).await.is_err());
        properties.insert("AliasName".into(), "alias/mine".into());
        assert_eq!(KMS_ALIAS.create(&context, &properties).await.unwrap().physical_id, "alias/mine");
        properties.insert("Colour".into(), "blue".into());
        let error = KMS_ALIAS.create(&context, &properties).await.unwrap_err();
        assert_eq!(error.to_string(), "Encountered unsupported property Colour");
    }
}
