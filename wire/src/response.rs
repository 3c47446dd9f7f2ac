//! Response encoding: length prefix, response header, body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::frame::LENGTH_PREFIX;

/// Encodes one response frame, length prefix included.
///
/// Fails only when the body cannot be expressed in `version` (a broker bug,
/// since the version was checked when the request was decoded).
pub fn encode_response(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, EncodeError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| EncodeError(e.to_string()))?;
    body.encode(&mut buf, version)
        .map_err(|e| EncodeError(e.to_string()))?;
    let length = (buf.len() - LENGTH_PREFIX) as i32;
    buf[..LENGTH_PREFIX].copy_from_slice(&length.to_be_bytes());
    Ok(buf.freeze())
}

/// A response that could not be encoded at the negotiated version.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode response: {0}")]
pub struct EncodeError(pub String);
