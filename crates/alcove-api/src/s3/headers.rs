//! An object's stored headers: read from PutObject / CreateMultipartUpload requests and
//! written back on GetObject / HeadObject, with the ETag (quoted) and Last-Modified (an
//! HTTP date) S3 answers with.

use std::collections::BTreeMap;

use alcove_s3::{ObjectHeaders, ObjectInfo};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};

use super::query::Query;

const USER_METADATA: &str = "x-amz-meta-";

/// The headers a request stores with its object.
pub fn from_request(headers: &HeaderMap) -> ObjectHeaders {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // `aws-chunked` describes the request's transfer, not the object.
    let content_encoding = text("content-encoding")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty() && *t != "aws-chunked")
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|v| !v.is_empty());
    let user_metadata: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix(USER_METADATA)?;
            Some((name.to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    ObjectHeaders {
        content_type: text("content-type"),
        content_encoding,
        content_disposition: text("content-disposition"),
        content_language: text("content-language"),
        cache_control: text("cache-control"),
        expires: text("expires"),
        user_metadata,
    }
}

/// ETag as S3 writes it: in double quotes.
pub fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// The headers of a GetObject or HeadObject answer; `response-*` query members override
/// the stored ones, as S3 allows on GET.
pub fn write(info: &ObjectInfo, query: &Query, out: &mut HeaderMap) {
    let stored = &info.headers;
    let pick =
        |name: &str, stored: &Option<String>| query.get(&format!("response-{name}")).or(stored.clone());
    let content_type =
        pick("content-type", &stored.content_type).unwrap_or_else(|| "binary/octet-stream".into());
    let pairs = [
        (header::CONTENT_TYPE, Some(content_type)),
        (header::CONTENT_ENCODING, pick("content-encoding", &stored.content_encoding)),
        (header::CONTENT_DISPOSITION, pick("content-disposition", &stored.content_disposition)),
        (header::CONTENT_LANGUAGE, pick("content-language", &stored.content_language)),
        (header::CACHE_CONTROL, pick("cache-control", &stored.cache_control)),
        (header::EXPIRES, pick("expires", &stored.expires)),
        (header::ETAG, Some(quoted(&info.etag))),
        (header::LAST_MODIFIED, Some(httpdate::fmt_http_date(info.last_modified.into()))),
        (header::ACCEPT_RANGES, Some("bytes".into())),
    ];
    for (name, value) in pairs {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            out.insert(name, value);
        }
    }
    for (name, value) in &stored.user_metadata {
        let name = HeaderName::from_bytes(format!("{USER_METADATA}{name}").as_bytes());
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_str(value)) {
            out.insert(name, value);
        }
    }
}
