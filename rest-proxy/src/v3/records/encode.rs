//! One record request to the bytes Kafka stores: key and value per their
//! `type` (BINARY base64, JSON text, STRING UTF-8, or a schema format in
//! Confluent's wire format through [`crate::formats::Encoder`]), headers
//! from base64, the timestamp, and the partition asked for.
//!
//! Schema lookups follow kafka-rest's `SchemaManagerImpl.getSchema`: a
//! `schema_id` (no `type`, version or text), a `schema_version` (no `type`
//! or text), a `schema` text (with its `type`), or nothing (the latest
//! schema of the subject). The subject is `subject`, or derived by
//! `subject_name_strategy` (TOPIC_NAME by default). Encoders are resolved
//! once per distinct spec in a request and reused for every record.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;
use strata_schema_registry::registry::VersionSpec;

use super::request::{parse_timestamp, DataRequest, DataType, RecordRequest};
use crate::error::RestError;
use crate::formats::{Encoder, SchemaSpec};
use crate::media::EmbeddedFormat;
use crate::records::OutRecord;
use crate::RestProxy;

/// A record ready to go into a batch, with what its answer reports.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub record: OutRecord,
    pub partition: Option<i32>,
    pub key: Option<DataInfo>,
    pub value: Option<DataInfo>,
}

/// What a produce answer says about a key or value.
#[derive(Debug, Clone)]
pub(crate) struct DataInfo {
    pub data_type: DataType,
    pub subject: Option<String>,
    pub schema_id: Option<u32>,
    pub schema_version: Option<i32>,
    pub size: i32,
}

impl DataInfo {
    pub(crate) fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("type".into(), self.data_type.name().into());
        if let Some(s) = &self.subject {
            o.insert("subject".into(), s.clone().into());
        }
        if let Some(id) = self.schema_id {
            o.insert("schema_id".into(), id.into());
        }
        if let Some(v) = self.schema_version {
            o.insert("schema_version".into(), v.into());
        }
        o.insert("size".into(), self.size.into());
        Value::Object(o)
    }
}

/// A schema encoder resolved for one spec, with what answers report.
struct Resolved {
    encoder: Encoder,
    data_type: DataType,
    subject: String,
    schema_id: Option<u32>,
    schema_version: Option<i32>,
}

/// Encodes the records of one request for one topic, caching schema
/// encoders by spec.
pub(crate) struct RecordEncoder {
    proxy: Arc<RestProxy>,
    topic: String,
    encoders: HashMap<String, Arc<Resolved>>,
}

impl RecordEncoder {
    pub(crate) fn new(proxy: Arc<RestProxy>, topic: &str) -> Self {
        RecordEncoder {
            proxy,
            topic: topic.to_owned(),
            encoders: HashMap::new(),
        }
    }

    /// Encodes one record, or the error that answers it.
    pub(crate) async fn prepare(&mut self, request: RecordRequest) -> Result<Prepared, RestError> {
        if let Some(p) = request.partition_id {
            if p < 0 {
                return Err(RestError::partition_not_found());
            }
        }
        let timestamp = match &request.timestamp {
            Some(t) => parse_timestamp(t)?,
            None => None,
        };
        let mut headers = Vec::new();
        for h in request.headers.unwrap_or_default() {
            let value = match h.value {
                None => None,
                Some(text) => Some(Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.as_bytes())
                        .map_err(|e| {
                            RestError::bad_request(format!(
                                "Cannot deserialize value of type `byte[]` from String: Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): {e}"
                            ))
                        })?,
                )),
            };
            headers.push((h.name, value));
        }
        let (key, key_info) = match request.key {
            Some(data) => self.encode(true, data).await?,
            None => (None, None),
        };
        let (value, value_info) = match request.value {
            Some(data) => self.encode(false, data).await?,
            None => (None, None),
        };
        Ok(Prepared {
            record: OutRecord {
                key,
                value,
                headers,
                timestamp: Some(timestamp.unwrap_or_else(crate::instant::now_ms)),
            },
            partition: request.partition_id,
            key: key_info,
            value: value_info,
        })
    }

    async fn encode(
        &mut self,
        is_key: bool,
        data: DataRequest,
    ) -> Result<(Option<Bytes>, Option<DataInfo>), RestError> {
        let format = data.format.as_deref().map(DataType::parse).transpose()?;
        if let Some(simple) = format.filter(|f| !f.uses_schema()) {
            let bytes = encode_simple(simple, &data.data)?;
            let info = DataInfo {
                data_type: simple,
                subject: None,
                schema_id: None,
                schema_version: None,
                size: bytes.as_ref().map_or(0, |b| b.len() as i32),
            };
            return Ok((bytes, Some(info)));
        }
        let cache_key = format!(
            "{is_key}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}",
            data.format,
            data.subject,
            data.subject_name_strategy,
            data.schema_id,
            data.schema_version,
            data.schema
        );
        let resolved = match self.encoders.get(&cache_key) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(self.resolve(is_key, format, &data).await?);
                self.encoders.insert(cache_key, r.clone());
                r
            }
        };
        let bytes = resolved.encoder.encode(&data.data)?;
        let info = DataInfo {
            data_type: resolved.data_type,
            subject: Some(resolved.subject.clone()),
            schema_id: resolved.schema_id,
            schema_version: resolved.schema_version,
            size: bytes.as_ref().map_or(0, |b| b.len() as i32),
        };
        Ok((bytes, Some(info)))
    }

    /// Finds (or registers) the schema a key or value names, as
    /// kafka-rest's `SchemaManagerImpl.getSchema`.
    async fn resolve(
        &self,
        is_key: bool,
        format: Option<DataType>,
        data: &DataRequest,
    ) -> Result<Resolved, RestError> {
        let strategy = Strategy::parse(data.subject_name_strategy.as_deref())?;
        let registry = &self.proxy.registry;
        let (data_type, subject, spec) = if let Some(id) = data.schema_id {
            if format.is_some() || data.schema_version.is_some() || data.schema.is_some() {
                return Err(RestError::bad_request(
                    "schema_id cannot be given with type, schema_version or schema",
                ));
            }
            let (schema_type, text) = {
                let r = registry.read();
                let s = r.schema(id).map_err(RestError::serialization)?;
                (s.schema_type, s.text.clone())
            };
            let subject = self.subject(is_key, data, strategy, Some((schema_type, &text)))?;
            (
                DataType::of_schema(schema_type),
                subject,
                SchemaSpec::Id(id),
            )
        } else if let Some(text) = &data.schema {
            let Some(format) = format else {
                return Err(RestError::bad_request(
                    "a schema text needs the type of its format",
                ));
            };
            let schema_type = match format {
                DataType::Avro => strata_schema_registry::SchemaType::Avro,
                DataType::JsonSchema => strata_schema_registry::SchemaType::Json,
                _ => strata_schema_registry::SchemaType::Protobuf,
            };
            let subject = self.subject(is_key, data, strategy, Some((schema_type, text)))?;
            let spec = SchemaSpec::Text {
                schema_type,
                text: text.clone(),
            };
            (format, subject, spec)
        } else {
            if format.is_some() {
                return Err(RestError::bad_request(format!(
                    "the {} type needs schema, schema_id or schema_version",
                    format.map_or("", DataType::name)
                )));
            }
            let subject = self.subject(is_key, data, strategy, None)?;
            let version = match data.schema_version {
                Some(v) => VersionSpec::Number(v),
                None => VersionSpec::Latest,
            };
            let schema_type = registry
                .read()
                .version(&subject, version, false)
                .map_err(RestError::serialization)?
                .schema
                .schema_type;
            let spec = SchemaSpec::Version {
                subject: subject.clone(),
                version: data.schema_version,
            };
            (DataType::of_schema(schema_type), subject, spec)
        };
        let embedded = match data_type {
            DataType::Avro => EmbeddedFormat::Avro,
            DataType::JsonSchema => EmbeddedFormat::JsonSchema,
            _ => EmbeddedFormat::Protobuf,
        };
        let encoder = Encoder::prepare(registry, embedded, &subject, Some(spec)).await?;
        let schema_id = encoder.schema_id();
        let schema_version =
            schema_id.and_then(|id| registry.read().version_with_id(&subject, id, false));
        Ok(Resolved {
            encoder,
            data_type,
            subject,
            schema_id,
            schema_version,
        })
    }

    /// The subject a schema is looked up or registered under.
    fn subject(
        &self,
        is_key: bool,
        data: &DataRequest,
        strategy: Strategy,
        schema: Option<(strata_schema_registry::SchemaType, &str)>,
    ) -> Result<String, RestError> {
        if let Some(subject) = &data.subject {
            return Ok(subject.clone());
        }
        let suffix = if is_key { "key" } else { "value" };
        let record = || {
            schema
                .and_then(|(t, text)| record_name(t, text))
                .ok_or_else(|| {
                    RestError::bad_request(
                        "the record name strategies need a schema (text or id) naming a record",
                    )
                })
        };
        Ok(match strategy {
            Strategy::Topic => format!("{}-{suffix}", self.topic),
            Strategy::Record => record()?,
            Strategy::TopicRecord => format!("{}-{}", self.topic, record()?),
        })
    }
}

/// kafka-rest's `EnumSubjectNameStrategy`.
#[derive(Debug, Clone, Copy)]
enum Strategy {
    Topic,
    Record,
    TopicRecord,
}

impl Strategy {
    fn parse(name: Option<&str>) -> Result<Self, RestError> {
        Ok(match name {
            None | Some("TOPIC_NAME") => Strategy::Topic,
            Some("RECORD_NAME") => Strategy::Record,
            Some("TOPIC_RECORD_NAME") => Strategy::TopicRecord,
            Some(other) => {
                return Err(RestError::bad_request(format!(
                    "Cannot deserialize value of type `EnumSubjectNameStrategy` from String \"{other}\": not one of the values accepted for Enum class: [TOPIC_NAME, RECORD_NAME, TOPIC_RECORD_NAME]"
                )))
            }
        })
    }
}

/// The fully qualified record name a schema declares: Avro's
/// `namespace.name`, a JSON Schema's `title`, Protobuf's first message
/// (with its package), as Confluent's `RecordNameStrategy` reads them.
fn record_name(schema_type: strata_schema_registry::SchemaType, text: &str) -> Option<String> {
    use strata_schema_registry::SchemaType;
    match schema_type {
        SchemaType::Avro => {
            let v: Value = serde_json::from_str(text).ok()?;
            let name = v.get("name")?.as_str()?;
            if name.contains('.') {
                return Some(name.to_owned());
            }
            match v.get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() => Some(format!("{ns}.{name}")),
                _ => Some(name.to_owned()),
            }
        }
        SchemaType::Json => {
            let v: Value = serde_json::from_str(text).ok()?;
            v.get("title")?.as_str().map(str::to_owned)
        }
        SchemaType::Protobuf => {
            let words: Vec<&str> = text
                .split(|c: char| c.is_whitespace() || c == ';' || c == '{')
                .filter(|w| !w.is_empty())
                .collect();
            let package = words.windows(2).find(|w| w[0] == "package").map(|w| w[1]);
            let message = words.windows(2).find(|w| w[0] == "message").map(|w| w[1])?;
            Some(match package {
                Some(p) => format!("{p}.{message}"),
                None => message.to_owned(),
            })
        }
    }
}

/// BINARY (base64), JSON (its text) and STRING (UTF-8); `null` is a null
/// key or value.
pub(crate) fn encode_simple(data_type: DataType, data: &Value) -> Result<Option<Bytes>, RestError> {
    match (data_type, data) {
        (_, Value::Null) => Ok(None),
        (DataType::Binary, Value::String(text)) => base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(|b| Some(Bytes::from(b)))
            .map_err(|_| {
                RestError::bad_request(format!("data={data} is not a valid base64 string."))
            }),
        (DataType::Binary, _) => Err(RestError::bad_request(format!(
            "data={data} is not a base64 string."
        ))),
        (DataType::String, Value::String(text)) => Ok(Some(Bytes::from(text.clone()))),
        (DataType::String, _) => Err(RestError::bad_request(format!(
            "data={data} is not a string."
        ))),
        (_, other) => Ok(Some(Bytes::from(other.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_types_encode() {
        assert_eq!(
            encode_simple(DataType::Binary, &json!("aGk=")).unwrap(),
            Some(Bytes::from_static(b"hi"))
        );
        assert!(encode_simple(DataType::Binary, &json!("%%%")).is_err());
        assert_eq!(
            encode_simple(DataType::String, &json!("hé")).unwrap(),
            Some(Bytes::from("hé"))
        );
        assert_eq!(
            encode_simple(DataType::Json, &json!({"a": 1})).unwrap(),
            Some(Bytes::from_static(br#"{"a":1}"#))
        );
        assert_eq!(encode_simple(DataType::Json, &json!(null)).unwrap(), None);
    }

    #[test]
    fn record_names() {
        use strata_schema_registry::SchemaType;
        let avro = r#"{"type":"record","name":"User","namespace":"com.acme","fields":[]}"#;
        assert_eq!(
            record_name(SchemaType::Avro, avro).unwrap(),
            "com.acme.User"
        );
        let proto = "syntax = \"proto3\";\npackage acme.v1;\nmessage Order { int32 id = 1; }";
        assert_eq!(
            record_name(SchemaType::Protobuf, proto).unwrap(),
            "acme.v1.Order"
        );
        let js = r#"{"title":"Thing","type":"object"}"#;
        assert_eq!(record_name(SchemaType::Json, js).unwrap(), "Thing");
    }
}
