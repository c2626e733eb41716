//! A raw keep-alive HTTP/1.1 client: one TCP connection, one request at a time, no pool,
//! no retries, no signing. Latency figures should be the server's, so the client does as
//! little as it can: a benchmark worker owns one [`Conn`] for its whole run.

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A finished exchange.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Conn {
    address: SocketAddr,
    host: String,
    sender: SendRequest<Full<Bytes>>,
}

async fn handshake(address: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(address).await.with_context(|| format!("connecting to {address}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

impl Conn {
    pub async fn open(address: SocketAddr) -> anyhow::Result<Conn> {
        Ok(Conn { address, host: address.to_string(), sender: handshake(address).await? })
    }

    /// Sends one request and reads the whole reply. A connection the server closed is
    /// reopened once (some emulators close after an error reply).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        if self.sender.ready().await.is_err() {
            self.sender = handshake(self.address).await?;
        }
        let mut request = Request::builder().method(method).uri(path).header(HOST, &self.host);
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.sender.send_request(request.body(Full::new(body))?).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply { status: parts.status, headers: parts.headers, body })
    }

    pub async fn post(&mut self, path: &str, headers: &[(&str, &str)], body: Bytes) -> anyhow::Result<Reply> {
        self.send(Method::POST, path, headers, body).await
    }
}
