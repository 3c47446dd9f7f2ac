//! DescribeGroups and ListGroups (and ConsumerGroupDescribe's look-up):
//! what a group is, read under the lock.

use super::consumer::ConsumerGroupState;
use super::*;

/// A group's state as DescribeGroups and ListGroups name it: the classic
/// state machine's, or a KIP-848 group's (Kafka's
/// `ConsumerGroup.ConsumerGroupState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DescribedState {
    Classic(GroupState),
    Consumer(ConsumerGroupState),
}

impl DescribedState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DescribedState::Classic(s) => s.name(),
            DescribedState::Consumer(s) => s.name(),
        }
    }
}

impl GroupCoordinator {
    /// Every group, for ListGroups.
    pub(crate) fn list(&self) -> Vec<GroupDescription> {
        let groups = self.groups.lock();
        let mut out: Vec<_> = groups.values().map(|g| describe(&g.kind)).collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DescribeGroups: classic groups only (a consumer group is not found
    /// there, as in Kafka).
    pub(crate) fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        match &self.groups.lock().get(group_id)?.kind {
            kind @ GroupKind::Classic(_) => Some(describe(kind)),
            GroupKind::Consumer(_) => None,
        }
    }

    /// ConsumerGroupDescribe: `None` for unknown groups, `Err` for groups of
    /// the classic type.
    pub(crate) fn describe_consumer(
        &self,
        group_id: &str,
    ) -> Option<Result<ConsumerGroupDescription, ()>> {
        match &self.groups.lock().get(group_id)?.kind {
            GroupKind::Consumer(consumer) => Some(Ok(consumer.describe())),
            GroupKind::Classic(_) => Some(Err(())),
        }
    }

    /// Whether `group_id` is a consumer (KIP-848) group.
    pub(crate) fn is_consumer_group(&self, group_id: &str) -> bool {
        self.groups
            .lock()
            .get(group_id)
            .is_some_and(|g| matches!(g.kind, GroupKind::Consumer(_)))
    }
}

fn describe(kind: &GroupKind) -> GroupDescription {
    let c = match kind {
        GroupKind::Consumer(consumer) => {
            return GroupDescription {
                group_id: consumer.group_id.clone(),
                state: DescribedState::Consumer(consumer.state()),
                group_type: "consumer",
                protocol_type: "consumer".to_string(),
                protocol_name: String::new(),
                members: Vec::new(),
            }
        }
        GroupKind::Classic(classic) => classic,
    };
    let protocol = c.protocol_name.clone().unwrap_or_default();
    GroupDescription {
        group_id: c.group_id.clone(),
        state: DescribedState::Classic(c.state),
        group_type: "classic",
        protocol_type: c.protocol_type.clone().unwrap_or_default(),
        protocol_name: protocol.clone(),
        members: c
            .members
            .values()
            .map(|m| MemberDescription {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default(),
                assignment: m.assignment.clone(),
            })
            .collect(),
    }
}
