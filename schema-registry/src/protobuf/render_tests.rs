//! `.proto` text written from descriptors: Confluent's normalization
//! (`ProtobufSchema.normalize()`, `ProtobufSchemaUtils.toNormalizedString`),
//! base64 `FileDescriptorProto` schemas turned into text (Confluent's
//! `toProtoFile(FileDescriptorProto)`), and the built-in Confluent imports.

use base64::Engine as _;
use prost::Message as _;

use super::*;

fn parse(text: &str) -> ProtobufSchema {
    ProtobufSchema::parse(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What Python's serializer registers: protoc's descriptor, without
/// `json_name` and source info, under the file's own name.
fn python_descriptor(schema: &ProtobufSchema, name: &str) -> String {
    let mut proto = schema.file().file_descriptor_proto().clone();
    proto.name = Some(name.to_owned());
    for m in &mut proto.message_type {
        for f in &mut m.field {
            f.json_name = None;
        }
    }
    b64(&proto.encode_to_vec())
}

const RICH: &str = r#"syntax = "proto3";
package acme.v1;
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
option java_package = "com.acme";
option go_package = "acme/v1";
message Order {
  option (confluent.message_meta).doc = "an order";
  message Line { string sku = 1; int32 qty = 2; }
  string id = 1 [(confluent.field_meta) = { tags: ["PII"] }, deprecated = true];
  map<string, Line> lines = 2;
  oneof payment { string card = 3; string iban = 4; }
  optional string note = 5;
  repeated google.protobuf.Timestamp events = 6;
  Status status = 7;
  reserved 9, 12 to 14;
  reserved "old";
  enum Status { STATUS_UNSPECIFIED = 0; STATUS_OPEN = 1; }
}
enum Region { REGION_UNSPECIFIED = 0; REGION_EU = 1; }
service Orders { rpc Get (Order) returns (stream Order); }
"#;

#[test]
fn normalize_ignores_layout_comments_and_the_order_of_options_imports_and_fields() {
    let a = r#"syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
option java_package = "com.acme";
option java_multiple_files = true;
// an order
message Order {
  string id = 1 [deprecated = true, json_name = "ident"];
  google.protobuf.Timestamp at = 2;
  oneof pay { string card = 3; string iban = 4; }
}
"#;
    let b = r#"syntax="proto3"; package acme;
import "confluent/meta.proto"; import "google/protobuf/timestamp.proto";
option java_multiple_files=true; option java_package="com.acme";
message Order { /* fields out of order */
  oneof pay { string iban = 4; string card = 3; }
  .google.protobuf.Timestamp at = 2;
  string id = 1 [json_name = "ident", deprecated = true];
}"#;
    let (a, b) = (parse(a), parse(b));
    assert_ne!(a.canonical(), b.canonical());
    assert_eq!(a.normalized(), b.normalized());
    let (na, nb) = (parse(&a.normalized()), parse(&b.normalized()));
    assert_eq!(na.canonical(), nb.canonical());
}

/// The layout of Confluent's normalized text: imports sorted, options
/// sorted by name, fields by number, oneofs after the fields, types fully
/// qualified with a leading dot, maps as `map<K, V>`.
#[test]
fn normalized_text_is_confluents_layout() {
    let s = parse(
        r#"syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
option java_package = "com.acme";
option go_package = "acme";
message M {
  oneof o { string b = 4; string a = 3; }
  map<string, Inner> m = 2;
  google.protobuf.Timestamp t = 1 [deprecated = true, (confluent.field_meta).tags = "PII"];
  message Inner { int32 x = 1; }
}
enum E { E0 = 0; E2 = 2; E1 = 1; }
"#,
    );
    let expected = r#"syntax = "proto3";
package acme;

import "confluent/meta.proto";
import "google/protobuf/timestamp.proto";

option go_package = "acme";
option java_package = "com.acme";

message M {
  .google.protobuf.Timestamp t = 1 [
    (.confluent.field_meta) = {
      tags: [
        "PII"
      ]
    },
    deprecated = true
  ];
  map<string, .acme.M.Inner> m = 2;
  oneof o {
    string a = 3;
    string b = 4;
  }

  message Inner {
    int32 x = 1;
  }
}
enum E {
  E0 = 0;
  E1 = 1;
  E2 = 2;
}
"#;
    assert_eq!(s.normalized(), expected);
}

#[test]
fn normalized_text_compiles_to_a_compatible_schema_and_is_stable() {
    let s = parse(RICH);
    let normalized = parse(&s.normalized());
    assert_eq!(normalized.normalized(), s.normalized());
    assert!(super::compat::incompatibilities(&normalized, &s).is_empty());
    assert!(super::compat::incompatibilities(&s, &normalized).is_empty());
    // Message order (and so message indexes) is kept.
    let names = |s: &ProtobufSchema| {
        s.file()
            .messages()
            .flat_map(|m| {
                std::iter::once(m.full_name().to_owned())
                    .chain(m.child_messages().map(|c| c.full_name().to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&normalized), names(&s));
}

/// Written as is, a file compiles back to the same descriptor: field,
/// nested-type (message indexes), oneof, extension and enum-value order,
/// proto2 labels, defaults and groups.
#[test]
fn written_text_compiles_back_to_the_same_schema() {
    let proto2 = r#"syntax = "proto2";
package p;
message M {
  optional string s = 1 [default = "a\"b\n"];
  optional bytes b = 2 [default = "\001x"];
  optional double d = 3 [default = inf];
  required int32 r = 4;
  optional group G = 5 { optional int32 q = 1; }
  optional E e = 6 [default = Y];
  message N {}
  map<string, N> m = 7;
  extensions 100 to 199;
  enum E { X = 0; Y = 1; }
}
extend M { optional string ext = 100; }
extend google.protobuf.FieldOptions { optional string label = 50000; }
import "google/protobuf/descriptor.proto";
"#;
    let interleaved = r#"syntax = "proto3";
message A {
  message Before { int32 x = 1; }
  string a = 1;
  map<int32, string> m = 2;
  oneof o { string b = 3; string c = 4; }
  string d = 5;
  message After { int32 y = 1; }
}
enum Aliased { option allow_alias = true; Z = 0; ONE = 1; UNO = 1; }
"#;
    for text in [RICH, proto2, interleaved] {
        let s = parse(text);
        let written = render::render(s.file(), false);
        let again = parse(&written);
        assert_eq!(again.canonical(), s.canonical(), "{written}");
        for indexes in [[0, 0], [0, 1]] {
            assert_eq!(
                again
                    .message_by_indexes(&indexes)
                    .map(|m| m.full_name().to_owned()),
                s.message_by_indexes(&indexes)
                    .map(|m| m.full_name().to_owned()),
            );
        }
    }
}

#[test]
fn base64_descriptors_become_proto_text_with_the_ids_of_the_text() {
    let text = parse(RICH);
    // Python: no json_name; the custom options are lost by prost-types here,
    // so compare with the text without them.
    let plain = RICH
        .replace(
            "[(confluent.field_meta) = { tags: [\"PII\"] }, deprecated = true]",
            "[deprecated = true]",
        )
        .replace("option (confluent.message_meta).doc = \"an order\";", "");
    let plain = parse(&plain);
    let from_python =
        ProtobufSchema::parse(&python_descriptor(&plain, "acme/v1/order.proto"), &[]).unwrap();
    assert!(from_python
        .text()
        .starts_with("syntax = \"proto3\";\npackage acme.v1;\n"));
    assert!(from_python
        .text()
        .contains("map<string, .acme.v1.Order.Line> lines = 2;"));
    assert_eq!(from_python.canonical(), plain.canonical());
    // Go and Java: every field's json_name, and the custom options, kept.
    let from_go = ProtobufSchema::parse(&b64(&text.file().encode_to_vec()), &[]).unwrap();
    assert_eq!(from_go.canonical(), text.canonical());
    assert!(
        from_go.text().contains("(.confluent.field_meta)"),
        "{}",
        from_go.text()
    );
    assert!(!from_go.text().contains("json_name"));
    assert!(ProtobufSchema::parse("bm90IGEgZGVzY3JpcHRvcg==", &[]).is_err());
}

#[test]
fn base64_references_resolve() {
    let other = parse("syntax = \"proto3\"; package other; message Other { string s = 1; }");
    let reference = ResolvedReference::new("other.proto", python_descriptor(&other, "other.proto"));
    let root = parse_with(
        "syntax = \"proto3\"; import \"other.proto\"; message M { other.Other o = 1; }",
        std::slice::from_ref(&reference),
    );
    let mut proto = root.file().file_descriptor_proto().clone();
    proto.name = Some("root.proto".into());
    let from_b64 = ProtobufSchema::parse(&b64(&proto.encode_to_vec()), &[reference]).unwrap();
    assert!(from_b64.text().contains("import \"other.proto\";"));
    assert_eq!(from_b64.canonical(), root.canonical());
}

fn parse_with(text: &str, refs: &[ResolvedReference]) -> ProtobufSchema {
    ProtobufSchema::parse(text, refs).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `confluent/meta.proto` and `confluent/type/decimal.proto` are built in,
/// as in Confluent; a reference of the same name wins.
#[test]
fn confluent_imports_are_built_in() {
    let s = parse(
        r#"syntax = "proto3";
import "confluent/meta.proto";
import "confluent/type/decimal.proto";
message Payment {
  option (confluent.message_meta) = { doc: "a payment", params: [{ key: "k", value: "v" }] };
  string card = 1 [(confluent.field_meta).tags = "PII"];
  confluent.type.Decimal amount = 2;
}
"#,
    );
    assert!(s
        .pool()
        .get_message_by_name("confluent.type.Decimal")
        .is_some());
    assert!(s
        .pool()
        .get_extension_by_name("confluent.field_meta")
        .is_some());
    let own = ResolvedReference::new(
        "confluent/type/decimal.proto",
        "syntax = \"proto3\"; package confluent.type; message Decimal { string text = 1; }",
    );
    let s = parse_with(
        "syntax = \"proto3\"; import \"confluent/type/decimal.proto\"; message P { confluent.type.Decimal d = 1; }",
        &[own],
    );
    let decimal = s
        .pool()
        .get_message_by_name("confluent.type.Decimal")
        .unwrap();
    assert!(decimal.get_field_by_name("text").is_some());
}

/// Data-contract tags are part of the schema: Confluent's canonical text
/// holds the options, so a tag change is a new schema.
#[test]
fn custom_options_are_part_of_the_canonical_form() {
    let with = |tag: &str| {
        parse(&format!(
            "syntax = \"proto3\"; import \"confluent/meta.proto\"; message M {{ string s = 1 [(confluent.field_meta).tags = \"{tag}\"]; }}"
        ))
    };
    assert_ne!(with("PII").canonical(), with("PUBLIC").canonical());
    assert_eq!(with("PII").canonical(), with("PII").canonical());
}
