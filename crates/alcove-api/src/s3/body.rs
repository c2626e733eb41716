//! Receiving a request body into the object store. Bodies are streamed to a staging file
//! in blocks (never held whole), decoded on the way when the SDK sends them
//! `aws-chunked` (SigV4 streaming: `<hex size>[;chunk-signature=...]\r\n<data>\r\n` ...
//! `0\r\n<trailers>\r\n\r\n`, trailers carrying the flexible checksum), and checked
//! against `Content-MD5`, a CRC32 flexible checksum (`x-amz-checksum-crc32`, as a header
//! or a trailer: what the SDKs send by default) and `x-amz-decoded-content-length` once
//! complete. Other checksum algorithms are accepted unverified.

use alcove_s3::{ObjectStore, Staged, Staging};
use axum::body::Body;
use axum::http::HeaderMap;
use base64::Engine as _;
use futures_util::StreamExt;

use super::error::{S3ApiError, S3ApiResult};

/// Bytes gathered before a write to the staging file.
const BLOCK: usize = 1 << 20;

/// The flexible checksum verified here.
const CRC32: &str = "x-amz-checksum-crc32";

/// Receives `body`, as `headers` describe it, into a synced staging file.
pub async fn receive(store: &ObjectStore, headers: &HeaderMap, body: Body) -> S3ApiResult<Staged> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let chunked = header("content-encoding").is_some_and(|v| v.split(',').any(|t| t.trim() == "aws-chunked"))
        || header("x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"));
    let expected_md5 = header("content-md5")
        .map(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
                .filter(|d| d.len() == 16)
                .ok_or_else(S3ApiError::invalid_digest)
        })
        .transpose()?;
    let announced = header("x-amz-decoded-content-length").or(header("content-length"));
    if announced.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > alcove_s3::MAX_OBJECT_BYTES) {
        return Err(alcove_s3::S3Error::EntityTooLarge.into());
    }
    let store = store.clone();
    let mut staging = blocking(move || store.staging()).await?;
    let mut decoder = chunked.then(ChunkDecoder::default);
    let mut block = Vec::with_capacity(BLOCK);
    let mut crc32 = crc32fast::Hasher::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| S3ApiError::incomplete_body())?;
        let before = block.len();
        match &mut decoder {
            Some(decoder) => decoder.feed(&chunk, &mut block)?,
            None => block.extend_from_slice(&chunk),
        }
        crc32.update(&block[before..]);
        if block.len() >= BLOCK {
            (staging, block) = write(staging, block).await?;
        }
    }
    if decoder.as_ref().is_some_and(|d| !d.done()) {
        return Err(S3ApiError::incomplete_body());
    }
    let expected_crc32 = header(CRC32).map(str::to_owned).or_else(|| decoder.as_ref()?.trailer(CRC32));
    let crc32 = base64::engine::general_purpose::STANDARD.encode(crc32.finalize().to_be_bytes());
    (staging, _) = write(staging, block).await?;
    let staged = blocking(move || staging.finish()).await?;
    let declared = header("x-amz-decoded-content-length").and_then(|v| v.parse::<u64>().ok());
    if chunked && declared.is_some_and(|declared| declared != staged.size) {
        staged.discard();
        return Err(S3ApiError::incomplete_body());
    }
    if expected_md5.is_some_and(|md5| md5 != staged.md5) {
        staged.discard();
        return Err(alcove_s3::S3Error::BadDigest.into());
    }
    if expected_crc32.is_some_and(|expected| expected.trim() != crc32) {
        staged.discard();
        return Err(S3ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "BadDigest",
            "The CRC32 you specified did not match the calculated checksum.",
        ));
    }
    Ok(staged)
}

async fn write(mut staging: Staging, mut block: Vec<u8>) -> S3ApiResult<(Staging, Vec<u8>)> {
    blocking(move || {
        staging.write(&block)?;
        block.clear();
        Ok((staging, block))
    })
    .await
}

/// Runs object-store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> alcove_s3::S3Result<T> + Send + 'static,
) -> S3ApiResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(S3ApiError::internal)?.map_err(S3ApiError::from)
}

/// Where the `aws-chunked` decoder is in the stream.
#[derive(Debug, Default)]
enum State {
    /// Reading a chunk's size line.
    #[default]
    Header,
    /// This many data bytes of the chunk remain.
    Data(u64),
    /// This many bytes of the CRLF after a chunk's data remain.
    DataEnd(u8),
    /// The last chunk was read; trailers follow (kept apart) and are not part of the body.
    Trailers,
}

/// Decodes an `aws-chunked` body as it arrives.
#[derive(Debug, Default)]
struct ChunkDecoder {
    state: State,
    line: Vec<u8>,
    trailers: Vec<u8>,
}

impl ChunkDecoder {
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> S3ApiResult<()> {
        while !input.is_empty() {
            match self.state {
                State::Header => match input.iter().position(|b| *b == b'\n') {
                    Some(end) => {
                        self.line.extend_from_slice(&input[..end]);
                        input = &input[end + 1..];
                        let size = chunk_size(&self.line)?;
                        self.line.clear();
                        self.state = if size == 0 { State::Trailers } else { State::Data(size) };
                    }
                    None => {
                        self.line.extend_from_slice(input);
                        input = &[];
                        if self.line.len() > 4096 {
                            return Err(S3ApiError::incomplete_body());
                        }
                    }
                },
                State::Data(left) => {
                    let take = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 { State::DataEnd(2) } else { State::Data(left) };
                }
                State::DataEnd(left) => {
                    input = &input[1..];
                    self.state = if left == 1 { State::Header } else { State::DataEnd(left - 1) };
                }
                State::Trailers => {
                    if self.trailers.len() + input.len() > 4096 {
                        return Err(S3ApiError::incomplete_body());
                    }
                    self.trailers.extend_from_slice(input);
                    input = &[];
                }
            }
        }
        Ok(())
    }

    fn done(&self) -> bool {
        matches!(self.state, State::Trailers)
    }

    /// The value of trailer `name` (`name:value` lines after the last chunk).
    fn trailer(&self, name: &str) -> Option<String> {
        String::from_utf8_lossy(&self.trailers).lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }
}

/// The size of a chunk from its header line (`<hex>[;extensions][\r]`).
fn chunk_size(line: &[u8]) -> S3ApiResult<u64> {
    let line = std::str::from_utf8(line).map_err(|_| S3ApiError::incomplete_body())?;
    let hex = line.trim_end_matches('\r').split(';').next().unwrap_or_default().trim();
    u64::from_str_radix(hex, 16)
        .map_err(|_| S3ApiError::invalid_argument("The aws-chunked body is malformed."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut decoder = ChunkDecoder::default();
        let mut out = Vec::new();
        for piece in pieces {
            decoder.feed(piece, &mut out).unwrap();
        }
        (out, decoder.done())
    }

    #[test]
    fn decodes_unsigned_chunks_with_trailers_in_any_split() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        assert_eq!(decode(&[body]), (b"hello world".to_vec(), true));
        let pieces: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode(&pieces), (b"hello world".to_vec(), true));
        let mut decoder = ChunkDecoder::default();
        decoder.feed(body, &mut Vec::new()).unwrap();
        assert_eq!(decoder.trailer("x-amz-checksum-crc32").as_deref(), Some("AAAAAA=="));
        assert_eq!(decoder.trailer("x-amz-checksum-sha256"), None);
    }

    #[test]
    fn decodes_signed_chunks() {
        let body = b"3;chunk-signature=abc\r\nabc\r\n0;chunk-signature=def\r\n\r\n";
        assert_eq!(decode(&[body]), (b"abc".to_vec(), true));
    }

    #[test]
    fn a_cut_body_is_not_done_and_a_bad_size_is_refused() {
        assert_eq!(decode(&[b"5\r\nhel"]), (b"hel".to_vec(), false));
        let mut decoder = ChunkDecoder::default();
        assert!(decoder.feed(b"zz\r\n", &mut Vec::new()).is_err());
    }
}
