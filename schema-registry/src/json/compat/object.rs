//! Object keywords, as Confluent's `ObjectSchemaDiff`: `required`,
//! `properties` under the content model, `dependencies`
//! (`dependentRequired`, `dependentSchemas`) and `additionalProperties`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::content_model::{ContentModel, Member};
use super::{is_empty_schema, required, Diff, Doc};

/// `additionalProperties` as Confluent's `ObjectSchema` holds it: whether
/// other properties are permitted, and the schema they must match.
fn additional(m: &Map<String, Value>) -> (bool, Option<&Value>) {
    match m.get("additionalProperties") {
        Some(Value::Bool(false)) => (false, None),
        Some(v) if v.is_object() && !is_empty_schema(v) => (true, Some(v)),
        _ => (true, None),
    }
}

/// Open: any other property with any value (no `patternProperties`, no
/// `additionalProperties` schema, not `false`).
fn is_open(m: &Map<String, Value>) -> bool {
    let patterns = m
        .get("patternProperties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    !patterns && additional(m) == (true, None)
}

/// The schema a property `name` the object does not list must match: the
/// first `patternProperties` entry whose pattern is found in the name, else
/// the `additionalProperties` schema (Confluent's
/// `schemaFromPartiallyOpenContentModel`). `None`: closed to that name.
fn partial<'v>(m: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    let patterns = m.get("patternProperties").and_then(Value::as_object);
    patterns
        .into_iter()
        .flatten()
        .find(|(pattern, _)| pattern_finds(pattern, name))
        .map(|(_, schema)| schema)
        .or(additional(m).1)
}

/// Whether the ECMA 262 `pattern` matches somewhere in `name`, as JSON
/// Schema's `pattern` does (the validator's own regex engine decides).
fn pattern_finds(pattern: &str, name: &str) -> bool {
    let schema = serde_json::json!({ "pattern": pattern });
    jsonschema::validator_for(&schema).is_ok_and(|v| v.is_valid(&Value::String(name.to_owned())))
}

/// Property dependencies: `dependencies` entries that are arrays, and
/// `dependentRequired` (2019-09+).
fn dependency_arrays(m: &Map<String, Value>) -> Vec<(&String, BTreeSet<&str>)> {
    let from = |key: &str| {
        m.get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, v)| {
                let names = v.as_array()?.iter().filter_map(Value::as_str).collect();
                Some((name, names))
            })
    };
    from("dependencies")
        .chain(from("dependentRequired"))
        .collect()
}

/// Schema dependencies: `dependencies` entries that are schemas, and
/// `dependentSchemas` (2019-09+).
fn dependency_schemas(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let from = |key: &str| {
        m.get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.is_object() || v.is_boolean())
    };
    from("dependencies")
        .chain(from("dependentSchemas"))
        .collect()
}

impl<'a> Diff<'a> {
    pub(super) fn compare_object(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        self.compare_required(o, ud, u, path);
        self.compare_properties(od, o, ud, u, path);
        self.compare_dependencies(od, o, ud, u, path);
        let p = format!("{path}/additionalProperties");
        match (additional(o), additional(u)) {
            ((true, _), (false, _)) => self.add("ADDITIONAL_PROPERTIES_REMOVED", &p),
            ((true, None), (true, Some(_))) => self.add("ADDITIONAL_PROPERTIES_NARROWED", &p),
            ((true, Some(a)), (true, Some(b))) => self.compare(od, a, ud, b, &p),
            _ => {}
        }
    }

    fn compare_required(
        &mut self,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        let oprops = o.get("properties").and_then(Value::as_object);
        let uprops = u.get("properties").and_then(Value::as_object);
        let (oreq, ureq) = (required(o), required(u));
        for name in oprops.into_iter().flat_map(|m| m.keys()) {
            let Some(us) = uprops.and_then(|m| m.get(name)) else {
                continue;
            };
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
    }

    fn compare_properties(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        let oprops = o.get("properties").and_then(Value::as_object);
        let uprops = u.get("properties").and_then(Value::as_object);
        let ureq = required(u);
        let mut names: Vec<&String> = oprops
            .into_iter()
            .chain(uprops)
            .flat_map(|m| m.keys())
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let p = format!("{path}/properties/{name}");
            match (
                oprops.and_then(|m| m.get(name)),
                uprops.and_then(|m| m.get(name)),
            ) {
                (Some(os), Some(us)) => self.compare(od, os, ud, us, &p),
                // Only the update's content model decides whether it still
                // accepts what the property held.
                (Some(os), None) => {
                    let model = ContentModel {
                        open: is_open(u),
                        partial: partial(u, name),
                    };
                    self.member_removed(Member::Property, od, os, ud, model, &p);
                }
                // Only the original's content model decides what data may
                // already hold the new property.
                (None, Some(us)) => {
                    let model = ContentModel {
                        open: is_open(o),
                        partial: partial(o, name),
                    };
                    self.member_added(Member::Property, od, model, ud, us, &p);
                    if model.open {
                        continue;
                    }
                    let (_, resolved) = self.resolve(ud, us, false);
                    if ureq.contains(&name.as_str()) && resolved.get("default").is_none() {
                        self.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", &p);
                    }
                }
                (None, None) => {}
            }
        }
    }

    /// `DEPENDENCY_ARRAY_*` and `DEPENDENCY_SCHEMA_*`: a dependency added or
    /// one that requires more is incompatible; removing one, or requiring
    /// fewer properties, is not.
    fn compare_dependencies(
        &mut self,
        od: Doc<'a>,
        o: &'a Map<String, Value>,
        ud: Doc<'a>,
        u: &'a Map<String, Value>,
        path: &str,
    ) {
        let (oa, ua) = (dependency_arrays(o), dependency_arrays(u));
        let mut names: Vec<&String> = oa.iter().chain(&ua).map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        for name in names {
            let p = format!("{path}/dependencies/{name}");
            let find = |list: &[(&String, BTreeSet<&'a str>)]| {
                list.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, s)| s.clone())
            };
            match (find(&oa), find(&ua)) {
                (None, Some(_)) => self.add("DEPENDENCY_ARRAY_ADDED", &p),
                (Some(a), Some(b)) if a != b => {
                    if b.is_superset(&a) {
                        self.add("DEPENDENCY_ARRAY_EXTENDED", &p);
                    } else if !a.is_superset(&b) {
                        self.add("DEPENDENCY_ARRAY_CHANGED", &p);
                    }
                }
                _ => {}
            }
        }
        let (os, us) = (dependency_schemas(o), dependency_schemas(u));
        let mut names: Vec<&String> = os.iter().chain(&us).map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        for name in names {
            let p = format!("{path}/dependencies/{name}");
            let find = |list: &[(&String, &'a Value)]| {
                list.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
            };
            match (find(&os), find(&us)) {
                (None, Some(_)) => self.add("DEPENDENCY_SCHEMA_ADDED", &p),
                (Some(a), Some(b)) => self.compare(od, a, ud, b, &p),
                _ => {}
            }
        }
    }
}
