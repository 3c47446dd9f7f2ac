//! Keys and values between their JSON form in REST bodies and their bytes
//! in Kafka, for each [`EmbeddedFormat`].
//!
//! - binary: base64 text <-> raw bytes;
//! - json: any JSON value <-> its JSON text;
//! - avro, jsonschema, protobuf: JSON <-> Confluent's wire format (magic
//!   byte 0, the schema id as 4 big-endian bytes, Protobuf message indexes,
//!   then the payload), with schemas registered in or read from the Schema
//!   Registry this process serves:
//!   - avro: Avro's JSON encoding <-> Avro binary ([`avro`]);
//!   - jsonschema: JSON validated against the schema <-> its JSON text;
//!   - protobuf: Protobuf's JSON mapping of the schema's first message <->
//!     its binary encoding, after the message index `[0]` (one `0` byte),
//!     as Confluent's serializer writes it ([`protobuf`]).
//!
//! Errors are Confluent's: a key or value without a schema in a format that
//! needs one is 42201/42202, one that does not match its schema 42203, an
//! unparsable schema 42205, a registry failure 42207 (kafka-rest's
//! `messageSerializationException`), bad base64 a 400. JSON `null` is a
//! null key or value in every format.
//!
//! Parsed schemas are compiled once and kept by id (and by schema text for
//! schemas given inline), so a produce names its schema in every request
//! without parsing it every time.

mod avro;
mod protobuf;
mod schema_cache;

use schema_cache::{compile_text, compiled_by_id, Unavailable};

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use prost_reflect::MessageDescriptor;
use serde_json::value::RawValue;
use serde_json::Value;
use strata_schema_registry::http::SchemaRegistry;
use strata_schema_registry::json::JsonSchema;
use strata_schema_registry::protobuf::ProtobufSchema;
use strata_schema_registry::registry::{NewSchema, RegistryError, VersionSpec};
use strata_schema_registry::{wire, ParsedSchema, SchemaType};

use crate::error::RestError;
use crate::media::EmbeddedFormat;

/// Accepts base64 with or without padding.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

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
        EmbeddedFormat::Binary => decode_base64(value).map(Some),
        EmbeddedFormat::Json => Ok(Some(Bytes::from(value.to_string()))),
        other => Err(RestError::unprocessable(format!(
            "the {} format needs a schema",
            other.name()
        ))),
    }
}

/// kafka-rest's `NoSchemaRecordSerializer.serializeBinary`: a 400 for a
/// value that is not a string or not base64.
fn decode_base64(value: &Value) -> Result<Bytes, RestError> {
    match value {
        Value::String(text) => BASE64.decode(text).map(Bytes::from).map_err(|_| {
            RestError::bad_request(format!(
                "Bad Request: data={value} is not a valid base64 string."
            ))
        }),
        _ => Err(RestError::bad_request(format!(
            "Bad Request: data={value} is not a base64 string."
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

/// The schema type a format writes with.
pub fn schema_type(format: EmbeddedFormat) -> Option<SchemaType> {
    match format {
        EmbeddedFormat::Avro => Some(SchemaType::Avro),
        EmbeddedFormat::JsonSchema => Some(SchemaType::Json),
        EmbeddedFormat::Protobuf => Some(SchemaType::Protobuf),
        EmbeddedFormat::Binary | EmbeddedFormat::Json => None,
    }
}

/// A schema compiled for writing and reading values.
enum Compiled {
    Avro(avro::Codec),
    Json(Arc<JsonSchema>),
    /// The schema, and the message values are written as (its first).
    Protobuf(Arc<ProtobufSchema>, MessageDescriptor),
}

impl Compiled {
    fn compile(parsed: &ParsedSchema) -> Result<Compiled, String> {
        Ok(match parsed {
            ParsedSchema::Avro(s) => {
                Compiled::Avro(avro::Codec::compile(s.schema(), s.references())?)
            }
            ParsedSchema::Json(s) => Compiled::Json(s.clone()),
            ParsedSchema::Protobuf(s) => {
                let first = s
                    .file()
                    .messages()
                    .next()
                    .ok_or("the schema defines no message")?;
                Compiled::Protobuf(s.clone(), first)
            }
        })
    }

    fn schema_type(&self) -> SchemaType {
        match self {
            Compiled::Avro(_) => SchemaType::Avro,
            Compiled::Json(_) => SchemaType::Json,
            Compiled::Protobuf(..) => SchemaType::Protobuf,
        }
    }
}

/// A registered schema compiled for writing and reading Confluent's wire
/// format outside this process's registry: the `strata` command line
/// fetches schemas over HTTP and uses the same conversions as the REST Proxy.
pub struct SchemaCodec(Compiled);

impl SchemaCodec {
    /// Compiles a parsed schema (Protobuf writes its first message).
    pub fn compile(parsed: &ParsedSchema) -> Result<SchemaCodec, String> {
        Compiled::compile(parsed).map(SchemaCodec)
    }

    /// The schema's type.
    pub fn schema_type(&self) -> SchemaType {
        self.0.schema_type()
    }

    /// `value` (Avro's JSON encoding, JSON, Protobuf's JSON mapping) in
    /// Confluent's wire format under schema `id`.
    pub fn encode(&self, id: u32, value: &Value) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(64);
        out.push(wire::MAGIC_BYTE);
        out.extend_from_slice(&id.to_be_bytes());
        match &self.0 {
            Compiled::Avro(codec) => codec.encode(value, &mut out)?,
            Compiled::Json(schema) => {
                if let Err(e) = schema.validator().validate(value) {
                    return Err(format!("#{}: {e}", e.instance_path()));
                }
                out.extend_from_slice(value.to_string().as_bytes());
            }
            Compiled::Protobuf(_, message) => {
                out.extend_from_slice(&wire::encode_message_indexes(&[0]));
                out.extend_from_slice(&protobuf::encode(message, value)?);
            }
        }
        Ok(out)
    }

    /// The JSON of a wire-format payload (after the magic byte and id).
    pub fn decode(&self, payload: &[u8]) -> Result<Value, String> {
        match &self.0 {
            Compiled::Avro(codec) => codec.decode(payload),
            Compiled::Json(_) => {
                serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))
            }
            Compiled::Protobuf(schema, _) => {
                let (indexes, data) =
                    wire::split_message_indexes(payload).map_err(|e| e.to_string())?;
                let message = schema
                    .message_by_indexes(&indexes)
                    .ok_or_else(|| format!("no message at indexes {indexes:?}"))?;
                protobuf::decode(&message, data)
            }
        }
    }
}

/// Encodes the keys or the values of one request, with their schema
/// resolved once.
#[derive(Clone)]
pub struct Encoder {
    format: EmbeddedFormat,
    /// Keys (subject `*-key`): a missing schema is 42201 rather than 42202.
    key: bool,
    schema: Option<(u32, Arc<Compiled>)>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("format", &self.format)
            .field("key", &self.key)
            .field("schema_id", &self.schema_id())
            .finish()
    }
}

impl Encoder {
    /// Prepares an encoder for `format`, resolving (and, for a schema text,
    /// registering under `subject`) the schema the format needs, as
    /// kafka-rest's `SchemaManagerImpl` does: a text is looked up under the
    /// subject and registered when new; an id must be registered under the
    /// subject; a version is read from its subject. Without a spec, values
    /// of a schema format can only be null (42201 for keys, that is for a
    /// subject ending in `-key`, 42202 for values). Schema-less formats
    /// ignore `spec`.
    pub async fn prepare(
        registry: &Arc<SchemaRegistry>,
        format: EmbeddedFormat,
        subject: &str,
        spec: Option<SchemaSpec>,
    ) -> Result<Encoder, RestError> {
        let key = subject.ends_with("-key");
        let (Some(expected), Some(spec)) = (schema_type(format), spec) else {
            return Ok(Encoder {
                format,
                key,
                schema: None,
            });
        };
        let registry_error = |what: String, e: &dyn std::fmt::Display| {
            RestError::serialization(format!("{what}\n{e}"))
        };
        let (id, compiled) = match spec {
            SchemaSpec::Text { schema_type, text } => {
                if schema_type != expected {
                    return Err(RestError::invalid_schema(format!(
                        "a {} schema cannot write the {} format",
                        schema_type,
                        format.name()
                    )));
                }
                let compiled = compile_text(schema_type, &text)?;
                let new = NewSchema {
                    schema_type,
                    text,
                    ..NewSchema::default()
                };
                let canonical = || new.text.clone();
                let id = registry
                    .register(subject, new.clone())
                    .await
                    .map_err(|e| {
                        registry_error(
                            format!(
                                "Error when registering schema. format = {}, subject = {subject}, schema = {}",
                                schema_type,
                                canonical()
                            ),
                            &Unavailable::Registry(e),
                        )
                    })?;
                (id, compiled)
            }
            SchemaSpec::Id(id) => {
                let compiled = compiled_by_id(registry, id).map_err(|e| {
                    registry_error(
                        format!("Error when fetching schema by id. schemaId = {id}"),
                        &e,
                    )
                })?;
                let registered_here = registry.read().version_with_id(subject, id, false);
                if registered_here.is_none() {
                    let text = registry
                        .read()
                        .schema(id)
                        .map(|s| s.text.clone())
                        .unwrap_or_default();
                    return Err(registry_error(
                        format!(
                            "Error when fetching schema version. subject = {subject}, schema = {text}"
                        ),
                        &Unavailable::Registry(RegistryError::SchemaNotFound(
                            "Schema not found".into(),
                        )),
                    ));
                }
                (id, compiled)
            }
            SchemaSpec::Version {
                subject: of,
                version,
            } => {
                let spec = version.map_or(VersionSpec::Latest, VersionSpec::Number);
                let found = registry.read().version(&of, spec, false);
                let id = match (found, version) {
                    (Ok(found), _) => found.schema.id,
                    (Err(_), Some(v)) => {
                        return Err(RestError::bad_request(format!(
                            "Bad Request: Schema does not exist for subject: {of}, version: {v}"
                        )))
                    }
                    (Err(e), None) => {
                        return Err(registry_error(
                            format!("Error when fetching latest schema version. subject = {of}"),
                            &Unavailable::Registry(e),
                        ))
                    }
                };
                let compiled = compiled_by_id(registry, id).map_err(|e| {
                    registry_error(
                        format!("Error when fetching schema by id. schemaId = {id}"),
                        &e,
                    )
                })?;
                (id, compiled)
            }
        };
        if compiled.schema_type() != expected {
            return Err(RestError::invalid_schema(format!(
                "schema {id} is a {} schema, which cannot write the {} format",
                compiled.schema_type(),
                format.name()
            )));
        }
        Ok(Encoder {
            format,
            key,
            schema: Some((id, compiled)),
        })
    }

    /// The id of the schema values are written with.
    pub fn schema_id(&self) -> Option<u32> {
        self.schema.as_ref().map(|(id, _)| *id)
    }

    /// Encodes one key or value; JSON `null` is a null key or value.
    pub fn encode(&self, value: &Value) -> Result<Option<Bytes>, RestError> {
        if value.is_null() {
            return Ok(None);
        }
        match self.format {
            EmbeddedFormat::Binary | EmbeddedFormat::Json => encode_schemaless(self.format, value),
            _ => self.encode_with_schema(value, || value.to_string()),
        }
    }

    /// Encodes one key or value given as raw JSON text (`None` or `null`:
    /// a null key or value). The json and jsonschema formats store the
    /// text as given with insignificant whitespace removed, so object keys
    /// keep their order, as Confluent's serializers write a parsed
    /// `JsonNode` back out.
    pub fn encode_raw(&self, raw: Option<&RawValue>) -> Result<Option<Bytes>, RestError> {
        let Some(raw) = raw.filter(|r| r.get() != "null") else {
            return Ok(None);
        };
        let parse = || {
            serde_json::from_str::<Value>(raw.get())
                .map_err(|e| RestError::bad_request(e.to_string()))
        };
        match self.format {
            EmbeddedFormat::Json => Ok(Some(Bytes::from(compact_json(raw.get())))),
            EmbeddedFormat::Binary => decode_base64(&parse()?).map(Some),
            _ => self.encode_with_schema(&parse()?, || compact_json(raw.get())),
        }
    }

    fn encode_with_schema(
        &self,
        value: &Value,
        json_text: impl FnOnce() -> String,
    ) -> Result<Option<Bytes>, RestError> {
        let Some((id, compiled)) = &self.schema else {
            return Err(if self.key {
                RestError::key_schema_missing()
            } else {
                RestError::value_schema_missing()
            });
        };
        let mut out = Vec::with_capacity(64);
        out.push(wire::MAGIC_BYTE);
        out.extend_from_slice(&id.to_be_bytes());
        match &**compiled {
            Compiled::Avro(codec) => codec
                .encode(value, &mut out)
                .map_err(RestError::json_conversion)?,
            Compiled::Json(schema) => {
                if let Err(e) = schema.validator().validate(value) {
                    let at = e.instance_path().to_string();
                    let at = if at.is_empty() {
                        "#".into()
                    } else {
                        format!("#{at}")
                    };
                    return Err(RestError::json_conversion(format!("{at}: {e}")));
                }
                out.extend_from_slice(json_text().as_bytes());
            }
            Compiled::Protobuf(_, message) => {
                out.extend_from_slice(&wire::encode_message_indexes(&[0]));
                let bytes = protobuf::encode(message, value).map_err(RestError::json_conversion)?;
                out.extend_from_slice(&bytes);
            }
        }
        Ok(Some(Bytes::from(out)))
    }
}

/// `raw` (valid JSON) without whitespace outside strings.
pub fn compact_json(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(b);
        }
    }
    // Only ASCII bytes outside strings were dropped: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A record read back that its format cannot show: kafka-rest maps the
/// deserializer's `SerializationException` to 40801.
fn undecodable(message: impl std::fmt::Display) -> RestError {
    RestError::new(40801, message.to_string())
}

/// Decodes a key or value read from Kafka into the JSON `format` shows,
/// reading the schema a wire-format payload names from `registry`: Avro in
/// Avro's JSON encoding (a top-level union shown as its branch's value),
/// JSON Schema payloads as their JSON, Protobuf in its JSON mapping with
/// default values shown. A payload that is not in the wire format, names an
/// unknown schema or a schema of another format, or does not decode is
/// 40801, as kafka-rest answers a deserializer's failure.
pub fn decode(
    registry: &strata_schema_registry::http::SchemaRegistry,
    format: EmbeddedFormat,
    bytes: Option<&[u8]>,
) -> Result<Value, RestError> {
    let Some(expected) = schema_type(format) else {
        return decode_schemaless(format, bytes);
    };
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    let what = expected.as_str();
    let (id, payload) = wire::split_header(bytes)
        .map_err(|e| undecodable(format!("Error deserializing {what} message: {e}")))?;
    let compiled = compiled_by_id(registry, id)
        .map_err(|e| undecodable(format!("Error retrieving {what} schema for id {id}: {e}")))?;
    if compiled.schema_type() != expected {
        return Err(undecodable(format!(
            "Error deserializing {what} message for id {id}: schema {id} is a {} schema",
            compiled.schema_type()
        )));
    }
    let failed = |e: String| {
        undecodable(format!(
            "Error deserializing {what} message for id {id}: {e}"
        ))
    };
    match &*compiled {
        Compiled::Avro(codec) => codec.decode(payload).map_err(failed),
        Compiled::Json(_) => {
            serde_json::from_slice(payload).map_err(|e| failed(format!("not JSON: {e}")))
        }
        Compiled::Protobuf(schema, _) => {
            let (indexes, data) =
                wire::split_message_indexes(payload).map_err(|e| failed(e.to_string()))?;
            let message = schema
                .message_by_indexes(&indexes)
                .ok_or_else(|| failed(format!("no message at indexes {indexes:?}")))?;
            protobuf::decode(&message, data).map_err(failed)
        }
    }
}

#[cfg(test)]
mod tests;
