//! The produce route against a fake backend: what it sends, and that a
//! request refused by validation sends no Produce.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    BrokerId, MetadataResponse, ProduceResponse, RequestKind, ResponseKind,
};
use parking_lot::Mutex;
use serde_json::{json, Value};
use strata_schema_registry::http::{
    BoxFuture as SrFuture, SchemaLog, SchemaLogError, SchemaRegistry,
};
use strata_schema_registry::records::LogRecord;
use strata_schema_registry::registry::Registry;
use tower::ServiceExt;

use super::partitioner::partition_for_key;
use crate::backend::{BackendError, BoxFuture, Caller, KafkaBackend};
use crate::records::decode_batches;
use crate::{router, RestProxy, RestProxyConfig};

/// Topic `t` with 3 partitions; records every Produce and answers base
/// offset 100 + partition (or `fail` for partition 2).
#[derive(Default)]
struct Fake {
    produced: Mutex<Vec<kafka_protocol::messages::ProduceRequest>>,
    fail_partition_2: Option<i16>,
}

impl KafkaBackend for Fake {
    fn call<'a>(
        &'a self,
        _caller: &'a Caller,
        _version: i16,
        request: RequestKind,
    ) -> BoxFuture<'a, Result<ResponseKind, BackendError>> {
        Box::pin(async move {
            match request {
                RequestKind::Metadata(m) => {
                    let topics = m
                        .topics
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| {
                            let name = t.name.unwrap();
                            if name.as_str() == "t" {
                                MetadataResponseTopic::default()
                                    .with_name(Some(name))
                                    .with_partitions(
                                        (0..3)
                                            .map(|p| {
                                                MetadataResponsePartition::default()
                                                    .with_partition_index(p)
                                                    .with_leader_id(BrokerId(1))
                                                    .with_replica_nodes(vec![BrokerId(1)])
                                                    .with_isr_nodes(vec![BrokerId(1)])
                                            })
                                            .collect(),
                                    )
                            } else if name.as_str() == "secret" {
                                MetadataResponseTopic::default()
                                    .with_name(Some(name))
                                    .with_error_code(29) // TOPIC_AUTHORIZATION_FAILED
                            } else {
                                MetadataResponseTopic::default()
                                    .with_name(Some(name))
                                    .with_error_code(3)
                            }
                        })
                        .collect();
                    Ok(ResponseKind::Metadata(
                        MetadataResponse::default()
                            .with_brokers(vec![
                                MetadataResponseBroker::default().with_node_id(BrokerId(1))
                            ])
                            .with_topics(topics),
                    ))
                }
                RequestKind::Produce(p) => {
                    let responses = p
                        .topic_data
                        .iter()
                        .map(|t| {
                            TopicProduceResponse::default()
                                .with_name(t.name.clone())
                                .with_partition_responses(
                                    t.partition_data
                                        .iter()
                                        .map(|d| match self.fail_partition_2 {
                                            Some(code) if d.index == 2 => {
                                                PartitionProduceResponse::default()
                                                    .with_index(d.index)
                                                    .with_error_code(code)
                                                    .with_base_offset(-1)
                                            }
                                            _ => PartitionProduceResponse::default()
                                                .with_index(d.index)
                                                .with_base_offset(100 + i64::from(d.index)),
                                        })
                                        .collect(),
                                )
                        })
                        .collect();
                    self.produced.lock().push(p);
                    Ok(ResponseKind::Produce(
                        ProduceResponse::default().with_responses(responses),
                    ))
                }
                _ => Err(BackendError {
                    api: "test",
                    reason: "not faked".into(),
                }),
            }
        })
    }
}

struct MemoryLog;

impl SchemaLog for MemoryLog {
    fn append(&self, _records: Vec<LogRecord>) -> SrFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async { Ok(()) })
    }
}

fn proxy(fake: Arc<Fake>) -> axum::Router {
    let registry = SchemaRegistry::new(Registry::new(), Arc::new(MemoryLog), "c");
    router(RestProxy::new(
        fake,
        registry,
        "c",
        RestProxyConfig::default(),
    ))
}

async fn post(
    app: &axum::Router,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::post(path);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const BINARY: Option<&str> = Some("application/vnd.kafka.binary.v2+json");
const AVRO: Option<&str> = Some("application/vnd.kafka.avro.v2+json");

#[tokio::test]
async fn records_go_out_in_one_request_one_batch_per_partition() {
    let fake = Arc::new(Fake::default());
    let app = proxy(fake.clone());
    // "a2V5" is "key"; two keyed records, one pinned to partition 0, one keyless.
    let (status, body) = post(
        &app,
        "/topics/t",
        BINARY,
        r#"{"records":[{"key":"a2V5","value":"djE="},{"key":"a2V5","value":"djI="},
            {"value":"djM=","partition":0},{"value":null}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keyed = partition_for_key(b"key", 3);
    let offsets = body["offsets"].as_array().unwrap();
    assert_eq!(offsets[0]["partition"], json!(keyed));
    assert_eq!(offsets[1]["partition"], json!(keyed));
    assert_eq!(offsets[1]["offset"], json!(100 + keyed + 1));
    assert_eq!(
        offsets[2],
        json!({"partition": 0, "offset": 100 + if keyed == 0 { 2 } else { 0 }, "error_code": null, "error": null})
    );
    assert_eq!(body["key_schema_id"], Value::Null);
    let produced = fake.produced.lock();
    assert_eq!(produced.len(), 1);
    assert_eq!(produced[0].acks, -1);
    let batch = produced[0].topic_data[0]
        .partition_data
        .iter()
        .find(|d| d.index == keyed)
        .unwrap();
    let records = decode_batches(batch.records.clone().unwrap()).unwrap();
    assert_eq!(records[0].key.as_deref(), Some(&b"key"[..]));
    assert_eq!(records[1].value.as_deref(), Some(&b"v2"[..]));
}

#[tokio::test]
async fn refused_requests_send_nothing() {
    let fake = Arc::new(Fake::default());
    let app = proxy(fake.clone());
    let cases: Vec<(&str, Option<&str>, &str, u16, u64)> = vec![
        (
            "/topics/t",
            Some("application/json"),
            r#"{"records":[{"value":"AA=="}]}"#,
            415,
            415,
        ),
        (
            "/topics/t",
            BINARY,
            r#"{"records":[{"value":"AA=="}"#,
            400,
            400,
        ),
        ("/topics/t", BINARY, r#"{"records":"x"}"#, 400, 400),
        ("/topics/t", BINARY, r#"{"records":[]}"#, 422, 422),
        (
            "/topics/t",
            BINARY,
            r#"{"records":[{"value":"AA=="},{"value":"***"}]}"#,
            400,
            400,
        ),
        (
            "/topics/t",
            AVRO,
            r#"{"records":[{"value":1}]}"#,
            422,
            42202,
        ),
        (
            "/topics/t",
            AVRO,
            r#"{"value_schema":"\"int\"","records":[{"key":1,"value":1}]}"#,
            422,
            42201,
        ),
        (
            "/topics/t",
            AVRO,
            r#"{"value_schema":"\"int\"","records":[{"value":1},{"value":"x"}]}"#,
            422,
            42203,
        ),
        (
            "/topics/t",
            AVRO,
            r#"{"value_schema":"{","records":[{"value":1}]}"#,
            422,
            42205,
        ),
        (
            "/topics/t",
            AVRO,
            r#"{"value_schema_id":77,"records":[{"value":1}]}"#,
            422,
            42207,
        ),
        (
            "/topics/nope",
            BINARY,
            r#"{"records":[{"value":"AA=="}]}"#,
            404,
            40401,
        ),
        (
            "/topics/t/partitions/3",
            BINARY,
            r#"{"records":[{"value":"AA=="}]}"#,
            404,
            40402,
        ),
        (
            "/topics/t",
            BINARY,
            r#"{"records":[{"value":"AA=="},{"value":"AA==","partition":-1}]}"#,
            404,
            40402,
        ),
        (
            "/topics/t/partitions/x",
            BINARY,
            r#"{"records":[{"value":"AA=="}]}"#,
            404,
            404,
        ),
    ];
    for (path, ct, body, status, code) in cases {
        let (got, answer) = post(&app, path, ct, body).await;
        assert_eq!(got.as_u16(), status, "{path} {body}: {answer}");
        assert_eq!(answer["error_code"], json!(code), "{path} {body}: {answer}");
    }
    assert!(fake.produced.lock().is_empty());
    // And the proxy still serves.
    let (status, _) = post(
        &app,
        "/topics/t/partitions/1",
        BINARY,
        r#"{"records":[{"value":"AA=="}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.produced.lock().len(), 1);
}

#[tokio::test]
async fn partition_errors_are_per_record() {
    let fake = Arc::new(Fake {
        fail_partition_2: Some(29), // TOPIC_AUTHORIZATION_FAILED
        ..Fake::default()
    });
    let app = proxy(fake.clone());
    let (status, body) = post(
        &app,
        "/topics/t",
        BINARY,
        r#"{"records":[{"value":"AA==","partition":1},{"value":"AA==","partition":2}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["offsets"][0]["offset"], json!(101));
    assert_eq!(body["offsets"][1]["error_code"], json!(40301));
    assert_eq!(body["offsets"][1]["partition"], Value::Null);
}

#[tokio::test]
async fn a_refused_topic_fails_each_record_with_40301() {
    let fake = Arc::new(Fake::default());
    let app = proxy(fake.clone());
    let (status, body) = post(
        &app,
        "/topics/secret",
        BINARY,
        r#"{"records":[{"value":"AA=="},{"value":"AQ=="}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let offsets = body["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 2);
    for o in offsets {
        assert_eq!(o["error_code"], json!(40301));
        assert_eq!(o["partition"], Value::Null);
        assert_eq!(
            o["error"],
            json!("Not authorized to access topics: [secret]")
        );
    }
    assert!(fake.produced.lock().is_empty());
}

#[tokio::test]
async fn avro_answers_carry_schema_ids() {
    let fake = Arc::new(Fake::default());
    let app = proxy(fake.clone());
    let (status, body) = post(
        &app,
        "/topics/t",
        AVRO,
        r#"{"key_schema":"\"string\"","value_schema":"{\"type\":\"record\",\"name\":\"V\",\"fields\":[{\"name\":\"n\",\"type\":\"long\"}]}",
            "records":[{"key":"k","value":{"n":5}},{"key":"k","value":null}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (key_id, value_id) = (
        body["key_schema_id"].as_u64().unwrap(),
        body["value_schema_id"].as_u64().unwrap(),
    );
    assert_ne!(key_id, value_id);
    let produced = fake.produced.lock();
    let data = &produced[0].topic_data[0].partition_data[0];
    let records = decode_batches(data.records.clone().unwrap()).unwrap();
    let mut value = vec![0];
    value.extend_from_slice(&(value_id as u32).to_be_bytes());
    value.push(10);
    assert_eq!(records[0].value.as_deref(), Some(&value[..]));
    assert!(records[1].value.is_none());
}
