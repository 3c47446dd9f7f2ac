//! Moving the log start offset: DeleteRecords, retention, time-based rolling.
//!
//! Only sealed segments are ever deleted, and only those wholly below the
//! high watermark, so nothing a consumer has not been allowed to see, and
//! nothing not yet durable, goes away. The log start offset set by
//! DeleteRecords is persisted in `log-start-offset` (temp file, fsync,
//! rename, directory fsync) before the call returns; offsets moved by
//! retention need no file, since the first segment's base offset implies them.

use std::path::Path;

use crate::error::StorageError;
use crate::index::{read_offset_file, write_offset_file};
use crate::jitter;
use crate::log::{Log, RetentionOutcome};
use crate::retired;

const LOG_START_FILE: &str = "log-start-offset";

/// The persisted log start offset, if any. A garbled file is an error rather
/// than a silent reset, which would resurrect deleted records.
pub(crate) fn read_log_start_file(dir: &Path) -> Result<Option<i64>, StorageError> {
    read_offset_file(dir, LOG_START_FILE)
}

fn write_log_start_file(dir: &Path, offset: i64) -> Result<(), StorageError> {
    write_offset_file(dir, LOG_START_FILE, offset)
}

impl Log {
    /// DeleteRecords: moves the log start offset up to `offset` (at most the
    /// high watermark, else `OffsetOutOfRange`), persisted durably, and
    /// deletes segments wholly below it. Never moves the start backwards.
    /// Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, StorageError> {
        let _writer = self.inner.writer.lock();
        {
            let st = self.inner.state.lock();
            st.check_usable()?;
            if offset < 0 || offset > st.high_watermark {
                return Err(st.out_of_range(offset));
            }
            if offset <= st.log_start {
                return Ok(st.log_start);
            }
        }
        write_log_start_file(&self.inner.dir, offset)?;
        {
            let mut st = self.inner.state.lock();
            st.start_floor = offset;
            st.recompute_log_start();
        }
        self.delete_eligible_segments(|_, _| false)?;
        Ok(offset)
    }

    /// Retention and time-based rolling, called periodically by the broker:
    /// rolls the active segment once `segment_ms` has passed since its first
    /// append; deletes, oldest first, sealed segments below the log start
    /// offset, past `retention_ms` (by their max timestamp) or while the log
    /// exceeds `retention_bytes` (those two only when `retention_deletes`).
    /// Never deletes the active segment, nor, with `remote_storage`, a
    /// segment not yet uploaded (see `tiered.rs`). Also
    /// runs the `FlushPolicy::Interval` flush when due.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionOutcome, StorageError> {
        self.maybe_interval_flush(true)?;
        let _writer = self.inner.writer.lock();
        {
            let mut st = self.inner.state.lock();
            retired::unlink_due(&mut st.retired, retired::wall_ms())?;
        }
        let (roll, retention_ms, retention_bytes) = {
            let st = self.inner.state.lock();
            st.check_usable()?;
            let active = st.active();
            let roll = match (st.config.max_segment_ms(), active.first_append_ms) {
                (Some(ms), Some(first)) => {
                    let jitter =
                        jitter::segment_jitter_ms(&active.path, st.config.segment_jitter_ms, ms);
                    active.size > 0 && jitter::roll_due(now_ms, first, ms, jitter)
                }
                _ => false,
            };
            // A compact-only log deletes nothing by time or size.
            let deletes = st.config.retention_deletes;
            (
                roll,
                st.config.retention_ms.filter(|_| deletes),
                st.config.retention_bytes.filter(|_| deletes),
            )
        };
        if roll {
            self.roll_locked()?;
            self.sync_sealed()?;
        }
        let mut total = self.size_bytes();
        let (deleted_segments, deleted_bytes) = self.delete_eligible_segments(|max_ts, size| {
            let expired = retention_ms.is_some_and(|ms| max_ts < now_ms.saturating_sub(ms as i64));
            let oversized = retention_bytes.is_some_and(|cap| total.saturating_sub(size) >= cap);
            if expired || oversized {
                total -= size;
                true
            } else {
                false
            }
        })?;
        Ok(RetentionOutcome {
            rolled: roll,
            deleted_segments,
            deleted_bytes,
            log_start_offset: self.log_start_offset(),
        })
    }

    /// Rolls the active segment if it holds data whose first append is at
    /// least `age_ms` old, so it becomes sealed (and can be uploaded) without
    /// waiting for `segment.ms`. Returns whether it rolled.
    pub fn roll_if_older(&self, now_ms: i64, age_ms: u64) -> Result<bool, StorageError> {
        let _writer = self.inner.writer.lock();
        let due = {
            let st = self.inner.state.lock();
            st.check_usable()?;
            let active = st.active();
            active.size > 0
                && active
                    .first_append_ms
                    .is_some_and(|first| now_ms.saturating_sub(first) >= age_ms as i64)
        };
        if due {
            self.roll_locked()?;
            self.sync_sealed()?;
        }
        Ok(due)
    }

    /// Makes a segment just rolled without a following append durable and
    /// indexed (hence `persisted`, listed by `sealed_segments`), as the
    /// sync job an append would have started does: in the background when
    /// a runtime is there, else now. The caller holds the writer lock.
    fn sync_sealed(&self) -> Result<(), StorageError> {
        if crate::durability::start_background_sync(&self.inner) {
            Ok(())
        } else {
            self.sync_now()
        }
    }

    /// Deletes sealed segments from the oldest while each is wholly below
    /// the high watermark and either wholly below the log start offset or
    /// chosen by `delete(max_timestamp, size)`. Stops at the first one kept,
    /// so the log stays contiguous. The caller holds the writer lock.
    fn delete_eligible_segments(
        &self,
        mut delete: impl FnMut(i64, u64) -> bool,
    ) -> Result<(usize, u64), StorageError> {
        let (removed, delay_ms) = {
            let mut st = self.inner.state.lock();
            let mut doomed = Vec::new();
            let active_base = st.active().base_offset;
            for segment in st.segments.values() {
                if segment.base_offset == active_base || segment.next_offset > st.high_watermark {
                    break;
                }
                let below_start = segment.next_offset <= st.log_start;
                let chosen = !below_start
                    && st.may_delete_locally(segment.next_offset)
                    && delete(segment.max_timestamp, segment.size);
                if !(below_start || chosen) {
                    break;
                }
                doomed.push(segment.base_offset);
            }
            let mut removed = Vec::with_capacity(doomed.len());
            for base in doomed {
                let segment = st.segments.remove(&base).expect("listed above");
                removed.push((segment.path.clone(), segment.size));
                st.sync.unsynced_sealed.retain(|p| p.base_offset != base);
            }
            if !removed.is_empty() {
                st.recompute_log_start();
                st.sync.dir_dirty = true;
            }
            (removed, st.config.file_delete_delay_ms)
        };
        let mut bytes = 0;
        for (path, size) in &removed {
            tracing::info!(segment = %path.display(), delay_ms, "deleting segment");
            if let Some(retired) = retired::retire(path, delay_ms)? {
                self.inner.state.lock().retired.push(retired);
            }
            bytes += size;
        }
        Ok((removed.len(), bytes))
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{LogConfig, StorageError};

    fn small() -> LogConfig {
        LogConfig {
            segment_bytes: 1000,
            retention_ms: None,
            segment_ms: None,
            ..fast_config()
        }
    }

    #[test]
    fn retention_by_size_deletes_oldest_sealed_segments() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), small());
        append_n(&log, 25, 1, 0, 139); // 200-byte batches, 5 per segment
        assert_eq!(log.size_bytes(), 5000);
        let unlimited = log.enforce_retention(0).unwrap();
        assert_eq!(unlimited.deleted_segments, 0);
        log.set_config(LogConfig {
            retention_bytes: Some(2500),
            ..small()
        });
        let outcome = log.enforce_retention(0).unwrap();
        assert_eq!((outcome.deleted_segments, outcome.deleted_bytes), (2, 2000));
        assert_eq!(outcome.log_start_offset, 10);
        assert_eq!(log.log_start_offset(), 10);
        assert_eq!(log.size_bytes(), 3000);
        assert!(!crate::segment::file_path(log.dir(), 0, "log").exists());
        assert!(matches!(
            log.read(9, 100, true),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
        assert_eq!(offsets(&log.read(10, 200, true).unwrap()), vec![(10, 10)]);
        // Never the active segment, however small the cap.
        log.set_config(LogConfig {
            retention_bytes: Some(0),
            ..small()
        });
        log.enforce_retention(0).unwrap();
        assert_eq!(log.log_start_offset(), 20);
        assert_eq!(log.size_bytes(), 1000);
        // The start offset survives a restart (implied by the first segment).
        drop(log);
        assert_eq!(open(dir.path(), small()).log_start_offset(), 20);
    }

    #[test]
    fn retention_by_time_and_time_based_rolling() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), small());
        // Segment 0: ts 100..104, segment 5: ts 200..204, active 10: ts 300..
        for (i, ts) in [100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 300, 301]
            .iter()
            .enumerate()
        {
            let info = log.append(bytes(batch(1, *ts, 139)), 0, None).unwrap();
            assert_eq!(info.base_offset, i as i64);
        }
        log.set_config(LogConfig {
            retention_ms: Some(1000),
            ..small()
        });
        assert_eq!(log.enforce_retention(1104).unwrap().deleted_segments, 0);
        let outcome = log.enforce_retention(1105).unwrap();
        assert_eq!((outcome.deleted_segments, outcome.log_start_offset), (1, 5));
        // The active segment is never deleted by time...
        let outcome = log.enforce_retention(10_000).unwrap();
        assert_eq!(
            (outcome.deleted_segments, outcome.log_start_offset),
            (1, 10)
        );
        assert_eq!(log.log_end_offset(), 12);
        // ...until segment.ms rolls it; then the next pass may delete it.
        log.set_config(LogConfig {
            retention_ms: Some(1000),
            segment_ms: Some(0),
            ..small()
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let outcome = log.enforce_retention(now).unwrap();
        assert!(outcome.rolled);
        assert_eq!(outcome.log_start_offset, 12);
        assert_eq!(log.size_bytes(), 0);
        // An empty active segment does not roll.
        assert!(!log.enforce_retention(now + 1).unwrap().rolled);
        assert_eq!(
            log.append(bytes(batch(1, 1, 1)), 0, None)
                .unwrap()
                .base_offset,
            12
        );
    }

    #[test]
    fn delete_records_moves_start_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), small());
        append_n(&log, 12, 2, 0, 139); // segments at 0, 10, 20
        assert!(matches!(
            log.delete_records_before(25),
            Err(StorageError::OffsetOutOfRange { requested: 25, .. })
        ));
        assert_eq!(log.delete_records_before(13).unwrap(), 13);
        assert_eq!(log.log_start_offset(), 13);
        log.flush().unwrap();
        assert_eq!(
            log.sealed_segments()[0].base_offset,
            10,
            "segment 0 deleted"
        );
        assert!(log.read(12, 100, true).is_err());
        // The batch containing the start offset is still returned whole.
        assert_eq!(offsets(&log.read(13, 200, true).unwrap()), vec![(12, 13)]);
        // Never backwards.
        assert_eq!(log.delete_records_before(3).unwrap(), 13);
        drop(log);
        let log = open(dir.path(), small());
        assert_eq!(log.log_start_offset(), 13);
        assert_eq!(log.delete_records_before(24).unwrap(), 24);
        assert_eq!(log.read(24, 100, true).unwrap().len(), 0);
        assert_eq!(log.sealed_segments().len(), 0);
        let info = log.append(bytes(batch(1, 1, 1)), 0, None).unwrap();
        assert_eq!((info.base_offset, info.log_start_offset), (24, 24));
    }

    #[test]
    fn delete_removes_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), small());
        append_n(&log, 3, 1, 0, 10);
        let path = log.dir().to_path_buf();
        log.delete().unwrap();
        assert!(!path.exists());
        assert!(matches!(log.read(0, 10, true), Err(StorageError::Closed)));
        log.delete().unwrap();
    }
}
