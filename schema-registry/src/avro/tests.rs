//! Tests written from the Avro specification ("Schema Resolution",
//! "Parsing Canonical Form", "Schema Fingerprints") and Confluent's rules.

use super::compat::incompatibilities;
use super::*;

fn parse(text: &str) -> AvroSchema {
    AvroSchema::parse(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Error types found when `reader` reads data of `writer`.
fn errors(reader: &str, writer: &str) -> Vec<(&'static str, String)> {
    incompatibilities(&parse(reader), &parse(writer))
        .into_iter()
        .map(|i| (i.error_type, i.path))
        .collect()
}

fn ok(reader: &str, writer: &str) {
    let e = errors(reader, writer);
    assert!(e.is_empty(), "reader {reader} writer {writer}: {e:?}");
}

fn rec(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"R","namespace":"ns","fields":[{fields}]}}"#)
}

#[test]
fn invalid_schemas_are_42201() {
    for bad in [
        "not json",
        r#"{"type":"nope"}"#,
        r#"{"type":"record","name":"R"}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Unknown"}]}"#,
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
    ] {
        let e = AvroSchema::parse(bad, &[]).unwrap_err();
        assert_eq!(e.error_code(), 42201, "{bad}");
        assert!(e.to_string().starts_with("invalid AVRO schema: "), "{e}");
    }
}

#[test]
fn canonical_ignores_layout_but_keeps_defaults_and_docs() {
    let a = parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
    let b = parse(
        r#"{
        "fields": [ { "type": "int", "name": "a" } ],
        "name": "R",   "type": "record"
    }"#,
    );
    assert_eq!(a.canonical(), b.canonical());
    let with_default =
        parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1}]}"#);
    assert_ne!(a.canonical(), with_default.canonical());
    let with_doc =
        parse(r#"{"type":"record","name":"R","doc":"d","fields":[{"name":"a","type":"int"}]}"#);
    assert_ne!(a.canonical(), with_doc.canonical());
    // The canonical string is itself a valid schema of the same meaning.
    let again = parse(&with_default.normalized());
    assert_eq!(again.canonical(), with_default.canonical());
    // Primitive spellings are one schema.
    assert_eq!(
        parse(r#""int""#).canonical(),
        parse(r#"{"type":"int"}"#).canonical()
    );
}

#[test]
fn parsing_canonical_form_per_specification() {
    // [STRIP] doc/aliases/defaults, [ORDER] name,type,fields..., [FULLNAMES].
    let s = parse(
        r#"{"type":"record","namespace":"x.y","name":"R","doc":"d","aliases":["Q"],
            "fields":[{"name":"a","type":{"type":"int"},"default":1,"doc":"f"},
                      {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]}"#,
    );
    assert_eq!(
        s.parsing_canonical_form(),
        r#"{"name":"x.y.R","type":"record","fields":[{"name":"a","type":"int"},{"name":"e","type":{"name":"x.y.E","type":"enum","symbols":["A","B"]}}]}"#
    );
}

#[test]
fn fingerprints_from_the_avro_test_data() {
    // share/test/data/schema-tests.txt of the Avro project.
    assert_eq!(parse(r#""null""#).fingerprint64(), 7195948357588979594);
    assert_eq!(parse(r#""boolean""#).fingerprint64(), -6970731678124411036);
    assert_eq!(
        parse(r#"{"name":"foo","type":"fixed","size":15}"#).fingerprint64(),
        1756455273707447556
    );
    assert_eq!(
        parse(r#"{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}"#)
            .fingerprint64(),
        -1759257747318642341
    );
}

#[test]
fn references_resolve_named_types() {
    let address = ResolvedReference::new(
        "com.acme.Address",
        r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}"#,
    );
    let root = r#"{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}"#;
    assert!(AvroSchema::parse(root, &[]).is_err());
    let s = AvroSchema::parse(root, std::slice::from_ref(&address)).unwrap();
    assert_eq!(s.references().len(), 1);
    // The reference stays a name in the canonical form: the same text with
    // the same references is the same schema.
    assert!(
        s.canonical().contains(r#""type":"com.acme.Address""#),
        "{}",
        s.canonical()
    );
    // Resolution looks through references: a changed referenced type is seen.
    let address2 = ResolvedReference::new(
        "com.acme.Address",
        r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string"}]}"#,
    );
    let s2 = AvroSchema::parse(root, &[address2]).unwrap();
    let e: Vec<_> = incompatibilities(&s2, &s)
        .into_iter()
        .map(|i| i.path)
        .collect();
    assert_eq!(e, vec!["/fields/0/type/fields/1"]);
}

#[test]
fn identical_primitives_resolve() {
    for t in [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ] {
        let s = format!("\"{t}\"");
        ok(&s, &s);
    }
}

#[test]
fn promotions_per_specification() {
    let allowed = [
        ("long", "int"),
        ("float", "int"),
        ("double", "int"),
        ("float", "long"),
        ("double", "long"),
        ("double", "float"),
        ("bytes", "string"),
        ("string", "bytes"),
    ];
    for (reader, writer) in allowed {
        ok(&format!("\"{reader}\""), &format!("\"{writer}\""));
    }
    // No narrowing: the reverse directions are type mismatches.
    for (writer, reader) in allowed
        .iter()
        .filter(|(r, w)| !(r == &"bytes" || w == &"bytes"))
    {
        let e = errors(&format!("\"{reader}\""), &format!("\"{writer}\""));
        assert_eq!(
            e,
            vec![("TYPE_MISMATCH", "/".to_owned())],
            "{reader} <- {writer}"
        );
    }
    assert_eq!(errors(r#""int""#, r#""string""#)[0].0, "TYPE_MISMATCH");
    assert_eq!(errors(r#""boolean""#, r#""int""#)[0].0, "TYPE_MISMATCH");
}

#[test]
fn type_mismatch_message_is_confluents() {
    let i = &incompatibilities(
        &parse(&rec(r#"{"name":"a","type":"int"}"#)),
        &parse(&rec(r#"{"name":"a","type":"string"}"#)),
    )[0];
    assert_eq!(
        i.describe("new", "old"),
        "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: INT not compatible with writer type: STRING'}"
    );
}

#[test]
fn reader_field_missing_in_writer_needs_default() {
    let writer = rec(r#"{"name":"a","type":"int"}"#);
    let added = rec(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#);
    assert_eq!(
        errors(&added, &writer),
        vec![("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/1".to_owned())]
    );
    ok(
        &rec(r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#),
        &writer,
    );
    ok(
        &rec(r#"{"name":"a","type":"int"},{"name":"b","type":["null","int"],"default":null}"#),
        &writer,
    );
    // A writer field the reader does not have is ignored.
    ok(&rec(r#"{"name":"b","type":"int","default":0}"#), &added);
    ok(&rec(""), &writer);
}

#[test]
fn field_aliases_match_renamed_writer_fields() {
    let writer = rec(r#"{"name":"old_name","type":"int"}"#);
    ok(
        &rec(r#"{"name":"new_name","aliases":["old_name"],"type":"int"}"#),
        &writer,
    );
    assert_eq!(
        errors(&rec(r#"{"name":"new_name","type":"int"}"#), &writer)[0].0,
        "READER_FIELD_MISSING_DEFAULT_VALUE"
    );
}

#[test]
fn named_types_match_by_name_or_alias() {
    let writer = r#"{"type":"record","name":"A","namespace":"n","fields":[]}"#;
    assert_eq!(
        errors(
            r#"{"type":"record","name":"B","namespace":"n","fields":[]}"#,
            writer
        ),
        vec![("NAME_MISMATCH", "/name".to_owned())]
    );
    ok(
        r#"{"type":"record","name":"B","namespace":"n","aliases":["A"],"fields":[]}"#,
        writer,
    );
    ok(
        r#"{"type":"record","name":"B","namespace":"m","aliases":["n.A"],"fields":[]}"#,
        writer,
    );
    // Java compares unqualified names: a namespace change alone resolves.
    ok(
        r#"{"type":"record","name":"A","namespace":"other","fields":[]}"#,
        writer,
    );
    assert_eq!(
        errors(
            r#"{"type":"fixed","name":"F","size":4}"#,
            r#"{"type":"fixed","name":"G","size":4}"#
        )[0]
        .0,
        "NAME_MISMATCH"
    );
}

#[test]
fn fixed_sizes_must_match() {
    let e = incompatibilities(
        &parse(r#"{"type":"fixed","name":"F","size":8}"#),
        &parse(r#"{"type":"fixed","name":"F","size":4}"#),
    );
    assert_eq!(e[0].error_type, "FIXED_SIZE_MISMATCH");
    assert_eq!(e[0].path, "/size");
    assert_eq!(e[0].info, "expected: 4, found: 8");
}

#[test]
fn enum_symbols_removed_need_a_reader_default() {
    let writer = r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#;
    let e = incompatibilities(
        &parse(r#"{"type":"enum","name":"E","symbols":["A"]}"#),
        &parse(writer),
    );
    assert_eq!(e[0].error_type, "MISSING_ENUM_SYMBOLS");
    assert_eq!(e[0].path, "/symbols");
    assert_eq!(
        e[0].describe("new", "old"),
        "{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols '[B, C]' at path '/symbols' in the old schema', additionalInfo:'[B, C]'}"
    );
    ok(
        r#"{"type":"enum","name":"E","symbols":["A","Z"],"default":"Z"}"#,
        writer,
    );
    // Adding symbols is fine for the reader.
    ok(
        r#"{"type":"enum","name":"E","symbols":["A","B","C","D"]}"#,
        writer,
    );
}

#[test]
fn arrays_and_maps_resolve_their_items_and_values() {
    ok(
        r#"{"type":"array","items":"long"}"#,
        r#"{"type":"array","items":"int"}"#,
    );
    assert_eq!(
        errors(
            r#"{"type":"array","items":"int"}"#,
            r#"{"type":"array","items":"long"}"#
        ),
        vec![("TYPE_MISMATCH", "/items".to_owned())]
    );
    assert_eq!(
        errors(
            r#"{"type":"map","values":"int"}"#,
            r#"{"type":"map","values":"string"}"#
        ),
        vec![("TYPE_MISMATCH", "/values".to_owned())]
    );
    assert_eq!(
        errors(
            r#"{"type":"map","values":"int"}"#,
            r#"{"type":"array","items":"int"}"#
        )[0]
        .0,
        "TYPE_MISMATCH"
    );
}

#[test]
fn unions_per_specification() {
    // Writer union: every branch must resolve.
    ok(r#"["null","long"]"#, r#"["null","int"]"#);
    ok(r#"["null","string","int"]"#, r#"["null","int"]"#);
    assert_eq!(
        errors(r#"["null","int"]"#, r#"["null","int","string"]"#),
        vec![("MISSING_UNION_BRANCH", "/2".to_owned())]
    );
    // Reader union, writer not a union: some branch must resolve.
    ok(r#"["null","long"]"#, r#""int""#);
    assert_eq!(
        errors(r#"["null","long"]"#, r#""string""#)[0].0,
        "MISSING_UNION_BRANCH"
    );
    // Writer union, reader not a union: each branch against the reader.
    ok(r#""long""#, r#"["int","long"]"#);
    assert_eq!(
        errors(r#""long""#, r#"["null","long"]"#)[0].0,
        "TYPE_MISMATCH"
    );
    // Making a field optional is backward compatible (new reads old), making
    // it required again is not.
    let required = rec(r#"{"name":"a","type":"int"}"#);
    let optional = rec(r#"{"name":"a","type":["null","int"],"default":null}"#);
    ok(&optional, &required);
    assert!(!errors(&required, &optional).is_empty());
}

#[test]
fn logical_types_resolve_as_their_underlying_type() {
    ok(
        r#"{"type":"long","logicalType":"timestamp-millis"}"#,
        r#""long""#,
    );
    ok(r#"{"type":"int","logicalType":"date"}"#, r#""int""#);
    ok(
        r#"{"type":"long","logicalType":"timestamp-micros"}"#,
        r#"{"type":"int","logicalType":"date"}"#,
    );
    ok(
        r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
        r#""bytes""#,
    );
    ok(r#"{"type":"string","logicalType":"uuid"}"#, r#""string""#);
    assert_eq!(
        errors(r#"{"type":"int","logicalType":"date"}"#, r#""long""#)[0].0,
        "TYPE_MISMATCH"
    );
}

#[test]
fn recursive_types_terminate() {
    let list = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#;
    ok(list, list);
    let wider = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}"#;
    ok(wider, list);
    assert!(!errors(list, wider).is_empty());
}

#[test]
fn nested_paths_are_reported() {
    let writer = rec(
        r#"{"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"x","type":"int"}]}}"#,
    );
    let reader = rec(
        r#"{"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]}}"#,
    );
    assert_eq!(
        errors(&reader, &writer),
        vec![(
            "READER_FIELD_MISSING_DEFAULT_VALUE",
            "/fields/0/type/fields/1".to_owned()
        )]
    );
}

/// Confluent's `format=resolved`: the referenced named types written out at
/// their first use, so the text stands alone.
#[test]
fn resolved_inlines_referenced_types_once() {
    let address = r#"{"type":"record","name":"Address","namespace":"x","fields":[{"name":"street","type":"string"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["HOME","WORK"]}}]}"#;
    let user = r#"{"type":"record","name":"User","namespace":"x","fields":[{"name":"home","type":"x.Address"},{"name":"work","type":["null","x.Address"]},{"name":"k","type":"x.Kind"}]}"#;
    let refs = [ResolvedReference::new("x.Address", address)];
    let parsed = AvroSchema::parse(user, &refs).unwrap();
    let resolved = parsed.resolved();
    let standalone =
        AvroSchema::parse(&resolved, &[]).unwrap_or_else(|e| panic!("{resolved}: {e}"));
    assert_eq!(resolved.matches("\"street\"").count(), 1, "{resolved}");
    assert_eq!(resolved.matches("\"HOME\"").count(), 1, "{resolved}");
    assert_eq!(
        standalone.parsing_canonical_form(),
        r#"{"name":"x.User","type":"record","fields":[{"name":"home","type":{"name":"x.Address","type":"record","fields":[{"name":"street","type":"string"},{"name":"kind","type":{"name":"x.Kind","type":"enum","symbols":["HOME","WORK"]}}]}},{"name":"work","type":["null","x.Address"]},{"name":"k","type":"x.Kind"}]}"#
    );
    // Without references the resolved form is the canonical one.
    let plain = AvroSchema::parse(address, &[]).unwrap();
    assert_eq!(plain.resolved(), plain.canonical());
}
