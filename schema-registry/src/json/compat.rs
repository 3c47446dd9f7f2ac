//! Confluent's JSON Schema compatibility rules.
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
//! - properties under open (no `additionalProperties`, `true`, or
//!   `patternProperties`), partially open (`additionalProperties` a schema)
//!   and closed (`false`) content models: `PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`
//!   (unless the added schema is empty), `REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL`
//!   (unless it has a default), `PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL`
//!   (unless the removed schema was `false`), and the partially open
//!   `..._NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL` cases;
//! - `required`: `REQUIRED_ATTRIBUTE_ADDED` (unless the property has a default);
//! - `additionalProperties`: `ADDITIONAL_PROPERTIES_REMOVED`,
//!   `ADDITIONAL_PROPERTIES_NARROWED`, and its schema recursively;
//! - `enum`: `ENUM_ARRAY_NARROWED`, `ENUM_ARRAY_CHANGED`;
//! - bounds: `MAX_LENGTH_*`, `MIN_LENGTH_*`, `PATTERN_*`, `MAXIMUM_*`,
//!   `MINIMUM_*`, `EXCLUSIVE_MAXIMUM_*`, `EXCLUSIVE_MINIMUM_*` (numeric
//!   forms), `MULTIPLE_OF_*`, `MAX_ITEMS_*`, `MIN_ITEMS_*`, `UNIQUE_ITEMS_ADDED`,
//!   `MAX_PROPERTIES_*`, `MIN_PROPERTIES_*` (added, or tightened);
//! - `items` (one schema, or positional), `properties`, `additionalProperties`
//!   recursively, through local `$ref`s (`#/definitions/..`, `#/$defs/..`) and
//!   `$ref`s to referenced schemas;
//! - `oneOf`/`anyOf`/`allOf`: `COMBINED_TYPE_CHANGED` (different combiner, or a
//!   plain schema replaced by a union none of whose branches accepts it),
//!   `SUM_TYPE_NARROWED` (fewer `oneOf`/`anyOf` branches),
//!   `PRODUCT_TYPE_EXTENDED` (more `allOf` branches) and
//!   `COMBINED_TYPE_SUBSCHEMAS_CHANGED` (a branch with no compatible match).
//!
//! Not covered: `dependencies`/`dependentRequired`/`dependentSchemas`,
//! `patternProperties` schemas themselves, `additionalItems`/`prefixItems`,
//! `not`, `const`, `if`/`then`/`else`, draft-4 boolean exclusive bounds,
//! and Confluent's reserved-property metadata rules.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::JsonSchema;

/// One incompatible difference between two JSON Schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Confluent's `Difference.Type` name, e.g. `TYPE_NARROWED`.
    pub error_type: &'static str,
    /// JSON path in Confluent's form, e.g. `#/properties/age`.
    pub path: String,
}

impl Incompatibility {
    /// Confluent's message, naming the reader (update) and the writer
    /// (original) by their roles.
    pub fn describe(&self, reader_role: &str, writer_role: &str) -> String {
        let (a, b, p) = (reader_role, writer_role, &self.path);
        let t = self.error_type;
        let description = if t.ends_with("_ADDED") || t == "ADDITIONAL_PROPERTIES_REMOVED" {
            format!("The keyword at path '{p}' in the {a} schema is not present in the {b} schema")
        } else if t.ends_with("_INCREASED") {
            format!("The value at path '{p}' in the {a} schema is more than its value in the {b} schema")
        } else if t.ends_with("_DECREASED") {
            format!("The value at path '{p}' in the {a} schema is less than its value in the {b} schema")
        } else if t == "PATTERN_CHANGED" || t == "MULTIPLE_OF_CHANGED" {
            format!("The value at path '{p}' is different between the {a} and {b} schema")
        } else if t.ends_with("_NARROWED") && t != "TYPE_NARROWED" {
            format!("An array or combined type at path '{p}' has fewer elements in the {a} schema than the {b} schema")
        } else if t == "PRODUCT_TYPE_EXTENDED" {
            format!("An array or combined type at path '{p}' has more elements in the {a} schema than the {b} schema")
        } else if t == "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" {
            format!("The {a} schema has an open content model and has a property or item at path '{p}' which is missing in the {b} schema")
        } else if t == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" {
            format!("The {a} schema has an unopen content model and has a required property at path '{p}' which is missing in the {b} schema")
        } else if t == "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" {
            format!("The {a} has a closed content model and is missing a property or item present at path '{p}' in the {b} schema")
        } else if t == "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" {
            format!("A property or item is missing in the {a} schema but present at path '{p}' in the {b} schema and is not covered by its partially open content model")
        } else if t == "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" {
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
    out: Vec<Incompatibility>,
}

fn is_empty_schema(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Object(m) => m
            .keys()
            .all(|k| matches!(k.as_str(), "description" | "title" | "$comment" | "default")),
        _ => false,
    }
}

/// How an object schema treats properties it does not list.
enum ContentModel<'a> {
    Open,
    Partial(&'a Value),
    Closed,
}

fn content_model(m: &Map<String, Value>) -> ContentModel<'_> {
    if m.get("patternProperties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
    {
        return ContentModel::Open;
    }
    match m.get("additionalProperties") {
        None | Some(Value::Bool(true)) => ContentModel::Open,
        Some(Value::Bool(false)) => ContentModel::Closed,
        Some(v) if is_empty_schema(v) => ContentModel::Open,
        Some(v) => ContentModel::Partial(v),
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

const COMBINERS: [&str; 3] = ["oneOf", "anyOf", "allOf"];

fn combiner(m: &Map<String, Value>) -> Option<(&'static str, &Vec<Value>)> {
    COMBINERS
        .into_iter()
        .find_map(|k| m.get(k).and_then(Value::as_array).map(|a| (k, a)))
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
                let refs = if original {
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
        if self.compare_combined(od, o, original, ud, u, path) {
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
        self.compare_bounds(o, u, path);
        self.compare_object(od, o, ud, u, path);
        self.compare_array(od, o, ud, u, path);
    }

    /// `oneOf`/`anyOf`/`allOf`; returns true when it handled the node.
    fn compare_combined(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        original: &'a Value,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) -> bool {
        let oc = combiner(o);
        let uc = combiner(u);
        match (oc, uc) {
            (None, None) => false,
            (Some((ok, obranches)), Some((uk, ubranches))) => {
                let sub = format!("{path}/{uk}");
                if ok != uk {
                    self.add("COMBINED_TYPE_CHANGED", &sub);
                    return true;
                }
                if ok == "allOf" {
                    if ubranches.len() > obranches.len() {
                        self.add("PRODUCT_TYPE_EXTENDED", &sub);
                    }
                    // Every update constraint must be implied by some original one.
                    for ub in ubranches {
                        if !obranches.iter().any(|ob| self.compatible(od, ob, ud, ub)) {
                            self.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", &sub);
                            break;
                        }
                    }
                } else {
                    if ubranches.len() < obranches.len() {
                        self.add("SUM_TYPE_NARROWED", &sub);
                    }
                    // Every original branch must be accepted by some update branch.
                    for ob in obranches {
                        if !ubranches.iter().any(|ub| self.compatible(od, ob, ud, ub)) {
                            self.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", &sub);
                            break;
                        }
                    }
                }
                true
            }
            (None, Some((uk, ubranches))) if uk != "allOf" => {
                // A plain schema widened to a union: fine when a branch accepts it.
                if !ubranches
                    .iter()
                    .any(|ub| self.compatible(od, original, ud, ub))
                {
                    self.add("COMBINED_TYPE_CHANGED", path);
                }
                true
            }
            _ => {
                self.add("COMBINED_TYPE_CHANGED", path);
                true
            }
        }
    }

    fn compare_enum(&mut self, o: &Map<String, Value>, u: &Map<String, Value>, path: &str) {
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

    fn compare_bounds(&mut self, o: &Map<String, Value>, u: &Map<String, Value>, path: &str) {
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
            ("maxContains", "MAX_ITEMS_ADDED", "MAX_ITEMS_DECREASED"),
        ];
        const LOWER: [(&str, &str, &str); 5] = [
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

    fn compare_object(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        let oprops = o.get("properties").and_then(Value::as_object);
        let uprops = u.get("properties").and_then(Value::as_object);
        let oget = |name: &str| oprops.and_then(|m| m.get(name));
        let uget = |name: &str| uprops.and_then(|m| m.get(name));
        let oreq = required(o);
        let ureq = required(u);
        for name in oprops.into_iter().flat_map(|m| m.keys()) {
            let Some(us) = uget(name) else { continue };
            if !oreq.contains(&name.as_str()) && ureq.contains(&name.as_str()) {
                let (_, us) = self.resolve(ud, us, false);
                if us.get("default").is_none() {
                    self.add(
                        "REQUIRED_ATTRIBUTE_ADDED",
                        &format!("{path}/required/{name}"),
                    );
                }
            }
        }
        let mut names: Vec<&String> = oprops
            .into_iter()
            .chain(uprops)
            .flat_map(|m| m.keys())
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let p = format!("{path}/properties/{name}");
            match (oget(name), uget(name)) {
                (Some(os), Some(us)) => self.compare(od, os, ud, us, &p),
                (Some(os), None) => match content_model(u) {
                    ContentModel::Open => {}
                    ContentModel::Partial(extra) => {
                        if !self.compatible(od, os, ud, extra) {
                            self.add(
                                "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                                &p,
                            );
                        }
                    }
                    ContentModel::Closed => {
                        if os != &Value::Bool(false) {
                            self.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", &p);
                        }
                    }
                },
                (None, Some(us)) => match content_model(o) {
                    ContentModel::Open => {
                        let (_, resolved) = self.resolve(ud, us, false);
                        if !is_empty_schema(resolved) {
                            self.add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", &p);
                        }
                    }
                    ContentModel::Partial(extra) => {
                        if !self.compatible(od, extra, ud, us) {
                            self.add(
                                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                                &p,
                            );
                        }
                    }
                    ContentModel::Closed => {
                        let (_, resolved) = self.resolve(ud, us, false);
                        if ureq.contains(&name.as_str()) && resolved.get("default").is_none() {
                            self.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", &p);
                        }
                    }
                },
                (None, None) => {}
            }
        }
        let p = format!("{path}/additionalProperties");
        match (content_model(o), content_model(u)) {
            (ContentModel::Open | ContentModel::Partial(_), ContentModel::Closed) => {
                self.add("ADDITIONAL_PROPERTIES_REMOVED", &p);
            }
            (ContentModel::Open, ContentModel::Partial(_)) => {
                self.add("ADDITIONAL_PROPERTIES_NARROWED", &p)
            }
            (ContentModel::Partial(a), ContentModel::Partial(b)) => self.compare(od, a, ud, b, &p),
            _ => {}
        }
    }

    fn compare_array(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        match (o.get("items"), u.get("items")) {
            (Some(Value::Array(oi)), Some(Value::Array(ui))) => {
                for (i, (a, b)) in oi.iter().zip(ui).enumerate() {
                    self.compare(od, a, ud, b, &format!("{path}/items/{i}"));
                }
            }
            (Some(a), Some(b)) if !a.is_array() && !b.is_array() => {
                self.compare(od, a, ud, b, &format!("{path}/items"));
            }
            (None, Some(b)) if !b.is_array() && !is_empty_schema(b) => {
                self.add("TYPE_NARROWED", &format!("{path}/items"));
            }
            _ => {}
        }
    }
}
