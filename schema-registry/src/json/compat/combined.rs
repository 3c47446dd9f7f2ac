//! `oneOf`/`anyOf`/`allOf`, as Confluent's `CombinedSchemaDiff` and the
//! combined-versus-plain cases of its `SchemaDiff.compare`.
//!
//! Confluent's loader turns a schema that has a combiner next to other
//! constraints (`{"type": "object", "oneOf": [...]}`) into a synthetic
//! `allOf` of the two: here the combiners are compared, then the rest of the
//! node as usual. Dropping such a combiner is dropping a conjunct (the rest
//! decides); adding one is another kind of schema (`TYPE_CHANGED`).

use serde_json::{Map, Value};

use super::{Diff, Doc};

const COMBINERS: [&str; 3] = ["oneOf", "anyOf", "allOf"];

/// Keywords that constrain nothing by themselves.
const NEUTRAL: [&str; 14] = [
    "$schema",
    "$id",
    "id",
    "$anchor",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "definitions",
    "$defs",
    "readOnly",
    "writeOnly",
    "deprecated",
];

fn combiner(m: &Map<String, Value>) -> Option<(&'static str, &Vec<Value>)> {
    COMBINERS
        .into_iter()
        .find_map(|k| m.get(k).and_then(Value::as_array).map(|a| (k, a)))
}

/// Whether the node constrains more than its combiner.
fn has_siblings(m: &Map<String, Value>) -> bool {
    m.keys()
        .any(|k| !NEUTRAL.contains(&k.as_str()) && !COMBINERS.contains(&k.as_str()))
}

/// The branches with duplicates collapsed (Confluent compares them as a set).
fn distinct(branches: &[Value]) -> Vec<&Value> {
    let mut out: Vec<&Value> = Vec::new();
    for b in branches {
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// The size of a maximum matching in the bipartite graph `edges[left]`
/// lists the right vertices of (Kuhn's augmenting paths).
fn max_matching(edges: &[Vec<usize>], right: usize) -> usize {
    fn augment(
        l: usize,
        edges: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &r in &edges[l] {
            if seen[r] {
                continue;
            }
            seen[r] = true;
            if owner[r].is_none_or(|other| augment(other, edges, seen, owner)) {
                owner[r] = Some(l);
                return true;
            }
        }
        false
    }
    let mut owner = vec![None; right];
    (0..edges.len())
        .filter(|&l| augment(l, edges, &mut vec![false; right], &mut owner))
        .count()
}

impl<'a> Diff<'a> {
    /// Compares the combiners; true when that decided the whole node.
    pub(super) fn compare_combined(
        &mut self,
        od: Doc<'a>,
        (o, original): (&'a Map<String, Value>, &'a Value),
        ud: Doc<'a>,
        (u, update): (&'a Map<String, Value>, &'a Value),
        path: &str,
    ) -> bool {
        match (combiner(o), combiner(u)) {
            (None, None) => false,
            (Some((ok, ob)), Some((uk, ub))) => {
                self.compare_branches(od, (ok, ob), ud, (uk, ub), path);
                false
            }
            // A plain schema replaced by a combined one: fine when a single
            // branch, or any branch of a union, accepts it.
            (None, Some((uk, ub))) => {
                let accepted = !has_siblings(u)
                    && ((ub.len() == 1 && self.compatible(od, original, ud, &ub[0]))
                        || (uk != "allOf"
                            && ub.iter().any(|b| self.compatible(od, original, ud, b))));
                if !accepted {
                    self.add("TYPE_CHANGED", path);
                }
                true
            }
            (Some(_), None) if has_siblings(o) => false,
            // A combined schema replaced by a plain one: fine when it was a
            // single branch, or an `allOf` one of whose branches the plain
            // schema accepts (`PRODUCT_TYPE_NARROWED`).
            (Some((ok, ob)), None) => {
                let accepted = (ob.len() == 1 && self.compatible(od, &ob[0], ud, update))
                    || (ok == "allOf" && ob.iter().any(|b| self.compatible(od, b, ud, update)));
                if !accepted {
                    self.add("TYPE_CHANGED", path);
                }
                true
            }
        }
    }

    fn compare_branches(
        &mut self,
        od: Doc<'a>,
        (ok, ob): (&str, &'a [Value]),
        ud: Doc<'a>,
        (uk, ub): (&str, &'a [Value]),
        path: &str,
    ) {
        // Another combiner is compatible when it accepts more: anything to
        // `anyOf`, a single branch to `oneOf`, single to single `allOf`.
        let criterion_kept = ok == uk
            || uk == "anyOf"
            || (uk == "oneOf" && ob.len() == 1)
            || (uk == "allOf" && ob.len() == 1 && ub.len() == 1);
        if !criterion_kept {
            self.add("COMBINED_TYPE_CHANGED", path);
            return;
        }
        let (ob, ub) = (distinct(ob), distinct(ub));
        if ob.len() < ub.len() && uk == "allOf" {
            self.add("PRODUCT_TYPE_EXTENDED", path);
        } else if ob.len() > ub.len() && uk != "allOf" {
            self.add("SUM_TYPE_NARROWED", path);
        }
        // Each branch of the smaller side needs its own compatible partner.
        let edges: Vec<Vec<usize>> = ob
            .iter()
            .map(|o| {
                (0..ub.len())
                    .filter(|&j| self.compatible(od, o, ud, ub[j]))
                    .collect()
            })
            .collect();
        if max_matching(&edges, ub.len()) < ob.len().min(ub.len()) {
            self.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path);
        }
    }
}
