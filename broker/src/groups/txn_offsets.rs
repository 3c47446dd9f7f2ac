//! Transactional offset commits (TxnOffsetCommit, KIP-98), as Kafka 4.1's
//! OffsetMetadataManager keeps them.
//!
//! A TxnOffsetCommit appends its offsets to the group's `__consumer_offsets`
//! partition as one transactional batch of the producer (same
//! OffsetCommitKey/Value records as a plain commit). Until the transaction
//! ends the offsets are *pending*, keyed by (offsets partition, producer id):
//! OffsetFetch does not see them, and with `require_stable` it answers
//! UNSTABLE_OFFSET_COMMIT for their partitions. The transaction
//! coordinator's marker writer appends the COMMIT or ABORT control batch to
//! that partition and then calls [`GroupCoordinator::complete_transaction`]:
//! a commit makes them committed offsets, an abort drops them. Replay at
//! start does the same from the markers in the log (`offset_replay.rs`).
//!
//! Ordering against plain commits: every committed offset remembers the log
//! offset of its record, and a pending offset becomes committed only if its
//! record is later in the log than the committed one, so a plain commit
//! written after the transactional one (while it was pending) wins, as in
//! Kafka. Replay applies the same rule, so the outcome does not depend on
//! whether the marker was seen live or replayed.
//!
//! Locking: `txn` is taken only while holding `groups` (lock order: groups,
//! then txn), so the two change together.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;

use super::classic::{ClassicGroup, GroupState};
use super::{
    store, Committed, Committer, Group, GroupCoordinator, GroupKind, OffsetCommit, OffsetRecords,
};
use crate::clock::now_ms;

/// A topic partition of a group's offsets.
pub(super) type TopicPartition = (String, i32);

/// An open transaction of one producer in one `__consumer_offsets` partition.
type TxnKey = (i32, i64);

/// A transaction's pending offsets, by group.
type PendingByGroup = BTreeMap<String, BTreeMap<TopicPartition, Committed>>;

/// Pending transactional offsets of every group.
#[derive(Debug, Default)]
pub(crate) struct TxnOffsets {
    by_txn: HashMap<TxnKey, PendingByGroup>,
    /// The open transactions of each group, to answer "is this partition
    /// pending?" without walking every transaction.
    open_by_group: HashMap<String, BTreeSet<TxnKey>>,
}

impl TxnOffsets {
    /// Keeps `committed` as pending for the transaction; a later offset of
    /// the same partition in the same transaction replaces it.
    pub(super) fn add(
        &mut self,
        offsets_partition: i32,
        producer_id: i64,
        group: &str,
        tp: TopicPartition,
        committed: Committed,
    ) {
        let txn = (offsets_partition, producer_id);
        self.by_txn
            .entry(txn)
            .or_default()
            .entry(group.to_string())
            .or_default()
            .insert(tp, committed);
        self.open_by_group
            .entry(group.to_string())
            .or_default()
            .insert(txn);
    }

    /// Whether an open transaction holds an offset for the group's partition.
    pub(super) fn is_pending(&self, group: &str, tp: &TopicPartition) -> bool {
        self.open_by_group.get(group).is_some_and(|txns| {
            txns.iter().any(|txn| {
                self.by_txn
                    .get(txn)
                    .and_then(|groups| groups.get(group))
                    .is_some_and(|offsets| offsets.contains_key(tp))
            })
        })
    }

    /// Whether the group has an open transaction (its offsets then do not expire
    /// as a whole).
    pub(super) fn has_open(&self, group: &str) -> bool {
        self.open_by_group.contains_key(group)
    }

    /// Ends a transaction: its pending offsets, by group.
    pub(super) fn take(&mut self, offsets_partition: i32, producer_id: i64) -> PendingByGroup {
        let txn = (offsets_partition, producer_id);
        let pending = self.by_txn.remove(&txn).unwrap_or_default();
        for group in pending.keys() {
            self.forget(group, txn);
        }
        pending
    }

    /// A tombstone for the group's partition: drops the partition's pending
    /// offsets from every open transaction, as Kafka's replay of a tombstone
    /// does. Returns whether there were any.
    pub(super) fn remove_partition(&mut self, group: &str, tp: &TopicPartition) -> bool {
        !self.remove_where(group, |p| p == tp).is_empty()
    }

    /// The group's partitions with pending offsets that `selected` picks,
    /// without dropping them (to write their tombstones first).
    pub(super) fn pending_where(
        &self,
        group: &str,
        selected: impl Fn(&TopicPartition) -> bool,
    ) -> BTreeSet<TopicPartition> {
        let Some(txns) = self.open_by_group.get(group) else {
            return BTreeSet::new();
        };
        txns.iter()
            .filter_map(|txn| self.by_txn.get(txn).and_then(|groups| groups.get(group)))
            .flat_map(|offsets| offsets.keys().filter(|tp| selected(tp)).cloned())
            .collect()
    }

    /// Drops the group's pending offsets that `doomed` selects; returns their
    /// partitions.
    pub(super) fn remove_where(
        &mut self,
        group: &str,
        doomed: impl Fn(&TopicPartition) -> bool,
    ) -> BTreeSet<TopicPartition> {
        let mut removed = BTreeSet::new();
        let txns: Vec<TxnKey> = self
            .open_by_group
            .get(group)
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default();
        for txn in txns {
            let Some(groups) = self.by_txn.get_mut(&txn) else {
                continue;
            };
            let Some(offsets) = groups.get_mut(group) else {
                continue;
            };
            offsets.retain(|tp, _| {
                let gone = doomed(tp);
                if gone {
                    removed.insert(tp.clone());
                }
                !gone
            });
            if offsets.is_empty() {
                groups.remove(group);
                if groups.is_empty() {
                    self.by_txn.remove(&txn);
                }
                self.forget(group, txn);
            }
        }
        removed
    }

    fn forget(&mut self, group: &str, txn: TxnKey) {
        if let Some(txns) = self.open_by_group.get_mut(group) {
            txns.remove(&txn);
            if txns.is_empty() {
                self.open_by_group.remove(group);
            }
        }
    }

    /// Groups with pending offsets (replay gives each a group, as Kafka
    /// creates a simple group for any offset record).
    pub(super) fn groups(&self) -> impl Iterator<Item = &String> {
        self.open_by_group.keys()
    }
}

/// Makes a committed transaction's offsets the group's committed offsets,
/// except where the committed offset's record is later in the log (a plain
/// commit made while the transaction was open): Kafka keeps the most recent
/// record, which is also what compaction of the log would leave.
pub(super) fn materialize(
    group: &str,
    committed: &mut BTreeMap<TopicPartition, Committed>,
    pending: BTreeMap<TopicPartition, Committed>,
) {
    for (tp, offset) in pending {
        match committed.get(&tp) {
            Some(existing) if existing.record_offset >= offset.record_offset => {
                tracing::info!(
                    group,
                    topic = %tp.0,
                    partition = tp.1,
                    record_offset = offset.record_offset,
                    committed_record_offset = existing.record_offset,
                    "transactional offset not applied: a later offset commit of the partition stands"
                );
            }
            _ => {
                committed.insert(tp, offset);
            }
        }
    }
}

/// Kafka's checks of a TxnOffsetCommit against a classic group: those of
/// OffsetCommit, except that a commit without member id and generation (v0-2)
/// is accepted in any state and a group completing a rebalance is no
/// obstacle (transactional commits do not depend on the group's state).
pub(super) fn validate_classic(
    group: &ClassicGroup,
    committer: &Committer,
) -> Result<(), ResponseError> {
    if group.state == GroupState::Dead {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    if committer.generation_id < 0 && group.state == GroupState::Empty {
        return Ok(());
    }
    if committer.generation_id < 0
        && committer.member_id.is_empty()
        && committer.group_instance_id.is_none()
    {
        return Ok(());
    }
    match &committer.group_instance_id {
        // A static member is found by its instance id: an old member id
        // for it is a fenced instance, as Kafka's validateMember has it.
        Some(instance) => {
            let holder = group
                .members
                .values()
                .find(|m| m.group_instance_id.as_deref() == Some(instance.as_str()));
            match holder {
                None => return Err(ResponseError::UnknownMemberId),
                Some(m) if m.member_id != committer.member_id => {
                    return Err(ResponseError::FencedInstanceId)
                }
                Some(_) => {}
            }
        }
        None if !group.members.contains_key(&committer.member_id) => {
            return Err(ResponseError::UnknownMemberId)
        }
        None => {}
    }
    if committer.generation_id != group.generation_id {
        return Err(ResponseError::IllegalGeneration);
    }
    Ok(())
}

fn validate(group: &Group, committer: &Committer) -> Result<(), ResponseError> {
    match &group.kind {
        // Kafka answers a stale member epoch of a transactional commit with
        // ILLEGAL_GENERATION, which transactional producers know.
        GroupKind::Consumer(consumer) => consumer
            .validate_commit(&committer.member_id, committer.generation_id)
            .map_err(|e| match e {
                ResponseError::StaleMemberEpoch => ResponseError::IllegalGeneration,
                other => other,
            }),
        GroupKind::Classic(classic) => validate_classic(classic, committer),
    }
}

impl GroupCoordinator {
    /// TxnOffsetCommit: appends the offsets as one transactional batch of
    /// `producer_id` at `producer_epoch` to the group's `__consumer_offsets`
    /// partition, waits until it is durable, and keeps the offsets pending
    /// until [`GroupCoordinator::complete_transaction`]. `committer` is
    /// `None` for v0-2, which carry no member fields: Kafka checks them as
    /// generation -1 without a member. Per-partition results in order, or a
    /// group-level error.
    pub(crate) async fn txn_offset_commit(
        &self,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        committer: Option<Committer>,
        offsets: Vec<OffsetCommit>,
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        if producer_id < 0 {
            // Replay would take records without a producer for plain commits.
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        let committer = committer.unwrap_or(Committer {
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        });
        let ((log, end), results) = {
            let mut groups = self.groups.lock();
            if !groups.contains_key(group_id) {
                if committer.generation_id >= 0 {
                    return Err(ResponseError::IllegalGeneration);
                }
                // A simple group, as for a plain commit with generation -1.
                groups.insert(group_id.to_string(), self.new_group(group_id));
            }
            let group = groups.get_mut(group_id).expect("present");
            validate(group, &committer)?;
            let OffsetRecords {
                records,
                accepted,
                results,
            } = self.offset_records(group_id, offsets, now_ms());
            if records.is_empty() {
                return Ok(results);
            }
            let partition = self
                .offsets_partition(group_id)
                .ok_or(ResponseError::CoordinatorNotAvailable)?;
            let batch =
                store::encode_transactional_batch(&records, now_ms(), producer_id, producer_epoch);
            let wait = self.append_batch(group_id, batch)?;
            let first = wait.1 - records.len() as i64;
            let mut txn = self.txn.lock();
            for (i, (tp, mut committed)) in accepted.into_iter().enumerate() {
                committed.record_offset = first + i as i64;
                txn.add(partition, producer_id, group_id, tp, committed);
            }
            (wait, results)
        };
        log.wait_durable(end).await.map_err(|e| {
            tracing::error!(group = group_id, error = %e, "transactional offset commit not durable");
            ResponseError::CoordinatorNotAvailable
        })?;
        Ok(results)
    }

    /// Ends `producer_id`'s transaction in `__consumer_offsets` partition
    /// `offsets_partition`: on commit its pending offsets become committed
    /// (where no later plain commit of the partition stands), on abort they
    /// are dropped. The transaction coordinator's marker writer calls this
    /// once the COMMIT or ABORT control batch for that producer is appended
    /// to that partition and durable, so that what replay rebuilds from the
    /// log is what was answered. A transaction without offsets there is a
    /// no-op.
    pub(crate) fn complete_transaction(
        &self,
        offsets_partition: i32,
        producer_id: i64,
        commit: bool,
    ) {
        let mut groups = self.groups.lock();
        let pending = self.txn.lock().take(offsets_partition, producer_id);
        if pending.is_empty() {
            return;
        }
        tracing::debug!(
            offsets_partition,
            producer_id,
            commit,
            groups = pending.len(),
            "transactional offsets completed"
        );
        if !commit {
            return;
        }
        for (group_id, offsets) in pending {
            let group = groups
                .entry(group_id.clone())
                .or_insert_with(|| self.new_group(&group_id));
            materialize(&group_id, &mut group.offsets, offsets);
        }
    }

    /// The `__consumer_offsets` partition holding `group` (Kafka's
    /// `partitionFor`), once the topic exists: the partition whose markers
    /// end the group's transactional offsets (AddOffsetsToTxn adds it).
    pub(crate) fn offsets_partition(&self, group: &str) -> Option<i32> {
        self.offsets_topic.partition_of(group).map(|(p, _)| p)
    }
}
