//! Confluent's JSON Schema compatibility rules (`io.confluent.kafka.
//! schemaregistry.json.diff`: `SchemaDiff`, `ObjectSchemaDiff`,
//! `ArraySchemaDiff`, `CombinedSchemaDiff`, `NotSchemaDiff`,
//! `ConstSchemaDiff`, and `Difference.Type` for the names).
//!
//! The writer schema is Confluent's "original", the reader its "update":
//! BACKWARD compares old (original) to new (update), FORWARD the reverse.
//! Only incompatible differences are reported; the compatible ones
//! Confluent names (descriptions, titles, defaults, relaxed constraints,
//! extended types and enums, optional properties added to a closed model,
//! properties removed from an open model, ...) pass silently.
//!
//! Covered, each pinned by a test:
//! - `type`: `TYPE_NARROWED` and `TYPE_CHANGED` (`integer` is a subset of
//!   `number`; an absent `type` accepts every type);
//! - object content models ([`object`]): open (no `additionalProperties`
//!   or `true`, no `patternProperties`), partially open (a property's name
//!   matches a `patternProperties` pattern, or `additionalProperties` is a
//!   schema: that schema must cover the property) and closed:
//!   `PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL` (unless the added schema is
//!   empty), `REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL` (unless it
//!   has a default), `PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL` (unless
//!   the removed schema was `false`), `..._NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL`;
//!   `patternProperties` schemas count only as that coverage, as in
//!   Confluent (which compares them nowhere else);
//! - `required`: `REQUIRED_ATTRIBUTE_ADDED` (unless the property has a default);
//! - `additionalProperties`: `ADDITIONAL_PROPERTIES_REMOVED`,
//!   `ADDITIONAL_PROPERTIES_NARROWED`, and its schema recursively;
//! - `dependencies` (and `dependentRequired`/`dependentSchemas`, reported
//!   under `#/dependencies/<name>` as Confluent does): `DEPENDENCY_ARRAY_ADDED`,
//!   `DEPENDENCY_ARRAY_EXTENDED`, `DEPENDENCY_ARRAY_CHANGED`,
//!   `DEPENDENCY_SCHEMA_ADDED`, dependent schemas recursively;
//! - arrays ([`array`]): `items` as one schema (`SCHEMA_ADDED` when it
//!   appears) and tuples (`items` arrays, `prefixItems`) with the array
//!   content model (`additionalItems`, or `items` after `prefixItems`, then
//!   `unevaluatedItems`): `ITEM_ADDED_TO_OPEN_CONTENT_MODEL`,
//!   `ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL`, `ITEM_..._NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL`,
//!   `ADDITIONAL_ITEMS_REMOVED`, `ADDITIONAL_ITEMS_NARROWED`,
//!   `UNEVALUATED_ITEMS_REMOVED`, `UNEVALUATED_ITEMS_NARROWED`;
//! - `enum`: `ENUM_ARRAY_NARROWED`, `ENUM_ARRAY_CHANGED`; `const`: a
//!   different value is `ENUM_ARRAY_CHANGED`;
//! - `not`: compared in reverse, `NOT_TYPE_EXTENDED` when the excluded set
//!   grew;
//! - bounds: `MAX_LENGTH_*`, `MIN_LENGTH_*`, `PATTERN_*`, `MAXIMUM_*`,
//!   `MINIMUM_*`, `EXCLUSIVE_MAXIMUM_*`, `EXCLUSIVE_MINIMUM_*` (numeric
//!   forms), `MULTIPLE_OF_*`, `MAX_ITEMS_*`, `MIN_ITEMS_*`, `MAX_CONTAINS_*`,
//!   `MIN_CONTAINS_*`, `UNIQUE_ITEMS_ADDED`, `MAX_PROPERTIES_*`,
//!   `MIN_PROPERTIES_*` (added, or tightened);
//! - `oneOf`/`anyOf`/`allOf` ([`combined`]): `COMBINED_TYPE_CHANGED` (another
//!   combiner, unless it accepts more: anything to `anyOf`, one branch to
//!   `oneOf`), `SUM_TYPE_NARROWED` (fewer `oneOf`/`anyOf` branches),
//!   `PRODUCT_TYPE_EXTENDED` (more `allOf` branches),
//!   `COMBINED_TYPE_SUBSCHEMAS_CHANGED` (no one-to-one matching of
//!   compatible branches), and `TYPE_CHANGED` for a plain schema replaced by
//!   a combined one none of whose branches takes it, or the reverse;
//! - `not`, `const` or `if` added to a schema without it: `TYPE_CHANGED`
//!   (Confluent's loader makes such a schema another kind of schema, or a
//!   synthetic `allOf`); removing one is compatible. `if`/`then`/`else`
//!   themselves are not compared, as Confluent's `SchemaDiff` has no rule
//!   for conditional schemas;
//! - all of it through local `$ref`s (`#/definitions/..`, `#/$defs/..`) and
//!   `$ref`s to referenced schemas.
//!
//! Not covered: `unevaluatedProperties`, draft-4 boolean exclusive bounds,
//! and Confluent's reserved-property metadata rules. An empty schema (`{}`
//! or `true`) as `additionalProperties`, `additionalItems` or
//! `unevaluatedItems` counts as absent.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::JsonSchema;

mod array;
mod combined;
mod content_model;
mod keywords;
mod object;

/// One incompatible difference between two JSON Schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Confluent's `Difference.Type` name, e.g. `TYPE_NARROWED`.
    pub error_type: &'static str,
    /// JSON path in Confluent's form, e.g. `#/properties/age`.
    pub path: String,
}

impl Incompatibility {
    /// Confluent's message (`Difference.error()`), naming the reader
    /// (update) and the writer (original) by their roles.
    pub fn describe(&self, reader_role: &str, writer_role: &str) -> String {
        let (a, b, p) = (reader_role, writer_role, &self.path);
        let t = self.error_type;
        let description = if (t.ends_with("_ADDED") && t != "SCHEMA_ADDED")
            || matches!(
                t,
                "ADDITIONAL_PROPERTIES_REMOVED"
                    | "ADDITIONAL_ITEMS_REMOVED"
                    | "UNEVALUATED_ITEMS_REMOVED"
            ) {
            format!("The keyword at path '{p}' in the {a} schema is not present in the {b} schema")
        } else if t.ends_with("_INCREASED") || t == "MULTIPLE_OF_EXPANDED" {
            format!("The value at path '{p}' in the {a} schema is more than its value in the {b} schema")
        } else if t.ends_with("_DECREASED") {
            format!("The value at path '{p}' in the {a} schema is less than its value in the {b} schema")
        } else if matches!(
            t,
            "PATTERN_CHANGED" | "MULTIPLE_OF_CHANGED" | "DEPENDENCY_ARRAY_CHANGED"
        ) {
            format!("The value at path '{p}' is different between the {a} and {b} schema")
        } else if t.ends_with("_NARROWED") && t != "TYPE_NARROWED" {
            format!("An array or combined type at path '{p}' has fewer elements in the {a} schema than the {b} schema")
        } else if matches!(
            t,
            "PRODUCT_TYPE_EXTENDED" | "DEPENDENCY_ARRAY_EXTENDED" | "NOT_TYPE_EXTENDED"
        ) {
            format!("An array or combined type at path '{p}' has more elements in the {a} schema than the {b} schema")
        } else if matches!(
            t,
            "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" | "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
        ) {
            format!("The {a} schema has an open content model and has a property or item at path '{p}' which is missing in the {b} schema")
        } else if t == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" {
            format!("The {a} schema has an unopen content model and has a required property at path '{p}' which is missing in the {b} schema")
        } else if matches!(
            t,
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" | "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"
        ) {
            format!("The {a} schema has a closed content model and is missing a property or item present at path '{p}' in the {b} schema")
        } else if t.ends_with("_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL") {
            format!("A property or item is missing in the {a} schema but present at path '{p}' in the {b} schema and is not covered by its partially open content model")
        } else if t.ends_with("_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL") {
            format!("The {a} schema has a property or item at path '{p}' which is missing in the {b} schema and is not covered by its partially open content model")
        } else {
            format!("A type at path '{p}' is different between the {a} schema and the {b} schema")
        };
        format!("{{errorType:\"{t}\", description:\"{description}\"}}")
    }
}

/// Every incompatible difference for `reader` validating data that was valid
/// under `writer`; empty when compatible.
pub fn incompatibilities(reader: &JsonSchema, writer: &JsonSchema) -> Vec<Incompatibility> {
    let mut diff = Diff {
        original_doc: writer,
        update_doc: reader,
        seen: HashSet::new(),
        same_references: writer.references() == reader.references(),
        swapped: false,
        out: Vec::new(),
    };
    diff.compare(
        Doc::Root(writer.value()),
        writer.value(),
        Doc::Root(reader.value()),
        reader.value(),
        "#",
    );
    diff.out
}

/// The document a schema node lives in, against which its local `$ref`s
/// resolve.
#[derive(Clone, Copy)]
enum Doc<'a> {
    Root(&'a Value),
}

impl<'a> Doc<'a> {
    fn value(self) -> &'a Value {
        match self {
            Doc::Root(v) => v,
        }
    }
}

struct Diff<'a> {
    original_doc: &'a JsonSchema,
    update_doc: &'a JsonSchema,
    seen: HashSet<(usize, usize)>,
    /// Equal nodes are equal schemas only when their `$ref`s to other
    /// documents point at the same texts.
    same_references: bool,
    /// Inside a reversed comparison (`not`): the "original" side then
    /// comes from the update document.
    swapped: bool,
    out: Vec<Incompatibility>,
}

/// A schema that accepts everything: `true`, or only annotations.
fn is_empty_schema(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Object(m) => m
            .keys()
            .all(|k| matches!(k.as_str(), "description" | "title" | "$comment" | "default")),
        _ => false,
    }
}

/// The `type` keyword as a set; `None` accepts every type.
fn types(m: &Map<String, Value>) -> Option<Vec<&str>> {
    match m.get("type")? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

/// Whether every instance of type `t` is accepted by the type set `set`.
fn covered(t: &str, set: &[&str]) -> bool {
    set.contains(&t) || (t == "integer" && set.contains(&"number"))
}

fn num(m: &Map<String, Value>, key: &str) -> Option<f64> {
    m.get(key).and_then(Value::as_f64)
}

fn required(m: &Map<String, Value>) -> Vec<&str> {
    m.get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl<'a> Diff<'a> {
    fn add(&mut self, error_type: &'static str, path: &str) {
        self.out.push(Incompatibility {
            error_type,
            path: path.to_owned(),
        });
    }

    /// Follows `$ref`s: local pointers into the node's document, or other
    /// documents by reference name (then a pointer into them).
    fn resolve(&self, doc: Doc<'a>, v: &'a Value, original: bool) -> (Doc<'a>, &'a Value) {
        let mut doc = doc;
        let mut v = v;
        for _ in 0..32 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let (target, fragment) = r.split_once('#').unwrap_or((r, ""));
            if !target.is_empty() {
                let refs = if original != self.swapped {
                    self.original_doc.references()
                } else {
                    self.update_doc.references()
                };
                let found = refs.get(target).or_else(|| {
                    refs.iter()
                        .find(|(name, _)| {
                            target.ends_with(&format!("/{name}"))
                                || name.ends_with(&format!("/{target}"))
                        })
                        .map(|(_, v)| v)
                });
                match found {
                    Some(d) => doc = Doc::Root(d),
                    None => break,
                }
            }
            let next = if fragment.is_empty() {
                Some(doc.value())
            } else {
                doc.value().pointer(fragment)
            };
            match next {
                Some(n) => v = n,
                None => break,
            }
        }
        (doc, v)
    }

    /// Whether `update` accepts everything `original` accepts, without
    /// recording anything.
    fn compatible(
        &mut self,
        od: Doc<'a>,
        original: &'a Value,
        ud: Doc<'a>,
        update: &'a Value,
    ) -> bool {
        let saved = std::mem::take(&mut self.out);
        self.compare(od, original, ud, update, "#");
        let ok = self.out.is_empty();
        self.out = saved;
        ok
    }

    /// [`Self::compatible`] with the roles swapped: `original` is a node of
    /// the update document and `update` one of the original document.
    fn compatible_reversed(
        &mut self,
        ud: Doc<'a>,
        from_update: &'a Value,
        od: Doc<'a>,
        from_original: &'a Value,
    ) -> bool {
        self.swapped = !self.swapped;
        let ok = self.compatible(ud, from_update, od, from_original);
        self.swapped = !self.swapped;
        ok
    }

    /// Compares at `path`, recording what is incompatible; true when
    /// something was.
    fn compare_recording(
        &mut self,
        od: Doc<'a>,
        original: &'a Value,
        ud: Doc<'a>,
        update: &'a Value,
        path: &str,
    ) -> bool {
        let before = self.out.len();
        self.compare(od, original, ud, update, path);
        self.out.len() > before
    }

    fn compare(
        &mut self,
        od: Doc<'a>,
        original: &'a Value,
        ud: Doc<'a>,
        update: &'a Value,
        path: &str,
    ) {
        let (od, original) = self.resolve(od, original, true);
        let (ud, update) = self.resolve(ud, update, false);
        if (self.same_references && original == update) || is_empty_schema(update) {
            return;
        }
        let key = (
            original as *const Value as usize,
            update as *const Value as usize,
        );
        if !self.seen.insert(key) {
            return;
        }
        self.compare_resolved(od, original, ud, update, path);
        self.seen.remove(&key);
    }

    fn compare_resolved(
        &mut self,
        od: Doc<'a>,
        original: &'a Value,
        ud: Doc<'a>,
        update: &'a Value,
        path: &str,
    ) {
        let (Some(o), Some(u)) = (original.as_object(), update.as_object()) else {
            // `false` or a non-schema on either side, or `true` replaced by
            // a constrained schema: the accepted set shrank or changed.
            if original != &Value::Bool(false) {
                self.add("TYPE_NARROWED", path);
            }
            return;
        };
        if self.compare_combined(od, (o, original), ud, (u, update), path) {
            return;
        }
        if keywords::kind_added(o, u) {
            self.add("TYPE_CHANGED", path);
            return;
        }
        let ot = types(o);
        let ut = types(u);
        match (&ot, &ut) {
            (None, Some(_)) => self.add("TYPE_NARROWED", path),
            (Some(ot), Some(ut)) if !ot.iter().all(|t| covered(t, ut)) => {
                if ut.iter().all(|t| covered(t, ot)) {
                    self.add("TYPE_NARROWED", path);
                } else {
                    self.add("TYPE_CHANGED", path);
                }
                // Keywords of a different type do not compare meaningfully.
                return;
            }
            _ => {}
        }
        self.compare_enum(o, u, path);
        self.compare_const(o, u, path);
        self.compare_not(od, o, ud, u, path);
        self.compare_bounds(o, u, path);
        self.compare_object(od, o, ud, u, path);
        self.compare_array(od, o, ud, u, path);
    }
}
