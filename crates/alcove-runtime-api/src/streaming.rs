//! Streamed responses: `POST /invocation/{id}/response` with
//! `Lambda-Runtime-Function-Response-Mode: streaming`, as AWS's Node runtime sends it for
//! handlers wrapped in `awslambda.streamifyResponse`. The body arrives in chunks
//! (`Transfer-Encoding: chunked`) while the function runs; an error in mid-stream comes in
//! the trailers `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body`
//! (base64 of the error document).
//!
//! The body is never held whole: each chunk is handed to the manager through a small
//! bounded channel as it arrives, and the next is read only once there is room, so a slow
//! caller slows the function down (backpressure) instead of growing the server's memory.
//! Lambda's rules for streamed responses are kept here, where the bytes are counted:
//! at most [`STREAMED_RESPONSE_LIMIT`] bytes, the first [`UNTHROTTLED_BYTES`] as fast as
//! they come and the rest at most [`THROTTLED_RATE`] bytes per second.

use std::time::Duration;

use axum::body::Body;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::body::BodyError;

/// Largest response a function may stream (Lambda's limit for streamed responses).
pub const STREAMED_RESPONSE_LIMIT: usize = 20 * 1024 * 1024;
/// How much of a streamed response goes out at full speed.
pub const UNTHROTTLED_BYTES: usize = 6 * 1024 * 1024;
/// The rate of a streamed response past [`UNTHROTTLED_BYTES`], in bytes per second.
pub const THROTTLED_RATE: usize = 2 * 1024 * 1024;

/// Chunks in flight between the runtime's connection and the manager.
const CHANNEL_CHUNKS: usize = 4;

/// Header names of the streaming response mode.
pub mod headers {
    pub const RESPONSE_MODE: &str = "lambda-runtime-function-response-mode";
    pub const STREAMING: &str = "streaming";
    pub const ERROR_BODY: &str = "lambda-runtime-function-error-body";
}

/// One piece of a streamed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamPart {
    /// Bytes of the response, in order.
    Data(Bytes),
    /// The response ended normally.
    Done,
    /// The response ended with an error: the runtime's trailers, a body over the limit, or
    /// a body cut off. `body` is the error document.
    Failed { error_type: String, body: Bytes },
}

/// The manager's end of a streamed response.
#[derive(Debug)]
pub struct ResponseStream {
    parts: mpsc::Receiver<StreamPart>,
    ended: bool,
}

impl ResponseStream {
    /// The next part; after `Done` or `Failed`, `None`. A stream whose sender vanished
    /// without ending it (the Runtime API stopped) ends `Failed`.
    pub async fn next(&mut self) -> Option<StreamPart> {
        if self.ended {
            return None;
        }
        let part = self.parts.recv().await.unwrap_or_else(|| interrupted(BodyError::Interrupted));
        self.ended = !matches!(part, StreamPart::Data(_));
        Some(part)
    }
}

/// A stream and the sender that [`pump`] feeds it with.
pub(crate) fn channel() -> (mpsc::Sender<StreamPart>, ResponseStream) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    (tx, ResponseStream { parts: rx, ended: false })
}

fn interrupted(error: BodyError) -> StreamPart {
    let error_type = match error {
        BodyError::TooLarge { .. } => "Function.ResponseSizeTooLarge",
        BodyError::Interrupted => "Runtime.InvalidResponse",
    };
    let message = match error {
        BodyError::TooLarge { limit } => {
            format!("Response payload size exceeded maximum allowed payload size ({limit} bytes).")
        }
        BodyError::Interrupted => "The runtime's streamed response was cut off.".to_owned(),
    };
    let body = json!({ "errorMessage": message, "errorType": error_type }).to_string();
    StreamPart::Failed { error_type: error_type.to_owned(), body: Bytes::from(body) }
}

/// The error a runtime reported in its trailers, if any.
fn trailer_error(trailers: &axum::http::HeaderMap) -> Option<StreamPart> {
    let error_type = trailers.get(crate::headers::ERROR_TYPE)?.to_str().ok()?.to_owned();
    let body = trailers
        .get(headers::ERROR_BODY)
        .map(|raw| {
            // The document is base64 in the trailer; a runtime that sent it plain is taken at its word.
            base64::engine::general_purpose::STANDARD
                .decode(raw.as_bytes())
                .map(Bytes::from)
                .unwrap_or_else(|_| Bytes::copy_from_slice(raw.as_bytes()))
        })
        .unwrap_or_else(|| Bytes::from(json!({ "errorType": error_type, "errorMessage": "" }).to_string()));
    Some(StreamPart::Failed { error_type, body })
}

/// Paces bytes past the unthrottled burst to the throttled rate.
struct Pace {
    sent: usize,
    throttled_since: Option<Instant>,
}

impl Pace {
    /// How long to wait before passing on a chunk that brings the total to `self.sent`.
    fn delay(&mut self, now: Instant) -> Duration {
        if self.sent <= UNTHROTTLED_BYTES {
            return Duration::ZERO;
        }
        let since = *self.throttled_since.get_or_insert(now);
        let due = since + throttled_duration(self.sent - UNTHROTTLED_BYTES);
        due.saturating_duration_since(now)
    }
}

fn throttled_duration(bytes: usize) -> Duration {
    Duration::from_secs_f64(bytes as f64 / THROTTLED_RATE as f64)
}

/// Reads a streamed body to its end, handing each chunk to `parts` as there is room, and
/// ends the stream with `Done` or `Failed`. The body is read to its end even when nobody
/// listens any more, so the runtime is never left blocked on its POST. Returns how the
/// body itself ended, for the runtime's reply.
pub(crate) async fn pump(
    mut body: Body,
    parts: mpsc::Sender<StreamPart>,
    limit: usize,
) -> Result<(), BodyError> {
    let mut pace = Pace { sent: 0, throttled_since: None };
    let mut error = None;
    let mut refused = None;
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(_)) => {
                if refused.is_none() {
                    let _ = parts.send(interrupted(BodyError::Interrupted)).await;
                }
                return Err(BodyError::Interrupted);
            }
        };
        match frame.into_data() {
            Ok(data) => {
                if data.is_empty() {
                    continue;
                }
                if refused.is_some() {
                    continue;
                }
                pace.sent += data.len();
                if pace.sent > limit {
                    // The invoke ends here; the rest is read and dropped so that the
                    // runtime finishes its POST and hears why.
                    let too_large = BodyError::TooLarge { limit };
                    let _ = parts.send(interrupted(too_large)).await;
                    refused = Some(too_large);
                    continue;
                }
                let delay = pace.delay(Instant::now());
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                // A closed receiver means the invoke is over (timed out): keep reading.
                let _ = parts.send(StreamPart::Data(data)).await;
            }
            Err(frame) => {
                if let Some(reported) = frame.trailers_ref().and_then(trailer_error) {
                    error = Some(reported);
                }
            }
        }
    }
    if let Some(refused) = refused {
        return Err(refused);
    }
    let _ = parts.send(error.unwrap_or(StreamPart::Done)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use http_body_util::StreamBody;

    fn body_of(frames: Vec<http_body::Frame<Bytes>>) -> Body {
        let stream = futures_util::stream::iter(frames.into_iter().map(Ok::<_, std::convert::Infallible>));
        Body::new(StreamBody::new(stream))
    }

    async fn collect(mut stream: ResponseStream) -> Vec<StreamPart> {
        let mut parts = Vec::new();
        while let Some(part) = stream.next().await {
            parts.push(part);
        }
        parts
    }

    #[tokio::test]
    async fn chunks_pass_in_order_and_end_done() {
        let (tx, stream) = channel();
        let body = body_of(vec![
            http_body::Frame::data(Bytes::from_static(b"one ")),
            http_body::Frame::data(Bytes::from_static(b"two")),
        ]);
        let (pumped, parts) = tokio::join!(pump(body, tx, 100), collect(stream));
        assert_eq!(pumped, Ok(()));
        assert_eq!(
            parts,
            vec![
                StreamPart::Data(Bytes::from_static(b"one ")),
                StreamPart::Data(Bytes::from_static(b"two")),
                StreamPart::Done
            ]
        );
    }

    #[tokio::test]
    async fn an_error_in_the_trailers_ends_the_stream_failed() {
        let (tx, stream) = channel();
        let mut trailers = HeaderMap::new();
        trailers.insert(crate::headers::ERROR_TYPE, HeaderValue::from_static("Error"));
        let document = r#"{"errorType":"Error","errorMessage":"boom"}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(document);
        trailers.insert(headers::ERROR_BODY, HeaderValue::from_str(&encoded).unwrap());
        let body = body_of(vec![
            http_body::Frame::data(Bytes::from_static(b"partial")),
            http_body::Frame::trailers(trailers),
        ]);
        let (pumped, parts) = tokio::join!(pump(body, tx, 100), collect(stream));
        assert_eq!(pumped, Ok(()));
        assert_eq!(parts[0], StreamPart::Data(Bytes::from_static(b"partial")));
        assert_eq!(
            parts[1],
            StreamPart::Failed { error_type: "Error".into(), body: Bytes::from_static(document.as_bytes()) }
        );
        assert_eq!(parts.len(), 2);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_cut_off_with_lambdas_error() {
        let (tx, stream) = channel();
        let body = body_of(vec![
            http_body::Frame::data(Bytes::from_static(b"12345")),
            http_body::Frame::data(Bytes::from_static(b"678901")),
            http_body::Frame::data(Bytes::from_static(b"read and dropped")),
        ]);
        let (pumped, parts) = tokio::join!(pump(body, tx, 10), collect(stream));
        assert_eq!(pumped, Err(BodyError::TooLarge { limit: 10 }));
        assert_eq!(parts.len(), 2);
        assert!(
            matches!(&parts[1], StreamPart::Failed { error_type, .. } if error_type == "Function.ResponseSizeTooLarge")
        );
    }

    #[tokio::test]
    async fn the_body_is_read_to_its_end_when_nobody_listens() {
        let (tx, stream) = channel();
        drop(stream);
        let frames = (0..100).map(|_| http_body::Frame::data(Bytes::from_static(b"x"))).collect();
        assert_eq!(pump(body_of(frames), tx, 1000).await, Ok(()));
    }

    #[tokio::test]
    async fn a_vanished_sender_ends_the_stream_failed() {
        let (tx, stream) = channel();
        drop(tx);
        let parts = collect(stream).await;
        assert!(
            matches!(&parts[..], [StreamPart::Failed { error_type, .. }] if error_type == "Runtime.InvalidResponse")
        );
    }

    #[test]
    fn bytes_past_the_burst_are_paced_at_the_throttled_rate() {
        let now = Instant::now();
        let mut pace = Pace { sent: UNTHROTTLED_BYTES, throttled_since: None };
        assert_eq!(pace.delay(now), Duration::ZERO);
        pace.sent += THROTTLED_RATE;
        assert_eq!(pace.delay(now), Duration::from_secs(1));
        pace.sent += THROTTLED_RATE / 2;
        assert_eq!(pace.delay(now + Duration::from_secs(1)), Duration::from_millis(500));
    }
}
