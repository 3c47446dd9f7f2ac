//! v2 produce: `POST /topics/{t}` and `POST /topics/{t}/partitions/{p}`.
//!
//! The body is `{"records": [{"key", "value", "partition"}], "key_schema",
//! "key_schema_id", "value_schema", "value_schema_id"}` in the embedded
//! format the `Content-Type` names (`application/vnd.kafka.{binary, json,
//! avro, jsonschema, protobuf}.v2+json`; no `Content-Type` reads as
//! binary, anything else is 415). The answer is `{"offsets": [{"partition",
//! "offset", "error_code", "error"}], "key_schema_id", "value_schema_id"}`,
//! one offset per record in request order, as kafka-rest answers.
//!
//! Every record is converted (and schemas registered) before anything is
//! sent, so a request that fails validation produces nothing: 400 for a
//! body that is not JSON or not of this shape or bad base64, 422 for no
//! records, 42201/42202 for keys/values without a schema, 42203 for a value
//! that does not match its schema, 42205 for an invalid schema, 42207 for a
//! schema the registry refuses or does not have, 40401 for an unknown topic
//! (a missing topic is first auto-created if the broker's
//! `auto.create.topics.enable` allows, as a Java producer's metadata
//! request would), 40402 for a partition outside the topic.
//!
//! The records then go out as one Produce request (acks=all), one batch per
//! partition. A record's partition is the one it or the path names, else
//! Kafka's default partitioner's for its key ([`partitioner`]: murmur2 of
//! the key bytes, as Java producers and librdkafka's `murmur2_random`
//! choose), else a sticky partition that moves on every request (and every
//! 16 KiB of keyless records), as Java's built-in partitioner spreads
//! keyless batches. A partition the broker refuses shows as an error code
//! on each of its records (40101/40301 also set the answer's status, as
//! kafka-rest does).

mod partitioner;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use kafka_protocol::error::ResponseError;

use crate::instant::now_ms;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::backend::Caller;
use crate::error::RestError;
use crate::formats::{Encoder, SchemaSpec};
use crate::media::{content_type, negotiate_v2, EmbeddedFormat, MediaType};
use crate::records::{encode_batch, OutRecord};
use crate::v2::topics::{partition_param, topic_metadata};
use crate::Shared;

/// How long the broker may take to make a produce durable.
const PRODUCE_TIMEOUT_MS: i32 = 30_000;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/topics/{topic}", post(produce_to_topic))
        .route(
            "/topics/{topic}/partitions/{partition}",
            post(produce_to_partition),
        )
}

/// The request body.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(default, borrow)]
    records: Option<Vec<Record<'a>>>,
    #[serde(default)]
    key_schema: Option<String>,
    #[serde(default)]
    key_schema_id: Option<i64>,
    #[serde(default)]
    value_schema: Option<String>,
    #[serde(default)]
    value_schema_id: Option<i64>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(default)]
    partition: Option<i32>,
    #[serde(default, borrow)]
    key: Option<&'a RawValue>,
    #[serde(default, borrow)]
    value: Option<&'a RawValue>,
}

/// One record's outcome.
#[derive(Serialize, Clone)]
struct Offset {
    partition: Option<i32>,
    offset: Option<i64>,
    error_code: Option<u32>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Answer {
    offsets: Vec<Offset>,
    key_schema_id: Option<u32>,
    value_schema_id: Option<u32>,
}

async fn produce_to_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path(topic): Path<String>,
    body: Bytes,
) -> Result<Response, RestError> {
    produce(&proxy, &caller, &headers, &topic, None, &body).await
}

async fn produce_to_partition(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path((topic, partition)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let partition = partition_param(&partition)?;
    produce(&proxy, &caller, &headers, &topic, Some(partition), &body).await
}

/// The embedded format the request's `Content-Type` names (415 otherwise).
fn request_format(headers: &HeaderMap) -> Result<EmbeddedFormat, RestError> {
    match content_type(headers) {
        None => Ok(EmbeddedFormat::Binary),
        Some(MediaType::Kafka {
            embedded: Some(format),
            version,
        }) if version == "v2" => Ok(format),
        Some(_) => Err(RestError::unsupported_media_type()),
    }
}

/// The schema a request names for its keys or values.
fn schema_spec(
    format: EmbeddedFormat,
    text: Option<String>,
    id: Option<i64>,
    what: &str,
) -> Result<Option<SchemaSpec>, RestError> {
    let Some(schema_type) = crate::formats::schema_type(format) else {
        return Ok(None);
    };
    match (text, id) {
        (Some(_), Some(_)) => Err(RestError::bad_request(format!(
            "Bad Request: Unsupported argument: both {what}_schema and {what}_schema_id are given"
        ))),
        (Some(text), None) => Ok(Some(SchemaSpec::Text { schema_type, text })),
        (None, Some(id)) => Ok(Some(SchemaSpec::Id(u32::try_from(id).map_err(|_| {
            RestError::serialization(format!(
                "Error when fetching schema by id. schemaId = {id}\nSchema {id} not found; error code: 40403"
            ))
        })?))),
        (None, None) => Ok(None),
    }
}

async fn produce(
    proxy: &Shared,
    caller: &Caller,
    headers: &HeaderMap,
    topic: &str,
    path_partition: Option<i32>,
    body: &[u8],
) -> Result<Response, RestError> {
    let format = request_format(headers)?;
    let media = negotiate_v2(headers)?;
    let body: Body<'_> =
        serde_json::from_slice(body).map_err(|e| RestError::bad_request(e.to_string()))?;
    let records = body.records.unwrap_or_default();
    if records.is_empty() {
        return Err(RestError::unprocessable("records must not be empty"));
    }

    // Everything that can refuse the request, before anything is sent.
    let key_spec = schema_spec(format, body.key_schema, body.key_schema_id, "key")?;
    let value_spec = schema_spec(format, body.value_schema, body.value_schema_id, "value")?;
    let keys = Encoder::prepare(&proxy.registry, format, &format!("{topic}-key"), key_spec).await?;
    let values = Encoder::prepare(
        &proxy.registry,
        format,
        &format!("{topic}-value"),
        value_spec,
    )
    .await?;
    let mut out = Vec::with_capacity(records.len());
    for record in &records {
        let key = keys.encode_raw(record.key)?;
        let value = values.encode_raw(record.value)?;
        out.push((record.partition.or(path_partition), key, value));
    }
    let metadata = match topic_metadata(proxy, caller, topic, true).await {
        Ok(metadata) => metadata,
        // kafka-rest's producer fails each record's future when the topic's
        // metadata is refused: one offset entry per record, and the
        // answer's status from the code.
        Err(e) if matches!(e.error_code, 40101 | 40301) => {
            let refused = Offset {
                partition: None,
                offset: None,
                error_code: Some(e.error_code),
                error: Some(if e.error_code == 40301 {
                    format!("Not authorized to access topics: [{topic}]")
                } else {
                    e.message.clone()
                }),
            };
            let answer = Answer {
                offsets: vec![refused; out.len()],
                key_schema_id: keys.schema_id(),
                value_schema_id: values.schema_id(),
            };
            return Ok((
                e.status,
                [(header::CONTENT_TYPE, media)],
                axum::Json(answer),
            )
                .into_response());
        }
        Err(e) => return Err(e),
    };
    let partitions = i32::try_from(metadata.partitions.len()).unwrap_or(i32::MAX);
    if partitions == 0 {
        return Err(RestError::leader_not_available());
    }

    // Partitions, then one batch per partition in request order.
    let mut sticky = partitioner::Sticky::new(partitions);
    let mut placed: Vec<i32> = Vec::with_capacity(out.len());
    for (partition, key, value) in &out {
        let p = match (partition, key) {
            (Some(p), _) if (0..partitions).contains(p) => *p,
            (Some(_), _) => return Err(RestError::partition_not_found()),
            (None, Some(key)) => partitioner::partition_for_key(key, partitions),
            (None, None) => sticky.next(value.as_ref().map_or(0, Bytes::len)),
        };
        placed.push(p);
    }
    let mut by_partition: BTreeMap<i32, Vec<OutRecord>> = BTreeMap::new();
    for ((_, key, value), &p) in out.into_iter().zip(&placed) {
        by_partition.entry(p).or_default().push(OutRecord {
            key,
            value,
            headers: Vec::new(),
            timestamp: None,
        });
    }
    let now = now_ms();
    let mut partition_data = Vec::with_capacity(by_partition.len());
    for (p, batch) in &by_partition {
        partition_data.push(
            PartitionProduceData::default()
                .with_index(*p)
                .with_records(Some(encode_batch(batch, now)?)),
        );
    }
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(PRODUCE_TIMEOUT_MS)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partition_data(partition_data)]);
    let response = proxy.send(caller, request).await?;

    // Each partition's base offset, or its error.
    let mut outcome: BTreeMap<i32, Result<i64, (u32, String)>> = BTreeMap::new();
    for p in response
        .responses
        .iter()
        .flat_map(|t| t.partition_responses.iter())
    {
        let result = match ResponseError::try_from_code(p.error_code) {
            None => Ok(p.base_offset),
            Some(e) => {
                let message = p
                    .error_message
                    .as_ref()
                    .map(|m| m.to_string())
                    .or_else(|| {
                        p.record_errors
                            .iter()
                            .find_map(|r| r.batch_index_error_message.as_ref())
                            .map(|m| m.to_string())
                    })
                    .unwrap_or_else(|| e.to_string());
                Err((error_code(e), message))
            }
        };
        outcome.insert(p.index, result);
    }
    let mut next_in: BTreeMap<i32, i64> = BTreeMap::new();
    let mut status = StatusCode::OK;
    let offsets = placed
        .iter()
        .map(|&p| {
            let i = next_in.entry(p).or_insert(0);
            let nth = *i;
            *i += 1;
            match outcome.get(&p) {
                Some(Ok(base)) => Offset {
                    partition: Some(p),
                    offset: Some(base + nth),
                    error_code: None,
                    error: None,
                },
                Some(Err((code, message))) => {
                    match code {
                        40101 => status = StatusCode::UNAUTHORIZED,
                        40301 if status == StatusCode::OK => status = StatusCode::FORBIDDEN,
                        _ => {}
                    }
                    Offset {
                        partition: None,
                        offset: None,
                        error_code: Some(*code),
                        error: Some(message.clone()),
                    }
                }
                None => Offset {
                    partition: None,
                    offset: None,
                    error_code: Some(50002),
                    error: Some("the broker did not answer for this partition".into()),
                },
            }
        })
        .collect();
    let answer = Answer {
        offsets,
        key_schema_id: keys.schema_id(),
        value_schema_id: values.schema_id(),
    };
    Ok((status, [(header::CONTENT_TYPE, media)], axum::Json(answer)).into_response())
}

/// kafka-rest's `errorCodeFromProducerException`.
fn error_code(e: ResponseError) -> u32 {
    use ResponseError as E;
    match e {
        E::SaslAuthenticationFailed => 40101,
        E::TopicAuthorizationFailed
        | E::GroupAuthorizationFailed
        | E::ClusterAuthorizationFailed
        | E::TransactionalIdAuthorizationFailed => 40301,
        e if e.is_retriable() => 50003,
        _ => 50002,
    }
}

#[cfg(test)]
mod tests;
