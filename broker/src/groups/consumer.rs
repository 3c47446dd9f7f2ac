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
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::assignors::{Assignment, Assignor, MemberSpec};
use super::consumer_api::{refuse, ConsumerHeartbeat, ConsumerHeartbeatResult, HeartbeatError};
use super::consumer_records::{self as rec, ConsumerKey, CurrentAssignment, MemberMetadata};
use super::consumer_replay::StoredConsumerGroup;

/// Epoch a heartbeat sends to leave the group.
pub(crate) const LEAVE_EPOCH: i32 = -1;
/// Epoch a static member sends to leave for now (it keeps its assignment).
pub(crate) const STATIC_LEAVE_EPOCH: i32 = -2;

/// `group.consumer.*` broker properties.
#[derive(Debug, Clone, Copy)]
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

/// Kafka matches a subscription regex against the whole topic name.
pub(super) fn compile_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

/// A member id as Kafka's `Uuid.randomUuid().toString()` prints one.
fn new_member_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

/// A KIP-848 consumer group.
#[derive(Debug)]
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

    /// Handles one heartbeat.
    pub(crate) fn heartbeat(
        &mut self,
        mut request: ConsumerHeartbeat,
        topics: &TopicsView,
        now: Instant,
    ) -> Result<ConsumerHeartbeatResult, HeartbeatError> {
        if request.member_epoch == LEAVE_EPOCH || request.member_epoch == STATIC_LEAVE_EPOCH {
            return self.leave(&request);
        }
        let mut bump = false;
        let joining = request.member_epoch == 0;
        if joining && request.member_id.is_empty() {
            // v0: the coordinator names the member.
            request.member_id = new_member_id();
        }
        let member_id = request.member_id.clone();
        if joining {
            bump |= self.join(&request, now)?;
        } else {
            let Some(member) = self.members.get(&member_id) else {
                return Err(refuse(
                    ResponseError::UnknownMemberId,
                    format!(
                        "Member {member_id} is not a member of group {}.",
                        self.group_id
                    ),
                ));
            };
            if let (Some(sent), Some(held)) = (&request.instance_id, &member.meta.instance_id) {
                if sent != held {
                    return Err(refuse(
                        ResponseError::FencedInstanceId,
                        format!("Member {member_id} is not the owner of instance id {sent}."),
                    ));
                }
            }
            check_epoch(member, request.member_epoch, request.owned.as_ref())?;
        }
        let member = self.members.get_mut(&member_id).expect("joined or known");
        member.session_deadline =
            now + Duration::from_millis(self.settings.session_timeout_ms as u64);
        let mut meta = member.meta.clone();
        if let Some(names) = &request.subscribed_topic_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            meta.subscribed_topic_names = names;
        }
        if request.subscribed_topic_regex.is_some() {
            meta.subscribed_topic_regex = request
                .subscribed_topic_regex
                .clone()
                .filter(|r| !r.is_empty());
        }
        if request.server_assignor.is_some() {
            meta.server_assignor = request.server_assignor.clone();
        }
        if request.rack_id.is_some() {
            meta.rack_id = request.rack_id.clone();
        }
        if request.rebalance_timeout_ms > 0 {
            meta.rebalance_timeout_ms = request.rebalance_timeout_ms;
        }
        meta.client_id = request.client_id.clone();
        meta.client_host = request.client_host.clone();
        if meta != member.meta {
            if meta.subscribed_topic_names != member.meta.subscribed_topic_names
                || meta.subscribed_topic_regex != member.meta.subscribed_topic_regex
                || meta.server_assignor != member.meta.server_assignor
            {
                bump = true;
            }
            member.meta = meta;
            let record = member.meta.encode();
            self.records
                .push((self.member_key(&member_id), Some(record)));
        }
        bump |= self.refresh_topics(topics);
        if bump {
            self.bump_epoch();
        }
        self.update_target();
        let before = self.members[&member_id].assigned.clone();
        self.reconcile(&member_id, request.owned.as_ref(), now);
        let member = &self.members[&member_id];
        let full = joining
            || (request.rebalance_timeout_ms != -1
                && (request.subscribed_topic_names.is_some()
                    || request.subscribed_topic_regex.is_some())
                && request.owned.is_some());
        Ok(ConsumerHeartbeatResult {
            member_id,
            member_epoch: member.member_epoch,
            heartbeat_interval_ms: self.settings.heartbeat_interval_ms,
            assignment: (full || member.assigned != before).then(|| member.assigned.clone()),
        })
    }

    /// Adds a member (or lets a static member take its instance back);
    /// returns whether the group epoch must move.
    fn join(&mut self, request: &ConsumerHeartbeat, now: Instant) -> Result<bool, HeartbeatError> {
        let member_id = &request.member_id;
        if self.members.contains_key(member_id) {
            // A known member rejoining with epoch 0 gets its assignment again.
            return Ok(false);
        }
        let session_deadline = now + Duration::from_millis(self.settings.session_timeout_ms as u64);
        let fresh = Member {
            member_id: member_id.clone(),
            meta: MemberMetadata {
                instance_id: request.instance_id.clone(),
                rebalance_timeout_ms: request.rebalance_timeout_ms,
                ..MemberMetadata::default()
            },
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_deadline,
            rebalance_deadline: None,
        };
        let Some(instance) = &request.instance_id else {
            self.members.insert(member_id.clone(), fresh);
            return Ok(true);
        };
        let Some(previous_id) = self.static_members.get(instance).cloned() else {
            self.static_members
                .insert(instance.clone(), member_id.clone());
            self.members.insert(member_id.clone(), fresh);
            return Ok(true);
        };
        let previous = &self.members[&previous_id];
        if previous.member_epoch != STATIC_LEAVE_EPOCH {
            return Err(refuse(
                ResponseError::UnreleasedInstanceId,
                format!("Static member {previous_id} with instance id {instance} is not released."),
            ));
        }
        // The new incarnation takes over the old one's place and assignment.
        let mut old = self.members.remove(&previous_id).expect("mapped");
        self.tombstone_member(&previous_id);
        let target = self.target.remove(&previous_id);
        old.member_id = member_id.clone();
        old.member_epoch = 0;
        old.previous_member_epoch = 0;
        old.session_deadline = session_deadline;
        old.meta.rebalance_timeout_ms = request.rebalance_timeout_ms;
        if let Some(target) = target {
            self.records.push((
                ConsumerKey::TargetMember {
                    group: self.group_id.clone(),
                    member: member_id.clone(),
                }
                .encode(),
                Some(rec::encode_target(&target)),
            ));
            self.target.insert(member_id.clone(), target);
        }
        let meta = old.meta.encode();
        self.records.push((self.member_key(member_id), Some(meta)));
        self.members.insert(member_id.clone(), old);
        self.write_current(member_id);
        self.static_members
            .insert(instance.clone(), member_id.clone());
        Ok(false)
    }

    fn leave(
        &mut self,
        request: &ConsumerHeartbeat,
    ) -> Result<ConsumerHeartbeatResult, HeartbeatError> {
        let member_id = match &request.instance_id {
            Some(instance) if request.member_epoch == STATIC_LEAVE_EPOCH => {
                match self.static_members.get(instance) {
                    Some(id) if *id == request.member_id => id.clone(),
                    Some(_) => {
                        return Err(refuse(
                            ResponseError::FencedInstanceId,
                            format!(
                                "Static member {} with instance id {instance} is not the owner.",
                                request.member_id
                            ),
                        ))
                    }
                    None => {
                        return Err(refuse(
                            ResponseError::UnknownMemberId,
                            format!("Instance id {instance} is unknown."),
                        ))
                    }
                }
            }
            _ => request.member_id.clone(),
        };
        if !self.members.contains_key(&member_id) {
            return Err(refuse(
                ResponseError::UnknownMemberId,
                format!(
                    "Member {member_id} is not a member of group {}.",
                    self.group_id
                ),
            ));
        }
        if request.member_epoch == STATIC_LEAVE_EPOCH {
            // Kept, assignment and all, until it rejoins or its session ends.
            let member = self.members.get_mut(&member_id).expect("present");
            member.previous_member_epoch = member.member_epoch;
            member.member_epoch = STATIC_LEAVE_EPOCH;
            self.write_current(&member_id);
        } else {
            self.remove_member(&member_id);
        }
        Ok(ConsumerHeartbeatResult {
            member_id,
            member_epoch: request.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// Removes a member, releases its partitions and moves the group epoch.
    pub(crate) fn remove_member(&mut self, member_id: &str) {
        let Some(member) = self.members.remove(member_id) else {
            return;
        };
        for (t, ps) in member.assigned.iter().chain(&member.pending_revocation) {
            for p in ps {
                self.partition_epochs.remove(&(*t, *p));
            }
        }
        if let Some(instance) = &member.meta.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        self.tombstone_member(member_id);
        self.bump_epoch();
    }

    /// Expires sessions and revocations that took too long; returns the
    /// members removed.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                m.session_deadline <= now
                    || (m.state == MemberState::UnrevokedPartitions
                        && m.rebalance_deadline.is_some_and(|d| d <= now))
            })
            .map(|m| m.member_id.clone())
            .collect();
        for id in &expired {
            self.remove_member(id);
        }
        if !expired.is_empty() {
            self.update_target();
        }
        expired
    }

    fn member_key(&self, member_id: &str) -> Bytes {
        ConsumerKey::Member {
            group: self.group_id.clone(),
            member: member_id.to_string(),
        }
        .encode()
    }

    fn tombstone_member(&mut self, member_id: &str) {
        let group = self.group_id.clone();
        let member = member_id.to_string();
        self.records.extend([
            (
                ConsumerKey::Current {
                    group: group.clone(),
                    member: member.clone(),
                }
                .encode(),
                None,
            ),
            (
                ConsumerKey::TargetMember {
                    group: group.clone(),
                    member: member.clone(),
                }
                .encode(),
                None,
            ),
            (ConsumerKey::Member { group, member }.encode(), None),
        ]);
    }

    fn write_current(&mut self, member_id: &str) {
        let m = &self.members[member_id];
        let value = CurrentAssignment {
            member_epoch: m.member_epoch,
            previous_member_epoch: m.previous_member_epoch,
            state: m.state.code(),
            assigned: m.assigned.clone(),
            pending_revocation: m.pending_revocation.clone(),
        }
        .encode();
        self.records.push((
            ConsumerKey::Current {
                group: self.group_id.clone(),
                member: member_id.to_string(),
            }
            .encode(),
            Some(value),
        ));
    }

    fn bump_epoch(&mut self) {
        self.group_epoch += 1;
        self.records.push((
            ConsumerKey::Group {
                group: self.group_id.clone(),
            }
            .encode(),
            Some(rec::encode_epoch(self.group_epoch)),
        ));
    }

    /// Recomputes the subscribed topics; returns whether they changed.
    fn refresh_topics(&mut self, view: &TopicsView) -> bool {
        let mut wanted: BTreeMap<Uuid, TopicInfo> = BTreeMap::new();
        let mut regexes = Vec::new();
        for m in self.members.values() {
            for name in &m.meta.subscribed_topic_names {
                if let Some((id, partitions, _)) = view.topics.get(name) {
                    wanted.insert(
                        *id,
                        TopicInfo {
                            name: name.clone(),
                            partitions: *partitions,
                        },
                    );
                }
            }
            if let Some(r) = &m.meta.subscribed_topic_regex {
                if let Ok(r) = compile_regex(r) {
                    regexes.push(r);
                }
            }
        }
        if !regexes.is_empty() {
            for (name, (id, partitions, internal)) in &view.topics {
                if !*internal && regexes.iter().any(|r| r.is_match(name)) {
                    wanted.insert(
                        *id,
                        TopicInfo {
                            name: name.clone(),
                            partitions: *partitions,
                        },
                    );
                }
            }
        }
        if wanted == self.topics {
            return false;
        }
        self.topics = wanted;
        true
    }

    /// The topic ids a member subscribes to, among the group's topics.
    fn member_topics(&self, member: &Member) -> BTreeSet<Uuid> {
        let regex = member
            .meta
            .subscribed_topic_regex
            .as_deref()
            .and_then(|r| compile_regex(r).ok());
        self.topics
            .iter()
            .filter(|(_, t)| {
                member.meta.subscribed_topic_names.contains(&t.name)
                    || regex.as_ref().is_some_and(|r| r.is_match(&t.name))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Brings the target assignment up to the group epoch.
    fn update_target(&mut self) {
        if self.group_epoch <= self.assignment_epoch {
            return;
        }
        let specs: BTreeMap<String, MemberSpec> = self
            .members
            .values()
            .map(|m| {
                (
                    m.member_id.clone(),
                    MemberSpec {
                        subscribed: self.member_topics(m),
                        current: self.target.get(&m.member_id).cloned().unwrap_or_default(),
                    },
                )
            })
            .collect();
        let counts: BTreeMap<Uuid, i32> = self
            .topics
            .iter()
            .map(|(id, t)| (*id, t.partitions))
            .collect();
        let next = self.assignor().assign(&specs, &counts);
        for (member, assignment) in &next {
            if self.target.get(member) != Some(assignment) {
                self.records.push((
                    ConsumerKey::TargetMember {
                        group: self.group_id.clone(),
                        member: member.clone(),
                    }
                    .encode(),
                    Some(rec::encode_target(assignment)),
                ));
            }
        }
        self.target = next;
        self.assignment_epoch = self.group_epoch;
        self.records.push((
            ConsumerKey::TargetEpoch {
                group: self.group_id.clone(),
            }
            .encode(),
            Some(rec::encode_epoch(self.assignment_epoch)),
        ));
    }

    /// Kafka's CurrentAssignmentBuilder: moves a member one step towards
    /// its target assignment.
    fn reconcile(&mut self, member_id: &str, owned: Option<&Assignment>, now: Instant) {
        let member = &self.members[member_id];
        if member.member_epoch == STATIC_LEAVE_EPOCH {
            return;
        }
        let next = match member.state {
            MemberState::Stable if member.member_epoch == self.assignment_epoch => return,
            MemberState::UnrevokedPartitions if owns_any(owned, &member.pending_revocation) => {
                return
            }
            _ => self.next_assignment(member),
        };
        let (state, epoch, assigned, pending) = next;
        let member = self.members.get_mut(member_id).expect("present");
        if member.state == state
            && member.member_epoch == epoch
            && member.assigned == assigned
            && member.pending_revocation == pending
        {
            return;
        }
        for (t, ps) in member.assigned.iter().chain(&member.pending_revocation) {
            for p in ps {
                self.partition_epochs.remove(&(*t, *p));
            }
        }
        for (t, ps) in assigned.iter().chain(&pending) {
            for p in ps {
                self.partition_epochs.insert((*t, *p), epoch);
            }
        }
        if state == MemberState::UnrevokedPartitions {
            if member.state != MemberState::UnrevokedPartitions || member.member_epoch != epoch {
                let timeout = member.meta.rebalance_timeout_ms.max(0) as u64;
                member.rebalance_deadline = Some(now + Duration::from_millis(timeout));
            }
        } else {
            member.rebalance_deadline = None;
        }
        if member.member_epoch != epoch {
            member.previous_member_epoch = member.member_epoch;
            member.member_epoch = epoch;
        }
        member.state = state;
        member.assigned = assigned;
        member.pending_revocation = pending;
        self.write_current(member_id);
    }

    /// Kafka's `computeNextAssignment`: revoke first, then assign what is
    /// free, withholding partitions another member still holds.
    fn next_assignment(&self, member: &Member) -> (MemberState, i32, Assignment, Assignment) {
        let empty = BTreeSet::new();
        let target = self.target.get(&member.member_id);
        let mut topics: BTreeSet<Uuid> = member.assigned.keys().copied().collect();
        if let Some(t) = target {
            topics.extend(t.keys().copied());
        }
        let mut assigned = Assignment::new();
        let mut revoke = Assignment::new();
        let mut to_assign = Assignment::new();
        let mut unreleased = false;
        for topic in topics {
            let wanted = target.and_then(|t| t.get(&topic)).unwrap_or(&empty);
            let current = member.assigned.get(&topic).unwrap_or(&empty);
            let kept: BTreeSet<i32> = current.intersection(wanted).copied().collect();
            let gone: BTreeSet<i32> = current.difference(&kept).copied().collect();
            let mut new: BTreeSet<i32> = wanted.difference(&kept).copied().collect();
            let before = new.len();
            new.retain(|p| !self.partition_epochs.contains_key(&(topic, *p)));
            unreleased |= new.len() != before;
            if !kept.is_empty() {
                assigned.insert(topic, kept);
            }
            if !gone.is_empty() {
                revoke.insert(topic, gone);
            }
            if !new.is_empty() {
                to_assign.insert(topic, new);
            }
        }
        if !revoke.is_empty() {
            return (
                MemberState::UnrevokedPartitions,
                member.member_epoch,
                assigned,
                revoke,
            );
        }
        for (t, ps) in to_assign {
            assigned.entry(t).or_default().extend(ps);
        }
        let state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
        (state, self.assignment_epoch, assigned, Assignment::new())
    }

    /// Rebuilds a group from its records; members get a fresh session.
    pub(crate) fn restore(
        group_id: &str,
        stored: StoredConsumerGroup,
        settings: ConsumerSettings,
        now: Instant,
    ) -> Self {
        let mut group = ConsumerGroup::new(group_id, settings);
        group.group_epoch = stored.epoch;
        group.assignment_epoch = stored.assignment_epoch.min(stored.epoch);
        let session = now + Duration::from_millis(settings.session_timeout_ms as u64);
        for (id, stored_member) in stored.members {
            let Some(meta) = stored_member.meta else {
                continue;
            };
            let current = stored_member.current.unwrap_or_default();
            if let Some(instance) = &meta.instance_id {
                group.static_members.insert(instance.clone(), id.clone());
            }
            for (t, ps) in current.assigned.iter().chain(&current.pending_revocation) {
                for p in ps {
                    group
                        .partition_epochs
                        .insert((*t, *p), current.member_epoch);
                }
            }
            if let Some(target) = stored_member.target {
                group.target.insert(id.clone(), target);
            }
            let state = MemberState::from_code(current.state);
            group.members.insert(
                id.clone(),
                Member {
                    member_id: id,
                    meta,
                    member_epoch: current.member_epoch,
                    previous_member_epoch: current.previous_member_epoch,
                    state,
                    assigned: current.assigned,
                    pending_revocation: current.pending_revocation,
                    session_deadline: session,
                    rebalance_deadline: None,
                },
            );
        }
        group
    }

    /// Tombstones for the group-level records (when the group goes).
    pub(crate) fn group_tombstones(&self) -> Vec<(Bytes, Option<Bytes>)> {
        vec![
            (
                ConsumerKey::TargetEpoch {
                    group: self.group_id.clone(),
                }
                .encode(),
                None,
            ),
            (
                ConsumerKey::Group {
                    group: self.group_id.clone(),
                }
                .encode(),
                None,
            ),
        ]
    }
}

/// Kafka's `throwIfMemberEpochIsInvalid`.
fn check_epoch(
    member: &Member,
    received: i32,
    owned: Option<&Assignment>,
) -> Result<(), HeartbeatError> {
    if received > member.member_epoch {
        return Err(refuse(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                member.member_epoch
            ),
        ));
    }
    if received < member.member_epoch {
        // The last answer may have been lost: the previous epoch is fine if
        // the member owns nothing it was not given.
        let ok = received == member.previous_member_epoch
            && owned.is_some_and(|o| is_subset(o, &member.assigned));
        if !ok {
            return Err(refuse(
                ResponseError::FencedMemberEpoch,
                format!(
                    "The consumer group member has a smaller member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                    member.member_epoch
                ),
            ));
        }
    }
    Ok(())
}

fn is_subset(owned: &Assignment, of: &Assignment) -> bool {
    owned
        .iter()
        .all(|(t, ps)| ps.is_empty() || of.get(t).is_some_and(|a| ps.is_subset(a)))
}

/// Whether the heartbeat still lists any of `revoking` as owned; a heartbeat
/// without owned partitions tells nothing, so the member still owns them.
fn owns_any(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(t, ps)| {
        revoking
            .get(t)
            .is_some_and(|r| ps.iter().any(|p| r.contains(p)))
    })
}

#[cfg(test)]
#[path = "consumer_tests.rs"]
mod tests;
