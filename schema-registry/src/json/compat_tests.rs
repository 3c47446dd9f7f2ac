//! The rules for `dependencies`/`dependentRequired`/`dependentSchemas`,
//! `patternProperties`, `not`, `const` and `if`/`then`/`else` (arrays are
//! in `compat_array_tests`), written from Confluent's `ObjectSchemaDiff`,
//! `NotSchemaDiff`, `ConstSchemaDiff`, `SchemaDiff` and the compatible set
//! of `Difference.Type`s, with the verdicts of Confluent's diff examples.

use serde_json::{json, Value};

use super::compat::incompatibilities;
use super::*;

fn parse(v: &Value) -> JsonSchema {
    JsonSchema::parse(&v.to_string(), &[]).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// Incompatible differences from `old` to `new` under BACKWARD.
pub(super) fn backward(old: Value, new: Value) -> Vec<(&'static str, String)> {
    incompatibilities(&parse(&new), &parse(&old))
        .into_iter()
        .map(|i| (i.error_type, i.path))
        .collect()
}

pub(super) fn diffs(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|(t, p)| (*t, (*p).to_owned())).collect()
}

pub(super) const DRAFT_2020: &str = "https://json-schema.org/draft/2020-12/schema";
pub(super) const DRAFT_7: &str = "http://json-schema.org/draft-07/schema#";

fn props() -> Value {
    json!({"foo": {"type": "number"}, "bar": {"type": "string"}})
}

#[test]
fn dependency_arrays() {
    let with =
        |deps: Value| json!({"$schema": DRAFT_7, "properties": props(), "dependencies": deps});
    assert_eq!(
        backward(with(json!({"foo": ["bar"]})), with(json!({"bar": ["foo"]}))),
        diffs(&[("DEPENDENCY_ARRAY_ADDED", "#/dependencies/bar")]),
        "a new dependency is incompatible, dropping one is not"
    );
    assert_eq!(
        backward(
            with(json!({"foo": ["bar"]})),
            with(json!({"foo": ["bar", "baz"]}))
        ),
        diffs(&[("DEPENDENCY_ARRAY_EXTENDED", "#/dependencies/foo")])
    );
    assert!(backward(
        with(json!({"foo": ["bar", "baz"]})),
        with(json!({"foo": ["baz", "bar"]}))
    )
    .is_empty());
    assert!(backward(
        with(json!({"foo": ["bar", "baz"]})),
        with(json!({"foo": ["bar"]}))
    )
    .is_empty());
    assert_eq!(
        backward(with(json!({"foo": ["bar"]})), with(json!({"foo": ["baz"]}))),
        diffs(&[("DEPENDENCY_ARRAY_CHANGED", "#/dependencies/foo")])
    );
    // 2019-09+ `dependentRequired`, reported under `dependencies` as Confluent does.
    let dependent = |deps: Value| json!({"$schema": DRAFT_2020, "properties": props(), "dependentRequired": deps});
    assert_eq!(
        backward(
            dependent(json!({"foo": ["bar"]})),
            dependent(json!({"bar": ["foo"]}))
        ),
        diffs(&[("DEPENDENCY_ARRAY_ADDED", "#/dependencies/bar")])
    );
}

#[test]
fn dependency_schemas() {
    let with = |deps: Value| json!({"$schema": DRAFT_7, "dependencies": deps});
    let string = json!({"type": "string"});
    assert!(backward(
        with(json!({"foo": string, "bar": string})),
        with(json!({"foo": string}))
    )
    .is_empty());
    assert!(backward(with(json!({"foo": string})), with(json!({}))).is_empty());
    assert_eq!(
        backward(
            with(json!({"foo": string})),
            with(json!({"foo": {"type": "number"}}))
        ),
        diffs(&[("TYPE_CHANGED", "#/dependencies/foo")])
    );
    assert_eq!(
        backward(with(json!({"foo": string})), with(json!({"bar": string}))),
        diffs(&[("DEPENDENCY_SCHEMA_ADDED", "#/dependencies/bar")])
    );
    let dependent = |deps: Value| json!({"$schema": DRAFT_2020, "dependentSchemas": deps});
    assert_eq!(
        backward(
            dependent(json!({"foo": string})),
            dependent(json!({"foo": {"type": "number"}}))
        ),
        diffs(&[("TYPE_CHANGED", "#/dependencies/foo")])
    );
    // An array dependency turned into a schema one is a new schema dependency.
    assert_eq!(
        backward(
            with(json!({"foo": ["bar"]})),
            with(json!({"foo": {"required": ["bar"]}}))
        ),
        diffs(&[("DEPENDENCY_SCHEMA_ADDED", "#/dependencies/foo")])
    );
}

/// `patternProperties` make a content model partially open for the names
/// their patterns find; otherwise the `additionalProperties` rules apply.
#[test]
fn pattern_properties_cover_properties_whose_names_they_match() {
    let patterns = json!({"^S_": {"type": "string"}, "^I_": {"type": "integer"}});
    let closed = |extra: Value| {
        let mut properties = json!({"foo": {"type": "string"}});
        if let Value::Object(m) = extra {
            properties.as_object_mut().unwrap().extend(m);
        }
        json!({"properties": properties, "additionalProperties": false, "patternProperties": patterns})
    };
    // Added, covered: an integer pattern is within `number`.
    assert!(backward(
        closed(json!({})),
        closed(json!({"I_123": {"type": "number"}}))
    )
    .is_empty());
    // Added, not covered.
    assert_eq!(
        backward(
            closed(json!({})),
            closed(json!({"I_123": {"type": "string"}}))
        ),
        diffs(&[
            ("TYPE_CHANGED", "#/properties/I_123"),
            (
                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/properties/I_123"
            ),
        ])
    );
    // A name no pattern matches meets the closed model, where an optional
    // property may be added.
    assert!(backward(
        closed(json!({})),
        closed(json!({"x_I_1": {"type": "string"}}))
    )
    .is_empty());
    // Patterns are searched for, not matched whole.
    let searched = |extra: Value| {
        json!({"properties": extra, "additionalProperties": false,
            "patternProperties": {"num": {"type": "integer"}}})
    };
    assert_eq!(
        backward(
            searched(json!({})),
            searched(json!({"my_num_1": {"type": "string"}}))
        ),
        diffs(&[
            ("TYPE_CHANGED", "#/properties/my_num_1"),
            (
                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/properties/my_num_1"
            ),
        ])
    );
    // Removed, covered by the update's pattern.
    let wider = json!({"properties": {"foo": {"type": "string"}}, "additionalProperties": false,
        "patternProperties": {"^I_": {"type": "number"}}});
    assert!(backward(closed(json!({"I_123": {"type": "integer"}})), wider.clone()).is_empty());
    // Removed, no pattern matches and nothing else is permitted.
    assert_eq!(
        backward(closed(json!({"other": {"type": "string"}})), wider),
        diffs(&[(
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
            "#/properties/other"
        )])
    );
    // A required property added to a partially open model needs a default.
    let mut required = closed(json!({"S_name": {"type": "string"}}));
    required["required"] = json!(["S_name"]);
    assert_eq!(
        backward(closed(json!({})), required),
        diffs(&[(
            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
            "#/properties/S_name"
        )])
    );
    // Without patterns or `additionalProperties` the model is open ...
    let open = json!({"properties": {"foo": {"type": "string"}}});
    assert_eq!(
        backward(
            open.clone(),
            json!({"properties": {"foo": {"type": "string"}, "S_x": {"type": "string"}}})
        ),
        diffs(&[("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/S_x")])
    );
    // ... and the pattern schemas themselves are not compared, as in Confluent.
    let mut with_patterns = open.clone();
    with_patterns["patternProperties"] = patterns;
    assert!(backward(open, with_patterns).is_empty());
}

#[test]
fn not_is_compared_in_reverse() {
    let not = |t: &str| json!({"not": {"type": t}});
    assert!(backward(not("number"), not("integer")).is_empty());
    assert_eq!(
        backward(not("integer"), not("number")),
        diffs(&[("NOT_TYPE_EXTENDED", "#/not")])
    );
    // Added where there was none: another kind of schema for Confluent.
    assert_eq!(
        backward(
            json!({"type": "string"}),
            json!({"type": "string", "not": {"maxLength": 2}})
        ),
        diffs(&[("TYPE_CHANGED", "#")])
    );
    assert!(backward(
        json!({"type": "string", "not": {"maxLength": 2}}),
        json!({"type": "string"})
    )
    .is_empty());
}

/// The reversed comparison reads each side's `$ref`s from its own
/// references.
#[test]
fn not_follows_each_sides_references() {
    let root = r#"{"properties": {"n": {"not": {"$ref": "n.json"}}}}"#;
    let old = JsonSchema::parse(
        root,
        &[ResolvedReference::new("n.json", r#"{"type":"integer"}"#)],
    )
    .unwrap();
    let new = JsonSchema::parse(
        root,
        &[ResolvedReference::new("n.json", r#"{"type":"number"}"#)],
    )
    .unwrap();
    let e = incompatibilities(&new, &old);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].error_type, e[0].path.as_str()),
        ("NOT_TYPE_EXTENDED", "#/properties/n/not")
    );
    assert!(incompatibilities(&old, &new).is_empty());
}

#[test]
fn const_values() {
    assert_eq!(
        backward(json!({"const": "a"}), json!({"const": "b"})),
        diffs(&[("ENUM_ARRAY_CHANGED", "#/const")])
    );
    assert!(backward(json!({"const": {"x": 1}}), json!({"const": {"x": 1}})).is_empty());
    assert!(backward(
        json!({"type": "string", "const": "a"}),
        json!({"type": "string"})
    )
    .is_empty());
    assert_eq!(
        backward(
            json!({"type": "string"}),
            json!({"type": "string", "const": "a"})
        ),
        diffs(&[("TYPE_CHANGED", "#")])
    );
}

/// Confluent's `SchemaDiff` has no rule for conditional schemas: what
/// `if`/`then`/`else` say is not compared, adding a condition is another
/// kind of schema and removing one is fine.
#[test]
fn conditionals() {
    let cond = |then_max: u32| {
        json!({"type": "object", "properties": {"kind": {"type": "string"}},
            "if": {"properties": {"kind": {"const": "short"}}},
            "then": {"properties": {"v": {"maxLength": then_max}}},
            "else": {"properties": {"v": {"maxLength": 100}}}})
    };
    assert!(backward(cond(10), cond(5)).is_empty());
    let plain = json!({"type": "object", "properties": {"kind": {"type": "string"}}});
    assert_eq!(
        backward(plain.clone(), cond(10)),
        diffs(&[("TYPE_CHANGED", "#")])
    );
    assert!(backward(cond(10), plain).is_empty());
}

#[test]
fn messages_of_the_new_types_are_confluents() {
    let describe = |old: Value, new: Value| {
        incompatibilities(&parse(&new), &parse(&old))[0].describe("new", "old")
    };
    assert_eq!(
        describe(
            json!({"$schema": DRAFT_7}),
            json!({"$schema": DRAFT_7, "dependencies": {"a": ["b"]}})
        ),
        "{errorType:\"DEPENDENCY_ARRAY_ADDED\", description:\"The keyword at path '#/dependencies/a' in the new schema is not present in the old schema\"}"
    );
    assert_eq!(
        describe(json!({"not": {"type": "integer"}}), json!({"not": {"type": "number"}})),
        "{errorType:\"NOT_TYPE_EXTENDED\", description:\"An array or combined type at path '#/not' has more elements in the new schema than the old schema\"}"
    );
    assert_eq!(
        describe(
            json!({"$schema": DRAFT_7, "items": [{"type": "string"}, {"type": "number"}], "additionalItems": false}),
            json!({"$schema": DRAFT_7, "items": [{"type": "string"}], "additionalItems": false})
        ),
        "{errorType:\"ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL\", description:\"The new schema has a closed content model and is missing a property or item present at path '#/items/1' in the old schema\"}"
    );
}

/// Confluent's `CombinedSchemaDiff` and the combined-versus-plain cases of
/// `SchemaDiff`, with the verdicts of its combined-schema examples.
#[test]
fn combiners() {
    let s = json!({"type": "string"});
    let n = json!({"type": "number"});
    let prop = |v: Value| json!({"type": "object", "properties": {"p": v}});
    let cases = [
        // Branch order and duplicates do not matter.
        (
            json!({"allOf": [{"enum": ["a"]}, s, {"maxLength": 5}]}),
            json!({"allOf": [{"maxLength": 5}, {"enum": ["a"]}, s]}),
            true,
        ),
        (json!({"allOf": [s, s]}), json!({"allOf": [s]}), true),
        (json!({"allOf": [s]}), json!({"allOf": [s, s]}), true),
        (
            json!({"allOf": [{"enum": ["a"]}, s]}),
            json!({"allOf": [{"enum": ["a"]}, n]}),
            false,
        ),
        // Fewer allOf branches is compatible, more is not.
        (
            json!({"allOf": [{"enum": ["a"]}, s]}),
            json!({"allOf": [s]}),
            true,
        ),
        (
            json!({"allOf": [s]}),
            json!({"allOf": [{"enum": ["a"]}, s]}),
            false,
        ),
        // Criteria: to anyOf always, a single branch to oneOf or allOf.
        (json!({"allOf": [s]}), json!({"anyOf": [n, s]}), true),
        (json!({"anyOf": [s]}), json!({"oneOf": [n, s]}), true),
        (json!({"anyOf": [n, s]}), json!({"oneOf": [s]}), false),
        (json!({"oneOf": [s]}), json!({"allOf": [s]}), true),
        (json!({"oneOf": [s]}), json!({"allOf": [n, s]}), false),
        // Plain and combined.
        (s.clone(), json!({"allOf": [s]}), true),
        (s.clone(), json!({"allOf": [n, s]}), false),
        (json!({"oneOf": [s]}), s.clone(), true),
        (json!({"allOf": [{"maxLength": 3}, s]}), s.clone(), true),
        (json!({"oneOf": [n, s]}), s.clone(), false),
        // A combiner next to other keywords is one more constraint.
        (
            prop(s.clone()),
            json!({"type": "object", "properties": {"p": s}, "anyOf": [{"required": ["p"]}, {"required": ["q"]}]}),
            false,
        ),
        (
            json!({"type": "object", "properties": {"p": s}, "anyOf": [{"required": ["p"]}]}),
            prop(s.clone()),
            true,
        ),
    ];
    for (i, (old, new, compatible)) in cases.into_iter().enumerate() {
        assert_eq!(
            backward(prop(old.clone()), prop(new.clone())).is_empty(),
            compatible,
            "case {i}: {old} -> {new}"
        );
    }
    // The keywords beside two combiners are compared too.
    let with = |t: &str| json!({"type": "object", "properties": {"p": {"type": t}}, "oneOf": [{"required": ["p"]}]});
    assert_eq!(
        backward(with("string"), with("number")),
        diffs(&[("TYPE_CHANGED", "#/properties/p")])
    );
}
