//! KIP-848 consumer groups: the ConsumerGroupHeartbeat state machine.
//!
//! Three epochs drive a group, as in Kafka's GroupMetadataManager:
//!
//! - the *group epoch* moves whenever membership, a subscription or the
//!   subscribed topics' partition counts change;
//! - the *target assignment epoch* catches up with it when the assignor
//!   recomputes every member's target assignment;
//! - each *member epoch* catches up with the target one member at a time
//!   (Kafka's CurrentAssignmentBuilder): partitions leaving a member are first
//!   revoked (state UNREVOKED_PARTITIONS, member epoch unchanged) and only
//!   once its heartbeat no longer lists them as owned does it move to the
//!   target epoch and receive new ones. A partition still held by another
//!   member (its partition epoch is set) is withheld (UNRELEASED_PARTITIONS)
//!   until that member lets it go.
//!
//! Every change is written to `__consumer_offsets` as Kafka's consumer-group
//! records (see `consumer_records`), appended while the coordinator lock is
//! held so log order is state order. The subscribed topics' metadata is not
//! stored; it is recomputed on the first heartbeat after a restart (which
//! bumps the group epoch once).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use base64::Engine;
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::assignors::{Assignment, Assignor, MemberSpec};
use super::consumer_messages::{
    refuse, ConsumerHeartbeat, ConsumerHeartbeatResult, HeartbeatError, LEAVE_EPOCH,
    STATIC_LEAVE_EPOCH,
};
use super::regex_cache;

#[path = "consumer_log.rs"]
mod log;
#[path = "consumer_membership.rs"]
mod membership;
#[path = "consumer_reconcile.rs"]
mod reconcile;
use super::consumer_records::{self as rec, ConsumerKey, CurrentAssignment, MemberMetadata};
use super::consumer_replay::StoredConsumerGroup;

/// The group's timeouts: its dynamic group configs over the
/// `group.consumer.*` broker properties (`crate::group_config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConsumerSettings {
    pub(crate) session_timeout_ms: i32,
    pub(crate) heartbeat_interval_ms: i32,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
        }
    }
}

/// A member's reconciliation state (Kafka's MemberState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberState {
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

impl MemberState {
    fn code(self) -> i8 {
        match self {
            MemberState::UnrevokedPartitions => 0,
            MemberState::UnreleasedPartitions => 1,
            MemberState::Stable => 2,
        }
    }

    fn from_code(code: i8) -> Self {
        match code {
            0 => MemberState::UnrevokedPartitions,
            2 => MemberState::Stable,
            // Unknown states reconcile again from what the member holds.
            _ => MemberState::UnreleasedPartitions,
        }
    }
}

/// A consumer group's state as ListGroups and ConsumerGroupDescribe name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

/// One member of a consumer group.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) member_id: String,
    pub(crate) meta: MemberMetadata,
    pub(crate) member_epoch: i32,
    pub(crate) previous_member_epoch: i32,
    pub(crate) state: MemberState,
    pub(crate) assigned: Assignment,
    pub(crate) pending_revocation: Assignment,
    session_deadline: Instant,
    /// Set while the member must revoke partitions: it is removed if it
    /// has not by then.
    rebalance_deadline: Option<Instant>,
}

impl Member {
    /// Its session ended, or it kept partitions it had to revoke too long.
    fn expired(&self, now: Instant) -> bool {
        self.session_deadline <= now
            || (self.state == MemberState::UnrevokedPartitions
                && self.rebalance_deadline.is_some_and(|d| d <= now))
    }
}

/// A topic as a group sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicInfo {
    pub(crate) name: String,
    pub(crate) partitions: i32,
}

/// The cluster's topics at the time of a heartbeat.
#[derive(Debug, Default)]
pub(crate) struct TopicsView {
    /// name -> (id, partition count, internal)
    topics: BTreeMap<String, (Uuid, i32, bool)>,
}

impl TopicsView {
    pub(crate) fn new(topics: impl IntoIterator<Item = (String, Uuid, i32, bool)>) -> Self {
        TopicsView {
            topics: topics
                .into_iter()
                .map(|(n, id, p, internal)| (n, (id, p, internal)))
                .collect(),
        }
    }
}

/// A member id as Kafka's `Uuid.randomUuid().toString()` prints one.
fn new_member_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

/// A KIP-848 consumer group.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerGroup {
    pub(crate) group_id: String,
    pub(crate) group_epoch: i32,
    pub(crate) assignment_epoch: i32,
    pub(crate) members: BTreeMap<String, Member>,
    /// group.instance.id -> member id.
    static_members: HashMap<String, String>,
    /// The target assignment of each member, at `assignment_epoch`.
    pub(crate) target: BTreeMap<String, Assignment>,
    /// The member epoch of whoever holds (or is revoking) each partition.
    partition_epochs: HashMap<(Uuid, i32), i32>,
    /// The subscribed topics at the last refresh, by id.
    pub(crate) topics: BTreeMap<Uuid, TopicInfo>,
    /// Records to append, in order.
    records: Vec<(Bytes, Option<Bytes>)>,
    settings: ConsumerSettings,
}

/// A consumer group as ConsumerGroupDescribe reports it.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerGroupDescription {
    pub(crate) state: ConsumerGroupState,
    pub(crate) group_epoch: i32,
    pub(crate) assignment_epoch: i32,
    pub(crate) assignor: &'static str,
    pub(crate) members: Vec<(Member, Assignment)>,
    /// Topic names by id, for the subscribed topics.
    pub(crate) topic_names: BTreeMap<Uuid, String>,
}

impl ConsumerGroup {
    pub(crate) fn new(group_id: &str, settings: ConsumerSettings) -> Self {
        ConsumerGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            target: BTreeMap::new(),
            partition_epochs: HashMap::new(),
            topics: BTreeMap::new(),
            records: Vec::new(),
            settings,
        }
    }

    /// Takes the group's current settings: Kafka looks a group's session
    /// timeout and heartbeat interval up at every heartbeat, so a changed
    /// group config reaches each member at its next one.
    pub(crate) fn set_settings(&mut self, settings: ConsumerSettings) {
        self.settings = settings;
    }

    pub(crate) fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.state != MemberState::Stable || m.member_epoch != self.assignment_epoch)
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// Takes the records the last changes produced.
    pub(crate) fn take_records(&mut self) -> Vec<(Bytes, Option<Bytes>)> {
        std::mem::take(&mut self.records)
    }

    /// Every topic name the members subscribe to (explicit names only).
    pub(crate) fn subscribed_topic_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self
            .members
            .values()
            .flat_map(|m| m.meta.subscribed_topic_names.iter().cloned())
            .collect();
        names.extend(self.topics.values().map(|t| t.name.clone()));
        names
    }

    /// The assignor the members prefer most (Kafka: the most used
    /// `server_assignor`, else the first configured one).
    pub(crate) fn assignor(&self) -> Assignor {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.meta.server_assignor {
                *counts.entry(a.as_str()).or_default() += 1;
            }
        }
        let best = Assignor::NAMES
            .iter()
            .filter_map(|n| counts.get(n).map(|c| (*c, *n)))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)));
        best.and_then(|(_, n)| Assignor::from_name(n))
            .unwrap_or(Assignor::Uniform)
    }

    pub(crate) fn describe(&self) -> ConsumerGroupDescription {
        ConsumerGroupDescription {
            state: self.state(),
            group_epoch: self.group_epoch,
            assignment_epoch: self.assignment_epoch,
            assignor: self.assignor().name(),
            members: self
                .members
                .values()
                .map(|m| {
                    (
                        m.clone(),
                        self.target.get(&m.member_id).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
            topic_names: self
                .topics
                .iter()
                .map(|(id, t)| (*id, t.name.clone()))
                .collect(),
        }
    }

    /// Kafka's consumer-group OffsetCommit check: the member epoch, not a
    /// generation. A commit with epoch < 0 from outside is fine only while
    /// the group is empty.
    pub(crate) fn validate_commit(&self, member_id: &str, epoch: i32) -> Result<(), ResponseError> {
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if member.member_epoch != epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Kafka's consumer-group OffsetFetch check (v9 carries member id and epoch).
    pub(crate) fn validate_fetch(
        &self,
        member_id: Option<&str>,
        epoch: i32,
    ) -> Result<(), ResponseError> {
        let Some(member_id) = member_id else {
            return if epoch < 0 {
                Ok(())
            } else {
                Err(ResponseError::UnknownMemberId)
            };
        };
        if member_id.is_empty() && epoch < 0 {
            return Ok(());
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if member.member_epoch != epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "consumer_tests.rs"]
mod tests;
