//! Server-side partition assignors of KIP-848 consumer groups: `uniform`
//! (the default) and `range`.
//!
//! Both are pure functions from the members' subscriptions (topic ids), the
//! subscribed topics' partition counts and the current target assignment to
//! the next target assignment. Members are visited in member-id order so the
//! result is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// Partitions by topic id.
pub(crate) type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// What an assignor knows about one member.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberSpec {
    /// Topic ids the member subscribes to (existing topics only).
    pub(crate) subscribed: BTreeSet<Uuid>,
    /// The member's current target assignment, for stickiness.
    pub(crate) current: Assignment,
}

/// The assignors a group may name in `server_assignor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assignor {
    Uniform,
    Range,
}

impl Assignor {
    /// Names in Kafka's order of preference (`group.consumer.assignors`).
    pub(crate) const NAMES: &'static [&'static str] = &["uniform", "range"];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "uniform" => Some(Assignor::Uniform),
            "range" => Some(Assignor::Range),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    /// The target assignment of every member (members without partitions
    /// get an empty assignment).
    pub(crate) fn assign(
        self,
        members: &BTreeMap<String, MemberSpec>,
        topics: &BTreeMap<Uuid, i32>,
    ) -> BTreeMap<String, Assignment> {
        match self {
            Assignor::Uniform => uniform(members, topics),
            Assignor::Range => range(members, topics),
        }
    }
}

/// Kafka's UniformAssignor contract: every subscribed partition is assigned
/// to exactly one subscriber, counts differ by at most one wherever the
/// subscriptions allow it, and a partition stays with its current owner
/// unless it must move for balance.
fn uniform(
    members: &BTreeMap<String, MemberSpec>,
    topics: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut owned: BTreeMap<&str, BTreeSet<(Uuid, i32)>> = members
        .keys()
        .map(|m| (m.as_str(), BTreeSet::new()))
        .collect();
    let mut taken: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    // Keep what is still valid: the member still subscribes and the partition exists.
    for (id, spec) in members {
        for (topic, partitions) in &spec.current {
            let Some(&count) = topics.get(topic) else {
                continue;
            };
            if !spec.subscribed.contains(topic) {
                continue;
            }
            for &p in partitions {
                if p < count && taken.insert((*topic, p)) {
                    owned
                        .get_mut(id.as_str())
                        .expect("member")
                        .insert((*topic, p));
                }
            }
        }
    }
    let subscribers = |topic: &Uuid| -> Vec<&str> {
        members
            .iter()
            .filter(|(_, s)| s.subscribed.contains(topic))
            .map(|(m, _)| m.as_str())
            .collect()
    };
    // Hand out the rest, each to the least loaded subscriber.
    for (topic, &count) in topics {
        let eligible = subscribers(topic);
        if eligible.is_empty() {
            continue;
        }
        for p in 0..count {
            if taken.contains(&(*topic, p)) {
                continue;
            }
            let to = *eligible
                .iter()
                .min_by_key(|m| owned[**m].len())
                .expect("non-empty");
            owned.get_mut(to).expect("member").insert((*topic, p));
            taken.insert((*topic, p));
        }
    }
    // Move single partitions from the most to a less loaded subscriber while
    // that narrows the gap; each move strictly lowers the sum of squared
    // counts, so this ends, and only surplus partitions move.
    let eligible_by_topic: BTreeMap<Uuid, Vec<&str>> =
        topics.keys().map(|t| (*t, subscribers(t))).collect();
    loop {
        let mut by_load: Vec<&str> = owned.keys().copied().collect();
        by_load.sort_by_key(|m| std::cmp::Reverse(owned[*m].len()));
        let mut moved = None;
        'search: for from in by_load {
            let load = owned[from].len();
            // Newest partitions first, so long-held ones stay put.
            for tp in owned[from].iter().rev() {
                let target = eligible_by_topic[&tp.0]
                    .iter()
                    .filter(|m| **m != from && owned[**m].len() + 1 < load)
                    .min_by_key(|m| owned[**m].len());
                if let Some(to) = target {
                    moved = Some((from, *to, *tp));
                    break 'search;
                }
            }
        }
        let Some((from, to, tp)) = moved else {
            break;
        };
        owned.get_mut(from).expect("member").remove(&tp);
        owned.get_mut(to).expect("member").insert(tp);
    }
    owned
        .into_iter()
        .map(|(m, tps)| (m.to_string(), to_assignment(tps)))
        .collect()
}

/// Kafka's server-side RangeAssignor: per topic, its subscribers in member
/// order each take a contiguous range; the first `partitions % members`
/// take one more.
fn range(
    members: &BTreeMap<String, MemberSpec>,
    topics: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for (topic, &count) in topics {
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, s)| s.subscribed.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let n = subscribers.len() as i32;
        let (quota, extra) = (count / n, count % n);
        for (i, m) in subscribers.into_iter().enumerate() {
            let i = i as i32;
            let start = i * quota + i.min(extra);
            let len = quota + i32::from(i < extra);
            if len > 0 {
                out.get_mut(m)
                    .expect("member")
                    .insert(*topic, (start..start + len).collect());
            }
        }
    }
    out
}

fn to_assignment(tps: BTreeSet<(Uuid, i32)>) -> Assignment {
    let mut out = Assignment::new();
    for (t, p) in tps {
        out.entry(t).or_default().insert(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn spec(subscribed: &[Uuid], current: Assignment) -> MemberSpec {
        MemberSpec {
            subscribed: subscribed.iter().copied().collect(),
            current,
        }
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    fn all_once(result: &BTreeMap<String, Assignment>, topics: &BTreeMap<Uuid, i32>) {
        let mut seen = BTreeSet::new();
        for a in result.values() {
            for (t, ps) in a {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "{t} {p} assigned twice");
                }
            }
        }
        let total: i32 = topics.values().sum();
        assert_eq!(seen.len(), total as usize);
    }

    #[test]
    fn uniform_balances_a_fresh_group() {
        let (a, b) = (topic(1), topic(2));
        let topics = BTreeMap::from([(a, 5), (b, 4)]);
        let members: BTreeMap<String, MemberSpec> = ["m1", "m2", "m3"]
            .iter()
            .map(|m| (m.to_string(), spec(&[a, b], Assignment::new())))
            .collect();
        let result = Assignor::Uniform.assign(&members, &topics);
        all_once(&result, &topics);
        for a in result.values() {
            assert_eq!(count(a), 3);
        }
    }

    #[test]
    fn uniform_is_sticky_and_moves_the_minimum() {
        let t = topic(1);
        let topics = BTreeMap::from([(t, 6)]);
        let mut members = BTreeMap::new();
        members.insert(
            "m1".to_string(),
            spec(&[t], Assignment::from([(t, (0..6).collect())])),
        );
        let first = Assignor::Uniform.assign(&members, &topics);
        assert_eq!(count(&first["m1"]), 6);
        members.insert("m2".to_string(), spec(&[t], Assignment::new()));
        members.insert("m3".to_string(), spec(&[t], Assignment::new()));
        let second = Assignor::Uniform.assign(&members, &topics);
        all_once(&second, &topics);
        for m in ["m1", "m2", "m3"] {
            assert_eq!(count(&second[m]), 2, "{m}");
        }
        // m1 keeps two of its own partitions: only four moved.
        assert!(second["m1"][&t].iter().all(|p| (0..6).contains(p)));
        // Stable input gives the same output.
        for (m, a) in &second {
            members.get_mut(m).unwrap().current = a.clone();
        }
        assert_eq!(Assignor::Uniform.assign(&members, &topics), second);
        // m2 leaves: m1 and m3 keep theirs and split m2's.
        let m1_before = second["m1"][&t].clone();
        members.remove("m2");
        let third = Assignor::Uniform.assign(&members, &topics);
        all_once(&third, &topics);
        assert!(m1_before.is_subset(&third["m1"][&t]));
        assert_eq!(count(&third["m1"]), 3);
        assert_eq!(count(&third["m3"]), 3);
    }

    #[test]
    fn uniform_respects_heterogeneous_subscriptions() {
        let (a, b) = (topic(1), topic(2));
        let topics = BTreeMap::from([(a, 3), (b, 3)]);
        let members = BTreeMap::from([
            ("m1".to_string(), spec(&[a], Assignment::new())),
            ("m2".to_string(), spec(&[a, b], Assignment::new())),
        ]);
        let result = Assignor::Uniform.assign(&members, &topics);
        all_once(&result, &topics);
        assert!(!result["m1"].contains_key(&b));
        assert_eq!(count(&result["m1"]), 3);
        assert_eq!(count(&result["m2"]), 3);
    }

    #[test]
    fn range_gives_contiguous_ranges_in_member_order() {
        let (a, b) = (topic(1), topic(2));
        let topics = BTreeMap::from([(a, 7), (b, 2)]);
        let members: BTreeMap<String, MemberSpec> = ["m1", "m2", "m3"]
            .iter()
            .map(|m| (m.to_string(), spec(&[a, b], Assignment::new())))
            .collect();
        let result = Assignor::Range.assign(&members, &topics);
        all_once(&result, &topics);
        assert_eq!(result["m1"][&a], BTreeSet::from([0, 1, 2]));
        assert_eq!(result["m2"][&a], BTreeSet::from([3, 4]));
        assert_eq!(result["m3"][&a], BTreeSet::from([5, 6]));
        assert_eq!(result["m1"][&b], BTreeSet::from([0]));
        assert_eq!(result["m2"][&b], BTreeSet::from([1]));
        assert!(!result["m3"].contains_key(&b));
    }
}
