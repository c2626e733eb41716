//! The one XML writer and reader of the S3 edge: documents are `Serialize` /
//! `Deserialize` structs, written by quick-xml's serde support under S3's declaration.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::S3ApiError;

/// S3's document namespace, on the root of every success document.
pub const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// `document` as the root element `root`, with `status`.
pub fn response(status: StatusCode, root: &str, document: &impl Serialize) -> Response {
    let xml = match quick_xml::se::to_string_with_root(root, document) {
        Ok(xml) => format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}"),
        Err(e) => {
            tracing::error!(error = %e, root, "cannot write an S3 document");
            String::new()
        }
    };
    let mut response = Response::new(Body::from(xml));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/xml"));
    response
}

/// A request document; anything that does not read as one is `MalformedXML`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, S3ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| S3ApiError::malformed_xml())?;
    quick_xml::de::from_str(text).map_err(|_| S3ApiError::malformed_xml())
}
