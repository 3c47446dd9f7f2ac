//! The keywords that are not about objects, arrays or combiners: `enum`
//! (Confluent's `EnumSchemaDiff`),
//! `const` (`ConstSchemaDiff`), `not` (`NotSchemaDiff`), string and number
//! bounds (`StringSchemaDiff`, `NumberSchemaDiff`) and the array and object
//! counts, and the kinds of schema Confluent's loader tells apart.

use serde_json::{Map, Value};

use super::{num, Diff, Doc};

/// Keywords that make Confluent's loader build another kind of schema
/// (`NotSchema`, `ConstSchema`, `ConditionalSchema`, or a synthetic `allOf`
/// holding one next to the rest).
const KINDS: [&str; 3] = ["not", "const", "if"];

/// Whether `update` uses one of [`KINDS`] that `original` does not: for
/// Confluent a different kind of schema, `TYPE_CHANGED`.
pub(super) fn kind_added(original: &Map<String, Value>, update: &Map<String, Value>) -> bool {
    KINDS
        .iter()
        .any(|k| update.contains_key(*k) && !original.contains_key(*k))
}

impl<'a> Diff<'a> {
    pub(super) fn compare_enum(
        &mut self,
        o: &Map<String, Value>,
        u: &Map<String, Value>,
        path: &str,
    ) {
        let (oe, ue) = (
            o.get("enum").and_then(Value::as_array),
            u.get("enum").and_then(Value::as_array),
        );
        match (oe, ue) {
            (None, Some(_)) => self.add("ENUM_ARRAY_NARROWED", &format!("{path}/enum")),
            (Some(oe), Some(ue)) => {
                if oe.iter().all(|v| ue.contains(v)) {
                    return;
                }
                let t = if ue.iter().all(|v| oe.contains(v)) {
                    "ENUM_ARRAY_NARROWED"
                } else {
                    "ENUM_ARRAY_CHANGED"
                };
                self.add(t, &format!("{path}/enum"));
            }
            _ => {}
        }
    }

    pub(super) fn compare_bounds(
        &mut self,
        o: &Map<String, Value>,
        u: &Map<String, Value>,
        path: &str,
    ) {
        // (keyword, added, tightened-by-going-up?, tightened name)
        const UPPER: [(&str, &str, &str); 6] = [
            ("maxLength", "MAX_LENGTH_ADDED", "MAX_LENGTH_DECREASED"),
            ("maximum", "MAXIMUM_ADDED", "MAXIMUM_DECREASED"),
            (
                "exclusiveMaximum",
                "EXCLUSIVE_MAXIMUM_ADDED",
                "EXCLUSIVE_MAXIMUM_DECREASED",
            ),
            ("maxItems", "MAX_ITEMS_ADDED", "MAX_ITEMS_DECREASED"),
            (
                "maxProperties",
                "MAX_PROPERTIES_ADDED",
                "MAX_PROPERTIES_DECREASED",
            ),
            (
                "maxContains",
                "MAX_CONTAINS_ADDED",
                "MAX_CONTAINS_DECREASED",
            ),
        ];
        const LOWER: [(&str, &str, &str); 6] = [
            ("minLength", "MIN_LENGTH_ADDED", "MIN_LENGTH_INCREASED"),
            ("minimum", "MINIMUM_ADDED", "MINIMUM_INCREASED"),
            (
                "exclusiveMinimum",
                "EXCLUSIVE_MINIMUM_ADDED",
                "EXCLUSIVE_MINIMUM_INCREASED",
            ),
            ("minItems", "MIN_ITEMS_ADDED", "MIN_ITEMS_INCREASED"),
            (
                "minProperties",
                "MIN_PROPERTIES_ADDED",
                "MIN_PROPERTIES_INCREASED",
            ),
            (
                "minContains",
                "MIN_CONTAINS_ADDED",
                "MIN_CONTAINS_INCREASED",
            ),
        ];
        for (key, added, tightened) in UPPER {
            match (num(o, key), num(u, key)) {
                (None, Some(_)) => self.add(added, &format!("{path}/{key}")),
                (Some(a), Some(b)) if b < a => self.add(tightened, &format!("{path}/{key}")),
                _ => {}
            }
        }
        for (key, added, tightened) in LOWER {
            match (num(o, key), num(u, key)) {
                (None, Some(_)) => self.add(added, &format!("{path}/{key}")),
                (Some(a), Some(b)) if b > a => self.add(tightened, &format!("{path}/{key}")),
                _ => {}
            }
        }
        match (num(o, "multipleOf"), num(u, "multipleOf")) {
            (None, Some(_)) => self.add("MULTIPLE_OF_ADDED", &format!("{path}/multipleOf")),
            (Some(a), Some(b)) if a != b => {
                // A divisor of the old step still accepts every old value.
                let ratio = a / b;
                let t = if (ratio - ratio.round()).abs() < 1e-9 {
                    return;
                } else if b > a && ((b / a) - (b / a).round()).abs() < 1e-9 {
                    "MULTIPLE_OF_EXPANDED"
                } else {
                    "MULTIPLE_OF_CHANGED"
                };
                self.add(t, &format!("{path}/multipleOf"));
            }
            _ => {}
        }
        match (o.get("pattern"), u.get("pattern")) {
            (None, Some(_)) => self.add("PATTERN_ADDED", &format!("{path}/pattern")),
            (Some(a), Some(b)) if a != b => self.add("PATTERN_CHANGED", &format!("{path}/pattern")),
            _ => {}
        }
        let unique = |m: &Map<String, Value>| m.get("uniqueItems") == Some(&Value::Bool(true));
        if !unique(o) && unique(u) {
            self.add("UNIQUE_ITEMS_ADDED", &format!("{path}/uniqueItems"));
        }
    }

    /// Two `const`s: a different value is `ENUM_ARRAY_CHANGED`
    /// (`ConstSchemaDiff`).
    pub(super) fn compare_const(
        &mut self,
        o: &Map<String, Value>,
        u: &Map<String, Value>,
        path: &str,
    ) {
        if let (Some(a), Some(b)) = (o.get("const"), u.get("const")) {
            if a != b {
                self.add("ENUM_ARRAY_CHANGED", &format!("{path}/const"));
            }
        }
    }

    /// Two `not`s (`NotSchemaDiff`): compared the other way round, since the
    /// update accepts everything the original did when what it excludes is
    /// within what the original excluded (`NOT_TYPE_NARROWED`, compatible);
    /// otherwise `NOT_TYPE_EXTENDED`.
    pub(super) fn compare_not(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        if let (Some(a), Some(b)) = (o.get("not"), u.get("not")) {
            if !self.compatible_reversed(ud, b, od, a) {
                self.add("NOT_TYPE_EXTENDED", &format!("{path}/not"));
            }
        }
    }
}
