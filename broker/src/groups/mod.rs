//! The group coordinator: classic consumer groups and committed offsets,
//! kept in the compacted internal topic `__consumer_offsets`.
//!
//! One lock guards every group's in-memory state; calls hold it only for
//! state changes and the (synchronous, page-cache) append of their records,
//! so the log order of a group's records is the order its changes happened.
//! Waiting (for a join phase to end, for the leader's assignment, for an
//! fsync) happens outside the lock. A timer task expires sessions and ends
//! join and sync phases whose time is up.

mod assignors;
mod classic;
#[cfg(test)]
mod classic_tests;
mod consumer;
mod consumer_api;
mod consumer_records;
mod consumer_replay;
mod load;
mod metrics_view;
mod offset_replay;
mod records;
mod store;
mod subscription;
mod txn_offsets;
#[cfg(test)]
mod txn_offsets_tests;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use strata_storage::Log;

pub(crate) use assignors::Assignment;
use classic::ClassicGroup;
pub(crate) use classic::{
    GroupSettings, GroupState, JoinRequest, JoinResult, SyncRequest, SyncResult,
};
use consumer::ConsumerGroup;
pub(crate) use consumer::{ConsumerGroupDescription, ConsumerSettings, TopicsView};
pub(crate) use consumer_api::{validate_request as validate_consumer_heartbeat, ConsumerHeartbeat};
use records::{OffsetValue, RecordKey};
pub(crate) use store::OFFSETS_TOPIC;

use crate::clock::now_ms;
use crate::cluster::{AdminError, Cluster};
use crate::internal_log::ReplayedRecord;
use crate::internal_topic::InternalTopic;

/// Coordinator settings, from Kafka's broker properties.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoordinatorConfig {
    pub(crate) group: GroupSettings,
    pub(crate) offsets_partitions: i32,
    pub(crate) offsets_retention: Duration,
    pub(crate) offsets_retention_check: Duration,
    pub(crate) offset_metadata_max_bytes: usize,
}

/// A committed offset.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: String,
    commit_timestamp: i64,
    /// The log offset of its record: a transactional offset is applied only
    /// over an older record (see `txn_offsets.rs`).
    record_offset: i64,
}

struct Group {
    classic: ClassicGroup,
    /// Set when the group is a KIP-848 consumer group (`classic` then stays empty).
    consumer: Option<ConsumerGroup>,
    offsets: BTreeMap<(String, i32), Committed>,
}

/// A member as DescribeGroups reports it.
#[derive(Debug, Clone)]
pub(crate) struct MemberDescription {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) metadata: Bytes,
    pub(crate) assignment: Bytes,
}

/// A group as DescribeGroups and ListGroups report it.
#[derive(Debug, Clone)]
pub(crate) struct GroupDescription {
    pub(crate) group_id: String,
    pub(crate) state: GroupState,
    /// "classic" or "consumer" (ListGroups v5).
    pub(crate) group_type: &'static str,
    /// The state's name as ListGroups reports it.
    pub(crate) state_name: &'static str,
    pub(crate) protocol_type: String,
    pub(crate) protocol_name: String,
    pub(crate) members: Vec<MemberDescription>,
}

/// A partition's committed offset as OffsetFetch answers it, or its error
/// (UNSTABLE_OFFSET_COMMIT).
pub(crate) type FetchedOffset = Result<Option<Committed>, ResponseError>;

/// What an (Txn)OffsetCommit writes: its records, the offsets they commit
/// (in record order) and a result per partition of the request.
struct OffsetRecords {
    records: Vec<(Bytes, Option<Bytes>)>,
    accepted: Vec<((String, i32), Committed)>,
    results: Vec<Result<(), ResponseError>>,
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone)]
pub(crate) struct OffsetCommit {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: Option<String>,
}

/// Who commits: a group member at a generation, or a simple consumer (-1).
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    pub(crate) generation_id: i32,
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
}

pub(crate) struct GroupCoordinator {
    config: CoordinatorConfig,
    groups: Mutex<HashMap<String, Group>>,
    offsets_topic: InternalTopic,
    consumer_settings: ConsumerSettings,
    /// Pending transactional offsets; locked only while holding `groups`.
    txn: Mutex<txn_offsets::TxnOffsets>,
}

impl GroupCoordinator {
    /// Creates `__consumer_offsets` on first use, as Kafka does.
    pub(crate) async fn ensure_offsets_topic(&self, cluster: &Cluster) -> Result<(), AdminError> {
        self.offsets_topic.ensure(cluster).await
    }

    /// Appends a group's records; call with the groups lock held so that log
    /// order follows state order. Returns what to wait on for durability.
    fn append(
        &self,
        group: &str,
        records: &[(Bytes, Option<Bytes>)],
    ) -> Result<(Log, i64), ResponseError> {
        self.append_batch(group, store::encode_batch(records, now_ms()))
    }

    /// Appends an encoded batch to the group's partition, as [`Self::append`].
    fn append_batch(&self, group: &str, batch: Bytes) -> Result<(Log, i64), ResponseError> {
        let (_, log) = self
            .offsets_topic
            .partition_of(group)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        match log.append(batch, 0, None) {
            Ok(info) => Ok((log, info.last_offset + 1)),
            Err(e) => {
                tracing::error!(group, error = %e, "writing {OFFSETS_TOPIC} failed");
                Err(ResponseError::CoordinatorNotAvailable)
            }
        }
    }

    /// Writes the group's record if its state changed.
    fn persist_if_dirty(&self, group: &mut Group) {
        if !group.classic.dirty {
            return;
        }
        group.classic.dirty = false;
        let key = RecordKey::Group {
            group: group.classic.group_id.clone(),
        }
        .encode();
        let value = records::encode_group(&group.classic.to_stored(now_ms()));
        if let Err(e) = self.append(&group.classic.group_id, &[(key, Some(value))]) {
            tracing::warn!(group = %group.classic.group_id, error = ?e, "group state not persisted");
        }
    }

    fn new_group(&self, group_id: &str) -> Group {
        Group {
            classic: ClassicGroup::new(group_id, self.config.group),
            consumer: None,
            offsets: BTreeMap::new(),
        }
    }

    pub(crate) async fn join(&self, group_id: &str, request: JoinRequest) -> JoinResult {
        let receiver = {
            let mut groups = self.groups.lock();
            if !request.member_id.is_empty() && !groups.contains_key(group_id) {
                return JoinResult {
                    error: Some(ResponseError::UnknownMemberId),
                    generation_id: -1,
                    member_id: request.member_id,
                    ..Default::default()
                };
            }
            let group = groups
                .entry(group_id.to_string())
                .or_insert_with(|| self.new_group(group_id));
            if let Some(consumer) = &group.consumer {
                if !consumer.members.is_empty() {
                    return JoinResult {
                        error: Some(ResponseError::InconsistentGroupProtocol),
                        generation_id: -1,
                        member_id: request.member_id,
                        ..Default::default()
                    };
                }
                // An empty consumer group turns back into a classic one.
                let tombstones = consumer.group_tombstones();
                if let Err(e) = self.append(group_id, &tombstones) {
                    tracing::warn!(group = group_id, error = ?e, "consumer group records not removed");
                }
                group.consumer = None;
            }
            let receiver = group.classic.join(request, Instant::now());
            self.persist_if_dirty(group);
            receiver
        };
        receiver.await.unwrap_or_else(|_| JoinResult {
            error: Some(ResponseError::CoordinatorNotAvailable),
            generation_id: -1,
            ..Default::default()
        })
    }

    pub(crate) async fn sync(&self, group_id: &str, request: SyncRequest) -> SyncResult {
        let receiver = {
            let mut groups = self.groups.lock();
            let Some(group) = groups.get_mut(group_id) else {
                return SyncResult {
                    error: Some(ResponseError::UnknownMemberId),
                    ..Default::default()
                };
            };
            let receiver = group.classic.sync(request, Instant::now());
            self.persist_if_dirty(group);
            receiver
        };
        receiver.await.unwrap_or_else(|_| SyncResult {
            error: Some(ResponseError::CoordinatorNotAvailable),
            ..Default::default()
        })
    }

    pub(crate) fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        group
            .classic
            .heartbeat(member_id, group_instance_id, generation_id, Instant::now())
    }

    /// Removes members; one result per member, in order.
    pub(crate) fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        let now = Instant::now();
        let results = members
            .iter()
            .map(|(id, instance)| group.classic.leave(id, instance.as_deref(), now))
            .collect();
        self.persist_if_dirty(group);
        Ok(results)
    }

    /// Commits offsets and waits until they are durable.
    pub(crate) async fn commit(
        &self,
        group_id: &str,
        committer: &Committer,
        commits: Vec<OffsetCommit>,
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let now = now_ms();
        let (wait, results) = {
            let mut groups = self.groups.lock();
            let simple = committer.generation_id < 0 && committer.member_id.is_empty();
            if !groups.contains_key(group_id) {
                if !simple {
                    return Err(ResponseError::UnknownMemberId);
                }
                groups.insert(group_id.to_string(), self.new_group(group_id));
            }
            let group = groups.get_mut(group_id).expect("present");
            match &group.consumer {
                Some(consumer) => {
                    consumer.validate_commit(&committer.member_id, committer.generation_id)?
                }
                None => validate_commit(&group.classic, committer)?,
            }
            let OffsetRecords {
                records,
                accepted,
                results,
            } = self.offset_records(group_id, commits, now);
            if records.is_empty() {
                return Ok(results);
            }
            let wait = self.append(group_id, &records)?;
            let first = wait.1 - records.len() as i64;
            group
                .offsets
                .extend(accepted.into_iter().enumerate().map(|(i, (tp, mut c))| {
                    c.record_offset = first + i as i64;
                    (tp, c)
                }));
            (wait, results)
        };
        let (log, end) = wait;
        log.wait_durable(end).await.map_err(|e| {
            tracing::error!(group = group_id, error = %e, "offset commit not durable");
            ResponseError::CoordinatorNotAvailable
        })?;
        Ok(results)
    }

    /// The offset records of an (Txn)OffsetCommit: records to append, the
    /// offsets they commit (their record offsets still unknown) and a result
    /// per partition in order (metadata too large is refused on its own).
    fn offset_records(
        &self,
        group_id: &str,
        commits: Vec<OffsetCommit>,
        now: i64,
    ) -> OffsetRecords {
        let mut records = Vec::new();
        let mut results = Vec::with_capacity(commits.len());
        let mut accepted = Vec::new();
        for c in commits {
            let metadata = c.metadata.unwrap_or_default();
            if metadata.len() > self.config.offset_metadata_max_bytes {
                results.push(Err(ResponseError::OffsetMetadataTooLarge));
                continue;
            }
            let value = OffsetValue {
                offset: c.offset,
                leader_epoch: c.leader_epoch,
                metadata,
                commit_timestamp: now,
            };
            let key = RecordKey::Offset {
                group: group_id.to_string(),
                topic: c.topic.clone(),
                partition: c.partition,
            };
            records.push((key.encode(), Some(value.encode())));
            accepted.push(((c.topic, c.partition), committed_from(value, -1)));
            results.push(Ok(()));
        }
        OffsetRecords {
            records,
            accepted,
            results,
        }
    }

    /// Committed offsets of a group: the given partitions, or all of them.
    /// With `require_stable` (OffsetFetch v7+), a partition with pending
    /// transactional offsets answers UNSTABLE_OFFSET_COMMIT instead, as in
    /// Kafka.
    pub(crate) fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
        require_stable: bool,
    ) -> Vec<((String, i32), FetchedOffset)> {
        let groups = self.groups.lock();
        let txn = self.txn.lock();
        let offsets = groups.get(group_id).map(|g| &g.offsets);
        let answer = |tp: &(String, i32), c: Option<&Committed>| {
            if require_stable && txn.is_pending(group_id, tp) {
                Err(ResponseError::UnstableOffsetCommit)
            } else {
                Ok(c.cloned())
            }
        };
        match partitions {
            Some(wanted) => wanted
                .iter()
                .map(|tp| (tp.clone(), answer(tp, offsets.and_then(|o| o.get(tp)))))
                .collect(),
            None => offsets
                .map(|o| {
                    o.iter()
                        .map(|(tp, c)| (tp.clone(), answer(tp, Some(c))))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// OffsetDelete: per-partition results, or a group-level error.
    pub(crate) fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::GroupIdNotFound)?;
        let subscribed: Vec<String> = if let Some(consumer) = &group.consumer {
            if consumer.members.is_empty() {
                Vec::new()
            } else {
                consumer.subscribed_topic_names().into_iter().collect()
            }
        } else if group.classic.state == GroupState::Empty {
            Vec::new()
        } else if group.classic.protocol_type.as_deref() == Some("consumer") {
            let protocol = group.classic.protocol_name.clone().unwrap_or_default();
            let mut topics: Vec<String> = group
                .classic
                .members
                .values()
                .flat_map(|m| {
                    let meta = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    subscription::subscribed_topics(meta).unwrap_or_default()
                })
                .collect();
            topics.sort();
            topics.dedup();
            topics
        } else {
            return Err(ResponseError::NonEmptyGroup);
        };
        let mut records = Vec::new();
        let mut txn = self.txn.lock();
        let results: Vec<_> = partitions
            .iter()
            .map(|(topic, partition)| {
                if subscribed.contains(topic) {
                    return Err(ResponseError::GroupSubscribedToTopic);
                }
                let tp = (topic.clone(), *partition);
                // Pending transactional offsets go too, as Kafka's tombstone does.
                let pending = txn.remove_partition(group_id, &tp);
                if group.offsets.remove(&tp).is_some() || pending {
                    let key = RecordKey::Offset {
                        group: group_id.to_string(),
                        topic: topic.clone(),
                        partition: *partition,
                    };
                    records.push((key.encode(), None));
                }
                Ok(())
            })
            .collect();
        if !records.is_empty() {
            self.append(group_id, &records)?;
        }
        Ok(results)
    }

    /// Every group, for ListGroups.
    pub(crate) fn list(&self) -> Vec<GroupDescription> {
        let groups = self.groups.lock();
        let mut out: Vec<_> = groups.values().map(describe).collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DescribeGroups: classic groups only (a consumer group is not found
    /// there, as in Kafka).
    pub(crate) fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        self.groups
            .lock()
            .get(group_id)
            .filter(|g| g.consumer.is_none())
            .map(describe)
    }

    /// DeleteGroups: only empty groups, with their offsets.
    pub(crate) fn delete_group(&self, group_id: &str) -> Result<(), ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::GroupIdNotFound)?;
        if !group.is_empty() {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut records = offset_tombstones(group_id, group.offsets.keys());
        // Pending transactional offsets go too; one tombstone per partition.
        let pending = self.txn.lock().remove_where(group_id, |_| true);
        records.extend(offset_tombstones(
            group_id,
            pending.iter().filter(|tp| !group.offsets.contains_key(*tp)),
        ));
        records.push((
            RecordKey::Group {
                group: group_id.to_string(),
            }
            .encode(),
            None,
        ));
        if let Some(consumer) = &group.consumer {
            records.extend(consumer.group_tombstones());
        }
        self.append(group_id, &records)?;
        group.classic.mark_dead();
        groups.remove(group_id);
        Ok(())
    }

    /// Drops every committed offset of a deleted topic.
    pub(crate) fn remove_topic_offsets(&self, topic: &str) {
        let mut groups = self.groups.lock();
        let ids: Vec<String> = groups.keys().cloned().collect();
        for id in ids {
            let group = groups.get_mut(&id).expect("listed");
            let mut gone: Vec<(String, i32)> = group
                .offsets
                .keys()
                .filter(|(t, _)| t == topic)
                .cloned()
                .collect();
            let pending = self.txn.lock().remove_where(&id, |(t, _)| t == topic);
            gone.extend(
                pending
                    .into_iter()
                    .filter(|tp| !group.offsets.contains_key(tp)),
            );
            if gone.is_empty() {
                continue;
            }
            let records = offset_tombstones(&id, gone.iter());
            for tp in &gone {
                group.offsets.remove(tp);
            }
            if let Err(e) = self.append(&id, &records) {
                tracing::warn!(group = %id, error = ?e, "tombstones for a deleted topic's offsets not written");
            }
        }
    }

    /// Expires sessions, ends join and sync phases, and (every
    /// `offsets.retention.check.interval.ms`) expires offsets of empty groups.
    pub(crate) async fn run_timers(&self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        let mut last_expiry = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let now = Instant::now();
            let mut groups = self.groups.lock();
            for group in groups.values_mut() {
                group.classic.tick(now);
                self.persist_if_dirty(group);
                if let Some(consumer) = group.consumer.as_mut() {
                    for member in consumer.tick(now) {
                        tracing::info!(group = %consumer.group_id, member = %member, "consumer group member removed: session or rebalance timeout");
                    }
                    self.flush_consumer(group);
                }
            }
            if now.duration_since(last_expiry) >= self.config.offsets_retention_check {
                last_expiry = now;
                self.expire_offsets(&mut groups);
            }
        }
    }

    /// Kafka's offset expiry: once a group is empty, its offsets older than
    /// `offsets.retention.minutes` go; a group left with nothing goes too.
    fn expire_offsets(&self, groups: &mut HashMap<String, Group>) {
        let cutoff = now_ms() - self.config.offsets_retention.as_millis() as i64;
        let ids: Vec<String> = groups.keys().cloned().collect();
        for id in ids {
            let group = groups.get_mut(&id).expect("listed");
            if !group.is_empty() {
                continue;
            }
            let txn = self.txn.lock();
            // A partition with pending transactional offsets keeps its
            // offset, and a group with open transactions stays, as in Kafka.
            let expired: Vec<(String, i32)> = group
                .offsets
                .iter()
                .filter(|(tp, c)| c.commit_timestamp <= cutoff && !txn.is_pending(&id, tp))
                .map(|(tp, _)| tp.clone())
                .collect();
            let open_transactions = txn.has_open(&id);
            drop(txn);
            let mut records = offset_tombstones(&id, expired.iter());
            for tp in &expired {
                group.offsets.remove(tp);
            }
            let remove_group = group.offsets.is_empty() && !open_transactions;
            if remove_group {
                records.push((RecordKey::Group { group: id.clone() }.encode(), None));
                if let Some(consumer) = &group.consumer {
                    records.extend(consumer.group_tombstones());
                }
            }
            if !records.is_empty() {
                tracing::info!(group = %id, offsets = expired.len(), "expired committed offsets");
                if let Err(e) = self.append(&id, &records) {
                    tracing::warn!(group = %id, error = ?e, "offset expiry not written");
                    continue;
                }
            }
            if remove_group {
                groups.remove(&id);
            }
        }
    }
}

impl Group {
    /// No members of either protocol.
    fn is_empty(&self) -> bool {
        self.classic.is_empty() && self.consumer.as_ref().is_none_or(|c| c.members.is_empty())
    }
}

/// Tombstones that delete a group's committed offsets for these partitions.
fn offset_tombstones<'a>(
    group: &str,
    partitions: impl Iterator<Item = &'a (String, i32)>,
) -> Vec<(Bytes, Option<Bytes>)> {
    partitions
        .map(|(topic, partition)| {
            let key = RecordKey::Offset {
                group: group.to_string(),
                topic: topic.clone(),
                partition: *partition,
            };
            (key.encode(), None)
        })
        .collect()
}

fn committed_from(v: OffsetValue, record_offset: i64) -> Committed {
    Committed {
        offset: v.offset,
        leader_epoch: v.leader_epoch,
        metadata: v.metadata,
        commit_timestamp: v.commit_timestamp,
        record_offset,
    }
}

/// Kafka's classic-group offset commit checks.
fn validate_commit(group: &ClassicGroup, committer: &Committer) -> Result<(), ResponseError> {
    if group.state == GroupState::Dead {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    if committer.generation_id < 0 && group.state == GroupState::Empty {
        // A simple consumer or an admin client committing for an empty group.
        return Ok(());
    }
    if committer.generation_id >= 0
        || !committer.member_id.is_empty()
        || committer.group_instance_id.is_some()
    {
        let Some(member) = group.members.get(&committer.member_id) else {
            return Err(ResponseError::UnknownMemberId);
        };
        if committer.group_instance_id.is_some()
            && member.group_instance_id != committer.group_instance_id
        {
            return Err(ResponseError::FencedInstanceId);
        }
        if committer.generation_id != group.generation_id {
            return Err(ResponseError::IllegalGeneration);
        }
    } else {
        return Err(ResponseError::UnknownMemberId);
    }
    if group.state == GroupState::CompletingRebalance {
        return Err(ResponseError::RebalanceInProgress);
    }
    Ok(())
}

fn describe(group: &Group) -> GroupDescription {
    if let Some(consumer) = &group.consumer {
        return GroupDescription {
            group_id: consumer.group_id.clone(),
            state: GroupState::Stable,
            group_type: "consumer",
            state_name: consumer.state().name(),
            protocol_type: "consumer".to_string(),
            protocol_name: String::new(),
            members: Vec::new(),
        };
    }
    let c = &group.classic;
    let protocol = c.protocol_name.clone().unwrap_or_default();
    GroupDescription {
        group_id: c.group_id.clone(),
        state: c.state,
        group_type: "classic",
        state_name: c.state.name(),
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
