//! Consumer groups as kafka-rest sees them through the Admin client's
//! `describeConsumerGroups`: ConsumerGroupDescribe for KIP-848 groups,
//! DescribeGroups for classic ones (the broker answers GROUP_ID_NOT_FOUND
//! to the one that does not hold the group), classic members' assignments
//! decoded from their `ConsumerProtocolAssignment`, and the coordinator
//! from FindCoordinator.

use std::collections::HashMap;

use bytes::Buf;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DescribeGroupsRequest,
    FindCoordinatorRequest, ListGroupsRequest,
};
use kafka_protocol::protocol::Decodable;

use super::errors;
use super::kafka::{group_id, str_bytes};
use crate::backend::Caller;
use crate::error::RestError;
use crate::RestProxy;

/// One described consumer group.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) id: String,
    pub(super) is_simple: bool,
    pub(super) assignor: String,
    /// Kafka's `GroupState` name (`STABLE`, `PREPARING_REBALANCE`, ...).
    pub(super) state: &'static str,
    /// `CLASSIC` or `CONSUMER`.
    pub(super) kind: &'static str,
    pub(super) is_mixed: bool,
    pub(super) coordinator: i32,
    pub(super) members: Vec<Member>,
}

#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) consumer_id: String,
    pub(super) instance_id: Option<String>,
    pub(super) client_id: String,
    /// (topic, partition), sorted.
    pub(super) assignments: Vec<(String, i32)>,
}

impl Group {
    /// The member a partition is assigned to, if any.
    pub(super) fn owner(&self, topic: &str, partition: i32) -> Option<&Member> {
        self.members.iter().find(|m| {
            m.assignments
                .iter()
                .any(|(t, p)| t == topic && *p == partition)
        })
    }
}

/// Kafka's `GroupState` for a state as the wire spells it
/// (`PreparingRebalance` -> `PREPARING_REBALANCE`); anything else is
/// `UNKNOWN`, as kafka-rest reports a state it does not know.
pub(super) fn state_name(wire: &str) -> &'static str {
    match wire.to_ascii_lowercase().as_str() {
        "preparingrebalance" => "PREPARING_REBALANCE",
        "completingrebalance" => "COMPLETING_REBALANCE",
        "stable" => "STABLE",
        "dead" => "DEAD",
        "empty" => "EMPTY",
        "assigning" => "ASSIGNING",
        "reconciling" => "RECONCILING",
        "notready" => "NOT_READY",
        _ => "UNKNOWN",
    }
}

/// The partitions a classic member's `member_assignment` holds; an empty
/// or undecodable one (a member that has not synced yet) holds none.
pub(super) fn decode_assignment(bytes: &[u8]) -> Vec<(String, i32)> {
    let mut buf = bytes;
    if buf.remaining() < 2 {
        return Vec::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    let mut out: Vec<(String, i32)> = match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(a) => a
            .assigned_partitions
            .into_iter()
            .flat_map(|tp| {
                let topic = tp.topic.0.to_string();
                tp.partitions.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// The ids of every consumer group (protocol type `consumer` or none, as
/// the Admin client's `listConsumerGroups` keeps), sorted.
pub(super) async fn list_ids(proxy: &RestProxy, caller: &Caller) -> Result<Vec<String>, RestError> {
    let response = proxy.send(caller, ListGroupsRequest::default()).await?;
    errors::check(response.error_code, None)?;
    let mut ids: Vec<String> = response
        .groups
        .iter()
        .filter(|g| matches!(g.protocol_type.as_str(), "consumer" | ""))
        .map(|g| g.group_id.0.to_string())
        .collect();
    ids.sort();
    Ok(ids)
}

/// Whether a per-group error means "skip this group", as kafka-rest skips
/// groups it may not see and ones that do not exist.
fn skipped(code: i16) -> bool {
    matches!(
        ResponseError::try_from_code(code),
        Some(ResponseError::GroupIdNotFound | ResponseError::GroupAuthorizationFailed)
    )
}

/// Describes `ids`, leaving out the ones that do not exist (or that the
/// caller may not see), in the order given.
pub(super) async fn describe(
    proxy: &RestProxy,
    caller: &Caller,
    ids: &[String],
) -> Result<Vec<Group>, RestError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: HashMap<String, Group> = HashMap::new();
    let mut classic: Vec<String> = Vec::new();

    let response = proxy
        .send(
            caller,
            ConsumerGroupDescribeRequest::default()
                .with_group_ids(ids.iter().map(|id| group_id(id)).collect()),
        )
        .await?;
    for g in response.groups {
        let id = g.group_id.0.to_string();
        if g.error_code == ResponseError::GroupIdNotFound.code() {
            classic.push(id);
            continue;
        }
        if skipped(g.error_code) {
            continue;
        }
        errors::check(g.error_code, g.error_message.as_ref().map(|m| m.as_str()))?;
        let members: Vec<Member> = g
            .members
            .iter()
            .map(|m| {
                let mut assignments: Vec<(String, i32)> = m
                    .assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|tp| {
                        let topic = tp.topic_name.0.to_string();
                        tp.partitions.iter().map(move |p| (topic.clone(), *p))
                    })
                    .collect();
                assignments.sort();
                Member {
                    consumer_id: m.member_id.to_string(),
                    instance_id: m.instance_id.as_ref().map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    assignments,
                }
            })
            .collect();
        // A member that joined with the classic protocol (member_type 0) or
        // an unknown one makes the group mixed, as the Admin client reports
        // `upgraded` absent or false.
        let is_mixed = g.members.iter().any(|m| m.member_type != 1);
        found.insert(
            id.clone(),
            Group {
                id,
                is_simple: false,
                assignor: g.assignor_name.to_string(),
                state: state_name(g.group_state.as_str()),
                kind: "CONSUMER",
                is_mixed,
                coordinator: -1,
                members,
            },
        );
    }

    if !classic.is_empty() {
        let response = proxy
            .send(
                caller,
                DescribeGroupsRequest::default()
                    .with_groups(classic.iter().map(|id| group_id(id)).collect()),
            )
            .await?;
        for g in response.groups {
            if skipped(g.error_code) {
                continue;
            }
            errors::check(g.error_code, g.error_message.as_ref().map(|m| m.as_str()))?;
            let protocol_type = g.protocol_type.as_str();
            let is_simple = protocol_type.is_empty();
            let state = state_name(g.group_state.as_str());
            // A "simple" group in state DEAD is one that does not exist.
            if (is_simple && state == "DEAD") || !(is_simple || protocol_type == "consumer") {
                continue;
            }
            let id = g.group_id.0.to_string();
            let members = g
                .members
                .iter()
                .map(|m| Member {
                    consumer_id: m.member_id.to_string(),
                    instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    assignments: decode_assignment(&m.member_assignment),
                })
                .collect();
            found.insert(
                id.clone(),
                Group {
                    id,
                    is_simple,
                    assignor: g.protocol_data.to_string(),
                    state,
                    kind: "CLASSIC",
                    is_mixed: false,
                    coordinator: -1,
                    members,
                },
            );
        }
    }

    if !found.is_empty() {
        let keys: Vec<_> = ids
            .iter()
            .filter(|id| found.contains_key(*id))
            .map(|id| str_bytes(id))
            .collect();
        let response = proxy
            .send(
                caller,
                FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_coordinator_keys(keys),
            )
            .await?;
        for c in response.coordinators {
            if let Some(group) = found.get_mut(c.key.as_str()) {
                group.coordinator = c.node_id.0;
            }
        }
    }

    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The group `id`, or kafka-rest's 404 with `message` (which names it).
pub(super) async fn one(
    proxy: &RestProxy,
    caller: &Caller,
    id: &str,
    message: &str,
) -> Result<Group, RestError> {
    describe(proxy, caller, &[id.to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| errors::not_found_msg(message.replace("{}", id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[test]
    fn states_as_kafka_names_them() {
        assert_eq!(state_name("PreparingRebalance"), "PREPARING_REBALANCE");
        assert_eq!(state_name("Stable"), "STABLE");
        assert_eq!(state_name("whatever"), "UNKNOWN");
    }

    #[test]
    fn decodes_a_classic_assignment() {
        let mut b = Vec::new();
        b.put_i16(0); // version
        b.put_i32(1); // one topic
        b.put_i16(1);
        b.put_slice(b"t");
        b.put_i32(2);
        b.put_i32(1);
        b.put_i32(0);
        b.put_i32(-1); // null user data
        assert_eq!(
            decode_assignment(&b),
            vec![("t".to_string(), 0), ("t".to_string(), 1)]
        );
        assert!(decode_assignment(&[]).is_empty());
    }
}
