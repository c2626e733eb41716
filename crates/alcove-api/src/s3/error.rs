//! S3's error answer, made here and nowhere else: the status, and an `<Error>` document
//! with `Code`, `Message`, the resource it concerns and the request id, as
//! `application/xml`. An answer to HEAD carries the status and no body, as S3's does.

use alcove_s3::S3Error;
use axum::http::StatusCode;
use serde::Serialize;

/// A failed S3 request.
#[derive(Debug)]
pub struct S3ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The bucket, key or upload the error concerns.
    pub resource: Option<Resource>,
    /// `InvalidRange`: what was asked of how large an object.
    pub range: Option<Box<RangeDetail>>,
}

/// What an error names, in the member S3 names it with.
#[derive(Debug)]
pub enum Resource {
    Bucket(String),
    Key(String),
    Upload(String),
}

#[derive(Debug)]
pub struct RangeDetail {
    pub actual_object_size: u64,
    pub range_requested: Option<String>,
}

pub type S3ApiResult<T> = Result<T, S3ApiError>;

impl S3ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        S3ApiError { status, code, message: message.into(), resource: None, range: None }
    }

    pub fn not_implemented() -> Self {
        S3ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header or query you provided implies functionality that is not implemented",
        )
    }

    /// GetBucketEncryption of a bucket without a configuration (every bucket here:
    /// Alcove does not encrypt objects at rest).
    pub fn no_encryption_configuration(bucket: &str) -> Self {
        let mut error = S3ApiError::new(
            StatusCode::NOT_FOUND,
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
        );
        error.resource = Some(Resource::Bucket(bucket.to_owned()));
        error
    }

    pub fn method_not_allowed() -> Self {
        S3ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
    }

    pub fn malformed_xml() -> Self {
        S3ApiError::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        S3ApiError::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }

    pub fn invalid_digest() -> Self {
        S3ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        )
    }

    pub fn incomplete_body() -> Self {
        S3ApiError::new(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "S3 request failed");
        S3ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    pub fn with_key(mut self, key: &str) -> Self {
        if self.code == "NoSuchKey" || self.code == "KeyTooLongError" {
            self.resource = Some(Resource::Key(key.to_owned()));
        }
        self
    }

    /// The response: a body only when the request was not a HEAD.
    pub fn into_response(self, head: bool, request_id: &str) -> axum::response::Response {
        let (mut bucket_name, mut key, mut upload_id) = (None, None, None);
        match &self.resource {
            Some(Resource::Bucket(name)) => bucket_name = Some(name.as_str()),
            Some(Resource::Key(name)) => key = Some(name.as_str()),
            Some(Resource::Upload(id)) => upload_id = Some(id.as_str()),
            None => {}
        }
        let document = ErrorDocument {
            code: self.code,
            message: &self.message,
            bucket_name,
            key,
            upload_id,
            actual_object_size: self.range.as_ref().map(|r| r.actual_object_size),
            range_requested: self.range.as_ref().and_then(|r| r.range_requested.as_deref()),
            request_id,
            host_id: request_id,
        };
        let mut response = super::xml::response(self.status, "Error", &document);
        if head {
            *response.body_mut() = axum::body::Body::empty();
            response.headers_mut().remove(axum::http::header::CONTENT_TYPE);
        }
        if let Some(size) = self.range.as_ref().map(|r| r.actual_object_size) {
            if let Ok(value) = format!("bytes */{size}").parse() {
                response.headers_mut().insert(axum::http::header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

impl From<S3Error> for S3ApiError {
    fn from(error: S3Error) -> Self {
        let status = match &error {
            S3Error::NoSuchBucket { .. } | S3Error::NoSuchKey { .. } | S3Error::NoSuchUpload { .. } => {
                StatusCode::NOT_FOUND
            }
            S3Error::BucketAlreadyOwnedByYou { .. } | S3Error::BucketNotEmpty { .. } => StatusCode::CONFLICT,
            S3Error::InvalidRange => StatusCode::RANGE_NOT_SATISFIABLE,
            S3Error::Database(_) | S3Error::Io(_) | S3Error::NewerSchema(_) => {
                return S3ApiError::internal(error);
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let mut api = S3ApiError::new(status, error.code(), error.to_string());
        match error {
            S3Error::NoSuchBucket { bucket }
            | S3Error::BucketAlreadyOwnedByYou { bucket }
            | S3Error::BucketNotEmpty { bucket }
            | S3Error::InvalidBucketName { bucket } => api.resource = Some(Resource::Bucket(bucket)),
            S3Error::NoSuchKey { key } => api.resource = Some(Resource::Key(key)),
            S3Error::NoSuchUpload { upload_id } => api.resource = Some(Resource::Upload(upload_id)),
            _ => {}
        }
        api
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorDocument<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual_object_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    range_requested: Option<&'a str>,
    request_id: &'a str,
    host_id: &'a str,
}
