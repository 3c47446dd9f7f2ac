use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_schema_registry::http::{BoxFuture, SchemaLog, SchemaLogError};
use strata_schema_registry::records::LogRecord;

use super::*;

/// The registry's log, unused: tests build the state by replaying records.
struct NoLog;

impl SchemaLog for NoLog {
    fn append(&self, _: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async { Ok(()) })
    }
}

const USER: &str = r#"{"type":"record","name":"User","namespace":"compat","fields":[{"name":"name","type":"string"}]}"#;
const ORDER: &str = r#"{"type":"record","name":"Order","fields":[{"name":"n","type":"long"}]}"#;
const JSON_N: &str =
    r#"{"title":"N","type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#;
const PROTO: &str =
    "syntax = \"proto3\"; package p; message A { int32 x = 1; } message B { string s = 1; }";

/// A `_schemas` SCHEMA record registering `text` as `id` under `subject`.
fn schema_record(
    subject: &str,
    version: i32,
    id: u32,
    schema_type: &str,
    text: &str,
    deleted: bool,
) -> (Vec<u8>, Vec<u8>) {
    let key = serde_json::json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1});
    let value = serde_json::json!({
        "subject": subject, "version": version, "id": id, "schemaType": schema_type,
        "schema": text, "deleted": deleted,
    });
    (key.to_string().into_bytes(), value.to_string().into_bytes())
}

/// Ids: 1 User under t-value; 2 Order under other-value; 3 User again
/// under compat.User and t-compat.User (same text, same id 1 in Confluent,
/// but a distinct id keeps the cases apart); 4 "string" under t-key;
/// 5 JSON under j-value; 6 Protobuf under p.B and p.A; 7 Order under
/// t-value, soft-deleted.
fn validator() -> SchemaValidator {
    let mut registry = Registry::new();
    for (subject, version, id, t, text, deleted) in [
        ("t-value", 1, 1, "AVRO", USER, false),
        ("other-value", 1, 2, "AVRO", ORDER, false),
        ("compat.User", 1, 3, "AVRO", USER.trim_end(), false),
        ("t-compat.User", 1, 3, "AVRO", USER.trim_end(), false),
        ("t-key", 1, 4, "AVRO", r#""string""#, false),
        ("j-value", 1, 5, "JSON", JSON_N, false),
        ("p.B", 1, 6, "PROTOBUF", PROTO, false),
        ("p.A", 1, 6, "PROTOBUF", PROTO, false),
        ("t-value", 2, 7, "AVRO", ORDER, true),
    ] {
        let (k, v) = schema_record(subject, version, id, t, text, deleted);
        registry.apply(&k, Some(&v)).unwrap();
    }
    SchemaValidator::new(SchemaRegistry::new(registry, Arc::new(NoLog), "c"), 1 << 20)
}

fn framed(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Avro `User{name}`.
fn user(name: &str) -> Vec<u8> {
    let mut body = vec![(name.len() as u8) << 1];
    body.extend_from_slice(name.as_bytes());
    framed(1, &body)
}

/// A record's key and value.
type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

fn batch(records: &[KeyValue], compression: Compression) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32 - 1,
            timestamp: 1_000,
            key: k.clone().map(Bytes::from),
            value: v.clone().map(Bytes::from),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
    buf.freeze()
}

fn values(values: &[Option<Vec<u8>>]) -> Bytes {
    let records: Vec<_> = values.iter().map(|v| (None, v.clone())).collect();
    batch(&records, Compression::None)
}

const VALUE_TOPIC: ValidationConfig = ValidationConfig {
    key: None,
    value: Some(SubjectNameStrategy::Topic),
    value_payload: false,
};

fn errors(result: Result<(), Refused>) -> Vec<(usize, String)> {
    match result {
        Err(Refused::Records(errors)) => errors,
        other => panic!("expected record errors, got {other:?}"),
    }
}

#[test]
fn topic_name_strategy_checks_header_and_subject() {
    let v = validator();
    v.check("t", &VALUE_TOPIC, &values(&[Some(user("ann")), None]))
        .unwrap();
    let got = errors(v.check(
        "t",
        &VALUE_TOPIC,
        &values(&[
            Some(user("ann")),
            Some(b"plain bytes".to_vec()),
            Some(framed(2, &[2])),
            Some(framed(99, &[])),
            Some(vec![0, 0]),
            Some(framed(7, &[2])),
        ]),
    ));
    let indexes: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, vec![1, 2, 3, 4, 5], "{got:?}");
    assert_eq!(
        got[0].1,
        "value has no schema id: unknown magic byte 112, expected 0"
    );
    assert_eq!(
        got[1].1,
        "value schema id 2 is not registered under subject t-value"
    );
    assert_eq!(got[2].1, "value schema id 99 is not registered");
    assert!(got[3].1.contains("too short"), "{}", got[3].1);
    // A soft-deleted version does not count.
    assert_eq!(
        got[4].1,
        "value schema id 7 is not registered under subject t-value"
    );
    // Another topic expects another subject.
    assert_eq!(
        errors(v.check("u", &VALUE_TOPIC, &values(&[Some(user("a"))]))).len(),
        1
    );
}

#[test]
fn compressed_batches_are_decoded() {
    let v = validator();
    for compression in [Compression::Gzip, Compression::Zstd] {
        let good = batch(&[(None, Some(user("x")))], compression);
        v.check("t", &VALUE_TOPIC, &good).unwrap();
        let bad = batch(
            &[(None, Some(user("x"))), (None, Some(b"nope!".to_vec()))],
            compression,
        );
        assert_eq!(errors(v.check("t", &VALUE_TOPIC, &bad))[0].0, 1);
    }
}

#[test]
fn keys_are_checked_when_enabled_and_null_keys_pass() {
    let v = validator();
    let config = ValidationConfig {
        key: Some(SubjectNameStrategy::Topic),
        value: None,
        value_payload: false,
    };
    let key = framed(4, &[2, b'k']);
    let records = batch(
        &[
            (Some(key.clone()), Some(b"any value".to_vec())),
            (None, None),
            (Some(b"k".to_vec()), None),
            (Some(user("a")), None),
        ],
        Compression::None,
    );
    let got = errors(v.check("t", &config, &records));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, 2);
    assert!(got[0].1.starts_with("key has no schema id"), "{}", got[0].1);
    assert_eq!(
        got[1].1,
        "key schema id 1 is not registered under subject t-key"
    );
}

#[test]
fn record_name_strategies_use_the_schema_name() {
    let v = validator();
    let record = ValidationConfig {
        key: None,
        value: Some(SubjectNameStrategy::Record),
        value_payload: false,
    };
    v.check("any", &record, &values(&[Some(framed(3, &[2, b'a']))]))
        .unwrap();
    // Id 1 is registered under t-value, not compat.User.
    let got = errors(v.check("any", &record, &values(&[Some(user("a"))])));
    assert_eq!(
        got[0].1,
        "value schema id 1 is not registered under subject compat.User"
    );
    let topic_record = ValidationConfig {
        value: Some(SubjectNameStrategy::TopicRecord),
        ..record
    };
    v.check("t", &topic_record, &values(&[Some(framed(3, &[2, b'a']))]))
        .unwrap();
    assert_eq!(
        errors(v.check("u", &topic_record, &values(&[Some(framed(3, &[2, b'a']))])))[0].1,
        "value schema id 3 is not registered under subject u-compat.User"
    );
    // A schema that is not a record has no name to derive a subject from.
    let got = errors(v.check("t", &record, &values(&[Some(framed(4, &[0]))])));
    assert!(got[0].1.contains("needs a record schema"), "{}", got[0].1);
    // Protobuf: the message the indexes name.
    v.check("t", &record, &values(&[Some(framed(6, &[2, 2]))]))
        .unwrap();
    v.check("t", &record, &values(&[Some(framed(6, &[0]))]))
        .unwrap();
    let got = errors(v.check("t", &record, &values(&[Some(framed(6, &[2, 4]))])));
    assert!(got[0].1.contains("has no record name"), "{}", got[0].1);
}

#[test]
fn payload_mode_decodes_values() {
    let v = validator();
    let payload = ValidationConfig {
        value_payload: true,
        ..VALUE_TOPIC
    };
    v.check("t", &payload, &values(&[Some(user("ann")), None]))
        .unwrap();
    // Id mode does not look past the header.
    let truncated = framed(1, &[10, b'a']);
    v.check("t", &VALUE_TOPIC, &values(&[Some(truncated.clone())]))
        .unwrap();
    let got = errors(v.check("t", &payload, &values(&[Some(truncated)])));
    assert_eq!(
        got[0].1,
        "value does not match schema id 1: payload does not match its AVRO schema: datum is truncated"
    );
    let json = values(&[
        Some(framed(5, br#"{"n": 1}"#)),
        Some(framed(5, br#"{"n": "x"}"#)),
        Some(framed(5, b"{")),
    ]);
    let got = errors(v.check("j", &payload, &json));
    assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1, 2]);
    assert!(got[0].1.contains("JSON schema"), "{}", got[0].1);
    // Payload mode is for values: keys are only id-checked.
    let both = ValidationConfig {
        key: Some(SubjectNameStrategy::Topic),
        ..payload
    };
    let records = batch(
        &[(Some(framed(4, &[9])), Some(user("a")))],
        Compression::None,
    );
    v.check("t", &both, &records).unwrap();
}

#[test]
fn prepared_schemas_are_cached_by_id() {
    let v = validator();
    let payload = ValidationConfig {
        value_payload: true,
        ..VALUE_TOPIC
    };
    v.check("t", &payload, &values(&[Some(user("a"))])).unwrap();
    let first = v.prepared.read().get(&1).cloned().unwrap();
    v.check("t", &payload, &values(&[Some(user("b"))])).unwrap();
    assert!(Arc::ptr_eq(&first, v.prepared.read().get(&1).unwrap()));
}

#[test]
fn a_batch_that_does_not_decode_is_corrupt() {
    let v = validator();
    let mut bad = values(&[Some(user("a"))]).to_vec();
    bad[61] = 0x7e; // the first record's length: past the batch
    assert!(matches!(
        v.check("t", &VALUE_TOPIC, &bad),
        Err(Refused::Corrupt(_))
    ));
}

#[test]
fn strategies_and_summary() {
    assert_eq!(
        SubjectNameStrategy::parse("io.confluent.kafka.serializers.subject.RecordNameStrategy"),
        Some(SubjectNameStrategy::Record)
    );
    assert_eq!(SubjectNameStrategy::parse("RecordNameStrategy"), None);
    assert!(validate_mode("payload").is_ok() && validate_mode("full").is_err());
    let errors: Vec<(usize, String)> = (0..5).map(|i| (i, format!("bad {i}"))).collect();
    assert_eq!(
        Refused::summary(&errors),
        "One or more records have been rejected due to 5 record errors in total, and only showing \
         the first three errors at most: [RecordError(batchIndex=0, message='bad 0'), \
         RecordError(batchIndex=1, message='bad 1'), RecordError(batchIndex=2, message='bad 2')]"
    );
}
