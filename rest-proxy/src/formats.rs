//! Keys and values between their JSON form in REST bodies and their bytes
//! in Kafka, for each [`EmbeddedFormat`].
//!
//! - binary: base64 text <-> raw bytes;
//! - json: any JSON value <-> its JSON text;
//! - avro, jsonschema, protobuf: JSON <-> Confluent's wire format (magic
//!   byte 0, the schema id, Protobuf message indexes, then the payload),
//!   with schemas registered in or read from the Schema Registry.

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

use crate::error::RestError;
use crate::media::EmbeddedFormat;

/// Encodes one key or value given as JSON in a schema-less format; `null`
/// is a null key or value.
pub fn encode_schemaless(
    format: EmbeddedFormat,
    value: &Value,
) -> Result<Option<Bytes>, RestError> {
    if value.is_null() {
        return Ok(None);
    }
    match format {
        EmbeddedFormat::Binary => match value {
            Value::String(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| RestError::invalid_payload(format!("invalid base64 string: {e}"))),
            _ => Err(RestError::invalid_payload(
                "binary keys and values must be base64 strings",
            )),
        },
        EmbeddedFormat::Json => Ok(Some(Bytes::from(value.to_string()))),
        other => Err(RestError::unprocessable(format!(
            "the {} format needs a schema",
            other.name()
        ))),
    }
}

/// Decodes bytes read from Kafka into the JSON a schema-less format shows.
pub fn decode_schemaless(format: EmbeddedFormat, bytes: Option<&[u8]>) -> Result<Value, RestError> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    match format {
        EmbeddedFormat::Binary => Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
        EmbeddedFormat::Json => serde_json::from_slice(bytes)
            .map_err(|e| RestError::serialization(format!("the record is not JSON: {e}"))),
        other => Err(RestError::unprocessable(format!(
            "the {} format needs a schema",
            other.name()
        ))),
    }
}
