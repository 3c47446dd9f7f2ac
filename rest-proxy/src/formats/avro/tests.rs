use super::*;
use serde_json::json;

fn codec(text: &str) -> Codec {
    let schema = Schema::parse_str(text).unwrap();
    Codec::compile(&schema, &[]).unwrap()
}

fn encode(c: &Codec, v: Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    c.encode(&v, &mut out).map(|()| out)
}

#[test]
fn records_unions_and_collections_match_apache_avro() {
    let text = r#"{"type":"record","name":"User","namespace":"com.example","fields":[
        {"name":"name","type":"string"},
        {"name":"age","type":"int"},
        {"name":"email","type":["null","string"]},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"attrs","type":{"type":"map","values":"long"}},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
        {"name":"raw","type":"bytes"},
        {"name":"hash","type":{"type":"fixed","name":"Hash","size":2}},
        {"name":"score","type":"double"},
        {"name":"next","type":["null","User"]}
    ]}"#;
    let c = codec(text);
    let input = json!({
        "name": "ann", "age": 30, "email": {"string": "a@x"}, "tags": ["t1", "t2"],
        "attrs": {"k": 5}, "kind": "B", "raw": "\u{00ff}\u{0001}", "hash": "ab",
        "score": 1.5,
        "next": {"com.example.User": {"name": "bob", "age": -1, "email": null, "tags": [],
            "attrs": {}, "kind": "A", "raw": "", "hash": "zz", "score": 0, "next": null}}
    });
    let bytes = encode(&c, input.clone()).unwrap();

    // apache-avro reads what we wrote back as the same values.
    let schema = Schema::parse_str(text).unwrap();
    let read = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .unwrap()
        .read_value(&mut &bytes[..])
        .unwrap();
    let apache_avro::types::Value::Record(fields) = read else {
        panic!("not a record")
    };
    assert_eq!(fields[0].1, apache_avro::types::Value::String("ann".into()));
    assert_eq!(fields[1].1, apache_avro::types::Value::Int(30));
    assert_eq!(
        fields[6].1,
        apache_avro::types::Value::Bytes(vec![0xff, 0x01])
    );

    // And decoding gives the JSON encoding back (score 0 reads as 0.0).
    let mut expected = input;
    expected["next"]["com.example.User"]["score"] = json!(0.0);
    assert_eq!(c.decode(&bytes).unwrap(), expected);
}

#[test]
fn errors_are_worded_as_java_json_decoder() {
    let c = codec(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"u","type":["null","string"]}]}"#,
    );
    assert_eq!(
        encode(&c, json!({"u": null})).unwrap_err(),
        "Expected field name not found: a"
    );
    assert_eq!(
        encode(&c, json!({"a": "x", "u": null})).unwrap_err(),
        "Expected int. Got VALUE_STRING"
    );
    assert_eq!(
        encode(&c, json!({"a": 1, "u": "plain"})).unwrap_err(),
        "Expected start-union. Got VALUE_STRING"
    );
    assert_eq!(
        encode(&c, json!({"a": 1, "u": {"int": 1}})).unwrap_err(),
        "Unknown union branch int"
    );
    assert_eq!(
        encode(&c, json!({"a": 3_000_000_000i64, "u": null})).unwrap_err(),
        "Numeric value (3000000000) out of range of int"
    );
    assert_eq!(
        encode(&c, json!([1])).unwrap_err(),
        "Expected record-start. Got START_ARRAY"
    );
    // Unknown fields are ignored; fractions truncate.
    assert_eq!(
        encode(&c, json!({"a": 2.9, "u": null, "x": 1})).unwrap(),
        vec![4, 0]
    );
}

#[test]
fn top_level_union_decodes_to_the_branch_value() {
    let c = codec(r#"["null","string"]"#);
    let bytes = encode(&c, json!({"string": "hi"})).unwrap();
    assert_eq!(bytes, vec![2, 4, b'h', b'i']);
    assert_eq!(c.decode(&bytes).unwrap(), json!("hi"));
    assert_eq!(c.decode(&[0]).unwrap(), Value::Null);
}

#[test]
fn logical_types_use_their_underlying_type() {
    let c = codec(
        r#"{"type":"record","name":"R","fields":[
        {"name":"d","type":{"type":"int","logicalType":"date"}},
        {"name":"t","type":["null",{"type":"long","logicalType":"timestamp-millis"}]},
        {"name":"m","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}}
    ]}"#,
    );
    let bytes = encode(
        &c,
        json!({"d": 1, "t": {"long": 2}, "m": "\u{0004}\u{00d2}"}),
    )
    .unwrap();
    assert_eq!(bytes, vec![2, 2, 4, 4, 0x04, 0xd2]);
}

#[test]
fn floats_print_shortest_and_non_finite_as_strings() {
    let c = codec(r#"{"type":"array","items":"float"}"#);
    let bytes = encode(&c, json!([1.1, "NaN", "-Infinity"])).unwrap();
    assert_eq!(c.decode(&bytes).unwrap(), json!([1.1, "NaN", "-Infinity"]));
}

#[test]
fn truncated_or_overlong_binary_is_refused() {
    let c = codec(r#"{"type":"array","items":"long"}"#);
    assert!(c.decode(&[0x02]).is_err());
    assert!(c.decode(&[0x00, 0x00]).is_err());
    assert!(c.decode(&[0xfe, 0xff, 0xff, 0xff, 0x0f]).is_err());
}
