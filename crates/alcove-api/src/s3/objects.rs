//! PutObject, GetObject (and HeadObject), DeleteObject, ListObjectsV2 and ListObjects.

use std::io::{Seek, SeekFrom};

use alcove_s3::{ListRequest, ObjectInfo};
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::io::AsyncReadExt;

use super::documents::{timestamp, CommonPrefix, ListBucketResult, ObjectEntry};
use super::error::{RangeDetail, S3ApiError, S3ApiResult};
use super::headers::{self, quoted};
use super::range::{self, Wanted};
use super::xml::{self, NAMESPACE};
use super::{blocking, body, empty, Call};

pub async fn put(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let stored_headers = headers::from_request(&call.headers);
    let staged = body::receive(&call.objects, &call.headers, call.body).await?;
    let objects = call.objects;
    let (b, k) = (bucket, key.clone());
    let info = blocking(move || objects.put_object(&b, &k, staged, stored_headers))
        .await
        .map_err(|e| e.with_key(&key))?;
    let mut response = empty(StatusCode::OK);
    if let Ok(etag) = HeaderValue::from_str(&quoted(&info.etag)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    // The flexible checksum the SDK sent is echoed, as S3 does.
    for (name, value) in call.headers.iter() {
        if name.as_str().starts_with("x-amz-checksum-") && name.as_str() != "x-amz-checksum-algorithm" {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(response)
}

/// GetObject, or HeadObject for a HEAD: the same headers, no body.
pub async fn get(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let head = call.method == axum::http::Method::HEAD;
    let objects = call.objects;
    let (b, k) = (bucket, key.clone());
    let (info, file) = blocking(move || objects.get_object(&b, &k)).await.map_err(|e| e.with_key(&key))?;
    let range_header = call.headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length) = match range::wanted(range_header, info.size) {
        Wanted::Whole => (StatusCode::OK, 0, info.size),
        Wanted::Part(first, last) => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        Wanted::Unsatisfiable => {
            let mut error = S3ApiError::from(alcove_s3::S3Error::InvalidRange);
            error.range = Some(Box::new(RangeDetail {
                actual_object_size: info.size,
                range_requested: range_header.map(str::to_owned),
            }));
            return Err(error);
        }
    };
    let mut response = if head { empty(status) } else { stream(file, start, length, status)? };
    headers::write(&info, &call.query, response.headers_mut());
    let out = response.headers_mut();
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if status == StatusCode::PARTIAL_CONTENT {
        let range = format!("bytes {start}-{}/{}", start + length - 1, info.size);
        out.insert(header::CONTENT_RANGE, HeaderValue::from_str(&range).map_err(S3ApiError::internal)?);
    }
    Ok(response)
}

/// `length` bytes of `file` from `start`, read as the client takes them.
fn stream(mut file: std::fs::File, start: u64, length: u64, status: StatusCode) -> S3ApiResult<Response> {
    file.seek(SeekFrom::Start(start)).map_err(S3ApiError::internal)?;
    let reader = tokio::fs::File::from_std(file).take(length);
    let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buffer = vec![0; 64 << 10];
        match reader.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buffer)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    });
    let mut response = Response::new(Body::from_stream(chunks));
    *response.status_mut() = status;
    Ok(response)
}

pub async fn delete(call: Call, bucket: String, key: String) -> S3ApiResult<Response> {
    let objects = call.objects;
    blocking(move || objects.delete_object(&bucket, &key)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Which list operation: they share the engine and differ in how a page resumes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    V1,
    V2,
}

/// Characters `encoding-type=url` escapes in keys: all but unreserved ones and `/`.
const KEY_ESCAPES: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

pub async fn list(call: Call, bucket: String, listing: Listing) -> S3ApiResult<Response> {
    let q = &call.query;
    let max_keys = match q.get("max-keys") {
        None => 1000,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                S3ApiError::invalid_argument("Provided max-keys not an integer or within integer range")
            })?
            .min(1000) as usize,
    };
    let encoding = q.get("encoding-type");
    if encoding.as_deref().is_some_and(|e| e != "url") {
        return Err(S3ApiError::invalid_argument("Invalid Encoding Method specified in Request"));
    }
    let encode = |s: String| match encoding {
        Some(_) => utf8_percent_encode(&s, KEY_ESCAPES).to_string(),
        None => s,
    };
    let token = q.get("continuation-token");
    let start_after = q.get("start-after").filter(|s| !s.is_empty());
    let marker = q.get("marker").filter(|s| !s.is_empty());
    let after = match listing {
        Listing::V1 => marker.clone(),
        Listing::V2 => match &token {
            Some(token) => Some(decode_token(token)?),
            None => start_after.clone(),
        },
    };
    let request = ListRequest {
        prefix: q.get("prefix").unwrap_or_default(),
        delimiter: q.get("delimiter").filter(|d| !d.is_empty()),
        max_keys,
        after,
    };
    let objects = call.objects;
    let (name, question) = (bucket.clone(), request.clone());
    let page = blocking(move || objects.list_objects(&name, &question)).await?;
    let key_count = page.objects.len() + page.common_prefixes.len();
    let truncated = page.next_after.is_some();
    let entry = |o: ObjectInfo| ObjectEntry {
        key: encode(o.key),
        last_modified: timestamp(o.last_modified),
        etag: quoted(&o.etag),
        size: o.size,
        storage_class: "STANDARD",
    };
    let v2 = listing == Listing::V2;
    let has_delimiter = request.delimiter.is_some();
    let document = ListBucketResult {
        xmlns: NAMESPACE,
        name: bucket,
        prefix: encode(request.prefix),
        delimiter: request.delimiter.map(encode),
        marker: (!v2).then(|| marker.map(encode).unwrap_or_default()),
        // S3 gives NextMarker (V1) only with a delimiter; without one, the last key is it.
        next_marker: (!v2 && has_delimiter).then(|| page.next_after.clone().map(encode)).flatten(),
        max_keys,
        key_count: v2.then_some(key_count),
        is_truncated: truncated,
        encoding_type: encoding.clone(),
        continuation_token: if v2 { token } else { None },
        next_continuation_token: if v2 { page.next_after.as_deref().map(encode_token) } else { None },
        start_after: if v2 { start_after.map(encode) } else { None },
        contents: page.objects.into_iter().map(entry).collect(),
        common_prefixes: page
            .common_prefixes
            .into_iter()
            .map(|p| CommonPrefix { prefix: encode(p) })
            .collect(),
    };
    Ok(xml::response(StatusCode::OK, "ListBucketResult", &document))
}

/// The continuation token: the last key or prefix listed, opaque to the client.
fn encode_token(after: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(after)
}

fn decode_token(token: &str) -> S3ApiResult<String> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| S3ApiError::invalid_argument("The continuation token provided is incorrect"))
}
