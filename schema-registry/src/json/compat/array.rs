//! Array keywords, as Confluent's `ArraySchemaDiff`: `items` as one schema
//! for every item, tuples (`items` as an array up to draft 2019-09,
//! `prefixItems` from 2020-12) under the array content model, the
//! additional items (`additionalItems`, or `items` next to `prefixItems`)
//! and `unevaluatedItems`. Paths are Confluent's whatever the draft:
//! `#/items/<i>` for tuple entries, `#/additionalItems`.

use serde_json::{Map, Value};

use super::content_model::{ContentModel, Member};
use super::{is_empty_schema, Diff, Doc};

/// The positional item schemas.
fn tuple(m: &Map<String, Value>) -> &[Value] {
    m.get("prefixItems")
        .or_else(|| m.get("items"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The schema every item must match (`items` as a schema, without
/// `prefixItems`).
fn all_items(m: &Map<String, Value>) -> Option<&Value> {
    if m.contains_key("prefixItems") {
        return None;
    }
    m.get("items").filter(|v| v.is_object())
}

/// The items after the tuple: whether they are permitted and the schema
/// they must match. A boolean `items` without `prefixItems` says the same
/// for every item, and Confluent reports it as additional items too.
fn additional(m: &Map<String, Value>) -> (bool, Option<&Value>) {
    let raw = if m.get("prefixItems").is_some_and(Value::is_array) {
        m.get("items").filter(|v| !v.is_array())
    } else if m.get("items").is_some_and(Value::is_boolean) {
        m.get("items")
    } else {
        m.get("additionalItems")
    };
    match raw {
        Some(Value::Bool(false)) => (false, None),
        Some(v) if v.is_object() && !is_empty_schema(v) => (true, Some(v)),
        _ => (true, None),
    }
}

/// `unevaluatedItems`, an empty schema counting as absent.
fn unevaluated(m: &Map<String, Value>) -> Option<&Value> {
    m.get("unevaluatedItems").filter(|v| !is_empty_schema(v))
}

/// Open: any further item with any value.
fn is_open(m: &Map<String, Value>) -> bool {
    additional(m) == (true, None) && unevaluated(m).is_none()
}

/// The schema further items must match: the additional items' schema, or
/// without one an `unevaluatedItems` schema. `None`: closed.
fn partial(m: &Map<String, Value>) -> Option<&Value> {
    match additional(m) {
        (_, Some(schema)) => Some(schema),
        (true, None) => unevaluated(m).filter(|v| **v != Value::Bool(false)),
        (false, None) => None,
    }
}

impl<'a> Diff<'a> {
    pub(super) fn compare_array(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        let p = format!("{path}/items");
        match (all_items(o), all_items(u)) {
            (Some(a), Some(b)) => self.compare(od, a, ud, b, &p),
            (None, Some(b)) if !is_empty_schema(b) => self.add("SCHEMA_ADDED", &p),
            _ => {}
        }
        self.compare_tuple(od, o, ud, u, path);
        let p = format!("{path}/additionalItems");
        match (additional(o), additional(u)) {
            ((true, _), (false, _)) => self.add("ADDITIONAL_ITEMS_REMOVED", &p),
            ((true, None), (true, Some(_))) => self.add("ADDITIONAL_ITEMS_NARROWED", &p),
            ((true, Some(a)), (true, Some(b))) => self.compare(od, a, ud, b, &p),
            _ => {}
        }
        let p = format!("{path}/unevaluatedItems");
        match (unevaluated(o), unevaluated(u)) {
            (None, Some(Value::Bool(false))) => self.add("UNEVALUATED_ITEMS_REMOVED", &p),
            (None, Some(_)) => self.add("UNEVALUATED_ITEMS_NARROWED", &p),
            (Some(Value::Bool(false)), _) | (_, None) => {}
            (Some(_), Some(Value::Bool(false))) => self.add("UNEVALUATED_ITEMS_REMOVED", &p),
            (Some(a), Some(b)) => self.compare(od, a, ud, b, &p),
        }
    }

    /// Tuple entries pairwise; entries only one side has against the other
    /// side's content model.
    fn compare_tuple(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        let (ot, ut) = (tuple(o), tuple(u));
        for (i, (a, b)) in ot.iter().zip(ut).enumerate() {
            self.compare(od, a, ud, b, &format!("{path}/items/{i}"));
        }
        let model = |m| ContentModel {
            open: is_open(m),
            partial: partial(m),
        };
        for (i, os) in ot.iter().enumerate().skip(ut.len()) {
            let p = format!("{path}/items/{i}");
            self.member_removed(Member::Item, od, os, ud, model(u), &p);
        }
        for (i, us) in ut.iter().enumerate().skip(ot.len()) {
            let p = format!("{path}/items/{i}");
            self.member_added(Member::Item, od, model(o), ud, us, &p);
        }
    }
}
