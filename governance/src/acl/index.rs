//! Bindings indexed so that one authorization looks at the bindings that can
//! apply to one resource (literal name, `*`, and the prefixes of the name),
//! not at every ACL: the bar is 10,000 ACLs costing under 2% of
//! produce CPU.
//!
//! Per resource type: literal bindings in a hash map by name (`*` is one of
//! its keys), prefixed bindings in a `BTreeMap` by prefix. The prefixes of a
//! name are found by a backward range walk: take the greatest key not after
//! the current bound; if it is a prefix of the name it applies, and the walk
//! continues before it; if not, no key between it and the bound is a prefix,
//! and the bound drops to the longest common prefix of that key and the name.
//! Each step either finds an applicable binding set or shortens the bound, so
//! a lookup costs a few `O(log n)` probes, whatever the number of ACLs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use super::{AclBinding, Operation, PatternType, Permission, ResourceType, WILDCARD};

/// The part of a binding the authorizer checks once the pattern applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) principal: String,
    pub(super) host: String,
    pub(super) operation: Operation,
    pub(super) permission: Permission,
}

impl Entry {
    fn of(binding: &AclBinding) -> Self {
        Entry {
            principal: binding.principal.clone(),
            host: binding.host.clone(),
            operation: binding.operation,
            permission: binding.permission,
        }
    }
}

#[derive(Debug, Default)]
struct TypeIndex {
    literal: HashMap<String, Vec<Entry>>,
    prefixed: BTreeMap<String, Vec<Entry>>,
}

#[derive(Debug, Default)]
pub(super) struct AclIndex {
    /// Every binding, in the stable order DescribeAcls answers in.
    pub(super) all: BTreeSet<AclBinding>,
    by_type: [TypeIndex; 8],
}

fn slot(t: ResourceType) -> usize {
    match t {
        ResourceType::Any => 0,
        ResourceType::Topic => 1,
        ResourceType::Group => 2,
        ResourceType::Cluster => 3,
        ResourceType::TransactionalId => 4,
        ResourceType::DelegationToken => 5,
        ResourceType::User => 6,
        ResourceType::Subject => 7,
    }
}

impl AclIndex {
    /// Adds a binding; false if it was there already.
    pub(super) fn insert(&mut self, binding: &AclBinding) -> bool {
        if !self.all.insert(binding.clone()) {
            return false;
        }
        let index = &mut self.by_type[slot(binding.resource_type)];
        let entries = match binding.pattern_type {
            PatternType::Prefixed => index
                .prefixed
                .entry(binding.resource_name.clone())
                .or_default(),
            _ => index
                .literal
                .entry(binding.resource_name.clone())
                .or_default(),
        };
        entries.push(Entry::of(binding));
        true
    }

    /// Removes a binding; false if it was not there.
    pub(super) fn remove(&mut self, binding: &AclBinding) -> bool {
        if !self.all.remove(binding) {
            return false;
        }
        let index = &mut self.by_type[slot(binding.resource_type)];
        let entry = Entry::of(binding);
        let name = binding.resource_name.as_str();
        match binding.pattern_type {
            PatternType::Prefixed => {
                if let Some(entries) = index.prefixed.get_mut(name) {
                    entries.retain(|e| *e != entry);
                    if entries.is_empty() {
                        index.prefixed.remove(name);
                    }
                }
            }
            _ => {
                if let Some(entries) = index.literal.get_mut(name) {
                    entries.retain(|e| *e != entry);
                    if entries.is_empty() {
                        index.literal.remove(name);
                    }
                }
            }
        }
        true
    }

    /// Calls `visit` with every entry set whose pattern applies to `name`
    /// (the literal name, the literal `*`, every prefixed prefix of the
    /// name) until it returns false.
    pub(super) fn for_each_applicable(
        &self,
        resource_type: ResourceType,
        name: &str,
        mut visit: impl FnMut(&[Entry]) -> bool,
    ) {
        let index = &self.by_type[slot(resource_type)];
        if let Some(entries) = index.literal.get(name) {
            if !visit(entries) {
                return;
            }
        }
        if name != WILDCARD {
            if let Some(entries) = index.literal.get(WILDCARD) {
                if !visit(entries) {
                    return;
                }
            }
        }
        let mut upper = Bound::Included(name);
        while let Some((key, entries)) = index
            .prefixed
            .range::<str, _>((Bound::Unbounded, upper))
            .next_back()
        {
            if name.starts_with(key.as_str()) {
                if !visit(entries) {
                    return;
                }
                upper = Bound::Excluded(&name[..key.len()]);
            } else {
                let common = common_prefix_len(key, name);
                upper = Bound::Included(&name[..common]);
            }
        }
    }

    /// Every binding of one type (for `authorize_any`).
    pub(super) fn of_type(&self, resource_type: ResourceType) -> impl Iterator<Item = &AclBinding> {
        self.all
            .iter()
            .filter(move |b| b.resource_type == resource_type)
    }
}

/// The byte length of the longest common prefix of `a` and `b` that ends on
/// a character boundary of both.
fn common_prefix_len(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixed(name: &str) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: name.into(),
            pattern_type: PatternType::Prefixed,
            principal: format!("User:{name}"),
            host: "*".into(),
            operation: Operation::Read,
            permission: Permission::Allow,
        }
    }

    fn applicable(index: &AclIndex, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        index.for_each_applicable(ResourceType::Topic, name, |entries| {
            found.extend(
                entries
                    .iter()
                    .map(|e| e.principal["User:".len()..].to_string()),
            );
            true
        });
        found.sort();
        found
    }

    #[test]
    fn prefix_walk_finds_exactly_the_prefixes() {
        let mut index = AclIndex::default();
        let names = [
            "a",
            "ab",
            "abc",
            "abd",
            "abcz",
            "b",
            "orders",
            "orders-eu",
            "ordersx",
            "order",
            "é",
            "éa",
            "zz",
        ];
        for n in names {
            index.insert(&prefixed(n));
        }
        for probe in [
            "abcz",
            "abc",
            "abd-1",
            "ab",
            "a",
            "orders-eu-1",
            "orders",
            "é",
            "éab",
            "ordera",
            "",
            "x",
            "zzz",
        ] {
            let mut want: Vec<String> = names
                .iter()
                .filter(|n| probe.starts_with(**n))
                .map(|n| n.to_string())
                .collect();
            want.sort();
            assert_eq!(applicable(&index, probe), want, "probe {probe}");
        }
    }

    #[test]
    fn common_prefix_stops_on_char_boundaries() {
        assert_eq!(common_prefix_len("éa", "èa"), 0);
        assert_eq!(common_prefix_len("abc", "abd"), 2);
        assert_eq!(common_prefix_len("ab", "abc"), 2);
    }

    #[test]
    fn insert_is_idempotent_and_remove_cleans_up() {
        let mut index = AclIndex::default();
        assert!(index.insert(&prefixed("a")));
        assert!(!index.insert(&prefixed("a")));
        assert_eq!(applicable(&index, "ab"), vec!["a"]);
        assert!(index.remove(&prefixed("a")));
        assert!(!index.remove(&prefixed("a")));
        assert!(applicable(&index, "ab").is_empty());
        assert!(index.by_type[slot(ResourceType::Topic)].prefixed.is_empty());
    }
}
