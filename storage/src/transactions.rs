//! The log's side of idempotence and transactions: markers, the last stable
//! offset, aborted transactions for read_committed fetches, and rebuilding
//! producer state at open.
//!
//! Producer state changes only under the writer lock, in `append` (see
//! `producer_state.rs` for the rules); this module reads it and writes the
//! markers a transaction coordinator asks for. Recovery rebuilds it from the
//! newest snapshot at or below the first segment it must scan, replaying the
//! batch headers after it; sealed segments it trusts keep their
//! `.txnindex` files, scanned ones get their aborted transactions rebuilt.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use strata_wire::batch::BatchHeader;
use strata_wire::control::Marker;

use crate::error::{IoContext, StorageError};
use crate::log::{AppendInfo, Log};
use crate::producer_snapshot;
use crate::producer_state::{AbortedTxn, ProducerBatch, ProducerInfo, ProducerStates};
use crate::scan::{ScanError, Scanner, SCAN_CHUNK};
use crate::segment::Segment;

/// Snapshots kept per log: the newest, and older ones in case a crash took
/// the data under it or a sealed segment must be rescanned.
pub(crate) const SNAPSHOTS_KEPT: usize = 3;

impl Log {
    /// Appends a COMMIT or ABORT marker for `marker.producer_id`, ending its
    /// transaction in this partition. Refused with `InvalidProducerEpoch` when
    /// the producer already wrote with a newer epoch, and `CoordinatorFenced`
    /// when a newer coordinator epoch already wrote a marker.
    pub fn append_marker(&self, marker: &Marker) -> Result<AppendInfo, StorageError> {
        self.append(Bytes::from(marker.encode()), 0, None)
    }

    /// The last stable offset: the first offset of the oldest open
    /// transaction, or the high watermark. read_committed consumers read
    /// below it.
    pub fn last_stable_offset(&self) -> i64 {
        let st = self.inner.state.lock();
        st.producers
            .first_unstable_offset()
            .map_or(st.high_watermark, |first| first.min(st.high_watermark))
    }

    /// The aborted transactions a read_committed consumer of
    /// `[from, to)` must skip: those whose marker is at or after `from` and
    /// whose first offset is before `to`, ordered by first offset.
    pub fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let st = self.inner.state.lock();
        let start = st
            .segments
            .range(..=from)
            .next_back()
            .map_or(i64::MIN, |(&base, _)| base);
        let mut out: Vec<AbortedTxn> = st
            .segments
            .range(start..)
            .flat_map(|(_, s)| s.aborted.iter())
            .filter(|a| a.last_offset >= from && a.first_offset < to)
            .copied()
            .collect();
        out.sort_by_key(|a| a.first_offset);
        out
    }

    /// The producers that wrote to this log (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerInfo> {
        self.inner.state.lock().producers.describe()
    }

    /// Forgets producers whose last write is older than `cutoff_ms` and that
    /// hold no open transaction (`producer.id.expiration.ms`).
    pub fn expire_producers(&self, cutoff_ms: i64) -> usize {
        let _writer = self.inner.writer.lock();
        self.inner.state.lock().producers.expire(cutoff_ms)
    }
}

/// Applies one batch's producer fields to `states`; for a marker that
/// aborted a transaction, returns its index entry.
pub(crate) fn apply_header(
    states: &mut ProducerStates,
    header: &BatchHeader<'_>,
) -> Option<AbortedTxn> {
    let batch = ProducerBatch::of(header)?;
    states.apply(&batch, header.base_offset(), header.last_offset())
}

/// Rebuilds producer state and the scanned segments' aborted transactions.
///
/// `trusted` holds the base offsets of sealed segments loaded from valid
/// index files (their `.txnindex` is already in `aborted`). The state starts
/// from the newest readable snapshot at or below both the log end and the
/// first untrusted segment, so that every segment scanned is replayed with
/// the state before it complete; without one it starts empty at the first
/// segment.
pub(crate) fn rebuild(
    dir: &Path,
    segments: &mut BTreeMap<i64, Segment>,
    trusted: &[i64],
    log_end: i64,
) -> Result<ProducerStates, StorageError> {
    let snapshots = producer_snapshot::list(dir).ctx(|| format!("listing {}", dir.display()))?;
    for &offset in snapshots.iter().filter(|&&o| o > log_end) {
        producer_snapshot::remove(dir, offset)
            .ctx(|| format!("removing snapshot in {}", dir.display()))?;
    }
    let first_untrusted = segments
        .keys()
        .find(|base| !trusted.contains(base))
        .copied()
        .unwrap_or(log_end);
    let bound = first_untrusted.min(log_end);
    let mut states = ProducerStates::default();
    let mut from = i64::MIN;
    for &offset in snapshots.iter().rev().filter(|&&o| o <= bound) {
        let path = producer_snapshot::snapshot_path(dir, offset);
        match std::fs::read(&path)
            .ok()
            .and_then(|b| producer_snapshot::decode(&b))
        {
            Some(loaded) => {
                states = loaded;
                from = offset;
                break;
            }
            None => {
                tracing::warn!(snapshot = %path.display(), "unreadable producer snapshot; trying an older one")
            }
        }
    }
    for segment in segments.values_mut() {
        if segment.next_offset <= from
            || (segment.next_offset == segment.base_offset && segment.size == 0)
        {
            continue;
        }
        let rebuild_aborted = !trusted.contains(&segment.base_offset);
        if rebuild_aborted {
            segment.aborted.clear();
        }
        let mut scanner = Scanner::new(&segment.file, 0, segment.size, SCAN_CHUNK);
        loop {
            let bytes = match scanner.next_batch() {
                Ok(Some((_, bytes))) => bytes,
                Ok(None) => break,
                Err(ScanError::Io(e)) => {
                    return Err(e).ctx(|| {
                        format!("rebuilding producer state from {}", segment.path.display())
                    })
                }
                // Recovery already cut the segment to its valid batches.
                Err(ScanError::Invalid { .. }) => break,
            };
            let Ok(header) = BatchHeader::parse(&bytes) else {
                break;
            };
            if header.base_offset() < from {
                continue;
            }
            if let Some(aborted) = apply_header(&mut states, &header) {
                if rebuild_aborted {
                    segment.aborted.push(aborted);
                }
            }
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::LogConfig;

    fn marker(producer_id: i64, epoch: i16, commit: bool) -> Marker {
        Marker {
            producer_id,
            producer_epoch: epoch,
            coordinator_epoch: 0,
            commit,
            timestamp: 1_000,
        }
    }

    #[test]
    fn a_retried_batch_gets_its_original_offsets_and_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        let first = log
            .append(bytes(producer_batch(3, 5, 0, 0, false)), 0, None)
            .unwrap();
        let other = log.append(bytes(batch(2, 1, 10)), 0, None).unwrap();
        let retry = log
            .append(bytes(producer_batch(3, 5, 0, 0, false)), 0, None)
            .unwrap();
        assert_eq!(
            (first.base_offset, first.last_offset, first.duplicate),
            (0, 2, false)
        );
        assert_eq!(other.base_offset, 3);
        assert_eq!(
            (retry.base_offset, retry.last_offset, retry.duplicate),
            (0, 2, true)
        );
        assert_eq!(log.log_end_offset(), 5);
        assert!(matches!(
            log.append(bytes(producer_batch(1, 5, 0, 4, false)), 0, None),
            Err(StorageError::OutOfOrderSequence {
                expected: 3,
                got: 4,
                ..
            })
        ));
        assert!(matches!(
            log.append(bytes(producer_batch(1, 5, 1, 0, false)), 0, None),
            Ok(AppendInfo { base_offset: 5, .. })
        ));
        assert!(matches!(
            log.append(bytes(producer_batch(1, 5, 0, 3, false)), 0, None),
            Err(StorageError::InvalidProducerEpoch { current: 1, .. })
        ));
        assert_eq!(log.log_end_offset(), 6);
    }

    #[test]
    fn markers_end_transactions_move_the_lso_and_index_aborts() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        log.append(bytes(batch(1, 1, 10)), 0, None).unwrap(); // 0
        log.append(bytes(producer_batch(2, 7, 0, 0, true)), 0, None)
            .unwrap(); // 1-2
        log.append(bytes(producer_batch(1, 8, 0, 0, true)), 0, None)
            .unwrap(); // 3
        log.append(bytes(batch(1, 1, 10)), 0, None).unwrap(); // 4
        assert_eq!(log.last_stable_offset(), 1);
        let stats = log.stats();
        assert_eq!(stats.last_stable_offset, 1);
        assert_eq!(stats.high_watermark, log.high_watermark());
        assert_eq!(stats.log_end_offset, 5);
        assert_eq!(stats.local_size_bytes, log.size_bytes());
        let abort = log.append_marker(&marker(7, 0, false)).unwrap(); // 5
        assert_eq!(abort.base_offset, 5);
        assert_eq!(log.last_stable_offset(), 3);
        log.append_marker(&marker(8, 0, true)).unwrap(); // 6
        assert_eq!(log.last_stable_offset(), log.high_watermark());
        let aborted = log.aborted_transactions(0, 7);
        assert_eq!(
            aborted,
            vec![AbortedTxn {
                producer_id: 7,
                first_offset: 1,
                last_offset: 5,
                last_stable_offset: 3
            }]
        );
        assert!(log.aborted_transactions(6, 7).is_empty());
        assert!(log.aborted_transactions(0, 1).is_empty());
        // A stale epoch's marker is refused; the producer list shows both.
        log.append_marker(&marker(7, 2, false)).unwrap();
        assert!(matches!(
            log.append_marker(&marker(7, 1, true)),
            Err(StorageError::InvalidProducerEpoch { .. })
        ));
        let producers = log.producers();
        assert_eq!(producers.len(), 2);
        assert_eq!(producers[0].producer_epoch, 2);
    }

    #[test]
    fn producer_state_and_aborts_survive_reopen_and_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 400,
            ..fast_config()
        };
        {
            let log = open(dir.path(), config.clone());
            for seq in 0..6 {
                log.append(bytes(producer_batch(1, 3, 0, seq, false)), 0, None)
                    .unwrap();
            }
            log.append(bytes(producer_batch(1, 4, 0, 0, true)), 0, None)
                .unwrap();
            log.append_marker(&marker(4, 0, false)).unwrap();
            log.append(bytes(producer_batch(1, 4, 0, 1, true)), 0, None)
                .unwrap();
            // Segments rolled: snapshots exist, three at most.
            let snapshots = producer_snapshot::list(log.dir()).unwrap();
            assert!(!snapshots.is_empty() && snapshots.len() <= SNAPSHOTS_KEPT);
            log.close().unwrap();
        }
        let reopen = |config: LogConfig| {
            let log = open(dir.path(), config);
            // The last batch is still known: its retry is a duplicate.
            let retry = log
                .append(bytes(producer_batch(1, 3, 0, 5, false)), 0, None)
                .unwrap();
            assert!(retry.duplicate);
            assert_eq!(retry.base_offset, 5);
            // The open transaction still holds the LSO, the abort is indexed.
            assert_eq!(log.last_stable_offset(), 8);
            assert_eq!(log.aborted_transactions(0, 9)[0].first_offset, 6);
            log.close().unwrap();
        };
        reopen(config.clone());
        // Without snapshots the whole log is replayed to the same state.
        for offset in producer_snapshot::list(&dir.path().join("topic-0")).unwrap() {
            producer_snapshot::remove(&dir.path().join("topic-0"), offset).unwrap();
        }
        reopen(config);
    }
}
