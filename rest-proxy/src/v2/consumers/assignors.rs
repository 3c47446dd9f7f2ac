//! Client-side assignors of the classic `consumer` protocol, as a REST
//! instance runs them when the coordinator elects it group leader, and the
//! wire encoding of what members exchange through the coordinator
//! (`ConsumerProtocolSubscription` in JoinGroup metadata,
//! `ConsumerProtocolAssignment` in SyncGroup assignments).
//!
//! `range` and `roundrobin` follow Kafka's `RangeAssignor` and
//! `RoundRobinAssignor` exactly (members ordered by member id), so a group
//! mixing REST instances with librdkafka, kafka-python or Java members gets
//! the same split whichever of them leads.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// Assignor names offered in JoinGroup, most preferred first (the Java
/// consumer's and librdkafka's default order).
pub(crate) const PROTOCOLS: [&str; 2] = ["range", "roundrobin"];

/// The version our subscriptions and assignments are written at. Version 1
/// (owned partitions) is read by every client in use; later versions only
/// append fields, so readers of older versions parse it too.
const VERSION: i16 = 1;

/// The highest version `kafka-protocol` decodes; later versions append
/// fields, so they are read as this one (as Kafka's `ConsumerProtocol` does).
const MAX_VERSION: i16 = 3;

/// Partitions by topic.
pub(crate) type Assignment = BTreeMap<String, BTreeSet<i32>>;

/// JoinGroup metadata for a member subscribed to `topics`.
pub(crate) fn encode_subscription(topics: &BTreeSet<String>) -> Bytes {
    let subscription = ConsumerProtocolSubscription::default()
        .with_topics(
            topics
                .iter()
                .map(|t| StrBytes::from_string(t.clone()))
                .collect(),
        )
        .with_owned_partitions(Vec::<OwnedTopic>::new());
    encode_versioned(&subscription)
}

/// The topics a member's JoinGroup metadata subscribes to; `None` when it
/// does not parse.
pub(crate) fn decode_subscription(metadata: &[u8]) -> Option<BTreeSet<String>> {
    let (version, mut body) = split_version(metadata)?;
    let subscription = ConsumerProtocolSubscription::decode(&mut body, version).ok()?;
    Some(subscription.topics.iter().map(|t| t.to_string()).collect())
}

/// SyncGroup bytes for one member's assignment.
pub(crate) fn encode_assignment(assignment: &Assignment) -> Bytes {
    let message = ConsumerProtocolAssignment::default().with_assigned_partitions(
        assignment
            .iter()
            .map(|(topic, partitions)| {
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                    .with_partitions(partitions.iter().copied().collect())
            })
            .collect(),
    );
    encode_versioned(&message)
}

/// The partitions a SyncGroup answer assigns; an empty answer (a member the
/// leader gave nothing) is an empty assignment, garbage is `None`.
pub(crate) fn decode_assignment(bytes: &[u8]) -> Option<Assignment> {
    if bytes.is_empty() {
        return Some(Assignment::new());
    }
    let (version, mut body) = split_version(bytes)?;
    let message = ConsumerProtocolAssignment::decode(&mut body, version).ok()?;
    let mut out = Assignment::new();
    for topic in message.assigned_partitions {
        out.entry(topic.topic.0.to_string())
            .or_default()
            .extend(topic.partitions);
    }
    Some(out)
}

fn encode_versioned<M: Encodable>(message: &M) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VERSION);
    // Encoding our own well-formed message at a version it supports cannot
    // fail; an empty body would be refused by the peer's decoder.
    if message.encode(&mut buf, VERSION).is_err() {
        buf.truncate(2);
    }
    buf.freeze()
}

fn split_version(bytes: &[u8]) -> Option<(i16, Bytes)> {
    let mut body = Bytes::copy_from_slice(bytes);
    let version = body.try_get_i16().ok()?;
    if version < 0 {
        return None;
    }
    Some((version.min(MAX_VERSION), body))
}

/// Assigns the partitions of the subscribed topics (`partitions`: count by
/// topic, topics missing from it do not exist) among `members` (member id
/// to subscribed topics) with the named assignor; `None` for an unknown
/// name. Every member gets an entry, maybe empty.
pub(crate) fn assign(
    protocol: &str,
    members: &BTreeMap<String, BTreeSet<String>>,
    partitions: &BTreeMap<String, i32>,
) -> Option<BTreeMap<String, Assignment>> {
    match protocol {
        "range" => Some(range(members, partitions)),
        "roundrobin" => Some(round_robin(members, partitions)),
        _ => None,
    }
}

/// Kafka's `RangeAssignor`: per topic, its subscribers in member-id order
/// each take a contiguous range, the first `count % subscribers` one more.
fn range(
    members: &BTreeMap<String, BTreeSet<String>>,
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for (topic, &count) in partitions {
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let per = count as usize / subscribers.len();
        let extra = count as usize % subscribers.len();
        for (i, member) in subscribers.iter().enumerate() {
            let start = per * i + i.min(extra);
            let len = per + usize::from(i < extra);
            if len == 0 {
                continue;
            }
            out.get_mut(*member)
                .expect("every member has an entry")
                .entry(topic.clone())
                .or_default()
                .extend((start..start + len).map(|p| p as i32));
        }
    }
    out
}

/// Kafka's `RoundRobinAssignor`: every partition of every subscribed topic,
/// in topic then partition order, goes to the next member (in member-id
/// order, circularly) that subscribes to its topic.
fn round_robin(
    members: &BTreeMap<String, BTreeSet<String>>,
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    let ids: Vec<&String> = members.keys().collect();
    if ids.is_empty() {
        return out;
    }
    let mut next = 0usize;
    for (topic, &count) in partitions {
        if !members.values().any(|topics| topics.contains(topic)) {
            continue;
        }
        for partition in 0..count.max(0) {
            // Some member subscribes to the topic, so this ends within a lap.
            while !members[ids[next % ids.len()]].contains(topic) {
                next += 1;
            }
            out.get_mut(ids[next % ids.len()])
                .expect("every member has an entry")
                .entry(topic.clone())
                .or_default()
                .insert(partition);
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(spec: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        spec.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn parts(spec: &[(&str, i32)]) -> BTreeMap<String, i32> {
        spec.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn flat(a: &Assignment) -> Vec<(String, i32)> {
        a.iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
            .collect()
    }

    #[test]
    fn range_matches_kafka() {
        // Kafka's RangeAssignor javadoc: C0, C1 on t0, t1 with 3 partitions each.
        let m = members(&[("c0", &["t0", "t1"]), ("c1", &["t0", "t1"])]);
        let a = assign("range", &m, &parts(&[("t0", 3), ("t1", 3)])).unwrap();
        assert_eq!(
            flat(&a["c0"]),
            vec![
                ("t0".into(), 0),
                ("t0".into(), 1),
                ("t1".into(), 0),
                ("t1".into(), 1)
            ]
        );
        assert_eq!(flat(&a["c1"]), vec![("t0".into(), 2), ("t1".into(), 2)]);
    }

    #[test]
    fn round_robin_matches_kafka() {
        // RoundRobinAssignor javadoc: C0 on t0; C1 on t0, t1; C2 on t0, t1, t2
        // with 1, 2 and 3 partitions.
        let m = members(&[
            ("c0", &["t0"]),
            ("c1", &["t0", "t1"]),
            ("c2", &["t0", "t1", "t2"]),
        ]);
        let a = assign("roundrobin", &m, &parts(&[("t0", 1), ("t1", 2), ("t2", 3)])).unwrap();
        assert_eq!(flat(&a["c0"]), vec![("t0".into(), 0)]);
        assert_eq!(flat(&a["c1"]), vec![("t1".into(), 0)]);
        assert_eq!(
            flat(&a["c2"]),
            vec![
                ("t1".into(), 1),
                ("t2".into(), 0),
                ("t2".into(), 1),
                ("t2".into(), 2)
            ]
        );
    }

    #[test]
    fn unsubscribed_and_missing_topics_are_skipped() {
        let m = members(&[("a", &["x"]), ("b", &["missing"])]);
        let a = assign("range", &m, &parts(&[("x", 2)])).unwrap();
        assert_eq!(flat(&a["a"]).len(), 2);
        assert!(a["b"].is_empty());
        assert!(assign("sticky", &m, &parts(&[])).is_none());
    }

    #[test]
    fn protocol_messages_round_trip() {
        let topics: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        assert_eq!(
            decode_subscription(&encode_subscription(&topics)),
            Some(topics)
        );
        let mut assignment = Assignment::new();
        assignment.insert("a".into(), [0, 2].into());
        assert_eq!(
            decode_assignment(&encode_assignment(&assignment)),
            Some(assignment)
        );
        assert_eq!(decode_assignment(&[]), Some(Assignment::new()));
        assert_eq!(decode_subscription(&[0xff, 0xff]), None);
        // librdkafka writes version 0 subscriptions: topics and user data.
        let v0 = [0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode_subscription(&v0), Some(["t".to_string()].into()));
    }
}
