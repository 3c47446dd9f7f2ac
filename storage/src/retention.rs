//! Moving the log start offset: DeleteRecords, retention, time-based rolling.
//!
//! Only sealed segments are ever deleted, and only those wholly below the
//! high watermark, so nothing a consumer has not been allowed to see, and
//! nothing not yet durable, goes away. The log start offset set by
//! DeleteRecords is persisted in `log-start-offset` (temp file, fsync,
//! rename, directory fsync) before the call returns; offsets moved by
//! retention need no file, since the first segment's base offset implies them.

use std::fs;
use std::path::Path;

use crate::error::{IoContext, StorageError};
use crate::index::{read_optional, write_durably};
use crate::log::{Log, RetentionOutcome};
use crate::recovery::remove_segment_files;

const LOG_START_FILE: &str = "log-start-offset";

/// The persisted log start offset, if any. A garbled file is an error rather
/// than a silent reset, which would resurrect deleted records.
pub(crate) fn read_log_start_file(dir: &Path) -> Result<Option<i64>, StorageError> {
    let path = dir.join(LOG_START_FILE);
    let Some(bytes) = read_optional(&path).ctx(|| format!("reading {}", path.display()))? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    text.trim().parse::<i64>().map(Some).map_err(|e| {
        StorageError::io(
            format!("parsing {}: {text:?}", path.display()),
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}

fn write_log_start_file(dir: &Path, offset: i64) -> Result<(), StorageError> {
    let path = dir.join(LOG_START_FILE);
    write_durably(&path, format!("{offset}\n").as_bytes())
        .and_then(|()| fs::File::open(dir)?.sync_all())
        .ctx(|| format!("writing {}", path.display()))
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
        self.inner.state.lock().log_start = offset;
        self.delete_eligible_segments(|_, _| false)?;
        Ok(offset)
    }

    /// Retention and time-based rolling, called periodically by the broker:
    /// rolls the active segment once `segment_ms` has passed since its first
    /// append; deletes, oldest first, sealed segments below the log start
    /// offset, past `retention_ms` (by their max timestamp) or while the log
    /// exceeds `retention_bytes`. Never deletes the active segment. Also
    /// runs the `FlushPolicy::Interval` flush when due.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionOutcome, StorageError> {
        self.maybe_interval_flush(true)?;
        let _writer = self.inner.writer.lock();
        let (roll, retention_ms, retention_bytes) = {
            let st = self.inner.state.lock();
            st.check_usable()?;
            let active = st.active();
            let roll = match (st.config.segment_ms, active.first_append_ms) {
                (Some(ms), Some(first)) => {
                    active.size > 0 && now_ms.saturating_sub(first) >= ms as i64
                }
                _ => false,
            };
            (roll, st.config.retention_ms, st.config.retention_bytes)
        };
        if roll {
            self.roll_locked()?;
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

    /// Deletes sealed segments from the oldest while each is wholly below
    /// the high watermark and either wholly below the log start offset or
    /// chosen by `delete(max_timestamp, size)`. Stops at the first one kept,
    /// so the log stays contiguous. The caller holds the writer lock.
    fn delete_eligible_segments(
        &self,
        mut delete: impl FnMut(i64, u64) -> bool,
    ) -> Result<(usize, u64), StorageError> {
        let removed = {
            let mut st = self.inner.state.lock();
            let mut doomed = Vec::new();
            let active_base = st.active().base_offset;
            for segment in st.segments.values() {
                if segment.base_offset == active_base || segment.next_offset > st.high_watermark {
                    break;
                }
                let below_start = segment.next_offset <= st.log_start;
                if !(below_start || delete(segment.max_timestamp, segment.size)) {
                    break;
                }
                doomed.push(segment.base_offset);
            }
            let mut removed = Vec::with_capacity(doomed.len());
            for base in doomed {
                let segment = st.segments.remove(&base).expect("listed above");
                removed.push((segment.path.clone(), segment.size));
            }
            if !removed.is_empty() {
                let first = *st
                    .segments
                    .keys()
                    .next()
                    .expect("the active segment remains");
                st.log_start = st.log_start.max(first);
                st.sync.dir_dirty = true;
            }
            removed
        };
        let mut bytes = 0;
        for (path, size) in &removed {
            tracing::info!(segment = %path.display(), "deleting segment");
            remove_segment_files(path)?;
            bytes += size;
        }
        Ok((removed.len(), bytes))
    }
}
