//! `AWS::S3::Bucket`: CreateBucket and DeleteBucket through S3's REST-XML API, path-style;
//! `AWS::S3::BucketPolicy`: recorded only. A bucket is a name here: the settings tools
//! such as the SAM CLI and the CDK put on their buckets (encryption, public-access block,
//! versioning, ownership, lifecycle, tags, a private ACL) are recorded in the stack, not
//! enforced, because Alcove's S3 has no versioning, no access control and stores objects
//! unencrypted; every other configuration is refused rather than ignored. A bucket that
//! still holds objects cannot be deleted, as on AWS.

use async_trait::async_trait;
use bytes::Bytes;
use http::Method;

use crate::resource::{Context, Provisioned, ResourceError, ResourceType};
use crate::resources::call::{segment, send, send_delete};
use crate::resources::props::{self, Props};
use crate::services::{Service, ServiceRequest};

const TYPE: &str = "AWS::S3::Bucket";
const UNSUPPORTED: &[&str] = &[
    "AbacStatus",
    "AccelerateConfiguration",
    "AnalyticsConfigurations",
    "CorsConfiguration",
    "IntelligentTieringConfigurations",
    "InventoryConfigurations",
    "LoggingConfiguration",
    "MetadataConfiguration",
    "MetadataTableConfiguration",
    "MetricsConfigurations",
    "NotificationConfiguration",
    "ObjectLockConfiguration",
    "ObjectLockEnabled",
    "ReplicationConfiguration",
    "WebsiteConfiguration",
];

/// Recorded in the stack and answered by its template, not enforced by S3.
const RECORDED: &[&str] = &[
    "AccessControl",
    "BucketName",
    "BucketEncryption",
    "LifecycleConfiguration",
    "OwnershipControls",
    "PublicAccessBlockConfiguration",
    "Tags",
    "VersioningConfiguration",
];

pub struct Bucket;

/// Checks a bucket's properties. Of the canned ACLs only `Private` (S3's default, which
/// the CDK's bootstrap bucket states) is recorded; one granting access to others would
/// have to be enforced, and Alcove's S3 enforces none.
fn check_bucket(properties: &Props) -> Result<(), ResourceError> {
    props::check(TYPE, properties, RECORDED, UNSUPPORTED)?;
    match props::opt_str(properties, "AccessControl")?.as_deref() {
        None | Some("Private") => Ok(()),
        Some(other) => Err(ResourceError::InvalidProperties(format!(
            "Property AccessControl of {TYPE} is not supported by this server yet (only Private, not {other})"
        ))),
    }
}

/// A generated bucket name: S3 names are lower case, at most 63 characters.
pub fn generated_name(context: &Context<'_>) -> String {
    context.generated_name(63).to_ascii_lowercase()
}

/// The CreateBucket request; outside us-east-1 the body names the region, as S3 requires.
pub fn create_request(name: &str, region: &str) -> ServiceRequest {
    let mut request = ServiceRequest::empty(Service::S3, Method::PUT, format!("/{}", segment(name)));
    if region != "us-east-1" {
        let body = format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        );
        request.body = Bytes::from(body);
        request = request.with_header("content-type", "application/xml");
    }
    request
}

pub fn delete_request(name: &str) -> ServiceRequest {
    ServiceRequest::empty(Service::S3, Method::DELETE, format!("/{}", segment(name)))
}

pub fn provisioned(name: &str, region: &str) -> Provisioned {
    Provisioned::new(name)
        .with("Arn", format!("arn:aws:s3:::{name}"))
        .with("DomainName", format!("{name}.s3.amazonaws.com"))
        .with("RegionalDomainName", format!("{name}.s3.{region}.amazonaws.com"))
        .with("DualStackDomainName", format!("{name}.s3.dualstack.{region}.amazonaws.com"))
        .with("WebsiteURL", format!("http://{name}.s3-website-{region}.amazonaws.com"))
}

#[async_trait]
impl ResourceType for Bucket {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property == "BucketName"
    }

    async fn create(&self, context: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        check_bucket(properties)?;
        let name = props::opt_str(properties, "BucketName")?.unwrap_or_else(|| generated_name(context));
        send(context, create_request(&name, context.region)).await?;
        Ok(provisioned(&name, context.region))
    }

    async fn update(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        check_bucket(new)?;
        Ok(provisioned(&current.physical_id, context.region))
    }

    async fn delete(
        &self,
        context: &Context<'_>,
        current: &Provisioned,
        _: &Props,
    ) -> Result<(), ResourceError> {
        send_delete(context, delete_request(&current.physical_id)).await
    }
}

/// `AWS::S3::BucketPolicy`: recorded, not enforced (Alcove's S3 has no access control),
/// so a SAM CLI bucket's deny-unless-TLS policy does not break its plain-http uploads.
/// Its physical id is the bucket's name, as on AWS.
pub struct BucketPolicy;

const POLICY: &[&str] = &["Bucket", "PolicyDocument"];

#[async_trait]
impl ResourceType for BucketPolicy {
    fn type_name(&self) -> &'static str {
        "AWS::S3::BucketPolicy"
    }

    fn replaces_on_change(&self, property: &str) -> bool {
        property == "Bucket"
    }

    async fn create(&self, _: &Context<'_>, properties: &Props) -> Result<Provisioned, ResourceError> {
        policy(properties)
    }

    async fn update(
        &self,
        _: &Context<'_>,
        _: &Provisioned,
        _: &Props,
        new: &Props,
    ) -> Result<Provisioned, ResourceError> {
        policy(new)
    }

    async fn delete(&self, _: &Context<'_>, _: &Provisioned, _: &Props) -> Result<(), ResourceError> {
        Ok(())
    }
}

fn policy(properties: &Props) -> Result<Provisioned, ResourceError> {
    props::check("AWS::S3::BucketPolicy", properties, POLICY, &[])?;
    props::required(properties, "PolicyDocument")?;
    Ok(Provisioned::new(&props::required_str(properties, "Bucket")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_path_style_and_name_the_region_outside_us_east_1() {
        let request = create_request("my-bucket", "us-east-1");
        assert_eq!((request.method.clone(), request.path_and_query.as_str()), (Method::PUT, "/my-bucket"));
        assert!(request.body.is_empty());
        let request = create_request("my-bucket", "eu-west-1");
        let body = String::from_utf8(request.body.to_vec()).unwrap();
        assert!(body.contains("<LocationConstraint>eu-west-1</LocationConstraint>"), "{body}");
        assert_eq!(delete_request("my-bucket").path_and_query, "/my-bucket");
        assert_eq!(delete_request("my-bucket").method, Method::DELETE);
    }

    #[test]
    fn attributes_are_aws_shaped() {
        let p = provisioned("b", "eu-west-1");
        assert_eq!(p.physical_id, "b");
        assert_eq!(p.attributes["Arn"], "arn:aws:s3:::b");
        assert_eq!(p.attributes["DomainName"], "b.s3.amazonaws.com");
        assert_eq!(p.attributes["RegionalDomainName"], "b.s3.eu-west-1.amazonaws.com");
        assert!(Bucket.replaces_on_change("BucketName"));
    }

    fn object(json: &str) -> Props {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn sam_cli_bucket_settings_are_recorded_and_others_refused() {
        let sam = object(
            r#"{"PublicAccessBlockConfiguration":{"BlockPublicPolicy":"true"},
                "BucketEncryption":{"ServerSideEncryptionConfiguration":[{"ServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]},
                "VersioningConfiguration":{"Status":"Enabled"},"OwnershipControls":{"Rules":[]},
                "LifecycleConfiguration":{"Rules":[{"Status":"Enabled","ExpirationInDays":1}]},
                "Tags":[{"Key":"ManagedStackSource","Value":"AwsSamCli"}]}"#,
        );
        assert!(check_bucket(&sam).is_ok());
        assert!(check_bucket(&object(r#"{"AccessControl":"Private"}"#)).is_ok());
        let error = check_bucket(&object(r#"{"AccessControl":"PublicRead"}"#)).unwrap_err().to_string();
        assert!(error.contains("only Private, not PublicRead"), "{error}");
        let website = object(r#"{"WebsiteConfiguration":{"IndexDocument":"index.html"}}"#);
        let error = props::check(TYPE, &website, RECORDED, UNSUPPORTED).unwrap_err().to_string();
        assert!(error.contains("WebsiteConfiguration") && error.contains("not supported"), "{error}");
    }

    #[test]
    fn a_bucket_policy_is_named_by_its_bucket_and_needs_a_document() {
        let p = policy(&object(r#"{"Bucket":"b","PolicyDocument":{"Statement":[]}}"#)).unwrap();
        assert_eq!(p.physical_id, "b");
        let error = policy(&object(r#"{"Bucket":"b"}"#)).unwrap_err().to_string();
        assert!(error.contains("PolicyDocument"), "{error}");
        assert!(policy(&object(r#"{"PolicyDocument":{}}"#)).is_err());
    }
}
