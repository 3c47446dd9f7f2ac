//! The JSON text of a `GET .../records` answer, written record by record
//! into chunks of about [`CHUNK`] bytes that go out as they are.
//!
//! A 32 MB read answers some 45 MB of text. Grown as one buffer, that text
//! cost a reallocation per doubling and a page fault per fresh 4 KiB page
//! on every request (a quarter of the proxy's CPU in a profile of binary
//! reads); chunks of a fixed size come back from the allocator warm, and
//! the body hands them to hyper without joining them.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use super::kafka::Tp;
use crate::error::RestError;
use crate::media::EmbeddedFormat;
use crate::records::InRecord;
use crate::RestProxy;

/// A chunk is handed over once it holds this much text.
const CHUNK: usize = 1 << 20;

/// Room kept past [`CHUNK`] so that the record that crosses it (a 1 KiB
/// value is ~1.5 KB of text) does not reallocate the chunk.
const CHUNK_SLACK: usize = 64 * 1024;

/// The JSON array of an answer, built as text.
pub(super) struct JsonRecords {
    format: EmbeddedFormat,
    /// Finished chunks, in order.
    done: Vec<Bytes>,
    /// The chunk being written.
    text: Vec<u8>,
    count: usize,
    /// Confluent's rough size: key and value bytes.
    pub(super) bytes: u64,
    topics: HashMap<String, String>,
}

impl JsonRecords {
    pub(super) fn new(format: EmbeddedFormat, max_bytes: u64) -> Self {
        // Binary text is about 4/3 of the bytes read, plus field names: a
        // small answer gets a small buffer.
        let first = ((max_bytes / 3) * 4).min(CHUNK as u64) as usize + CHUNK_SLACK;
        let mut text = Vec::with_capacity(first);
        text.push(b'[');
        JsonRecords {
            format,
            done: Vec::new(),
            text,
            count: 0,
            bytes: 0,
            topics: HashMap::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        proxy: &RestProxy,
        tp: &Tp,
        record: &InRecord,
        size: u64,
    ) -> Result<(), RestError> {
        // Schema formats decode first, so a failure leaves no half record.
        let (key, value) = match self.format {
            EmbeddedFormat::Binary => (None, None),
            format => (
                Some(crate::formats::decode(
                    &proxy.registry,
                    format,
                    record.key.as_deref(),
                )?),
                Some(crate::formats::decode(
                    &proxy.registry,
                    format,
                    record.value.as_deref(),
                )?),
            ),
        };
        if self.count > 0 {
            self.text.push(b',');
        }
        let topic = self
            .topics
            .entry(tp.0.clone())
            .or_insert_with(|| serde_json::to_string(&tp.0).unwrap_or_else(|_| "\"\"".into()));
        self.text.extend_from_slice(b"{\"topic\":");
        self.text.extend_from_slice(topic.as_bytes());
        self.text.extend_from_slice(b",\"key\":");
        write_field(&mut self.text, key, record.key.as_deref())?;
        self.text.extend_from_slice(b",\"value\":");
        write_field(&mut self.text, value, record.value.as_deref())?;
        write!(
            self.text,
            ",\"partition\":{},\"offset\":{},\"timestamp\":{},\"headers\":[",
            tp.1, record.offset, record.timestamp
        )
        .map_err(|e| RestError::internal(e.to_string()))?;
        for (i, (name, value)) in record.headers.iter().enumerate() {
            if i > 0 {
                self.text.push(b',');
            }
            self.text.extend_from_slice(b"{\"name\":");
            serde_json::to_writer(&mut self.text, name)
                .map_err(|e| RestError::internal(e.to_string()))?;
            self.text.extend_from_slice(b",\"value\":");
            write_base64(&mut self.text, value.as_deref());
            self.text.push(b'}');
        }
        self.text.extend_from_slice(b"]}");
        self.count += 1;
        self.bytes += size;
        if self.text.len() >= CHUNK {
            let next = Vec::with_capacity(CHUNK + CHUNK_SLACK);
            self.done
                .push(Bytes::from(std::mem::replace(&mut self.text, next)));
        }
        Ok(())
    }

    /// The answer's body: every chunk, the closing bracket in the last.
    pub(super) fn finish(mut self) -> ChunkedText {
        self.text.push(b']');
        self.done.push(Bytes::from(self.text));
        ChunkedText::new(self.done)
    }
}

/// Writes a key or value: its decoded JSON for schema formats, else (binary)
/// a base64 string of `raw` encoded in place.
fn write_field(
    text: &mut Vec<u8>,
    decoded: Option<serde_json::Value>,
    raw: Option<&[u8]>,
) -> Result<(), RestError> {
    match decoded {
        Some(value) => serde_json::to_writer(&mut *text, &value)
            .map_err(|e| RestError::internal(e.to_string())),
        None => {
            write_base64(text, raw);
            Ok(())
        }
    }
}

/// `"base64"` (or `null`) appended without an intermediate string, by
/// base64-simd: the scalar encoder was the largest single cost of a binary
/// read (16% of the proxy's CPU), the SIMD one is several times faster.
fn write_base64(text: &mut Vec<u8>, raw: Option<&[u8]>) {
    let Some(raw) = raw else {
        text.extend_from_slice(b"null");
        return;
    };
    text.push(b'"');
    let at = text.len();
    let len = base64_simd::STANDARD.encoded_length(raw.len());
    text.resize(at + len, 0);
    let written = base64_simd::STANDARD
        .encode(raw, base64_simd::Out::from_slice(&mut text[at..]))
        .len();
    text.truncate(at + written);
    text.push(b'"');
}

/// A body of text chunks with its exact length, so the answer carries a
/// `Content-Length` as a single buffer's would.
pub(super) struct ChunkedText {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl ChunkedText {
    fn new(chunks: Vec<Bytes>) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        ChunkedText {
            chunks: chunks.into(),
            remaining,
        }
    }
}

impl HttpBody for ChunkedText {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(chunk) = self.chunks.pop_front() else {
            return Poll::Ready(None);
        };
        self.remaining -= chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn text(body: ChunkedText) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async { body.collect().await.unwrap().to_bytes().to_vec() })
    }

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        for raw in [&b""[..], b"f", b"fo", b"foo", b"\xff\xfe\x00 binary"] {
            let mut out = Vec::new();
            write_base64(&mut out, Some(raw));
            let expected = format!(
                "\"{}\"",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw)
            );
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        let mut out = Vec::new();
        write_base64(&mut out, None);
        assert_eq!(out, b"null");
    }

    #[test]
    fn chunks_join_into_one_array_with_its_exact_length() {
        let chunks = vec![Bytes::from_static(b"[1,"), Bytes::from_static(b"2]")];
        let body = ChunkedText::new(chunks);
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(text(body), b"[1,2]");
    }
}
