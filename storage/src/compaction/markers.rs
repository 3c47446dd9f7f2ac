//! Removing COMMIT and ABORT markers, as Kafka's cleaner does (KIP-534).
//!
//! A marker is needed while any batch of its transaction remains: a reader
//! or a producer-state rebuild that meets the transaction's data must also
//! meet its end, or the transaction looks open and the last stable offset
//! sticks there. So a marker goes in two steps, over passes that each read
//! the log from its start:
//!
//! 1. A pass that meets a marker with no batch of its transaction before it
//!    (none of the producer's transactional batches since its previous
//!    marker; batches an earlier pass removed, aborted ones included, no
//!    longer count) sets the batch's delete horizon to now +
//!    `delete_retention_ms` (attribute bit 6, `strata_wire::delete_horizon`).
//!    A batch the same pass drops still counts, as in Kafka: the marker
//!    outlives its data by at least one pass, so no crash between the swaps
//!    of two segments can leave data without its marker.
//! 2. A later pass that meets it past that horizon, still with no batch of
//!    its transaction before it, drops it. The wait gives consumers that
//!    were reading the transaction's data `delete.retention.ms` to meet its
//!    marker, as for tombstones.
//!
//! Producer snapshots: recovery rebuilds producer state from the newest
//! readable snapshot at or below the first untrusted segment and replays the
//! batches after it (`transactions::rebuild`). A snapshot taken while the
//! transaction was open holds it as open from its first offset; replaying
//! from there without the marker would leave it open forever. So a marker is
//! removable only when every snapshot on disk lies above it: any snapshot a
//! rebuild may start from then already saw the transaction end, and a
//! rebuild with no snapshot replays from the log start, where none of the
//! transaction's batches are left. Snapshots are only ever added above the
//! cleanable range (at rolls and at close), so the floor read at the start
//! of a pass can only rise during it.

use std::collections::HashSet;

use bytes::Bytes;
use strata_wire::batch::BatchHeader;
use strata_wire::delete_horizon::{delete_horizon, with_delete_horizon};

/// What a pass does with one marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MarkerFate {
    Keep,
    /// Kept with its delete horizon set: these bytes replace it.
    MarkHorizon(Bytes),
    Remove,
}

/// The cleaner's view of transactions over one pass, oldest batch first.
pub(super) struct MarkerRemoval {
    now_ms: i64,
    delete_retention_ms: i64,
    /// Markers at or above this offset stay (see the module documentation).
    snapshot_floor: i64,
    /// Producers with a transactional batch since their last marker.
    with_data: HashSet<i64>,
}

impl MarkerRemoval {
    /// `snapshots`: the offsets of the producer snapshots on disk.
    pub(super) fn new(now_ms: i64, delete_retention_ms: i64, snapshots: &[i64]) -> Self {
        MarkerRemoval {
            now_ms,
            delete_retention_ms,
            snapshot_floor: snapshots.iter().copied().min().unwrap_or(i64::MAX),
            with_data: HashSet::new(),
        }
    }

    /// Records a data batch the pass read (whatever becomes of it).
    pub(super) fn on_data_batch(&mut self, header: &BatchHeader<'_>) {
        if header.is_transactional() {
            self.with_data.insert(header.producer_id());
        }
    }

    /// Decides a control batch's fate; it ends its producer's transaction.
    pub(super) fn on_marker(&mut self, header: &BatchHeader<'_>) -> MarkerFate {
        let had_data = self.with_data.remove(&header.producer_id());
        if had_data || header.last_offset() >= self.snapshot_floor {
            return MarkerFate::Keep;
        }
        match delete_horizon(header) {
            Some(horizon) if horizon <= self.now_ms => MarkerFate::Remove,
            Some(_) => MarkerFate::Keep,
            None => {
                let horizon = self.now_ms.saturating_add(self.delete_retention_ms);
                with_delete_horizon(header, horizon)
                    .map_or(MarkerFate::Keep, |b| MarkerFate::MarkHorizon(b.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_wire::control::Marker;

    fn marker(producer_id: i64, offset: i64) -> Vec<u8> {
        let mut b = Marker {
            producer_id,
            producer_epoch: 0,
            coordinator_epoch: 0,
            commit: true,
            timestamp: 1_000,
        }
        .encode();
        b[..8].copy_from_slice(&offset.to_be_bytes());
        b
    }

    fn data(producer_id: i64) -> Vec<u8> {
        // A marker with the control bit cleared is a transactional data batch.
        let mut b = marker(producer_id, 0);
        b[22] &= !0x20;
        b
    }

    fn fate(r: &mut MarkerRemoval, bytes: &[u8]) -> MarkerFate {
        r.on_marker(&BatchHeader::parse(bytes).unwrap())
    }

    #[test]
    fn horizon_first_then_removal_after_it() {
        let m = marker(5, 10);
        let mut first = MarkerRemoval::new(1_000, 500, &[20]);
        let MarkerFate::MarkHorizon(marked) = fate(&mut first, &m) else {
            panic!("the first pass sets the horizon")
        };
        let h = BatchHeader::parse(&marked).unwrap();
        assert_eq!(delete_horizon(&h), Some(1_500));
        assert_eq!(
            fate(&mut MarkerRemoval::new(1_499, 500, &[20]), &marked),
            MarkerFate::Keep
        );
        assert_eq!(
            fate(&mut MarkerRemoval::new(1_500, 500, &[20]), &marked),
            MarkerFate::Remove
        );
    }

    #[test]
    fn data_of_the_transaction_or_an_older_snapshot_keeps_it() {
        let m = marker(5, 10);
        let marked = with_delete_horizon(&BatchHeader::parse(&m).unwrap(), 0).unwrap();
        let mut r = MarkerRemoval::new(1_000, 0, &[20]);
        r.on_data_batch(&BatchHeader::parse(&data(5)).unwrap());
        assert_eq!(fate(&mut r, &marked), MarkerFate::Keep);
        // The marker ended that transaction: the next marker is free.
        assert_eq!(fate(&mut r, &marked), MarkerFate::Remove);
        // Another producer's data does not hold it.
        r.on_data_batch(&BatchHeader::parse(&data(6)).unwrap());
        assert_eq!(fate(&mut r, &marked), MarkerFate::Remove);
        // A snapshot at or below the marker holds it.
        for floor in [10, 5] {
            let mut r = MarkerRemoval::new(1_000, 0, &[30, floor]);
            assert_eq!(fate(&mut r, &marked), MarkerFate::Keep);
        }
        // No snapshot at all: a rebuild replays from the log start.
        assert_eq!(
            fate(&mut MarkerRemoval::new(1_000, 0, &[]), &marked),
            MarkerFate::Remove
        );
    }
}
