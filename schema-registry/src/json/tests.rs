//! Tests written from Confluent's documented JSON Schema compatibility rules.

use serde_json::json;

use super::compat::incompatibilities;
use super::*;

fn parse(v: Value) -> JsonSchema {
    JsonSchema::parse(&v.to_string(), &[]).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// Incompatible differences when moving from `old` to `new` under BACKWARD
/// (the new schema reads what the old one accepted).
fn backward(old: Value, new: Value) -> Vec<(&'static str, String)> {
    incompatibilities(&parse(new), &parse(old))
        .into_iter()
        .map(|i| (i.error_type, i.path))
        .collect()
}

fn one(t: &'static str, p: &str) -> Vec<(&'static str, String)> {
    vec![(t, p.to_owned())]
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn closed(props: Value) -> Value {
    json!({"type": "object", "properties": props, "additionalProperties": false})
}

#[test]
fn invalid_schemas_are_42201() {
    for bad in [
        "nope",
        "42",
        r#"{"type": 12}"#,
        r#"{"$ref": "https://example.com/x.json"}"#,
        r#"{"$ref": "other.json"}"#,
    ] {
        let e = JsonSchema::parse(bad, &[]).unwrap_err();
        assert_eq!(e.error_code(), 42201, "{bad}");
    }
    JsonSchema::parse("true", &[]).unwrap();
}

#[test]
fn canonical_sorts_keys_and_drops_whitespace() {
    let a = JsonSchema::parse(
        r#"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}"#,
        &[],
    )
    .unwrap();
    let b = JsonSchema::parse("{ \"properties\": { \"a\": {\"type\": \"integer\"}, \"b\": {\"type\": \"string\"} },\n \"type\": \"object\" }", &[]).unwrap();
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(
        a.canonical(),
        r#"{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}"#
    );
    assert_eq!(a.normalized(), a.canonical());
}

#[test]
fn references_resolve_only_from_registered_subjects() {
    let address = ResolvedReference::new(
        "address.json",
        r#"{"type":"object","properties":{"street":{"type":"string"}}}"#,
    );
    let root = r#"{"type":"object","properties":{"home":{"$ref":"address.json"}}}"#;
    let s = JsonSchema::parse(root, std::slice::from_ref(&address)).unwrap();
    assert!(s.validator().is_valid(&json!({"home": {"street": "x"}})));
    assert!(!s.validator().is_valid(&json!({"home": {"street": 1}})));
    // An absolute reference name and a root `$id`.
    let abs = ResolvedReference::new(
        "https://example.com/schemas/address.json",
        r#"{"type":"object","properties":{"street":{"type":"string"}}}"#,
    );
    let root = r#"{"$id":"https://example.com/schemas/person.json","type":"object","properties":{"home":{"$ref":"address.json"}}}"#;
    let s = JsonSchema::parse(root, &[abs]).unwrap();
    assert!(!s.validator().is_valid(&json!({"home": {"street": 1}})));
    // Compatibility looks through the reference.
    let address2 = ResolvedReference::new(
        "address.json",
        r#"{"type":"object","properties":{"street":{"type":"integer"}}}"#,
    );
    let root = r#"{"type":"object","properties":{"home":{"$ref":"address.json"}}}"#;
    let old = JsonSchema::parse(root, &[address]).unwrap();
    let new = JsonSchema::parse(root, &[address2]).unwrap();
    let e = incompatibilities(&new, &old);
    assert_eq!(e[0].error_type, "TYPE_CHANGED");
    assert_eq!(e[0].path, "#/properties/home/properties/street");
}

#[test]
fn drafts_are_detected() {
    for draft in [
        "http://json-schema.org/draft-04/schema#",
        "http://json-schema.org/draft-06/schema#",
        "http://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2020-12/schema",
    ] {
        let s = parse(json!({"$schema": draft, "type": "string"}));
        assert!(s.validator().is_valid(&json!("x")), "{draft}");
    }
}

#[test]
fn type_narrowing_and_widening() {
    assert!(backward(json!({"type": "integer"}), json!({"type": "number"})).is_empty());
    assert!(backward(
        json!({"type": "string"}),
        json!({"type": ["string", "null"]})
    )
    .is_empty());
    assert_eq!(
        backward(json!({"type": "number"}), json!({"type": "integer"})),
        one("TYPE_NARROWED", "#")
    );
    assert_eq!(
        backward(
            json!({"type": ["string", "null"]}),
            json!({"type": "string"})
        ),
        one("TYPE_NARROWED", "#")
    );
    assert_eq!(
        backward(json!({"type": "string"}), json!({"type": "integer"})),
        one("TYPE_CHANGED", "#")
    );
    assert_eq!(
        backward(json!({}), json!({"type": "string"})),
        one("TYPE_NARROWED", "#")
    );
    assert!(backward(json!({"type": "string"}), json!({})).is_empty());
}

#[test]
fn property_added_to_open_content_model_is_incompatible() {
    let old = obj(json!({"a": {"type": "string"}}));
    let new = obj(json!({"a": {"type": "string"}, "b": {"type": "string"}}));
    assert_eq!(
        backward(old.clone(), new.clone()),
        one("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/b")
    );
    // ... and removing it again is fine: the new (open) model still accepts it.
    assert!(backward(new, old.clone()).is_empty());
    // An added property with an empty schema accepts whatever old data held.
    assert!(backward(old, obj(json!({"a": {"type": "string"}, "b": {}}))).is_empty());
}

#[test]
fn closed_content_model_rules() {
    let old = closed(json!({"a": {"type": "string"}}));
    // Optional property added to a closed model: compatible.
    assert!(backward(
        old.clone(),
        closed(json!({"a": {"type": "string"}, "b": {"type": "string"}}))
    )
    .is_empty());
    // Required property added without default: incompatible; with one: fine.
    let mut req = closed(json!({"a": {"type": "string"}, "b": {"type": "string"}}));
    req["required"] = json!(["b"]);
    assert_eq!(
        backward(old.clone(), req),
        one(
            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            "#/properties/b"
        )
    );
    let mut req_default =
        closed(json!({"a": {"type": "string"}, "b": {"type": "string", "default": "x"}}));
    req_default["required"] = json!(["b"]);
    assert!(backward(old.clone(), req_default).is_empty());
    // Property removed from a closed model: incompatible.
    assert_eq!(
        backward(old.clone(), closed(json!({}))),
        one(
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
            "#/properties/a"
        )
    );
    // ... unless it was `false` (never present) in the old schema.
    assert!(backward(closed(json!({"a": false})), closed(json!({}))).is_empty());
}

#[test]
fn partially_open_content_model_rules() {
    let old = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}});
    let covered = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "additionalProperties": {"type": "string"}});
    assert!(backward(old.clone(), covered).is_empty());
    let not_covered = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "additionalProperties": {"type": "string"}});
    // The differences found against the covering schema come first, as in
    // Confluent's list.
    assert_eq!(
        backward(old.clone(), not_covered),
        vec![
            ("TYPE_CHANGED", "#/properties/b".to_owned()),
            (
                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/properties/b".to_owned()
            ),
        ]
    );
    let removed = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    assert_eq!(
        backward(old, removed),
        vec![
            ("TYPE_CHANGED", "#/properties/a".to_owned()),
            (
                "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/properties/a".to_owned()
            ),
            ("TYPE_CHANGED", "#/additionalProperties".to_owned()),
        ]
    );
}

#[test]
fn additional_properties_changes() {
    let open = obj(json!({"a": {"type": "string"}}));
    let closed_ = closed(json!({"a": {"type": "string"}}));
    assert_eq!(
        backward(open.clone(), closed_.clone()),
        one("ADDITIONAL_PROPERTIES_REMOVED", "#/additionalProperties")
    );
    assert!(backward(closed_, open.clone()).is_empty());
    let mut narrowed = open.clone();
    narrowed["additionalProperties"] = json!({"type": "string"});
    assert_eq!(
        backward(open, narrowed),
        one("ADDITIONAL_PROPERTIES_NARROWED", "#/additionalProperties")
    );
}

#[test]
fn required_changes() {
    let mut old = obj(json!({"a": {"type": "string"}}));
    let mut new = old.clone();
    new["required"] = json!(["a"]);
    assert_eq!(
        backward(old.clone(), new.clone()),
        one("REQUIRED_ATTRIBUTE_ADDED", "#/required/a")
    );
    assert!(
        backward(new.clone(), old.clone()).is_empty(),
        "removing required is compatible"
    );
    old["properties"]["a"]["default"] = json!("x");
    new["properties"]["a"]["default"] = json!("x");
    assert!(
        backward(old, new).is_empty(),
        "required with default is compatible"
    );
}

#[test]
fn enum_changes() {
    let old = json!({"enum": ["A", "B"]});
    assert!(backward(old.clone(), json!({"enum": ["A", "B", "C"]})).is_empty());
    assert_eq!(
        backward(old.clone(), json!({"enum": ["A"]})),
        one("ENUM_ARRAY_NARROWED", "#/enum")
    );
    assert_eq!(
        backward(old.clone(), json!({"enum": ["A", "C"]})),
        one("ENUM_ARRAY_CHANGED", "#/enum")
    );
    assert!(backward(old, json!({})).is_empty());
}

#[test]
fn bound_changes() {
    let s = |v: Value| {
        let mut base = json!({"type": "string"});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        base
    };
    assert_eq!(
        backward(s(json!({})), s(json!({"maxLength": 5}))),
        one("MAX_LENGTH_ADDED", "#/maxLength")
    );
    assert_eq!(
        backward(s(json!({"maxLength": 9})), s(json!({"maxLength": 5}))),
        one("MAX_LENGTH_DECREASED", "#/maxLength")
    );
    assert!(backward(s(json!({"maxLength": 5})), s(json!({"maxLength": 9}))).is_empty());
    assert!(backward(s(json!({"maxLength": 5})), s(json!({}))).is_empty());
    assert_eq!(
        backward(s(json!({"minLength": 1})), s(json!({"minLength": 2}))),
        one("MIN_LENGTH_INCREASED", "#/minLength")
    );
    assert!(backward(s(json!({"minLength": 2})), s(json!({"minLength": 1}))).is_empty());
    assert_eq!(
        backward(s(json!({})), s(json!({"pattern": "^a"}))),
        one("PATTERN_ADDED", "#/pattern")
    );
    assert_eq!(
        backward(s(json!({"pattern": "^a"})), s(json!({"pattern": "^b"}))),
        one("PATTERN_CHANGED", "#/pattern")
    );
    assert!(backward(s(json!({"pattern": "^a"})), s(json!({}))).is_empty());

    let n = |v: Value| {
        let mut base = json!({"type": "number"});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        base
    };
    assert_eq!(
        backward(n(json!({"maximum": 10})), n(json!({"maximum": 5}))),
        one("MAXIMUM_DECREASED", "#/maximum")
    );
    assert!(backward(n(json!({"maximum": 5})), n(json!({"maximum": 10}))).is_empty());
    assert_eq!(
        backward(n(json!({})), n(json!({"minimum": 0}))),
        one("MINIMUM_ADDED", "#/minimum")
    );
    assert_eq!(
        backward(n(json!({"minimum": 0})), n(json!({"minimum": 1}))),
        one("MINIMUM_INCREASED", "#/minimum")
    );
    assert!(backward(n(json!({"minimum": 1})), n(json!({"minimum": 0}))).is_empty());
    assert_eq!(
        backward(
            n(json!({"exclusiveMaximum": 10})),
            n(json!({"exclusiveMaximum": 5}))
        ),
        one("EXCLUSIVE_MAXIMUM_DECREASED", "#/exclusiveMaximum")
    );
    assert_eq!(
        backward(n(json!({"multipleOf": 2})), n(json!({"multipleOf": 4}))),
        one("MULTIPLE_OF_EXPANDED", "#/multipleOf")
    );
    assert!(backward(n(json!({"multipleOf": 4})), n(json!({"multipleOf": 2}))).is_empty());

    let a = |v: Value| {
        let mut base = json!({"type": "array", "items": {"type": "string"}});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        base
    };
    assert_eq!(
        backward(a(json!({"maxItems": 3})), a(json!({"maxItems": 2}))),
        one("MAX_ITEMS_DECREASED", "#/maxItems")
    );
    assert_eq!(
        backward(a(json!({})), a(json!({"minItems": 1}))),
        one("MIN_ITEMS_ADDED", "#/minItems")
    );
    assert_eq!(
        backward(a(json!({})), a(json!({"uniqueItems": true}))),
        one("UNIQUE_ITEMS_ADDED", "#/uniqueItems")
    );
    assert!(backward(a(json!({"uniqueItems": true})), a(json!({}))).is_empty());
    let mut o = obj(json!({}));
    o["maxProperties"] = json!(3);
    let mut o2 = obj(json!({}));
    o2["maxProperties"] = json!(2);
    assert_eq!(
        backward(o, o2),
        one("MAX_PROPERTIES_DECREASED", "#/maxProperties")
    );
}

#[test]
fn nested_items_and_properties_recurse() {
    assert_eq!(
        backward(
            json!({"type": "array", "items": {"type": "number"}}),
            json!({"type": "array", "items": {"type": "integer"}})
        ),
        one("TYPE_NARROWED", "#/items")
    );
    assert_eq!(
        backward(
            obj(json!({"p": obj(json!({"q": {"type": "string"}}))})),
            obj(json!({"p": obj(json!({"q": {"type": "boolean"}}))}))
        ),
        one("TYPE_CHANGED", "#/properties/p/properties/q")
    );
}

#[test]
fn local_refs_are_followed() {
    let old = json!({"definitions": {"n": {"type": "number"}}, "type": "object", "properties": {"x": {"$ref": "#/definitions/n"}}});
    let new = json!({"$defs": {"n": {"type": "integer"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/n"}}});
    assert_eq!(backward(old, new), one("TYPE_NARROWED", "#/properties/x"));
    // A recursive schema terminates.
    let tree = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
    assert!(backward(tree.clone(), tree).is_empty());
}

#[test]
fn combined_types() {
    let one_of = |b: Value| json!({"oneOf": b});
    let old = one_of(json!([{"type": "string"}, {"type": "integer"}]));
    assert!(backward(
        old.clone(),
        one_of(json!([{"type": "string"}, {"type": "integer"}, {"type": "null"}]))
    )
    .is_empty());
    assert_eq!(
        backward(old.clone(), one_of(json!([{"type": "string"}]))),
        one("SUM_TYPE_NARROWED", "#")
    );
    assert_eq!(
        backward(
            old.clone(),
            one_of(json!([{"type": "string"}, {"type": "boolean"}]))
        ),
        one("COMBINED_TYPE_SUBSCHEMAS_CHANGED", "#")
    );
    // `anyOf` accepts what `oneOf` did (COMBINED_TYPE_EXTENDED); not back.
    let any_of = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
    assert!(backward(old.clone(), any_of.clone()).is_empty());
    assert_eq!(backward(any_of, old), one("COMBINED_TYPE_CHANGED", "#"));
    // A plain type widened into a union that contains it.
    assert!(backward(
        json!({"type": "string"}),
        one_of(json!([{"type": "string"}, {"type": "null"}]))
    )
    .is_empty());
    assert_eq!(
        backward(
            json!({"type": "string"}),
            one_of(json!([{"type": "integer"}, {"type": "null"}]))
        ),
        one("TYPE_CHANGED", "#")
    );
    assert_eq!(
        backward(
            json!({"allOf": [{"type": "object"}]}),
            json!({"allOf": [{"type": "object"}, {"required": ["a"]}]})
        ),
        one("PRODUCT_TYPE_EXTENDED", "#")
    );
}

#[test]
fn messages_are_confluents() {
    let old = parse(obj(json!({"a": {"type": "string"}})));
    let new = parse(obj(
        json!({"a": {"type": "string"}, "b": {"type": "string"}}),
    ));
    let e = incompatibilities(&new, &old);
    assert_eq!(
        e[0].describe("new", "old"),
        "{errorType:\"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL\", description:\"The new schema has an open content model and has a property or item at path '#/properties/b' which is missing in the old schema\"}"
    );
}
