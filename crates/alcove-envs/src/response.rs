//! How an invocation's response reaches its caller, whatever way the runtime sent it.
//!
//! A runtime posts a response whole, or streams it (`awslambda.streamifyResponse`); a
//! caller wants it whole (`Invoke`) or as it comes (`InvokeWithResponseStream`). One
//! function settles all four cases, so the rules are the same on every path: a buffered
//! response to a streaming caller is one chunk; a streamed response to a buffering caller
//! is collected up to Lambda's synchronous limit, past which the invoke fails with
//! `Function.ResponseSizeTooLarge` as AWS's `Invoke` does. A streamed response is always
//! read to its end, even when its caller is gone, so the runtime finishes its invoke and
//! the environment stays usable.

use alcove_runtime_api::{Outcome, StreamPart, RESPONSE_LIMIT};
use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::failure::{FunctionFailure, PlatformError};

/// Where the response goes.
pub enum ResponseSink {
    /// Collected whole, returned at the end of the invoke.
    Buffered,
    /// Passed on chunk by chunk as it arrives; the sender waits while the channel is full.
    Streamed(mpsc::Sender<Bytes>),
}

/// Receives the response `outcome` announces, into `sink`. Returns the whole response
/// for a buffered sink, nothing for a streamed one (it has been passed on), or the
/// function's failure.
pub(crate) async fn receive(outcome: Outcome, sink: &ResponseSink) -> Result<Bytes, FunctionFailure> {
    match outcome {
        Outcome::Response(body) => match sink {
            ResponseSink::Buffered => Ok(body),
            ResponseSink::Streamed(chunks) => {
                if !body.is_empty() {
                    let _ = chunks.send(body).await;
                }
                Ok(Bytes::new())
            }
        },
        Outcome::Error { error_type, body } => {
            Err(FunctionFailure { error_type: error_type.unwrap_or_else(|| "Unhandled".into()), body })
        }
        Outcome::Streamed(mut stream) => {
            let mut collected = BytesMut::new();
            let mut too_large = false;
            while let Some(part) = stream.next().await {
                match part {
                    StreamPart::Data(chunk) => match sink {
                        ResponseSink::Streamed(chunks) => {
                            // A caller that went away leaves the rest to be read and dropped.
                            let _ = chunks.send(chunk).await;
                        }
                        ResponseSink::Buffered if too_large => {}
                        ResponseSink::Buffered => {
                            too_large = collected.len() + chunk.len() > RESPONSE_LIMIT;
                            if too_large {
                                collected = BytesMut::new();
                            } else {
                                collected.extend_from_slice(&chunk);
                            }
                        }
                    },
                    StreamPart::Done if too_large => return Err(response_too_large()),
                    StreamPart::Done => return Ok(collected.freeze()),
                    StreamPart::Failed { error_type, body } => {
                        return Err(FunctionFailure { error_type, body });
                    }
                }
            }
            Ok(collected.freeze())
        }
    }
}

fn response_too_large() -> FunctionFailure {
    FunctionFailure::platform(
        PlatformError::ResponseSizeTooLarge,
        &format!("Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_whole_response_is_one_chunk_to_a_streaming_caller() {
        let (tx, mut rx) = mpsc::channel(4);
        let result = receive(Outcome::Response(Bytes::from_static(b"{}")), &ResponseSink::Streamed(tx)).await;
        assert_eq!(result, Ok(Bytes::new()));
        assert_eq!(rx.recv().await, Some(Bytes::from_static(b"{}")));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn an_error_keeps_its_type_or_is_unhandled() {
        let error = Outcome::Error { error_type: None, body: Bytes::from_static(b"{}") };
        let failure = receive(error, &ResponseSink::Buffered).await.unwrap_err();
        assert_eq!(failure.error_type, "Unhandled");
    }

    #[test]
    fn the_too_large_failure_is_lambdas() {
        let failure = response_too_large();
        assert_eq!(failure.error_type, "Function.ResponseSizeTooLarge");
        assert!(String::from_utf8_lossy(&failure.body).contains("(6291556 bytes)"));
    }
}
