//! CreateBucket, HeadBucket, ListBuckets, DeleteBucket, GetBucketLocation and
//! GetBucketEncryption.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::documents::{
    timestamp, BucketEntry, BucketList, CreateBucketConfiguration, ListAllMyBucketsResult,
    LocationConstraint, OWNER,
};
use super::error::{S3ApiError, S3ApiResult};
use super::xml::{self, NAMESPACE};
use super::{blocking, empty, small_body, Call};

const DEFAULT_REGION: &str = "us-east-1";

pub async fn create(call: Call, bucket: String) -> S3ApiResult<Response> {
    let body = small_body(call.body).await?;
    let config: CreateBucketConfiguration =
        if body.iter().all(u8::is_ascii_whitespace) { Default::default() } else { xml::parse(&body)? };
    let region =
        config.location_constraint.filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_REGION.into());
    let objects = call.objects;
    let name = bucket.clone();
    blocking(move || objects.create_bucket(&name, &region)).await?;
    let mut response = empty(StatusCode::OK);
    if let Ok(location) = HeaderValue::from_str(&format!("/{bucket}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

pub async fn head(call: Call, bucket: String) -> S3ApiResult<Response> {
    let objects = call.objects;
    let found = blocking(move || objects.bucket(&bucket)).await?;
    let mut response = empty(StatusCode::OK);
    if let Ok(region) = HeaderValue::from_str(&found.region) {
        response.headers_mut().insert("x-amz-bucket-region", region);
    }
    Ok(response)
}

pub async fn list(call: Call) -> S3ApiResult<Response> {
    let objects = call.objects;
    let buckets = blocking(move || objects.list_buckets()).await?;
    let document = ListAllMyBucketsResult {
        xmlns: NAMESPACE,
        owner: OWNER,
        buckets: BucketList {
            bucket: buckets
                .into_iter()
                .map(|b| BucketEntry {
                    name: b.name,
                    creation_date: timestamp(b.created),
                    bucket_region: b.region,
                })
                .collect(),
        },
    };
    Ok(xml::response(StatusCode::OK, "ListAllMyBucketsResult", &document))
}

pub async fn delete(call: Call, bucket: String) -> S3ApiResult<Response> {
    let objects = call.objects;
    blocking(move || objects.delete_bucket(&bucket)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn location(call: Call, bucket: String) -> S3ApiResult<Response> {
    let objects = call.objects;
    let found = blocking(move || objects.bucket(&bucket)).await?;
    let region = if found.region == DEFAULT_REGION { String::new() } else { found.region };
    Ok(xml::response(StatusCode::OK, "LocationConstraint", &LocationConstraint { xmlns: NAMESPACE, region }))
}

/// GetBucketEncryption. Objects are stored as written, unencrypted, so no bucket has a
/// default encryption configuration and the answer is S3's own for that case; clients
/// that read it before an upload (the CDK's asset publisher) then upload without
/// server-side encryption headers.
pub async fn encryption(call: Call, bucket: String) -> S3ApiResult<Response> {
    let objects = call.objects;
    let name = bucket.clone();
    blocking(move || objects.bucket(&name)).await?;
    Err(S3ApiError::no_encryption_configuration(&bucket))
}
