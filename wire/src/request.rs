//! Request decoding in protocol order: api key and version, header version,
//! header, then body.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;
use thiserror::Error;

/// A decoded request: its header and typed body.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: RequestKind,
}

/// Why a frame did not yield a request.
#[derive(Debug, Error)]
pub enum RequestError {
    #[error("frame too short for a request header ({0} bytes)")]
    TooShort(usize),
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    /// The api key is known but this version is not served. Carries what is
    /// needed to answer ApiVersions with UNSUPPORTED_VERSION.
    #[error("{api_key:?} version {version} is not supported")]
    UnsupportedVersion {
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
    },
    #[error("malformed {api_key:?} v{version} request: {cause}")]
    Malformed {
        api_key: ApiKey,
        version: i16,
        cause: String,
    },
}

/// The first fields of every request header, readable whatever the version.
#[derive(Debug, Clone, Copy)]
pub struct HeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Reads api key, version and correlation id without decoding anything else.
pub fn peek_header(frame: &[u8]) -> Result<HeaderPrefix, RequestError> {
    if frame.len() < 8 {
        return Err(RequestError::TooShort(frame.len()));
    }
    let mut b = frame;
    Ok(HeaderPrefix {
        api_key: b.get_i16(),
        api_version: b.get_i16(),
        correlation_id: b.get_i32(),
    })
}

/// Decodes a whole request frame if `is_served(api_key, version)` says the
/// broker serves that version; the body is decoded only then.
///
/// Record payloads (`records` fields) come out as zero-copy slices of `frame`.
///
/// Bytes left after the body are ignored, as Apache Kafka's parser ignores
/// them: librdkafka 2.16 sends three more bytes than Metadata v13 defines, and
/// a broker that refused them would refuse every librdkafka admin client.
pub fn decode_request(
    mut frame: Bytes,
    is_served: impl Fn(ApiKey, i16) -> bool,
) -> Result<Request, RequestError> {
    let prefix = peek_header(&frame)?;
    let api_key = ApiKey::try_from(prefix.api_key)
        .map_err(|_| RequestError::UnknownApiKey(prefix.api_key))?;
    let version = prefix.api_version;
    if !is_served(api_key, version) {
        return Err(RequestError::UnsupportedVersion {
            api_key,
            version,
            correlation_id: prefix.correlation_id,
        });
    }
    let malformed = |cause: String| RequestError::Malformed {
        api_key,
        version,
        cause,
    };
    let header_version = api_key.request_header_version(version);
    let header =
        RequestHeader::decode(&mut frame, header_version).map_err(|e| malformed(e.to_string()))?;
    let body =
        RequestKind::decode(api_key, &mut frame, version).map_err(|e| malformed(e.to_string()))?;
    Ok(Request {
        api_key,
        header,
        body,
    })
}
