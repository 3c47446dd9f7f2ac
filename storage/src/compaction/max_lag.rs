//! `max.compaction.lag.ms`: the longest a record may stay uncleaned.
//!
//! Kafka's cleaner (`LogCleanerManager.maxCompactionDelay`) cleans a log
//! whose first uncleaned batch is older than the lag even when its dirty
//! ratio is below `min.cleanable.dirty.ratio`. The active segment, never
//! cleaned, rolls by the same age (`LogConfig::max_segment_ms`).

use crate::segment::Segment;

/// Whether the oldest batch of the dirty cleanable segments (those ending
/// past `first_dirty`) was written more than `max_lag_ms` before `now_ms`.
/// A segment's first time-index entry is its first batch's timestamp.
pub(super) fn overdue<'a>(
    cleanable: impl Iterator<Item = &'a Segment>,
    first_dirty: i64,
    max_lag_ms: Option<u64>,
    now_ms: i64,
) -> bool {
    let Some(lag) = max_lag_ms else {
        return false;
    };
    let oldest = cleanable
        .filter(|s| s.next_offset > first_dirty)
        .filter_map(|s| s.index.times.first().map(|t| t.timestamp))
        .min();
    oldest.is_some_and(|ts| ts < now_ms.saturating_sub(lag as i64))
}
