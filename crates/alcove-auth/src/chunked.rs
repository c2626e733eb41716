//! Checking the chunk signatures of an `aws-chunked` body signed
//! `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (the AWS CLI's and SDKs' S3 uploads over plain
//! HTTP): `<hex size>;chunk-signature=<sig>\r\n<data>\r\n` … `0;chunk-signature=<sig>\r\n`
//! then trailers. The body passes through unchanged (the service decodes it); this only
//! watches the framing and checks each chunk's signature as its data completes, so a body
//! altered in transit fails before the service acts on its end.

use sha2::{Digest, Sha256};

use crate::sigv4::ChunkSigner;

/// The longest chunk header line accepted.
const MAX_LINE: usize = 4096;

/// Why a signed chunked body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("a chunk header is malformed")]
    Malformed,
    #[error("a chunk signature does not match")]
    Mismatch,
    #[error("the body ended before its last chunk")]
    Incomplete,
}

#[derive(Debug)]
enum State {
    Line(Vec<u8>),
    Data { remaining: u64, signature: String, hasher: Sha256 },
    Crlf(u8),
    Done,
}

/// Follows a chunked body as it arrives.
#[derive(Debug)]
pub struct ChunkVerifier {
    signer: ChunkSigner,
    state: State,
}

impl ChunkVerifier {
    pub fn new(signer: ChunkSigner) -> ChunkVerifier {
        ChunkVerifier { signer, state: State::Line(Vec::new()) }
    }

    /// Takes the next bytes of the body.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), ChunkError> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::Line(line) => {
                    let end = bytes.iter().position(|b| *b == b'\n');
                    let take = end.map_or(bytes.len(), |e| e + 1);
                    line.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if line.len() > MAX_LINE {
                        return Err(ChunkError::Malformed);
                    }
                    if end.is_some() {
                        let line = std::mem::take(line);
                        self.header(&line)?;
                    }
                }
                State::Data { remaining, hasher, .. } => {
                    let take = usize::try_from(*remaining).unwrap_or(usize::MAX).min(bytes.len());
                    hasher.update(&bytes[..take]);
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        let State::Data { signature, hasher, .. } =
                            std::mem::replace(&mut self.state, State::Crlf(2))
                        else {
                            unreachable!("in the data state")
                        };
                        if !self.signer.verify_chunk(&hasher.finalize(), &signature) {
                            return Err(ChunkError::Mismatch);
                        }
                    }
                }
                State::Crlf(left) => {
                    let expected: &[u8] = if *left == 2 { b"\r\n" } else { b"\n" };
                    if bytes[0] != expected[0] {
                        return Err(ChunkError::Malformed);
                    }
                    bytes = &bytes[1..];
                    *left -= 1;
                    if *left == 0 {
                        self.state = State::Line(Vec::new());
                    }
                }
            }
        }
        Ok(())
    }

    fn header(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        let line = std::str::from_utf8(line).map_err(|_| ChunkError::Malformed)?.trim_end();
        let (size, extensions) = line.split_once(';').ok_or(ChunkError::Malformed)?;
        let size = u64::from_str_radix(size.trim(), 16).map_err(|_| ChunkError::Malformed)?;
        let signature = extensions
            .split(';')
            .find_map(|e| e.trim().strip_prefix("chunk-signature="))
            .ok_or(ChunkError::Malformed)?
            .to_owned();
        if size == 0 {
            if !self.signer.verify_chunk(&Sha256::digest(b""), &signature) {
                return Err(ChunkError::Mismatch);
            }
            self.state = State::Done;
        } else {
            self.state = State::Data { remaining: size, signature, hasher: Sha256::new() };
        }
        Ok(())
    }

    /// The body ended: it must have ended with its last chunk.
    pub fn finish(&self) -> Result<(), ChunkError> {
        match self.state {
            State::Done => Ok(()),
            _ => Err(ChunkError::Incomplete),
        }
    }
}
