//! The resource types Alcove deploys, each in its own module, each calling its service's
//! public API through [`crate::services::Services`].

mod apigateway;
mod call;
mod iam;
mod lambda;
mod logs;
mod props;
mod recorded;
mod s3;
pub(crate) mod ssm;

use crate::resource::ResourceType;

/// Every supported type; a template naming any other type fails its stack with
/// `Unsupported resource type`.
pub fn all() -> Vec<Box<dyn ResourceType>> {
    vec![
        Box::new(lambda::Function),
        Box::new(lambda::Version),
        Box::new(lambda::Alias),
        Box::new(lambda::Permission),
        Box::new(lambda::EventInvokeConfig),
        Box::new(apigateway::RestApi),
        Box::new(apigateway::Resource),
        Box::new(apigateway::Method),
        Box::new(apigateway::Deployment),
        Box::new(apigateway::Stage),
        Box::new(apigateway::Authorizer),
        Box::new(apigateway::ApiKey),
        Box::new(apigateway::UsagePlan),
        Box::new(apigateway::UsagePlanKey),
        Box::new(s3::Bucket),
        Box::new(s3::BucketPolicy),
        Box::new(logs::LogGroup),
        Box::new(ssm::Parameter),
        Box::new(iam::Role),
        Box::new(iam::Policy),
        Box::new(iam::ManagedPolicy),
        Box::new(recorded::ECR_REPOSITORY),
        Box::new(recorded::KMS_KEY),
        Box::new(recorded::KMS_ALIAS),
        Box::new(recorded::APIGATEWAY_ACCOUNT),
        Box::new(recorded::CDK_METADATA),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_type_is_listed_once() {
        let mut names: Vec<&str> = super::all().iter().map(|t| t.type_name()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(names.contains(&"AWS::Lambda::Function") && names.contains(&"AWS::S3::Bucket"));
    }
}
