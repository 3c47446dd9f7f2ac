use super::*;
use crate::{ResolvedReference, SchemaType};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn zigzag(v: i64, out: &mut Vec<u8>) {
    let mut u = ((v << 1) ^ (v >> 63)) as u64;
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// Writes a random datum that the compiled program describes; `depth`
/// bounds recursion (unions then pick their first variant).
fn generate(p: &AvroProgram, node: usize, rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    match &p.nodes[node] {
        AvroNode::Null | AvroNode::Fail(_) => {}
        AvroNode::Boolean => out.push(rng.below(2) as u8),
        AvroNode::Int => zigzag(rng.below(2000) as i64 - 1000, out),
        AvroNode::Long => zigzag(rng.next() as i64 >> rng.below(64), out),
        AvroNode::Float => out.extend_from_slice(&rng.next().to_le_bytes()[..4]),
        AvroNode::Double => out.extend_from_slice(&rng.next().to_le_bytes()),
        AvroNode::Bytes => {
            let n = rng.below(6);
            zigzag(n as i64, out);
            (0..n).for_each(|_| out.push(rng.next() as u8));
        }
        AvroNode::String => {
            let s = ["", "a", "héllo", "日本", "xyz"][rng.below(5) as usize];
            zigzag(s.len() as i64, out);
            out.extend_from_slice(s.as_bytes());
        }
        AvroNode::Fixed(n) => (0..*n).for_each(|_| out.push(rng.next() as u8)),
        AvroNode::Enum(symbols) => zigzag(rng.below(symbols.len() as u64) as i64, out),
        AvroNode::Array(items) | AvroNode::Map(items) => {
            let is_map = matches!(p.nodes[node], AvroNode::Map(_));
            for _ in 0..rng.below(3) {
                let n = if depth > 4 { 0 } else { rng.below(3) as i64 };
                if n == 0 {
                    break;
                }
                if rng.below(2) == 0 {
                    zigzag(n, out);
                } else {
                    let mut block = Vec::new();
                    for _ in 0..n {
                        if is_map {
                            zigzag(1, &mut block);
                            block.push(b'k');
                        }
                        generate(p, *items, rng, depth + 1, &mut block);
                    }
                    zigzag(-n, out);
                    zigzag(block.len() as i64, out);
                    out.extend_from_slice(&block);
                    continue;
                }
                for _ in 0..n {
                    if is_map {
                        zigzag(1, out);
                        out.push(b'k');
                    }
                    generate(p, *items, rng, depth + 1, out);
                }
            }
            out.push(0);
        }
        AvroNode::Union(variants) => {
            let i = if depth > 4 {
                0
            } else {
                rng.below(variants.len() as u64) as usize
            };
            zigzag(i as i64, out);
            generate(p, variants[i].1, rng, depth + 1, out);
        }
        AvroNode::Record(fields) => {
            for (_, f) in fields.iter() {
                generate(p, *f, rng, depth + 1, out);
            }
        }
        AvroNode::BigDecimal => {
            let mut inner = Vec::new();
            zigzag(2, &mut inner);
            inner.extend_from_slice(&[1, 2]);
            zigzag(rng.below(10) as i64, &mut inner);
            zigzag(inner.len() as i64, out);
            out.extend_from_slice(&inner);
        }
        AvroNode::UuidString => {
            let s = "936da01f-9abd-4d9d-80c7-02af85c822a8";
            zigzag(s.len() as i64, out);
            out.extend_from_slice(s.as_bytes());
        }
        AvroNode::UuidBytes => {
            zigzag(16, out);
            (0..16).for_each(|_| out.push(rng.next() as u8));
        }
    }
}

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    match rng.below(6) {
        0 if !bytes.is_empty() => {
            let i = rng.below(bytes.len() as u64) as usize;
            bytes[i] = rng.next() as u8;
        }
        1 if !bytes.is_empty() => {
            let n = rng.below(bytes.len() as u64) as usize;
            bytes.truncate(n);
        }
        2 => bytes.push(rng.next() as u8),
        3 if !bytes.is_empty() => {
            let i = rng.below(bytes.len() as u64) as usize;
            bytes[i] ^= 1 << rng.below(8);
        }
        _ => {}
    }
    bytes
}

const SCHEMAS: &[&str] = &[
    r#""string""#,
    r#""int""#,
    r#"{"type":"record","name":"All","namespace":"t","fields":[
        {"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},
        {"name":"l","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},
        {"name":"by","type":"bytes"},{"name":"s","type":"string"},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}},
        {"name":"fx","type":{"type":"fixed","name":"F","size":3}},
        {"name":"a","type":{"type":"array","items":"int"}},
        {"name":"m","type":{"type":"map","values":"string"}},
        {"name":"u","type":["null","string","E","F"]}]}"#,
    r#"{"type":"record","name":"Node","fields":[
        {"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#,
    r#"{"type":"record","name":"Logical","namespace":"lt","fields":[
        {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
        {"name":"decf","type":{"type":"fixed","name":"D","size":4,"logicalType":"decimal","precision":9}},
        {"name":"u","type":{"type":"string","logicalType":"uuid"}},
        {"name":"date","type":{"type":"int","logicalType":"date"}},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"dur","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}},
        {"name":"big","type":{"type":"bytes","logicalType":"big-decimal"}},
        {"name":"nested","type":{"type":"record","name":"Inner","fields":[
            {"name":"x","type":{"type":"array","items":{"type":"map","values":["null","long"]}}}]}},
        {"name":"again","type":"Inner"}]}"#,
];

fn avro(text: &str) -> ParsedSchema {
    ParsedSchema::parse(SchemaType::Avro, text, &[]).unwrap()
}

#[test]
fn compiled_avro_accepts_exactly_what_apache_avro_accepts() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for text in SCHEMAS {
        let schema = avro(text);
        let validator = PayloadValidator::new(schema.clone());
        let program = validator.avro.as_ref().unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for round in 0..4000 {
            let mut bytes = Vec::new();
            generate(program, program.root, &mut rng, 0, &mut bytes);
            if round % 2 == 1 {
                bytes = mutate(&mut rng, bytes);
            }
            let expected = validate_payload(&schema, &bytes);
            let got = validator.validate(&bytes);
            assert_eq!(
                got.is_ok(),
                expected.is_ok(),
                "{text}\n{bytes:?}\napache-avro: {expected:?}\ncompiled: {got:?}"
            );
            if got.is_ok() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(valid > 1000 && invalid > 200, "{text}: {valid} {invalid}");
    }
}

#[test]
fn avro_with_references_and_messages() {
    let inner = ResolvedReference::new(
        "com.acme.Inner",
        r#"{"type":"record","name":"Inner","namespace":"com.acme","fields":[{"name":"x","type":"int"}]}"#,
    );
    let schema = ParsedSchema::parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"Outer","namespace":"com.acme","fields":[{"name":"i","type":"Inner"}]}"#,
        &[inner],
    )
    .unwrap();
    let v = PayloadValidator::new(schema);
    v.validate(&[6]).unwrap();
    let e = v.validate(&[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "payload does not match its AVRO schema: datum is truncated"
    );
    let e = v.validate(&[6, 0]).unwrap_err().to_string();
    assert!(e.contains("1 bytes left after the datum"), "{e}");
    assert_eq!(
        v.record_name(&[6]).unwrap().as_deref(),
        Some("com.acme.Outer")
    );
}

#[test]
fn deep_recursion_is_refused_not_a_stack_overflow() {
    let v = PayloadValidator::new(avro(SCHEMAS[3]));
    // 100 linked nodes are fine.
    let mut ok = Vec::new();
    for _ in 0..100 {
        ok.extend_from_slice(&[2, 2]);
    }
    ok.extend_from_slice(&[2, 0]);
    v.validate(&ok).unwrap();
    let mut deep = Vec::new();
    for _ in 0..200_000 {
        deep.extend_from_slice(&[2, 2]);
    }
    deep.extend_from_slice(&[2, 0]);
    let e = v.validate(&deep).unwrap_err().to_string();
    assert!(e.contains("nested deeper than"), "{e}");
}

#[test]
fn huge_counts_of_empty_items_are_capped() {
    let v = PayloadValidator::new(avro(r#"{"type":"array","items":"null"}"#));
    let mut bytes = Vec::new();
    zigzag(i64::MAX / 2, &mut bytes);
    bytes.push(0);
    assert!(v.validate(&bytes).is_err());
    assert!(validate_payload(v.schema(), &bytes).is_err());
}

#[test]
fn record_names_follow_confluent() {
    assert_eq!(
        PayloadValidator::new(avro(SCHEMAS[2]))
            .record_name(&[])
            .unwrap(),
        Some("t.All".into())
    );
    // Confluent's AvroSchema.name() is null for anything but a record.
    assert_eq!(
        PayloadValidator::new(avro(r#""string""#))
            .record_name(&[])
            .unwrap(),
        None
    );
    let enum_schema = avro(r#"{"type":"enum","name":"E","symbols":["A"]}"#);
    assert_eq!(
        PayloadValidator::new(enum_schema).record_name(&[]).unwrap(),
        None
    );

    let json = |t: &str| ParsedSchema::parse(SchemaType::Json, t, &[]).unwrap();
    let titled = PayloadValidator::new(json(r#"{"title":"Order","type":"object"}"#));
    assert_eq!(titled.record_name(b"{}").unwrap(), Some("Order".into()));
    let untitled = PayloadValidator::new(json(r#"{"type":"object"}"#));
    assert_eq!(untitled.record_name(b"{}").unwrap(), None);

    let proto = ParsedSchema::parse(
        SchemaType::Protobuf,
        "syntax = \"proto3\"; package p; message A { int32 x = 1; } message B { string s = 1; }",
        &[],
    )
    .unwrap();
    let v = PayloadValidator::new(proto);
    assert!(v.name_depends_on_payload());
    assert_eq!(v.record_name(&[0, 0x08, 1]).unwrap(), Some("p.A".into()));
    assert_eq!(v.record_name(&[2, 2]).unwrap(), Some("p.B".into()));
    assert_eq!(v.record_name(&[2, 4]).unwrap(), None);
    assert!(v.record_name(&[]).is_err());
}

#[test]
fn uuid_forms() {
    for ok in [
        "936da01f9abd4d9d80c702af85c822a8",
        "936DA01F-9ABD-4D9D-80C7-02AF85C822A8",
        "{936da01f-9abd-4d9d-80c7-02af85c822a8}",
        "URN:uuid:936da01f-9abd-4d9d-80c7-02af85c822a8",
    ] {
        assert!(is_uuid(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "",
        "936da01f-9abd-4d9d-80c7-02af85c822ag",
        "936da01f+9abd-4d9d-80c7-02af85c822a8",
        "{936da01f-9abd-4d9d-80c7-02af85c822a8]",
    ] {
        assert!(!is_uuid(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn json_and_protobuf_use_the_parsed_validators() {
    let json = ParsedSchema::parse(
        SchemaType::Json,
        r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#,
        &[],
    )
    .unwrap();
    let v = PayloadValidator::new(json);
    v.validate(br#"{"n":1}"#).unwrap();
    assert!(v.validate(br#"{"n":"x"}"#).is_err());
}
