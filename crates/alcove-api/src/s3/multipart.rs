//! CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload and
//! AbortMultipartUpload.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::documents::{
    timestamp, CompleteMultipartUpload, CompleteMultipartUploadResult, InitiateMultipartUploadResult,
    ListPartsResult, PartEntry,
};
use super::error::{S3ApiError, S3ApiResult};
use super::headers::{self, quoted};
use super::xml::{self, NAMESPACE};
use super::{blocking, body, empty, small_body, Call};

fn upload_id(call: &Call) -> String {
    call.query.get("uploadId").unwrap_or_default()
}

pub async fn create(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let stored_headers = headers::from_request(&call.headers);
    let objects = call.objects;
    let (b, k) = (bucket.clone(), key.clone());
    let id = blocking(move || objects.create_upload(&b, &k, stored_headers))
        .await
        .map_err(|e| e.with_key(&key))?;
    let document = InitiateMultipartUploadResult { xmlns: NAMESPACE, bucket, key, upload_id: id };
    Ok(xml::response(StatusCode::OK, "InitiateMultipartUploadResult", &document))
}

pub async fn upload_part(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let id = upload_id(&call);
    let number = call
        .query
        .get("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=alcove_s3::MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            S3ApiError::invalid_argument(format!(
                "Part number must be an integer between 1 and {}, inclusive",
                alcove_s3::MAX_PART_NUMBER
            ))
        })?;
    let staged = body::receive(&call.objects, &call.headers, call.body).await?;
    let objects = call.objects;
    let etag = blocking(move || objects.upload_part(&bucket, &key, &id, number, staged)).await?;
    let mut response = empty(StatusCode::OK);
    if let Ok(etag) = HeaderValue::from_str(&quoted(&etag)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    for (name, value) in call.headers.iter() {
        if name.as_str().starts_with("x-amz-checksum-") && name.as_str() != "x-amz-checksum-algorithm" {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(response)
}

pub async fn list_parts(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let id = upload_id(&call);
    let objects = call.objects;
    let (b, k, i) = (bucket.clone(), key.clone(), id.clone());
    let parts = blocking(move || objects.list_parts(&b, &k, &i)).await?;
    let document = ListPartsResult {
        xmlns: NAMESPACE,
        bucket,
        key,
        upload_id: id,
        is_truncated: false,
        parts: parts
            .into_iter()
            .map(|p| PartEntry {
                part_number: p.number,
                last_modified: timestamp(p.last_modified),
                etag: quoted(&p.etag),
                size: p.size,
            })
            .collect(),
    };
    Ok(xml::response(StatusCode::OK, "ListPartsResult", &document))
}

pub async fn complete(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let id = upload_id(&call);
    let host = call.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let body = small_body(call.body).await?;
    let request: CompleteMultipartUpload = xml::parse(&body)?;
    let chosen: Vec<(u32, String)> = request.parts.into_iter().map(|p| (p.part_number, p.etag)).collect();
    let objects = call.objects;
    let (b, k) = (bucket.clone(), key.clone());
    let info = blocking(move || objects.complete_upload(&b, &k, &id, &chosen)).await?;
    let document = CompleteMultipartUploadResult {
        xmlns: NAMESPACE,
        location: format!("http://{host}/{bucket}/{key}"),
        bucket,
        key,
        etag: quoted(&info.etag),
    };
    Ok(xml::response(StatusCode::OK, "CompleteMultipartUploadResult", &document))
}

pub async fn abort(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let id = upload_id(&call);
    let objects = call.objects;
    blocking(move || objects.abort_upload(&bucket, &key, &id)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
