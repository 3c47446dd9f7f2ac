//! One Fetch of a partition and the JSON its records are shown as.
//!
//! How a key or value is shown (`{"type", "data"}`):
//! 1. bytes in Confluent's wire format (magic byte 0, a 4-byte schema id)
//!    whose schema id is registered, and which decode with that schema:
//!    `AVRO`, `JSONSCHEMA` or `PROTOBUF`, the data as JSON, with `schema_id`;
//! 2. otherwise bytes that are UTF-8 JSON text: `JSON`, the parsed value;
//! 3. otherwise UTF-8 text: `STRING`;
//! 4. otherwise `BINARY`, base64.
//!
//! A null key or value is `null`.

use base64::Engine;
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};
use strata_schema_registry::http::SchemaRegistry;

use crate::backend::Caller;
use crate::error::RestError;
use crate::media::EmbeddedFormat;
use crate::records::{decode_batches, InRecord};
use crate::RestProxy;

/// What one Fetch of a partition brought.
pub(crate) struct Fetched {
    pub records: Vec<InRecord>,
    /// The offset after the last batch returned (control batches and
    /// aborted data included), or the offset asked for when none.
    pub next_offset: i64,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

/// Fetches `partition` from `offset`, waiting up to `wait_ms` for data.
pub(crate) async fn fetch(
    proxy: &RestProxy,
    caller: &Caller,
    topic: &str,
    partition: i32,
    offset: i64,
    max_bytes: i32,
    wait_ms: i32,
) -> Result<Fetched, RestError> {
    let request = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(-1)
                .with_fetch_offset(offset)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(max_bytes)])]);
    let response = proxy.send(caller, request).await?;
    if response.error_code != 0 {
        return Err(kafka_error(response.error_code));
    }
    let Some(p) = response
        .responses
        .into_iter()
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == partition)
    else {
        return Err(RestError::kafka("the Fetch answer has no such partition"));
    };
    if p.error_code == ResponseError::OffsetOutOfRange.code() {
        return Err(RestError::bad_request(format!(
            "Offset {offset} is out of range for partition {partition} (log start {}, end {}).",
            p.log_start_offset, p.high_watermark
        )));
    }
    if p.error_code != 0 {
        return Err(kafka_error(p.error_code));
    }
    let bytes = p.records.unwrap_or_default();
    let end = batches_end(&bytes);
    let records: Vec<InRecord> = decode_batches(bytes)?
        .into_iter()
        .filter(|r| r.offset >= offset)
        .collect();
    Ok(Fetched {
        records,
        next_offset: end.map_or(offset, |e| e.max(offset)),
        high_watermark: p.high_watermark,
        log_start_offset: p.log_start_offset,
    })
}

pub(crate) fn kafka_error(code: i16) -> RestError {
    match ResponseError::try_from_code(code) {
        Some(e) => RestError::from_kafka(e, None),
        None => RestError::kafka(format!("error code {code}")),
    }
}

/// The offset after the last whole record batch in `bytes` (v2 batch
/// headers: base offset at 0, length at 8, last offset delta at 23).
fn batches_end(bytes: &[u8]) -> Option<i64> {
    let mut at = 0usize;
    let mut end = None;
    while bytes.len() >= at + 27 {
        let base = i64::from_be_bytes(bytes[at..at + 8].try_into().ok()?);
        let length = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().ok()?);
        let delta = i32::from_be_bytes(bytes[at + 23..at + 27].try_into().ok()?);
        let size = usize::try_from(length).ok()?.checked_add(12)?;
        if bytes.len() < at + size {
            break;
        }
        end = Some(base + i64::from(delta) + 1);
        at += size;
    }
    end
}

/// A record as the v3 read shows it.
pub(crate) fn record_json(registry: &SchemaRegistry, partition: i32, r: &InRecord) -> Value {
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|(name, value)| {
            json!({
                "name": name,
                "value": value.as_ref().map(|v| base64::engine::general_purpose::STANDARD.encode(v)),
            })
        })
        .collect();
    json!({
        "partition_id": partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestamp_type": match r.timestamp_type {
            kafka_protocol::records::TimestampType::Creation => "CREATE_TIME",
            kafka_protocol::records::TimestampType::LogAppend => "LOG_APPEND_TIME",
        },
        "headers": headers,
        "key": data_json(registry, r.key.as_ref()),
        "value": data_json(registry, r.value.as_ref()),
    })
}

/// A key or value shown by the rule in the module doc.
pub(crate) fn data_json(registry: &SchemaRegistry, bytes: Option<&Bytes>) -> Value {
    let Some(bytes) = bytes else {
        return Value::Null;
    };
    if let Some(shown) = schema_data(registry, bytes) {
        return shown;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) => json!({"type": "JSON", "data": v}),
            Err(_) => json!({"type": "STRING", "data": text}),
        },
        Err(_) => json!({
            "type": "BINARY",
            "data": base64::engine::general_purpose::STANDARD.encode(bytes),
        }),
    }
}

fn schema_data(registry: &SchemaRegistry, bytes: &[u8]) -> Option<Value> {
    let (id, _) = strata_schema_registry::wire::split_header(bytes).ok()?;
    let schema_type = registry.read().schema(id).ok()?.schema_type;
    let (format, name) = match schema_type {
        strata_schema_registry::SchemaType::Avro => (EmbeddedFormat::Avro, "AVRO"),
        strata_schema_registry::SchemaType::Json => (EmbeddedFormat::JsonSchema, "JSONSCHEMA"),
        strata_schema_registry::SchemaType::Protobuf => (EmbeddedFormat::Protobuf, "PROTOBUF"),
    };
    let data = crate::formats::decode(registry, format, Some(bytes)).ok()?;
    Some(json!({"type": name, "schema_id": id, "data": data}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{encode_batch, OutRecord};

    #[test]
    fn batches_end_after_their_last_offset() {
        let batch = encode_batch(&[OutRecord::default(), OutRecord::default()], 0).unwrap();
        assert_eq!(batches_end(&batch), Some(2));
        assert_eq!(batches_end(&batch[..batch.len() - 1]), None);
        assert_eq!(batches_end(&[]), None);
    }
}
