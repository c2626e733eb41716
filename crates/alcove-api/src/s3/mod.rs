//! The S3 subset on S3's REST-XML protocol, as botocore's `s3` model defines it: buckets,
//! objects (ranges, user metadata, Content-MD5), ListObjectsV2 and multipart uploads, for
//! deployment packages and templates. The bucket comes from the path or the Host header
//! (`address.rs`), the operation from the method and the query's sub-resources; any
//! other request is S3's `NotImplemented`, in S3's error shape (`error.rs`).

pub(crate) mod address;
mod body;
mod buckets;
mod documents;
mod error;
mod headers;
mod multipart;
mod objects;
mod query;
mod range;
mod xml;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;

pub use body::blocking;

/// What the fuzz targets drive: addressing, query strings, ranges, request documents.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::address::resolve as s3_address;
    pub use super::documents::{CompleteMultipartUpload, CreateBucketConfiguration};
    pub use super::query::Query as S3Query;
    pub use super::range::{wanted as s3_range, Wanted};
    pub use super::xml::parse as s3_xml;
}
use error::{S3ApiError, S3ApiResult};
use query::Query;

use crate::AppState;

/// One S3 request, taken apart.
pub struct Call {
    pub objects: alcove_s3::ObjectStore,
    pub method: Method,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: Body,
}

/// An authentication or authorization refusal in S3's error shape.
pub fn refusal(
    status: axum::http::StatusCode,
    code: &'static str,
    message: String,
    request_id: &str,
) -> Response {
    let mut response = S3ApiError::new(status, code, message).into_response(false, request_id);
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amz-request-id", value);
    }
    response
}

/// Serves one S3 request.
pub async fn serve(state: AppState, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase();
    let head = request.method() == Method::HEAD;
    let mut response = match route(state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(head, &request_id),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amz-request-id", value.clone());
        response.headers_mut().insert("x-amz-id-2", value);
    }
    response
}

async fn route(state: AppState, request: Request) -> S3ApiResult<Response> {
    let (parts, body) = request.into_parts();
    let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    let address = address::resolve(host, parts.uri.path());
    let call = Call {
        objects: state.objects.clone(),
        method: parts.method,
        query: Query::parse(parts.uri.query()),
        headers: parts.headers,
        body,
    };
    let q = &call.query;
    match (address.bucket, address.key) {
        (None, _) => match call.method {
            Method::GET if q.only(&["max-buckets", "continuation-token", "prefix", "bucket-region"]) => {
                buckets::list(call).await
            }
            Method::GET => Err(S3ApiError::not_implemented()),
            _ => Err(S3ApiError::method_not_allowed()),
        },
        (Some(bucket), None) => match call.method {
            Method::PUT if q.only(&[]) => buckets::create(call, bucket).await,
            Method::HEAD if q.only(&[]) => buckets::head(call, bucket).await,
            Method::DELETE if q.only(&[]) => buckets::delete(call, bucket).await,
            Method::GET if q.has("list-type") && q.get("list-type").as_deref() == Some("2") => {
                objects::list(call, bucket, objects::Listing::V2).await
            }
            Method::GET if q.has("location") && q.only(&["location"]) => {
                buckets::location(call, bucket).await
            }
            Method::GET if q.has("encryption") && q.only(&["encryption"]) => {
                buckets::encryption(call, bucket).await
            }
            Method::GET if q.only(&["prefix", "delimiter", "marker", "max-keys", "encoding-type"]) => {
                objects::list(call, bucket, objects::Listing::V1).await
            }
            _ => Err(S3ApiError::not_implemented()),
        },
        (Some(bucket), Some(key)) => {
            let copy = call.headers.contains_key("x-amz-copy-source");
            match call.method {
                Method::PUT if q.has("uploadId") && q.only(&["uploadId", "partNumber"]) && !copy => {
                    multipart::upload_part(call, bucket, key).await
                }
                Method::PUT if q.only(&[]) && !copy => objects::put(call, bucket, key).await,
                Method::GET
                    if q.has("uploadId") && q.only(&["uploadId", "max-parts", "part-number-marker"]) =>
                {
                    multipart::list_parts(call, bucket, key).await
                }
                Method::GET | Method::HEAD if q.only(&[]) => objects::get(call, bucket, key).await,
                Method::DELETE if q.has("uploadId") && q.only(&["uploadId"]) => {
                    multipart::abort(call, bucket, key).await
                }
                Method::DELETE if q.only(&[]) => objects::delete(call, bucket, key).await,
                Method::POST if q.has("uploads") && q.only(&["uploads"]) => {
                    multipart::create(call, bucket, key).await
                }
                Method::POST if q.has("uploadId") && q.only(&["uploadId"]) => {
                    multipart::complete(call, bucket, key).await
                }
                _ => Err(S3ApiError::not_implemented()),
            }
        }
    }
}

/// A small request document (CreateBucketConfiguration, CompleteMultipartUpload).
async fn small_body(body: Body) -> S3ApiResult<bytes::Bytes> {
    axum::body::to_bytes(body, 1 << 20).await.map_err(|_| S3ApiError::malformed_xml())
}

/// An empty answer with `status`.
fn empty(status: axum::http::StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use tower::ServiceExt;

    use super::*;

    const SIGNED: &str =
        "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

    async fn call(
        app: &axum::Router,
        method: Method,
        uri: &str,
        signed: bool,
        body: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(uri).header("host", "127.0.0.1:9000");
        if signed {
            request = request.header("authorization", SIGNED);
        }
        let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn requests_signed_for_s3_are_answered_in_s3s_shape() {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::router(crate::tests::state(dir.path()).await);
        assert_eq!(call(&app, Method::PUT, "/bucket-one", true, "").await.0, StatusCode::OK);
        let (status, headers, _) = call(&app, Method::PUT, "/bucket-one/a%20key", true, "abc").await;
        assert_eq!(
            (status, headers["etag"].to_str().unwrap()),
            (StatusCode::OK, "\"900150983cd24fb0d6963f7d28e17f72\"")
        );
        let (status, headers, body) = call(&app, Method::GET, "/bucket-one/a%20key", true, "").await;
        assert_eq!(
            (status, body.as_str(), headers["accept-ranges"].to_str().unwrap()),
            (StatusCode::OK, "abc", "bytes")
        );
        // A sub-resource Alcove does not serve: S3's NotImplemented, in XML.
        let (status, headers, body) = call(&app, Method::GET, "/bucket-one?acl", true, "").await;
        assert_eq!(
            (status, headers["content-type"].to_str().unwrap()),
            (StatusCode::NOT_IMPLEMENTED, "application/xml")
        );
        assert!(body.contains("<Code>NotImplemented</Code>") && body.contains("<RequestId>"), "{body}");
        // HEAD errors carry the status only.
        let (status, _, body) = call(&app, Method::HEAD, "/bucket-one/missing", true, "").await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, ""));
        let (status, _, body) = call(&app, Method::GET, "/bucket-one/missing", true, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing</Key>"), "{body}");
        // Unsigned, the same path is not S3's.
        let (status, headers, _) = call(&app, Method::GET, "/bucket-one/a%20key", false, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_ne!(headers.get("content-type").map(|v| v.to_str().unwrap()), Some("application/xml"));
    }
}
