//! The array rules: tuples (`items` arrays, `prefixItems`) under the array
//! content model (`additionalItems`, `items` after `prefixItems`,
//! `unevaluatedItems`) and the `contains` counts, written from Confluent's
//! `ArraySchemaDiff` and the compatible set of `Difference.Type`s, with the
//! verdicts of Confluent's diff examples.

use serde_json::{json, Value};

use super::compat_tests::{backward, diffs, DRAFT_2020, DRAFT_7};

#[test]
fn tuples_under_open_closed_and_partially_open_content_models() {
    let tuple = |items: Value, additional: Option<Value>| {
        let mut s = json!({"$schema": DRAFT_7, "type": "array", "items": items});
        if let Some(a) = additional {
            s["additionalItems"] = a;
        }
        s
    };
    let (s, n, b) = (
        json!({"type": "string"}),
        json!({"type": "number"}),
        json!({"type": "boolean"}),
    );
    // Open: removing items is fine, adding a constrained one is not.
    assert!(backward(
        tuple(json!([s, n]), None),
        json!({"$schema": DRAFT_7, "type": "array"})
    )
    .is_empty());
    assert_eq!(
        backward(tuple(json!([s]), None), tuple(json!([s, n]), None)),
        diffs(&[("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", "#/items/1")])
    );
    assert!(backward(tuple(json!([n]), None), tuple(json!([n, true]), None)).is_empty());
    assert_eq!(
        backward(tuple(json!([s]), None), tuple(json!([n]), None)),
        diffs(&[("TYPE_CHANGED", "#/items/0")])
    );
    // Closed: adding is fine, removing is not (unless the item was `false`).
    let closed = Some(json!(false));
    assert!(backward(
        tuple(json!([s, n]), closed.clone()),
        tuple(json!([s, n, b]), Some(json!(true)))
    )
    .is_empty());
    assert_eq!(
        backward(
            tuple(json!([s, n, b]), closed.clone()),
            tuple(json!([s, n]), closed.clone())
        ),
        diffs(&[("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/items/2")])
    );
    assert!(backward(
        tuple(json!([n, false]), closed.clone()),
        tuple(json!([n]), closed.clone())
    )
    .is_empty());
    // Partially open: the additional items' schema must cover the item.
    let strings = Some(s.clone());
    assert!(backward(
        tuple(json!([s, n]), strings.clone()),
        tuple(json!([s, n, s]), strings.clone())
    )
    .is_empty());
    assert_eq!(
        backward(
            tuple(json!([s, n]), strings.clone()),
            tuple(json!([s, n, n]), strings.clone())
        ),
        diffs(&[
            ("TYPE_CHANGED", "#/items/2"),
            (
                "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/items/2"
            ),
        ])
    );
    assert_eq!(
        backward(
            tuple(json!([s, n, n]), strings.clone()),
            tuple(json!([s, n]), strings.clone())
        ),
        diffs(&[
            ("TYPE_CHANGED", "#/items/2"),
            (
                "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/items/2"
            ),
        ])
    );
    assert!(backward(
        tuple(json!([s, n]), closed),
        tuple(json!([s]), Some(n.clone()))
    )
    .is_empty());
}

#[test]
fn prefix_items_with_items_as_the_additional_items() {
    let tuple = |prefix: Value, items: Value| json!({"$schema": DRAFT_2020, "type": "array", "prefixItems": prefix, "items": items});
    let (s, n) = (json!({"type": "string"}), json!({"type": "number"}));
    assert!(backward(
        tuple(json!([s, n]), json!(false)),
        tuple(json!([s, n, s]), json!(true))
    )
    .is_empty());
    assert_eq!(
        backward(
            tuple(json!([s, n]), json!(true)),
            tuple(json!([s, n]), json!(false))
        ),
        diffs(&[("ADDITIONAL_ITEMS_REMOVED", "#/additionalItems")])
    );
    assert!(backward(
        tuple(json!([s]), n.clone()),
        tuple(json!([s, n]), json!(true))
    )
    .is_empty());
    assert_eq!(
        backward(
            tuple(json!([s, n, n]), s.clone()),
            tuple(json!([s, n]), s.clone())
        ),
        diffs(&[
            ("TYPE_CHANGED", "#/items/2"),
            (
                "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "#/items/2"
            ),
        ])
    );
    assert_eq!(
        backward(tuple(json!([s]), json!(true)), tuple(json!([s]), n.clone())),
        diffs(&[("ADDITIONAL_ITEMS_NARROWED", "#/additionalItems")])
    );
    // Without `prefixItems`, `items` is every item's schema.
    let all = |items: Option<Value>| {
        let mut s = json!({"$schema": DRAFT_2020, "type": "array"});
        if let Some(i) = items {
            s["items"] = i;
        }
        s
    };
    assert_eq!(
        backward(all(None), all(Some(s.clone()))),
        diffs(&[("SCHEMA_ADDED", "#/items")])
    );
    assert!(backward(all(Some(s.clone())), all(None)).is_empty());
    assert_eq!(
        backward(all(Some(s)), all(Some(n))),
        diffs(&[("TYPE_CHANGED", "#/items")])
    );
}

#[test]
fn unevaluated_items() {
    let with = |prefix: Value, uneval: Option<Value>| {
        let mut s = json!({"$schema": DRAFT_2020, "type": "array", "prefixItems": prefix});
        if let Some(u) = uneval {
            s["unevaluatedItems"] = u;
        }
        s
    };
    let (s, n) = (json!({"type": "string"}), json!({"type": "number"}));
    assert_eq!(
        backward(with(json!([s]), None), with(json!([s]), Some(json!(false)))),
        diffs(&[("UNEVALUATED_ITEMS_REMOVED", "#/unevaluatedItems")])
    );
    assert_eq!(
        backward(with(json!([s]), None), with(json!([s]), Some(n.clone()))),
        diffs(&[("UNEVALUATED_ITEMS_NARROWED", "#/unevaluatedItems")])
    );
    assert!(backward(with(json!([s]), Some(json!(false))), with(json!([s]), None)).is_empty());
    // An `unevaluatedItems` schema covers removed tuple entries.
    assert!(backward(
        with(json!([s, n]), Some(n.clone())),
        with(json!([s]), Some(n.clone()))
    )
    .is_empty());
}

#[test]
fn contains_counts() {
    let arr = |k: &str, v: u32| json!({"type": "array", "contains": {"type": "string"}, k: v});
    assert_eq!(
        backward(
            json!({"type": "array", "contains": {"type": "string"}}),
            arr("maxContains", 2)
        ),
        diffs(&[("MAX_CONTAINS_ADDED", "#/maxContains")])
    );
    assert_eq!(
        backward(arr("maxContains", 3), arr("maxContains", 2)),
        diffs(&[("MAX_CONTAINS_DECREASED", "#/maxContains")])
    );
    assert_eq!(
        backward(arr("minContains", 1), arr("minContains", 2)),
        diffs(&[("MIN_CONTAINS_INCREASED", "#/minContains")])
    );
    assert!(backward(arr("minContains", 2), arr("minContains", 1)).is_empty());
}
