//! Rebuilds committed offsets, and the pending offsets of open
//! transactions, from the offset records and transaction markers of
//! `__consumer_offsets`, in log order (Kafka's OffsetMetadataManager.replay
//! and replayEndTransactionMarker).
//!
//! An offset record of a transactional batch is pending for (partition,
//! producer id) until that partition's COMMIT marker of the producer
//! (applied, see [`materialize`]) or ABORT marker (dropped). A tombstone
//! deletes the committed offset and the partition's pending ones. What is
//! still pending at the end of the log stays pending: the transaction
//! coordinator completes those transactions after the restart.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::records::OffsetValue;
use super::txn_offsets::{materialize, TopicPartition, TxnOffsets};
use super::{committed_from, Committed};
use crate::internal_log::TxnMarker;

/// Offsets as replay has found them so far.
#[derive(Debug, Default)]
pub(super) struct OffsetReplay {
    pub(super) committed: HashMap<String, BTreeMap<TopicPartition, Committed>>,
    pub(super) pending: TxnOffsets,
}

impl OffsetReplay {
    /// An OffsetCommit record at `record_offset` of `offsets_partition`;
    /// `txn_producer` is the producer id when its batch is transactional.
    pub(super) fn offset(
        &mut self,
        offsets_partition: i32,
        record_offset: i64,
        txn_producer: Option<i64>,
        group: String,
        tp: TopicPartition,
        value: Option<Bytes>,
    ) {
        let Some(value) = value else {
            self.pending.remove_partition(&group, &tp);
            self.committed.entry(group).or_default().remove(&tp);
            return;
        };
        let committed = match OffsetValue::decode(value) {
            Ok(v) => committed_from(v, record_offset),
            Err(e) => {
                tracing::warn!(error = %e, "skipping unreadable offset value");
                return;
            }
        };
        match txn_producer {
            Some(producer_id) => {
                self.pending
                    .add(offsets_partition, producer_id, &group, tp, committed)
            }
            None => {
                self.committed
                    .entry(group)
                    .or_default()
                    .insert(tp, committed);
            }
        }
    }

    /// A COMMIT or ABORT marker of `producer_id` in `offsets_partition`.
    pub(super) fn marker(&mut self, offsets_partition: i32, producer_id: i64, marker: TxnMarker) {
        let pending = self.pending.take(offsets_partition, producer_id);
        if marker == TxnMarker::Abort {
            return;
        }
        for (group, offsets) in pending {
            let committed = self.committed.entry(group.clone()).or_default();
            materialize(&group, committed, offsets);
        }
    }
}
