use std::sync::Arc;

use serde_json::json;
use strata_schema_registry::http::{BoxFuture, SchemaLog, SchemaLogError, SchemaRegistry};
use strata_schema_registry::records::LogRecord;
use strata_schema_registry::registry::Registry;

use super::*;

struct MemoryLog;

impl SchemaLog for MemoryLog {
    fn append(&self, _records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async { Ok(()) })
    }
}

fn registry() -> Arc<SchemaRegistry> {
    SchemaRegistry::new(Registry::new(), Arc::new(MemoryLog), "cluster")
}

const USER: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":["null","int"]}]}"#;

fn text(schema_type: SchemaType, text: &str) -> Option<SchemaSpec> {
    Some(SchemaSpec::Text {
        schema_type,
        text: text.into(),
    })
}

#[tokio::test]
async fn avro_text_is_registered_and_values_are_framed() {
    let r = registry();
    let e = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        text(SchemaType::Avro, USER),
    )
    .await
    .unwrap();
    let id = e.schema_id().unwrap();
    assert_eq!(r.read().version_with_id("t-value", id, false), Some(1));
    let bytes = e
        .encode(&json!({"name": "ann", "age": {"int": 3}}))
        .unwrap()
        .unwrap();
    let mut want = vec![0];
    want.extend_from_slice(&id.to_be_bytes());
    want.extend_from_slice(&[6, b'a', b'n', b'n', 2, 6]);
    assert_eq!(&bytes[..], &want[..]);
    assert_eq!(
        decode(&r, EmbeddedFormat::Avro, Some(&bytes)).unwrap(),
        json!({"name": "ann", "age": {"int": 3}})
    );
    // The same text again: the same id, no new version.
    let again = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        text(SchemaType::Avro, USER),
    )
    .await
    .unwrap();
    assert_eq!(again.schema_id(), Some(id));
    assert_eq!(r.read().versions("t-value", false).unwrap(), vec![1]);
    // By id (registered under the subject) and by version.
    let by_id = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        Some(SchemaSpec::Id(id)),
    )
    .await
    .unwrap();
    assert_eq!(
        by_id
            .encode(&json!({"name": "ann", "age": {"int": 3}}))
            .unwrap(),
        Some(bytes.clone())
    );
    let latest = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        Some(SchemaSpec::Version {
            subject: "t-value".into(),
            version: None,
        }),
    )
    .await
    .unwrap();
    assert_eq!(latest.schema_id(), Some(id));
}

#[tokio::test]
async fn schema_errors_are_confluents() {
    let r = registry();
    // No schema: 42201 for keys, 42202 for values; null is fine.
    let key = Encoder::prepare(&r, EmbeddedFormat::Avro, "t-key", None)
        .await
        .unwrap();
    assert_eq!(key.encode(&json!("k")).unwrap_err().error_code, 42201);
    assert_eq!(key.encode(&Value::Null).unwrap(), None);
    let value = Encoder::prepare(&r, EmbeddedFormat::Protobuf, "t-value", None)
        .await
        .unwrap();
    assert_eq!(value.encode(&json!({})).unwrap_err().error_code, 42202);
    // Unparsable schema: 42205.
    let bad = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        text(SchemaType::Avro, "{"),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.error_code, 42205);
    // Unknown id, or an id not registered under the subject: 42207.
    let unknown = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        Some(SchemaSpec::Id(99)),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.error_code, 42207);
    let e = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "other-value",
        text(SchemaType::Avro, USER),
    )
    .await
    .unwrap();
    let elsewhere = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        Some(SchemaSpec::Id(e.schema_id().unwrap())),
    )
    .await
    .unwrap_err();
    assert_eq!(elsewhere.error_code, 42207);
    // A value that does not match: 42203.
    let err = e.encode(&json!({"name": 1, "age": null})).unwrap_err();
    assert_eq!(err.error_code, 42203);
    assert_eq!(
        err.message,
        "Conversion of JSON to Object failed: Expected string. Got VALUE_NUMBER_INT"
    );
    // An incompatible schema under a subject: 42207 (the registry refused it).
    let incompatible = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "other-value",
        text(
            SchemaType::Avro,
            r#"{"type":"record","name":"User","fields":[{"name":"n","type":"long"}]}"#,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(incompatible.error_code, 42207, "{}", incompatible.message);
}

#[tokio::test]
async fn jsonschema_validates_and_keeps_the_text() {
    let r = registry();
    let schema = r#"{"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"string"}},"required":["b"]}"#;
    let e = Encoder::prepare(
        &r,
        EmbeddedFormat::JsonSchema,
        "t-value",
        text(SchemaType::Json, schema),
    )
    .await
    .unwrap();
    let raw: Box<RawValue> = serde_json::from_str(r#"{ "b" : 1, "a": "x y" }"#).unwrap();
    let bytes = e.encode_raw(Some(&raw)).unwrap().unwrap();
    assert_eq!(&bytes[5..], br#"{"b":1,"a":"x y"}"#);
    assert_eq!(
        decode(&r, EmbeddedFormat::JsonSchema, Some(&bytes)).unwrap(),
        json!({"a": "x y", "b": 1})
    );
    let err = e.encode(&json!({"a": "x"})).unwrap_err();
    assert_eq!(err.error_code, 42203, "{}", err.message);
    let err = e.encode(&json!({"b": "x"})).unwrap_err();
    assert_eq!(err.error_code, 42203, "{}", err.message);
}

#[tokio::test]
async fn protobuf_writes_the_first_message_after_index_zero() {
    let r = registry();
    let proto = "syntax = \"proto3\";\nmessage Point { int32 x = 1; int32 y = 2; }\nmessage Other { string s = 1; }\n";
    let e = Encoder::prepare(
        &r,
        EmbeddedFormat::Protobuf,
        "t-value",
        text(SchemaType::Protobuf, proto),
    )
    .await
    .unwrap();
    let id = e.schema_id().unwrap();
    let bytes = e.encode(&json!({"x": 1, "y": 2})).unwrap().unwrap();
    let mut want = vec![0];
    want.extend_from_slice(&id.to_be_bytes());
    want.extend_from_slice(&[0, 0x08, 1, 0x10, 2]);
    assert_eq!(&bytes[..], &want[..]);
    assert_eq!(
        decode(&r, EmbeddedFormat::Protobuf, Some(&bytes)).unwrap(),
        json!({"x": 1, "y": 2})
    );
    assert_eq!(e.encode(&json!({"z": 1})).unwrap_err().error_code, 42203);
    // A payload naming the second message decodes as that message.
    let mut other = vec![0];
    other.extend_from_slice(&id.to_be_bytes());
    other.extend_from_slice(&[2, 2, 0x0a, 1, b'q']);
    assert_eq!(
        decode(&r, EmbeddedFormat::Protobuf, Some(&other)).unwrap(),
        json!({"s": "q"})
    );
}

#[tokio::test]
async fn undecodable_records_are_40801() {
    let r = registry();
    assert_eq!(
        decode(&r, EmbeddedFormat::Avro, Some(b"plain"))
            .unwrap_err()
            .error_code,
        40801
    );
    assert_eq!(
        decode(&r, EmbeddedFormat::Avro, Some(&[0, 0, 0, 0, 42, 1]))
            .unwrap_err()
            .error_code,
        40801
    );
    assert_eq!(decode(&r, EmbeddedFormat::Avro, None).unwrap(), Value::Null);
    // A schema of another format.
    let e = Encoder::prepare(
        &r,
        EmbeddedFormat::Avro,
        "t-value",
        text(SchemaType::Avro, r#""string""#),
    )
    .await
    .unwrap();
    let bytes = e.encode(&json!("s")).unwrap().unwrap();
    assert_eq!(
        decode(&r, EmbeddedFormat::Avro, Some(&bytes)).unwrap(),
        json!("s")
    );
    assert_eq!(
        decode(&r, EmbeddedFormat::Protobuf, Some(&bytes))
            .unwrap_err()
            .error_code,
        40801
    );
}

#[test]
fn binary_and_json_follow_kafka_rest() {
    let raw = |s: &str| -> Box<RawValue> { serde_json::from_str(s).unwrap() };
    let e = Encoder {
        format: EmbeddedFormat::Binary,
        key: false,
        schema: None,
    };
    assert_eq!(
        e.encode_raw(Some(&raw(r#""aGk=""#))).unwrap().unwrap(),
        &b"hi"[..]
    );
    assert_eq!(
        e.encode_raw(Some(&raw(r#""aGk""#))).unwrap().unwrap(),
        &b"hi"[..]
    );
    assert_eq!(e.encode_raw(Some(&raw("null"))).unwrap(), None);
    assert_eq!(e.encode_raw(None).unwrap(), None);
    let bad = e.encode_raw(Some(&raw(r#""!!""#))).unwrap_err();
    assert_eq!((bad.status.as_u16(), bad.error_code), (400, 400));
    assert_eq!(
        bad.message,
        r#"Bad Request: data="!!" is not a valid base64 string."#
    );
    assert_eq!(e.encode_raw(Some(&raw("12"))).unwrap_err().error_code, 400);
    let j = Encoder {
        format: EmbeddedFormat::Json,
        key: false,
        schema: None,
    };
    assert_eq!(
        j.encode_raw(Some(&raw("{ \"z\" : [1, 2], \"a\" : \"s p\\\" \" }")))
            .unwrap()
            .unwrap(),
        &b"{\"z\":[1,2],\"a\":\"s p\\\" \"}"[..]
    );
}
