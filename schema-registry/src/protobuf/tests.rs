//! Tests written from Confluent's documented Protobuf compatibility rules.

use super::compat::incompatibilities;
use super::*;

fn parse(text: &str) -> ProtobufSchema {
    ProtobufSchema::parse(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Incompatible differences for BACKWARD from `old` to `new`.
fn backward(old: &str, new: &str) -> Vec<(&'static str, String)> {
    incompatibilities(&parse(new), &parse(old))
        .into_iter()
        .map(|i| (i.error_type, i.path))
        .collect()
}

fn one(t: &'static str, p: &str) -> Vec<(&'static str, String)> {
    vec![(t, p.to_owned())]
}

fn p3(body: &str) -> String {
    format!("syntax = \"proto3\";\npackage acme;\n{body}")
}

#[test]
fn invalid_schemas_are_42201() {
    for bad in [
        "not a proto",
        "syntax = \"proto3\"; message M { string a = 1; string b = 1; }",
        "syntax = \"proto3\"; import \"missing.proto\"; message M { Other o = 1; }",
        "syntax = \"proto3\"; message M { Unknown u = 1; }",
    ] {
        let e = ProtobufSchema::parse(bad, &[]).unwrap_err();
        assert_eq!(e.error_code(), 42201, "{bad}");
    }
}

#[test]
fn imports_resolve_from_references_and_well_known_types() {
    let other = ResolvedReference::new(
        "other.proto",
        "syntax = \"proto3\"; package other; message Other { string s = 1; }",
    );
    let root = "syntax = \"proto3\"; import \"other.proto\"; import \"google/protobuf/timestamp.proto\";\n\
                message M { other.Other o = 1; google.protobuf.Timestamp t = 2; }";
    let s = ProtobufSchema::parse(root, &[other]).unwrap();
    assert!(s.pool().get_message_by_name("other.Other").is_some());
    assert!(ProtobufSchema::parse(root, &[]).is_err());
}

#[test]
fn canonical_ignores_comments_and_layout() {
    let a = parse("syntax = \"proto3\";\nmessage M {\n  string a = 1; // comment\n}\n");
    let b = parse("syntax=\"proto3\"; /* c */ message M { string a = 1; }");
    assert_eq!(a.canonical(), b.canonical());
    let c = parse("syntax=\"proto3\"; message M { string b = 1; }");
    assert_ne!(a.canonical(), c.canonical());
}

#[test]
fn message_indexes_select_nested_messages() {
    let s = parse(&p3(
        "message A { message B {} message C { message D {} } } message E {}",
    ));
    assert_eq!(s.message_by_indexes(&[0]).unwrap().full_name(), "acme.A");
    assert_eq!(s.message_by_indexes(&[1]).unwrap().full_name(), "acme.E");
    assert_eq!(
        s.message_by_indexes(&[0, 1, 0]).unwrap().full_name(),
        "acme.A.C.D"
    );
    assert!(s.message_by_indexes(&[2]).is_none());
    assert!(s.message_by_indexes(&[-1]).is_none());
}

#[test]
fn adding_and_removing_optional_fields_is_compatible() {
    let v1 = p3("message M { string a = 1; int32 b = 2; }");
    assert!(backward(
        &v1,
        &p3("message M { string a = 1; int32 b = 2; string c = 3; }")
    )
    .is_empty());
    assert!(backward(&v1, &p3("message M { string a = 1; }")).is_empty());
    // Renaming a field keeps its number: compatible.
    assert!(backward(&v1, &p3("message M { string renamed = 1; int32 b = 2; }")).is_empty());
    // New messages and enums are compatible.
    assert!(backward(
        &v1,
        &p3("message M { string a = 1; int32 b = 2; } message N {} enum E { X = 0; }")
    )
    .is_empty());
}

#[test]
fn field_type_changes() {
    let v1 = p3("message M { int32 a = 1; string s = 2; Sub m = 3; } message Sub { int32 x = 1; }");
    // Same wire group: compatible.
    assert!(backward(
        &v1,
        &p3("message M { int64 a = 1; bytes s = 2; Sub m = 3; } message Sub { int32 x = 1; }")
    )
    .is_empty());
    assert_eq!(
        backward(
            &v1,
            &p3(
                "message M { sint32 a = 1; string s = 2; Sub m = 3; } message Sub { int32 x = 1; }"
            )
        ),
        one("FIELD_SCALAR_KIND_CHANGED", "#/M/1")
    );
    assert_eq!(
        backward(
            &v1,
            &p3("message M { int32 a = 1; Sub s = 2; Sub m = 3; } message Sub { int32 x = 1; }")
        ),
        one("FIELD_KIND_CHANGED", "#/M/2")
    );
    assert_eq!(
        backward(&v1, &p3("message M { int32 a = 1; string s = 2; Other m = 3; } message Sub { int32 x = 1; } message Other { int32 x = 1; }")),
        one("FIELD_NAMED_TYPE_CHANGED", "#/M/3")
    );
    // The referenced message changing incompatibly is reported too.
    let e = backward(
        &v1,
        &p3("message M { int32 a = 1; string s = 2; Sub m = 3; } message Sub { double x = 1; }"),
    );
    assert!(
        e.contains(&("FIELD_NAMED_TYPE_CHANGED", "#/M/3".to_owned())),
        "{e:?}"
    );
    assert!(
        e.contains(&("FIELD_SCALAR_KIND_CHANGED", "#/Sub/1".to_owned())),
        "{e:?}"
    );
    // Enums are in the varint group.
    assert!(backward(
        &p3("message M { int32 a = 1; }"),
        &p3("message M { E a = 1; } enum E { Z = 0; }")
    )
    .is_empty());
    // Repeated numeric label changes are incompatible; string ones are not.
    assert_eq!(
        backward(&v1, &p3("message M { repeated int32 a = 1; string s = 2; Sub m = 3; } message Sub { int32 x = 1; }")),
        one("FIELD_NUMERIC_LABEL_CHANGED", "#/M/1")
    );
    assert!(backward(&v1, &p3("message M { int32 a = 1; repeated string s = 2; Sub m = 3; } message Sub { int32 x = 1; }")).is_empty());
    // Map value types are compared.
    assert_eq!(
        backward(
            &p3("message M { map<string, int32> m = 1; }"),
            &p3("message M { map<string, string> m = 1; }")
        ),
        one("FIELD_SCALAR_KIND_CHANGED", "#/M/1")
    );
}

#[test]
fn messages_removed_or_renamed_are_incompatible() {
    let v1 = p3("message M { int32 a = 1; } message N { int32 b = 1; }");
    assert_eq!(
        backward(&v1, &p3("message M { int32 a = 1; }")),
        one("MESSAGE_REMOVED", "#/N")
    );
    assert_eq!(
        backward(
            &v1,
            &p3("message M { int32 a = 1; } message Renamed { int32 b = 1; }")
        ),
        one("MESSAGE_REMOVED", "#/N")
    );
    // A package rename alone is compatible (Confluent 7.x+).
    let moved = "syntax = \"proto3\";\npackage other;\nmessage M { int32 a = 1; } message N { int32 b = 1; }";
    assert!(backward(&v1, moved).is_empty());
    // Nested messages too.
    assert_eq!(
        backward(&p3("message M { message In {} }"), &p3("message M {}")),
        one("MESSAGE_REMOVED", "#/M/In")
    );
}

#[test]
fn proto2_required_fields() {
    let p2 = |body: &str| format!("syntax = \"proto2\";\n{body}");
    let v1 = p2("message M { required int32 a = 1; }");
    assert_eq!(
        backward(&v1, &p2("message M { }")),
        one("REQUIRED_FIELD_REMOVED", "#/M/1")
    );
    assert_eq!(
        backward(
            &v1,
            &p2("message M { required int32 a = 1; required int32 b = 2; }")
        ),
        one("REQUIRED_FIELD_ADDED", "#/M/2")
    );
    assert!(backward(
        &v1,
        &p2("message M { required int32 a = 1; optional int32 b = 2; }")
    )
    .is_empty());
}

#[test]
fn oneof_rules() {
    let v1 =
        p3("message M { oneof choice { string a = 1; int32 b = 2; } int32 c = 3; int32 d = 4; }");
    // Adding a member, or a new oneof, is compatible.
    assert!(backward(&v1, &p3("message M { oneof choice { string a = 1; int32 b = 2; bool e = 5; } int32 c = 3; int32 d = 4; }")).is_empty());
    // Removing a member of a surviving oneof is not.
    assert_eq!(
        backward(
            &v1,
            &p3("message M { oneof choice { string a = 1; } int32 c = 3; int32 d = 4; }")
        ),
        one("ONEOF_FIELD_REMOVED", "#/M/choice/2")
    );
    // Removing the whole oneof is.
    assert!(backward(&v1, &p3("message M { int32 c = 3; int32 d = 4; }")).is_empty());
    // Moving one field into an existing oneof, or two into a new one, is not.
    assert_eq!(
        backward(&v1, &p3("message M { oneof choice { string a = 1; int32 b = 2; int32 c = 3; } int32 d = 4; }")),
        one("FIELD_MOVED_TO_EXISTING_ONEOF", "#/M/choice")
    );
    assert_eq!(
        backward(&v1, &p3("message M { oneof choice { string a = 1; int32 b = 2; } oneof two { int32 c = 3; int32 d = 4; } }")),
        one("MULTIPLE_FIELDS_MOVED_TO_ONEOF", "#/M/two")
    );
    // One field alone into a new oneof is compatible, and so is moving out.
    assert!(backward(&v1, &p3("message M { oneof choice { string a = 1; int32 b = 2; } oneof one { int32 c = 3; } int32 d = 4; }")).is_empty());
    assert!(backward(
        &v1,
        &p3("message M { string a = 1; oneof choice { int32 b = 2; } int32 c = 3; int32 d = 4; }")
    )
    .is_empty());
    // proto3 `optional` (a synthetic oneof) is not a oneof.
    assert!(backward(
        &p3("message M { int32 a = 1; }"),
        &p3("message M { optional int32 a = 1; }")
    )
    .is_empty());
}

#[test]
fn messages_are_confluents() {
    let e = incompatibilities(
        &parse(&p3("message M { string a = 1; }")),
        &parse(&p3("message M { int32 a = 1; }")),
    );
    assert_eq!(
        e[0].describe("new", "old"),
        "{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/M/1' in the new schema does not match its kind in the old schema\"}"
    );
}

#[test]
fn base64_file_descriptors_are_accepted() {
    use base64::Engine as _;
    use prost::Message as _;
    let text = p3("message Thing { string a = 1; }");
    let compiled = parse(&text);
    let mut proto = compiled.file().file_descriptor_proto().clone();
    proto.name = Some("thing.proto".into());
    let encoded = base64::engine::general_purpose::STANDARD.encode(proto.encode_to_vec());
    let from_descriptor = ProtobufSchema::parse(&encoded, &[]).unwrap();
    assert_eq!(from_descriptor.canonical(), compiled.canonical());
    assert_eq!(
        from_descriptor.text(),
        "syntax = \"proto3\";\npackage acme;\n\nmessage Thing {\n  string a = 1;\n}\n"
    );
    assert!(ProtobufSchema::parse("bm90IGEgZGVzY3JpcHRvcg==", &[]).is_err());
}

/// Confluent's `format=serialized`: a base64 `FileDescriptorProto` that
/// compiles to the same schema (what the Python and Go deserializers read).
#[test]
fn serialized_is_a_base64_file_descriptor() {
    use base64::Engine as _;
    use prost::Message as _;
    let text = p3("import \"google/protobuf/timestamp.proto\";\nmessage Thing { string a = 1; google.protobuf.Timestamp at = 2; }");
    let schema = parse(&text);
    let serialized = schema.serialized();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&serialized)
        .unwrap();
    let proto = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(proto.message_type[0].name.as_deref(), Some("Thing"));
    assert_eq!(proto.dependency, ["google/protobuf/timestamp.proto"]);
    assert_eq!(proto.name, None);
    let again = ProtobufSchema::parse(&serialized, &[]).unwrap();
    assert_eq!(again.canonical(), schema.canonical());
}
