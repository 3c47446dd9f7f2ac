//! What the log knows of its remote tier: the offset range remote storage
//! holds, so that the log start offset spans both tiers.
//!
//! The tier (the broker's uploader) owns remote storage and tells the log
//! what it holds with [`Log::set_tiered_range`]. The log then:
//! * reports a log start offset below its first local segment when the
//!   remote range reaches down there and joins the local segments without a
//!   gap, so consumers may still read records that only remote storage has;
//! * answers reads below its first local segment with `NotLocal`, for the
//!   caller to read remotely;
//! * with `remote_storage` on, lets retention delete only segments the remote
//!   range covers, so nothing un-uploaded is ever deleted.

use crate::index::SegmentIndex;
use crate::log::{Log, State, TieredRange};

/// A sealed segment's uploaded `.index` and `.timeindex`, decoded: where a
/// remote reader starts scanning the segment object for an offset or a
/// timestamp, without reading the segment from its start.
#[derive(Debug, Clone)]
pub struct SegmentLookup {
    index: SegmentIndex,
}

impl SegmentLookup {
    /// Decodes the two index files of a segment of `size` bytes holding
    /// offsets `[base_offset, next_offset)`; `None` when they do not
    /// describe such a segment.
    pub fn decode(
        offset_index: &[u8],
        time_index: &[u8],
        size: u64,
        base_offset: i64,
        next_offset: i64,
    ) -> Option<SegmentLookup> {
        let max_relative = u32::try_from(next_offset - base_offset - 1).ok()?;
        SegmentIndex::decode(offset_index, time_index, size, max_relative)
            .map(|index| SegmentLookup { index })
    }

    /// A position at or before the batch holding `relative_offset`.
    pub fn position_for_offset(&self, relative_offset: u32) -> u64 {
        self.index
            .floor_offset(relative_offset)
            .map_or(0, |e| u64::from(e.position))
    }

    /// A position before which every batch's max timestamp is below `timestamp`.
    pub fn position_for_timestamp(&self, timestamp: i64) -> u64 {
        self.index
            .floor_time(timestamp)
            .and_then(|e| self.index.floor_offset(e.relative_offset))
            .map_or(0, |e| u64::from(e.position))
    }
}

impl State {
    /// Recomputes the log start offset from the first local segment, the
    /// remote range and the persisted floor. The remote range counts only
    /// when it joins the local segments: a gap would make offsets in it
    /// unreadable.
    pub(crate) fn recompute_log_start(&mut self) {
        let first = self.first_local();
        let start = match self.tiered {
            Some(t) if t.start < first && t.end >= first => t.start,
            _ => first,
        };
        self.log_start = start.max(self.start_floor).min(self.log_end);
    }

    /// Whether retention may delete a segment ending at `next_offset`: always
    /// without remote storage, else only once it is uploaded.
    pub(crate) fn may_delete_locally(&self, next_offset: i64) -> bool {
        !self.config.remote_storage || self.tiered.is_some_and(|t| next_offset <= t.end)
    }
}

impl Log {
    /// Tells the log what remote storage holds (`None`: nothing). Called by
    /// the tier after each upload, remote deletion, and at start-up from the
    /// partition's manifest.
    pub fn set_tiered_range(&self, range: Option<TieredRange>) {
        let mut st = self.inner.state.lock();
        st.tiered = range;
        st.recompute_log_start();
    }

    pub fn tiered_range(&self) -> Option<TieredRange> {
        self.inner.state.lock().tiered
    }

    /// The first offset still on local disk (ListOffsets -4, KIP-1005).
    pub fn local_log_start_offset(&self) -> i64 {
        let st = self.inner.state.lock();
        st.first_local().max(st.start_floor).min(st.log_end)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{LogConfig, StorageError, TieredRange};

    fn tiered() -> LogConfig {
        LogConfig {
            segment_bytes: 1000,
            retention_ms: None,
            segment_ms: None,
            retention_bytes: Some(0),
            remote_storage: true,
            ..fast_config()
        }
    }

    #[test]
    fn retention_deletes_only_uploaded_segments_and_keeps_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), tiered());
        append_n(&log, 25, 1, 0, 139); // 200-byte batches, 5 per segment
                                       // Nothing uploaded: nothing deleted, however small the local cap.
        assert_eq!(log.enforce_retention(0).unwrap().deleted_segments, 0);
        // Two segments uploaded: only they go, and the start stays at 0.
        log.set_tiered_range(Some(TieredRange { start: 0, end: 10 }));
        let outcome = log.enforce_retention(0).unwrap();
        assert_eq!(outcome.deleted_segments, 2);
        assert_eq!(log.log_start_offset(), 0);
        assert_eq!(log.local_log_start_offset(), 10);
        assert!(matches!(
            log.read(3, 1000, true),
            Err(StorageError::NotLocal {
                requested: 3,
                local_start: 10
            })
        ));
        assert_eq!(offsets(&log.read(10, 200, true).unwrap()), vec![(10, 10)]);
        // Total retention moved the remote start: the log start follows.
        log.set_tiered_range(Some(TieredRange { start: 5, end: 10 }));
        assert_eq!(log.log_start_offset(), 5);
        assert!(matches!(
            log.read(4, 100, true),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
        // The remote range forgotten (or with a gap): only local offsets remain.
        log.set_tiered_range(None);
        assert_eq!(log.log_start_offset(), 10);
    }

    #[test]
    fn a_roll_without_a_later_append_is_listed_for_upload() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), tiered());
        append_n(&log, 2, 1, 0, 139);
        log.flush().unwrap();
        assert!(log.sealed_segments().is_empty());
        // An idle log rolled by age: nothing appends after it, yet the
        // sealed segment becomes durable, indexed and uploadable.
        assert!(log.roll_if_older(i64::MAX / 2, 0).unwrap());
        let sealed = log.sealed_segments();
        assert_eq!(sealed.len(), 1);
        assert_eq!((sealed[0].base_offset, sealed[0].next_offset), (0, 2));
        assert!(sealed[0].path.with_extension("index").exists());
        assert!(
            !log.roll_if_older(i64::MAX / 2, 0).unwrap(),
            "an empty segment does not roll"
        );
    }

    #[test]
    fn delete_records_below_the_local_start_sets_a_persisted_floor() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), tiered());
        append_n(&log, 25, 1, 0, 139);
        log.set_tiered_range(Some(TieredRange { start: 0, end: 15 }));
        log.enforce_retention(0).unwrap();
        assert_eq!(log.local_log_start_offset(), 15);
        assert_eq!(log.delete_records_before(7).unwrap(), 7);
        assert_eq!(log.log_start_offset(), 7);
        drop(log);
        // After a restart the tier reports its range again; the floor holds.
        let log = open(dir.path(), tiered());
        assert_eq!(log.log_start_offset(), 15);
        log.set_tiered_range(Some(TieredRange { start: 0, end: 15 }));
        assert_eq!(log.log_start_offset(), 7);
    }
}
