//! The events of `InvokeWithResponseStream`, framed as AWS event stream messages
//! (`application/vnd.amazon.eventstream`: a prelude with both lengths and its CRC, typed
//! headers, the payload, the message CRC), exactly as botocore's parser expects them:
//! `:message-type: event`, `:event-type` naming the member of
//! `InvokeWithResponseStreamResponseEvent`, and `:content-type`.
//!
//! The binary framing is `aws-smithy-eventstream`'s, the AWS SDKs' own implementation,
//! rather than a hand-written encoder: a wrong CRC or length would only show up as a
//! client that hangs or drops the connection.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use serde_json::{Map, Value};

/// The HTTP `Content-Type` of an event stream.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Most payload bytes in one `PayloadChunk` message: larger chunks are split, keeping
/// every message well under the format's 16 MB limit.
const MAX_CHUNK: usize = 256 * 1024;

fn event(event_type: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    let message = Message::new(payload)
        .add_header(Header::new(":event-type", HeaderValue::String(event_type.into())))
        .add_header(Header::new(":content-type", HeaderValue::String(content_type.into())))
        .add_header(Header::new(":message-type", HeaderValue::String("event".into())));
    let mut framed = Vec::with_capacity(message.payload().len() + 128);
    // Only payloads over 16 MB fail to encode, and every payload here is far smaller.
    if let Err(e) = write_message_to(&message, &mut framed) {
        tracing::error!(error = %e, "cannot frame an event stream message");
    }
    Bytes::from(framed)
}

/// `PayloadChunk` messages carrying `payload`, in order.
pub fn payload_chunks(payload: Bytes) -> Bytes {
    if payload.len() <= MAX_CHUNK {
        return event("PayloadChunk", "application/octet-stream", payload);
    }
    let mut framed = Vec::with_capacity(payload.len() + payload.len() / MAX_CHUNK * 128 + 128);
    let mut rest = payload;
    while !rest.is_empty() {
        let piece = rest.split_to(rest.len().min(MAX_CHUNK));
        framed.extend_from_slice(&event("PayloadChunk", "application/octet-stream", piece));
    }
    Bytes::from(framed)
}

/// How the invoke ended, as `InvokeComplete` reports it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Completion {
    pub error_code: Option<String>,
    pub error_details: Option<String>,
    /// Base64 of the log tail, when the caller asked for it.
    pub log_result: Option<String>,
}

/// The `InvokeComplete` message that ends the stream.
pub fn invoke_complete(completion: &Completion) -> Bytes {
    let mut fields = Map::new();
    let mut put = |name: &str, value: &Option<String>| {
        if let Some(value) = value {
            fields.insert(name.to_owned(), Value::String(value.clone()));
        }
    };
    put("ErrorCode", &completion.error_code);
    put("ErrorDetails", &completion.error_details);
    put("LogResult", &completion.log_result);
    event("InvokeComplete", "application/json", Bytes::from(Value::Object(fields).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};

    fn decode(mut framed: Bytes) -> Vec<Message> {
        let mut decoder = MessageFrameDecoder::new();
        let mut messages = Vec::new();
        while !framed.is_empty() {
            match decoder.decode_frame(&mut framed).unwrap() {
                DecodedFrame::Complete(message) => messages.push(message),
                DecodedFrame::Incomplete => panic!("a truncated message"),
            }
        }
        messages
    }

    fn header<'a>(message: &'a Message, name: &str) -> &'a str {
        let header = message.headers().iter().find(|h| h.name().as_str() == name).unwrap();
        header.value().as_string().unwrap().as_str()
    }

    #[test]
    fn a_chunk_is_one_payload_chunk_event_with_its_bytes() {
        let messages = decode(payload_chunks(Bytes::from_static(b"hello")));
        assert_eq!(messages.len(), 1);
        assert_eq!(header(&messages[0], ":event-type"), "PayloadChunk");
        assert_eq!(header(&messages[0], ":message-type"), "event");
        assert_eq!(header(&messages[0], ":content-type"), "application/octet-stream");
        assert_eq!(messages[0].payload().as_ref(), b"hello");
    }

    #[test]
    fn a_large_chunk_is_split_in_order() {
        let payload: Vec<u8> = (0..MAX_CHUNK * 2 + 10).map(|i| (i % 251) as u8).collect();
        let messages = decode(payload_chunks(Bytes::from(payload.clone())));
        assert_eq!(messages.len(), 3);
        let joined: Vec<u8> = messages.iter().flat_map(|m| m.payload().to_vec()).collect();
        assert_eq!(joined, payload);
    }

    #[test]
    fn invoke_complete_carries_only_the_fields_it_has() {
        let done = decode(invoke_complete(&Completion::default()));
        assert_eq!(header(&done[0], ":event-type"), "InvokeComplete");
        assert_eq!(header(&done[0], ":content-type"), "application/json");
        assert_eq!(done[0].payload().as_ref(), b"{}");
        let failed = decode(invoke_complete(&Completion {
            error_code: Some("Error".into()),
            error_details: Some("boom".into()),
            log_result: Some("U1RBUlQ=".into()),
        }));
        let fields: Value = serde_json::from_slice(failed[0].payload()).unwrap();
        assert_eq!(
            fields,
            serde_json::json!({"ErrorCode": "Error", "ErrorDetails": "boom", "LogResult": "U1RBUlQ="})
        );
    }
}
