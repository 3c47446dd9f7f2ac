//! The JSON of one record to produce, as kafka-rest's v3 `ProduceRequest`
//! and `ProduceBatchRequestEntry` read it, and the ISO-8601 instants v3
//! uses for timestamps.

use serde::Deserialize;
use serde_json::Value;

use crate::error::RestError;
use crate::instant::parse_iso_instant;

/// One record of a produce stream or a batch (whose `id` is read apart).
#[derive(Debug, Deserialize)]
pub(crate) struct RecordRequest {
    #[serde(default)]
    pub partition_id: Option<i32>,
    #[serde(default)]
    pub headers: Option<Vec<HeaderRequest>>,
    #[serde(default)]
    pub key: Option<DataRequest>,
    #[serde(default)]
    pub value: Option<DataRequest>,
    #[serde(default)]
    pub timestamp: Option<Value>,
}

/// A record header: a name and a base64 value (absent or null: no value).
#[derive(Debug, Deserialize)]
pub(crate) struct HeaderRequest {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A key or value: its data and how to write it.
#[derive(Debug, Deserialize)]
pub(crate) struct DataRequest {
    #[serde(default, rename = "type")]
    pub format: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub subject_name_strategy: Option<String>,
    #[serde(default)]
    pub schema_id: Option<u32>,
    #[serde(default)]
    pub schema_version: Option<i32>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub data: Value,
}

/// How a key or value is written (kafka-rest's `EmbeddedFormat` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DataType {
    Binary,
    Json,
    String,
    Avro,
    JsonSchema,
    Protobuf,
}

impl DataType {
    pub(crate) fn parse(name: &str) -> Result<Self, RestError> {
        Ok(match name {
            "BINARY" => DataType::Binary,
            "JSON" => DataType::Json,
            "STRING" => DataType::String,
            "AVRO" => DataType::Avro,
            "JSONSCHEMA" => DataType::JsonSchema,
            "PROTOBUF" => DataType::Protobuf,
            other => {
                return Err(RestError::bad_request(format!(
                    "Cannot deserialize value of type `EmbeddedFormat` from String \"{other}\": not one of the values accepted for Enum class: [AVRO, JSONSCHEMA, PROTOBUF, BINARY, JSON, STRING]"
                )))
            }
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            DataType::Binary => "BINARY",
            DataType::Json => "JSON",
            DataType::String => "STRING",
            DataType::Avro => "AVRO",
            DataType::JsonSchema => "JSONSCHEMA",
            DataType::Protobuf => "PROTOBUF",
        }
    }

    pub(crate) fn uses_schema(self) -> bool {
        matches!(
            self,
            DataType::Avro | DataType::JsonSchema | DataType::Protobuf
        )
    }

    pub(crate) fn of_schema(schema_type: strata_schema_registry::SchemaType) -> Self {
        match schema_type {
            strata_schema_registry::SchemaType::Avro => DataType::Avro,
            strata_schema_registry::SchemaType::Json => DataType::JsonSchema,
            strata_schema_registry::SchemaType::Protobuf => DataType::Protobuf,
        }
    }
}

/// A request timestamp in milliseconds. kafka-rest reads a Java `Instant`
/// with Jackson: an ISO-8601 string (`2021-02-05T19:14:42.123Z`), or a
/// number of seconds since the epoch (a fraction giving sub-seconds).
pub(crate) fn parse_timestamp(value: &Value) -> Result<Option<i64>, RestError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(seconds) = n.as_i64() {
                seconds
                    .checked_mul(1000)
                    .map(Some)
                    .ok_or_else(|| bad_timestamp(value))
            } else {
                let seconds = n.as_f64().ok_or_else(|| bad_timestamp(value))?;
                Ok(Some((seconds * 1000.0).round() as i64))
            }
        }
        Value::String(text) => parse_iso_instant(text)
            .map(Some)
            .ok_or_else(|| bad_timestamp(value)),
        _ => Err(bad_timestamp(value)),
    }
}

fn bad_timestamp(value: &Value) -> RestError {
    RestError::bad_request(format!(
        "Cannot deserialize value of type `java.time.Instant` from {value}: expected an ISO-8601 instant such as 2021-02-05T19:14:42.123Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_seconds_as_jackson_reads_them() {
        assert_eq!(parse_timestamp(&json!(1)).unwrap(), Some(1000));
        assert_eq!(parse_timestamp(&json!(1.5)).unwrap(), Some(1500));
        assert_eq!(parse_timestamp(&json!(null)).unwrap(), None);
        assert!(parse_timestamp(&json!(true)).is_err());
    }
}
