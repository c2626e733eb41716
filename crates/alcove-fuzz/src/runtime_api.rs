//! The Runtime API answers code running inside an execution environment, which the
//! platform does not trust: a function can send its runtime API anything over TCP. The
//! targets here talk to a real server (`RuntimeApi::serve`) on a loopback port while the
//! manager's side delivers invocations and drains their outcomes, as the environment
//! manager does.

use std::time::Duration;

use alcove_runtime_api::{Invocation, Outcome, RuntimeApi};
use bolero::TypeGenerator;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{block_on, no_panic};

/// The request id of the invocations delivered, so that well-formed requests find them.
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// How long one input may keep the server busy; a request the server is still waiting on
/// (a `/next` with nothing queued, a body shorter than its length) is cut off then.
const PATIENCE: Duration = Duration::from_millis(300);

fn invocation(n: usize) -> Invocation {
    Invocation {
        request_id: if n == 0 { REQUEST_ID.into() } else { format!("{REQUEST_ID}-{n}") },
        payload: Bytes::from_static(b"{\"key\":\"value\"}"),
        deadline_ms: u64::MAX / 2,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        trace_id: "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".into(),
        client_context: None,
        cognito_identity: None,
        tenant_id: None,
    }
}

/// Sends `bytes` to a fresh Runtime API, reads whatever it answers, and keeps the
/// manager's side going meanwhile. Returns what the server wrote back.
fn converse(bytes: &[u8]) -> Vec<u8> {
    no_panic(|| {
        block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
            let mut api = RuntimeApi::serve(listener).expect("the runtime API starts");
            let address = api.address();
            let manager = async {
                for n in 0..3 {
                    let Ok(outcome) = api.deliver(invocation(n)).await else { return };
                    if let Ok(Outcome::Streamed(mut stream)) = outcome.await {
                        while stream.next().await.is_some() {}
                    }
                }
            };
            let runtime = async {
                let mut answer = Vec::new();
                let Ok(mut stream) = TcpStream::connect(address).await else { return answer };
                if stream.write_all(bytes).await.is_ok() {
                    let _ = stream.shutdown().await;
                    let _ = stream.read_to_end(&mut answer).await;
                }
                answer
            };
            let (_, answer) = tokio::join!(tokio::time::timeout(PATIENCE, manager), async {
                tokio::time::timeout(PATIENCE, runtime).await.unwrap_or_default()
            });
            let _ = tokio::time::timeout(PATIENCE, api.lifecycle()).await;
            drop(api);
            answer
        })
    })
}

/// Any bytes on the connection: the corpus holds real runtimes' requests.
#[test]
fn runtime_api_bytes() {
    bolero::check!().with_max_len(64 * 1024).for_each(|input: &[u8]| {
        converse(input);
    });
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Target {
    Next,
    Response,
    Error,
    InitError,
    OtherResponse,
    Unknown,
}

#[derive(Debug, Clone, Copy, TypeGenerator)]
enum Framing {
    Length,
    WrongLength(u16),
    Chunked,
    Streamed,
    None,
}

#[derive(Debug, Clone, TypeGenerator)]
struct Request {
    target: Target,
    post: bool,
    framing: Framing,
    error_type: Option<String>,
    trailer: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// The request as HTTP/1.1 bytes, as a runtime client would write it.
    fn write(&self, out: &mut Vec<u8>) {
        let path = match self.target {
            Target::Next => "/2018-06-01/runtime/invocation/next".to_owned(),
            Target::Response => format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response"),
            Target::Error => format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/error"),
            Target::InitError => "/2018-06-01/runtime/init/error".to_owned(),
            Target::OtherResponse => "/2018-06-01/runtime/invocation/..%2Fnext/response".to_owned(),
            Target::Unknown => "/2018-06-01/runtime/invocation/".to_owned(),
        };
        let method = if self.post { "POST" } else { "GET" };
        out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").as_bytes());
        if let Some(error_type) = &self.error_type {
            out.extend_from_slice(format!("Lambda-Runtime-Function-Error-Type: {error_type}\r\n").as_bytes());
        }
        for (name, value) in self.headers.iter().take(8) {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match self.framing {
            Framing::Length => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes())
            }
            Framing::WrongLength(n) => {
                out.extend_from_slice(format!("Content-Length: {n}\r\n\r\n").as_bytes())
            }
            Framing::Chunked | Framing::Streamed => {
                if matches!(self.framing, Framing::Streamed) {
                    out.extend_from_slice(b"Lambda-Runtime-Function-Response-Mode: streaming\r\n");
                    out.extend_from_slice(b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n");
                }
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in self.body.chunks(7) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                if let Some(trailer) = &self.trailer {
                    out.extend_from_slice(
                        format!("Lambda-Runtime-Function-Error-Type: {trailer}\r\n").as_bytes(),
                    );
                    out.extend_from_slice(
                        format!("Lambda-Runtime-Function-Error-Body: {trailer}\r\n").as_bytes(),
                    );
                }
                out.extend_from_slice(b"\r\n");
                return;
            }
            Framing::None => out.extend_from_slice(b"\r\n"),
        }
        out.extend_from_slice(&self.body);
    }
}

/// Sequences of runtime requests on one connection, well-formed or nearly so.
#[test]
fn runtime_api_requests() {
    bolero::check!().with_type::<Vec<Request>>().for_each(|requests| {
        let mut bytes = Vec::new();
        for request in requests.iter().take(6) {
            request.write(&mut bytes);
        }
        let answer = converse(&bytes);
        // Whatever was sent, the server answers in HTTP or not at all.
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    });
}
