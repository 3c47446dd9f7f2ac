//! Per-partition producer state: what idempotence and transactions need.
//!
//! For every producer id that wrote to the log the state keeps its epoch, the
//! sequence ranges and offsets of its last [`MAX_BATCHES`] batches, and the
//! first offset of its open transaction, as Kafka's `ProducerStateEntry`
//! does. Appends consult it under the log's writer lock, so a retried batch
//! is answered with its original offsets instead of being written twice, a
//! gap in sequences is refused, and a stale epoch is fenced. The open
//! transactions give the last stable offset (LSO); aborted ones are indexed
//! per segment (`txn_index.rs`).
//!
//! The rules follow Kafka's `ProducerAppendInfo`: the duplicate check comes
//! first; then the epoch (older is refused); then the sequence: a new epoch
//! starts at 0 (unless the producer was unknown), the same epoch continues at
//! last + 1 (wrapping at `i32::MAX`), and an unknown producer may start
//! anywhere (its earlier batches may have been removed by retention).
//! Batches without a sequence (-1) come from coordinators (transactional
//! offset commits) and skip the sequence check.

use std::collections::{BTreeMap, HashMap, VecDeque};

use strata_wire::batch::BatchHeader;
use strata_wire::control::{control_type, ControlType};

use crate::error::StorageError;

/// Batches remembered per producer: Kafka's `NUM_BATCHES_TO_RETAIN`, which
/// is why producers keep at most 5 requests in flight.
pub(crate) const MAX_BATCHES: usize = 5;

/// "No epoch yet" and "no sequence", as in Kafka's RecordBatch.
pub(crate) const NO_EPOCH: i16 = -1;
pub(crate) const NO_SEQUENCE: i32 = -1;

/// One remembered batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMetadata {
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) first_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) timestamp: i64,
}

/// What the log knows of one producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProducerEntry {
    pub(crate) epoch: i16,
    pub(crate) batches: VecDeque<BatchMetadata>,
    pub(crate) last_timestamp: i64,
    pub(crate) coordinator_epoch: i32,
    /// First offset of the producer's open transaction in this partition.
    pub(crate) txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn new() -> Self {
        ProducerEntry {
            epoch: NO_EPOCH,
            batches: VecDeque::new(),
            last_timestamp: -1,
            coordinator_epoch: -1,
            txn_first_offset: None,
        }
    }

    fn last_seq(&self) -> i32 {
        self.batches.back().map_or(NO_SEQUENCE, |b| b.last_seq)
    }

    /// A new epoch forgets the old epoch's sequences.
    fn set_epoch(&mut self, epoch: i16) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.batches.clear();
        }
    }
}

/// A producer batch's header fields, as the state checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerBatch {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) transactional: bool,
    /// `Some` for COMMIT/ABORT markers.
    pub(crate) control: Option<ControlType>,
    /// The coordinator epoch of a marker (from its value), else -1.
    pub(crate) coordinator_epoch: i32,
    pub(crate) max_timestamp: i64,
}

impl ProducerBatch {
    /// The producer fields of a batch, `None` for batches without a producer id.
    pub(crate) fn of(header: &BatchHeader<'_>) -> Option<ProducerBatch> {
        let producer_id = header.producer_id();
        if producer_id < 0 {
            return None;
        }
        let first_seq = header.base_sequence();
        let last_seq = if first_seq < 0 {
            NO_SEQUENCE
        } else {
            // Sequences wrap at i32::MAX, as Kafka's DefaultRecordBatch.incrementSequence.
            let next = i64::from(first_seq) + i64::from(header.last_offset_delta());
            (next % (i64::from(i32::MAX) + 1)) as i32
        };
        Some(ProducerBatch {
            producer_id,
            epoch: header.producer_epoch(),
            first_seq,
            last_seq,
            transactional: header.is_transactional(),
            control: control_type(header),
            coordinator_epoch: marker_coordinator_epoch(header),
            max_timestamp: header.max_timestamp(),
        })
    }
}

/// The coordinator epoch in a marker's value (`version: i16, epoch: i32`,
/// the record's last bytes before its empty header count), or -1.
fn marker_coordinator_epoch(header: &BatchHeader<'_>) -> i32 {
    if !header.is_control() {
        return -1;
    }
    let bytes = header.bytes();
    // The value's 4 epoch bytes end one byte (the header count) before the batch.
    let n = bytes.len();
    if n < strata_wire::batch::BATCH_HEADER_LEN + 17 {
        return -1;
    }
    i32::from_be_bytes([bytes[n - 5], bytes[n - 4], bytes[n - 3], bytes[n - 2]])
}

/// An aborted transaction, as Kafka's transaction index stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
    /// The LSO when the marker was written.
    pub last_stable_offset: i64,
}

/// What an append must do with a producer batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Append,
    /// A retry of a batch already in the log at these offsets.
    Duplicate {
        first_offset: i64,
        last_offset: i64,
    },
}

/// A producer the broker may describe (DescribeProducers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerInfo {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// First offset of the open transaction, -1 without one.
    pub current_txn_start_offset: i64,
}

/// Every producer of one log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ProducerStates {
    pub(crate) producers: HashMap<i64, ProducerEntry>,
    /// Open transactions by first offset, for the LSO.
    pub(crate) ongoing: BTreeMap<i64, i64>,
}

impl ProducerStates {
    /// Checks a batch before it gets offsets.
    pub(crate) fn check(&self, batch: &ProducerBatch) -> Result<Verdict, StorageError> {
        // A producer this log never saw may start anywhere; a marker for it
        // ends nothing but is still written, as Kafka writes it.
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return Ok(Verdict::Append);
        };
        if batch.control.is_some() {
            if batch.epoch < entry.epoch {
                return Err(StorageError::InvalidProducerEpoch {
                    producer_id: batch.producer_id,
                    epoch: batch.epoch,
                    current: entry.epoch,
                });
            }
            if batch.coordinator_epoch < entry.coordinator_epoch {
                return Err(StorageError::CoordinatorFenced {
                    producer_id: batch.producer_id,
                    coordinator_epoch: batch.coordinator_epoch,
                    current: entry.coordinator_epoch,
                });
            }
            return Ok(Verdict::Append);
        }
        if batch.epoch == entry.epoch && batch.first_seq != NO_SEQUENCE {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == batch.first_seq && b.last_seq == batch.last_seq)
            {
                return Ok(Verdict::Duplicate {
                    first_offset: dup.first_offset,
                    last_offset: dup.last_offset,
                });
            }
        }
        if batch.epoch < entry.epoch {
            return Err(StorageError::InvalidProducerEpoch {
                producer_id: batch.producer_id,
                epoch: batch.epoch,
                current: entry.epoch,
            });
        }
        if batch.first_seq != NO_SEQUENCE {
            if batch.epoch != entry.epoch {
                if batch.first_seq != 0 && entry.epoch != NO_EPOCH {
                    return Err(StorageError::OutOfOrderSequence {
                        producer_id: batch.producer_id,
                        expected: 0,
                        got: batch.first_seq,
                    });
                }
            } else if !in_sequence(entry.last_seq(), batch.first_seq) {
                return Err(StorageError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    expected: next_seq(entry.last_seq()),
                    got: batch.first_seq,
                });
            }
        }
        if !batch.transactional && entry.txn_first_offset.is_some() {
            return Err(StorageError::InvalidTxnState(format!(
                "producer {} wrote a non-transactional batch inside its open transaction",
                batch.producer_id
            )));
        }
        Ok(Verdict::Append)
    }

    /// Records a batch written at `[first_offset, last_offset]`; for a
    /// marker, returns the transaction it aborted, if any, with the LSO right
    /// after the marker (as Kafka's transaction index records it).
    pub(crate) fn apply(
        &mut self,
        batch: &ProducerBatch,
        first_offset: i64,
        last_offset: i64,
    ) -> Option<AbortedTxn> {
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(ProducerEntry::new);
        entry.last_timestamp = entry.last_timestamp.max(batch.max_timestamp);
        if let Some(kind) = batch.control {
            entry.set_epoch(batch.epoch);
            entry.coordinator_epoch = batch.coordinator_epoch;
            let started = entry.txn_first_offset.take();
            if let Some(first) = started {
                self.ongoing.remove(&first);
            }
            let last_stable_offset = self.first_unstable_offset().unwrap_or(first_offset + 1);
            return (kind == ControlType::Abort).then(|| AbortedTxn {
                producer_id: batch.producer_id,
                first_offset: started.unwrap_or(first_offset),
                last_offset: first_offset,
                last_stable_offset,
            });
        }
        entry.set_epoch(batch.epoch);
        if batch.first_seq != NO_SEQUENCE {
            if entry.batches.len() == MAX_BATCHES {
                entry.batches.pop_front();
            }
            entry.batches.push_back(BatchMetadata {
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
                first_offset,
                last_offset,
                timestamp: batch.max_timestamp,
            });
        }
        if batch.transactional && entry.txn_first_offset.is_none() {
            entry.txn_first_offset = Some(first_offset);
            self.ongoing.insert(first_offset, batch.producer_id);
        }
        None
    }

    /// The first offset of the oldest open transaction.
    pub(crate) fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// Forgets producers idle since `cutoff` (ms) without an open
    /// transaction (`producer.id.expiration.ms`); returns how many.
    pub(crate) fn expire(&mut self, cutoff: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| e.txn_first_offset.is_some() || e.last_timestamp >= cutoff);
        before - self.producers.len()
    }

    /// Every producer, for DescribeProducers.
    pub(crate) fn describe(&self) -> Vec<ProducerInfo> {
        let mut out: Vec<ProducerInfo> = self
            .producers
            .iter()
            .map(|(&id, e)| ProducerInfo {
                producer_id: id,
                producer_epoch: e.epoch,
                last_sequence: e.last_seq(),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_start_offset: e.txn_first_offset.unwrap_or(-1),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }
}

fn next_seq(last: i32) -> i32 {
    if last == i32::MAX {
        0
    } else {
        last + 1
    }
}

/// Kafka's `inSequence`: the next batch starts right after the last one.
fn in_sequence(last: i32, first: i32) -> bool {
    first == next_seq(last) || (last == NO_SEQUENCE && first == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, first: i32, count: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            epoch,
            first_seq: first,
            last_seq: first + count - 1,
            transactional: false,
            control: None,
            coordinator_epoch: -1,
            max_timestamp: 1_000,
        }
    }

    fn marker(pid: i64, epoch: i16, kind: ControlType) -> ProducerBatch {
        ProducerBatch {
            first_seq: NO_SEQUENCE,
            last_seq: NO_SEQUENCE,
            transactional: true,
            control: Some(kind),
            coordinator_epoch: 0,
            ..batch(pid, epoch, 0, 1)
        }
    }

    #[test]
    fn retries_of_the_last_five_batches_are_duplicates() {
        let mut s = ProducerStates::default();
        let mut offset = 0;
        for i in 0..7 {
            let b = batch(1, 0, i * 10, 10);
            assert_eq!(s.check(&b).unwrap(), Verdict::Append);
            s.apply(&b, offset, offset + 9);
            offset += 10;
        }
        // Batches 2..=6 are remembered; batch 6 sits at offsets 60..=69.
        assert_eq!(
            s.check(&batch(1, 0, 60, 10)).unwrap(),
            Verdict::Duplicate {
                first_offset: 60,
                last_offset: 69
            }
        );
        assert_eq!(
            s.check(&batch(1, 0, 20, 10)).unwrap(),
            Verdict::Duplicate {
                first_offset: 20,
                last_offset: 29
            }
        );
        // Batch 1 is forgotten: it is now out of order, as in Kafka.
        assert!(matches!(
            s.check(&batch(1, 0, 10, 10)),
            Err(StorageError::OutOfOrderSequence { expected: 70, .. })
        ));
    }

    #[test]
    fn gaps_stale_epochs_and_new_epochs() {
        let mut s = ProducerStates::default();
        let b = batch(7, 2, 0, 5);
        s.apply(&b, 0, 4);
        assert!(matches!(
            s.check(&batch(7, 2, 6, 1)),
            Err(StorageError::OutOfOrderSequence {
                expected: 5,
                got: 6,
                ..
            })
        ));
        assert!(matches!(
            s.check(&batch(7, 1, 5, 1)),
            Err(StorageError::InvalidProducerEpoch { current: 2, .. })
        ));
        // A bumped epoch restarts at 0 and nowhere else.
        assert!(matches!(
            s.check(&batch(7, 3, 5, 1)),
            Err(StorageError::OutOfOrderSequence { expected: 0, .. })
        ));
        assert_eq!(s.check(&batch(7, 3, 0, 1)).unwrap(), Verdict::Append);
        // An unknown producer may start anywhere (retention may have removed its past).
        assert_eq!(s.check(&batch(8, 0, 42, 1)).unwrap(), Verdict::Append);
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        let mut s = ProducerStates::default();
        s.apply(&batch(1, 0, i32::MAX - 1, 2), 0, 1);
        assert_eq!(s.check(&batch(1, 0, 0, 3)).unwrap(), Verdict::Append);
    }

    #[test]
    fn transactions_hold_the_lso_until_their_marker() {
        let mut s = ProducerStates::default();
        let mut t = batch(1, 0, 0, 3);
        t.transactional = true;
        s.apply(&t, 10, 12);
        let mut u = batch(2, 0, 0, 1);
        u.transactional = true;
        s.apply(&u, 13, 13);
        assert_eq!(s.first_unstable_offset(), Some(10));
        // A non-transactional write inside the open transaction is refused.
        assert!(matches!(
            s.check(&batch(1, 0, 3, 1)),
            Err(StorageError::InvalidTxnState(_))
        ));
        assert_eq!(s.apply(&marker(1, 0, ControlType::Commit), 14, 14), None);
        assert_eq!(s.first_unstable_offset(), Some(13));
        let aborted = s.apply(&marker(2, 0, ControlType::Abort), 15, 15);
        assert_eq!(
            aborted,
            Some(AbortedTxn {
                producer_id: 2,
                first_offset: 13,
                last_offset: 15,
                last_stable_offset: 16
            })
        );
        assert_eq!(s.first_unstable_offset(), None);
        // A marker with an older epoch is fenced.
        s.apply(&marker(1, 4, ControlType::Commit), 16, 16);
        assert!(matches!(
            s.check(&marker(1, 3, ControlType::Abort)),
            Err(StorageError::InvalidProducerEpoch { .. })
        ));
    }

    #[test]
    fn idle_producers_expire_but_open_transactions_stay() {
        let mut s = ProducerStates::default();
        s.apply(&batch(1, 0, 0, 1), 0, 0);
        let mut t = batch(2, 0, 0, 1);
        t.transactional = true;
        s.apply(&t, 1, 1);
        assert_eq!(s.expire(5_000), 1);
        assert!(s.producers.contains_key(&2));
    }
}
