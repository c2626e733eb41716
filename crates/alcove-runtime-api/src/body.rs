//! Request bodies, read only once a handler has decided it wants them and never beyond a
//! limit: a declared `Content-Length` over the limit is refused before a byte of the body
//! is read, and a chunked body is cut off as soon as it passes the limit, so the server
//! never holds more than `limit` bytes of any body.
//!
//! There is no read timeout of its own: the only bodies ever read are the current
//! invocation's response or error (bounded by the invoke's timeout, after which the
//! environment and this server are destroyed) and the single accepted `init/error`
//! (bounded by the init timeout, likewise). A body trickled slower than that only delays
//! its own environment's end.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("Exceeded maximum allowed payload size ({limit} bytes).")]
    TooLarge { limit: usize },
    #[error("The request body could not be read.")]
    Interrupted,
}

/// Refuses a body whose declared length is over `limit`, without reading it.
pub(crate) fn check_declared(headers: &HeaderMap, limit: usize) -> Result<(), BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(BodyError::TooLarge { limit }),
        _ => Ok(()),
    }
}

/// Reads a whole body of at most `limit` bytes.
pub(crate) async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    check_declared(headers, limit)?;
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge { limit }),
        Err(_) => Err(BodyError::Interrupted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn declaring(length: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_str(length).unwrap());
        headers
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused() {
        assert_eq!(check_declared(&declaring("11"), 10), Err(BodyError::TooLarge { limit: 10 }));
        assert_eq!(check_declared(&declaring("10"), 10), Ok(()));
        assert_eq!(check_declared(&HeaderMap::new(), 10), Ok(()));
    }

    #[tokio::test]
    async fn an_undeclared_body_is_cut_off_at_the_limit() {
        let small = read(&HeaderMap::new(), Body::from("0123456789"), 10).await;
        assert_eq!(small, Ok(Bytes::from_static(b"0123456789")));
        let large = read(&HeaderMap::new(), Body::from("0123456789x"), 10).await;
        assert_eq!(large, Err(BodyError::TooLarge { limit: 10 }));
    }
}
