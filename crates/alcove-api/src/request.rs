//! Extractors for what every Lambda API request carries: a JSON body read under the
//! service's size limit, and the region named in the SigV4 credential scope, which is the
//! region in every ARN we return.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The region used when a request is unsigned.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A request body of at most `LIMITS.request_body_bytes`, parsed as JSON. An empty body
/// reads as `{}`.
pub struct AwsJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AwsJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(request.into_body(), alcove_core::LIMITS.request_body_bytes).await?;
        parse_json(&bytes).map(AwsJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_content(format!("Could not parse request body into json: {e}")))
}

/// Reads a body up to `limit` bytes. A larger body is drained (so the client, still
/// sending, reads our answer instead of a reset connection) and refused with 413.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    /// Past this, stop draining and let the connection drop.
    const DRAIN_CAP: usize = 512 * 1024 * 1024;
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::invalid_content(format!("Could not read request body: {e}")))?;
        total += chunk.len();
        if total <= limit {
            buffer.extend_from_slice(&chunk);
        } else if total > DRAIN_CAP {
            break;
        }
    }
    if total > limit {
        return Err(ApiError::entity_too_large(format!(
            "Request must be smaller than {limit} bytes for the operation"
        )));
    }
    Ok(buffer.freeze())
}

/// The region of the request's SigV4 credential scope.
#[derive(Debug, Clone)]
pub struct Region(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Region {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Region(region_of(&parts.headers).unwrap_or_else(|| DEFAULT_REGION.to_owned())))
    }
}

/// `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`
fn region_of(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let region = scope.split('/').nth(2)?;
    let valid = !region.is_empty()
        && region.len() <= 32
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_from_sigv4_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(region_of(&headers).as_deref(), Some("eu-west-1"));
        headers.insert(header::AUTHORIZATION, "Credential=AKID/d/EVIL:region/x".parse().unwrap());
        assert_eq!(region_of(&headers), None);
        assert_eq!(region_of(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        assert_eq!(read_limited(Body::from(vec![1u8; 10]), 10).await.unwrap().len(), 10);
        let err = read_limited(Body::from(vec![1u8; 11]), 10).await.unwrap_err();
        assert_eq!(err.code, "RequestEntityTooLargeException");
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        let value: serde_json::Value = parse_json(b"").unwrap();
        assert_eq!(value, serde_json::json!({}));
        assert_eq!(
            parse_json::<serde_json::Value>(b"{nope").unwrap_err().code,
            "InvalidRequestContentException"
        );
    }
}
