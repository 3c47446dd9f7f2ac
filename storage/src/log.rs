//! The partition log handle and the state every operation shares.
//!
//! Locking: `writer` serialises everything that changes the files (append,
//! roll, retention, DeleteRecords, close); it is held across the append's
//! `write` but never across an fsync. `state` guards bookkeeping only and is
//! held for microseconds; readers take just `state`, copy what they need
//! (an `Arc<File>`, positions) and read outside it. `cleaner` serialises
//! compaction passes, which take `writer` only to swap segments in. Lock
//! order: cleaner, writer, state.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::config::{FlushPolicy, LogConfig};
use crate::error::{IoContext, StorageError};
use crate::index::SegmentIndex;
use crate::producer_state::{AbortedTxn, ProducerStates};
use crate::segment::Segment;

/// A partition log. Cheap to clone: clones share one log.
#[derive(Clone)]
pub struct Log {
    pub(crate) inner: Arc<Inner>,
}

/// What `append` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker-assigned timestamp, when the batches became LogAppendTime.
    pub log_append_time: Option<i64>,
    pub log_start_offset: i64,
    /// The batch was a producer's retry of one already in the log, which
    /// `base_offset..=last_offset` locate; nothing was written.
    pub duplicate: bool,
}

/// A partition's offsets and size read under one lock, for metrics taken
/// over every partition at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStats {
    pub log_start_offset: i64,
    pub high_watermark: i64,
    /// As [`Log::last_stable_offset`].
    pub last_stable_offset: i64,
    pub log_end_offset: i64,
    /// Bytes of the segments on local disk.
    pub local_size_bytes: u64,
}

/// What `enforce_retention` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionOutcome {
    /// The active segment was rolled because `segment_ms` elapsed.
    pub rolled: bool,
    pub deleted_segments: usize,
    pub deleted_bytes: u64,
    pub log_start_offset: i64,
}

/// A sealed (immutable) segment, for tiering. In a compacted log the same
/// base offset can later name a cleaned replacement: compare `size_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    /// One past the segment's last offset (the next segment's base offset).
    pub next_offset: i64,
    pub path: PathBuf,
    pub size_bytes: u64,
    /// Largest batch max timestamp in the segment (`i64::MIN` if empty).
    pub max_timestamp: i64,
}

/// A byte position in a given segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) segment: i64,
    pub(crate) position: u64,
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) writer: Mutex<()>,
    /// Serialises `compact` calls; taken before `writer`.
    pub(crate) cleaner: Mutex<()>,
    pub(crate) state: Mutex<State>,
    /// Held by whoever takes and runs a sync job (see `durability.rs`), so
    /// a job never finishes, moving the high watermark, while an earlier
    /// one is still fsyncing data below it. Taken before `state`.
    pub(crate) sync_job: Mutex<()>,
    pub(crate) hw_tx: watch::Sender<i64>,
    /// Completed fsync rounds (tests check group commit with it).
    pub(crate) sync_rounds: AtomicU64,
    /// Artificial fsync latency, so tests can make group commit observable.
    pub(crate) sync_delay_ms: AtomicU64,
}

/// Offsets `[start, end)` held in remote storage: `start` is the remote log
/// start offset (DeleteRecords and total retention move it), `end` one past
/// the last uploaded offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TieredRange {
    pub start: i64,
    pub end: i64,
}

pub(crate) struct State {
    pub(crate) config: LogConfig,
    /// By base offset; the last one is the active segment.
    pub(crate) segments: BTreeMap<i64, Segment>,
    /// The first offset a consumer may read, across both tiers (see `tiered.rs`).
    pub(crate) log_start: i64,
    /// The floor DeleteRecords (or total retention of a tiered log) set,
    /// persisted in `log-start-offset`; 0 when never set.
    pub(crate) start_floor: i64,
    /// What remote storage holds of this log, as the tier last reported.
    pub(crate) tiered: Option<TieredRange>,
    pub(crate) log_end: i64,
    pub(crate) high_watermark: i64,
    /// Where the high watermark falls in the files: reads stop there.
    pub(crate) hw_position: Position,
    /// End offset and end position of each append not yet under the HW.
    pub(crate) pending: VecDeque<(i64, Position)>,
    /// Everything below this offset has been fsynced.
    pub(crate) durable: i64,
    pub(crate) sync: SyncState,
    pub(crate) closed: bool,
    /// Idempotent and transactional producers (see `producer_state.rs`).
    pub(crate) producers: ProducerStates,
    /// Segment files retention renamed, waiting for `file_delete_delay_ms`.
    pub(crate) retired: Vec<crate::retired::Retired>,
}

/// A sealed segment waiting for its fsync and index files.
pub(crate) struct PendingSeal {
    pub(crate) base_offset: i64,
    pub(crate) file: Arc<File>,
    pub(crate) path: PathBuf,
    pub(crate) index: Arc<SegmentIndex>,
    /// Written as the segment's `.txnindex` with its other index files.
    pub(crate) aborted: Vec<AbortedTxn>,
}

/// Group-commit bookkeeping (see `durability.rs`).
pub(crate) struct SyncState {
    pub(crate) running: bool,
    /// Sealed segments whose data is not known durable yet, with the index
    /// to write once it is.
    pub(crate) unsynced_sealed: Vec<PendingSeal>,
    /// A segment file was created or removed since the last directory fsync.
    pub(crate) dir_dirty: bool,
    pub(crate) failed: Option<Arc<io::Error>>,
    pub(crate) last_sync: Instant,
}

impl State {
    pub(crate) fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has an active segment")
    }

    pub(crate) fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has an active segment")
    }

    /// Fails when the log may not be used: closed, or offline after a failed fsync.
    pub(crate) fn check_usable(&self) -> Result<(), StorageError> {
        if let Some(e) = &self.sync.failed {
            return Err(StorageError::SyncFailed(e.clone()));
        }
        if self.closed {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// Moves the high watermark up to `to` (a batch boundary) and returns
    /// whether it moved.
    pub(crate) fn advance_hw(&mut self, to: i64) -> bool {
        let to = to.min(self.log_end);
        if to <= self.high_watermark {
            return false;
        }
        while let Some(&(end, position)) = self.pending.front() {
            if end > to {
                break;
            }
            self.hw_position = position;
            self.pending.pop_front();
        }
        self.high_watermark = to;
        true
    }

    /// How far into `segment` a reader may read: up to the high watermark.
    pub(crate) fn read_limit(&self, segment: &Segment) -> u64 {
        use std::cmp::Ordering::*;
        match segment.base_offset.cmp(&self.hw_position.segment) {
            Less => segment.size,
            Equal => self.hw_position.position.min(segment.size),
            Greater => 0,
        }
    }

    /// The base offset of the oldest segment still on local disk.
    pub(crate) fn first_local(&self) -> i64 {
        *self
            .segments
            .keys()
            .next()
            .expect("a log always has an active segment")
    }

    pub(crate) fn out_of_range(&self, requested: i64) -> StorageError {
        StorageError::OffsetOutOfRange {
            requested,
            start: self.log_start,
            high_watermark: self.high_watermark,
        }
    }

    pub(crate) fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size).sum()
    }
}

impl Log {
    pub(crate) fn from_state(dir: PathBuf, state: State) -> Log {
        let (hw_tx, _) = watch::channel(state.high_watermark);
        Log {
            inner: Arc::new(Inner {
                dir,
                writer: Mutex::new(()),
                cleaner: Mutex::new(()),
                state: Mutex::new(state),
                hw_tx,
                sync_job: Mutex::new(()),
                sync_rounds: AtomicU64::new(0),
                sync_delay_ms: AtomicU64::new(0),
            }),
        }
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Applies altered topic configs; size and time limits apply from the
    /// next append or retention pass.
    pub fn set_config(&self, config: LogConfig) {
        let moved = {
            let mut st = self.inner.state.lock();
            st.config = config;
            match st.config.flush {
                FlushPolicy::Interval(_) => {
                    let end = st.log_end;
                    st.advance_hw(end)
                }
                FlushPolicy::Always => false,
            }
        };
        if moved {
            self.notify_hw();
        }
    }

    pub fn config(&self) -> LogConfig {
        self.inner.state.lock().config.clone()
    }

    /// The next offset a consumer may not yet read.
    pub fn high_watermark(&self) -> i64 {
        self.inner.state.lock().high_watermark
    }

    pub fn log_start_offset(&self) -> i64 {
        self.inner.state.lock().log_start
    }

    pub fn log_end_offset(&self) -> i64 {
        self.inner.state.lock().log_end
    }

    /// Notified with the new high watermark whenever it moves (also woken,
    /// without a change, when the log goes offline after a failed fsync).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.hw_tx.subscribe()
    }

    pub fn size_bytes(&self) -> u64 {
        self.inner.state.lock().size_bytes()
    }

    /// Offsets and local size in one lock (a scrape reads every partition).
    pub fn stats(&self) -> LogStats {
        let st = self.inner.state.lock();
        LogStats {
            log_start_offset: st.log_start,
            high_watermark: st.high_watermark,
            last_stable_offset: st
                .producers
                .first_unstable_offset()
                .map_or(st.high_watermark, |first| first.min(st.high_watermark)),
            log_end_offset: st.log_end,
            local_size_bytes: st.size_bytes(),
        }
    }

    /// Sealed segments that are fsynced, indexed on disk and under the high
    /// watermark, oldest first: their files will never change again, except
    /// that compaction may replace one with a new, smaller file under the
    /// same name (a different `size_bytes` and possibly `max_timestamp`).
    pub fn sealed_segments(&self) -> Vec<SegmentInfo> {
        let st = self.inner.state.lock();
        st.segments
            .values()
            .filter(|s| s.persisted && s.next_offset <= st.high_watermark)
            .map(|s| SegmentInfo {
                base_offset: s.base_offset,
                next_offset: s.next_offset,
                path: s.path.clone(),
                size_bytes: s.size,
                max_timestamp: s.max_timestamp,
            })
            .collect()
    }

    /// Clean shutdown: fsyncs everything appended and writes the sealed
    /// segments' pending index files. Later calls (and other operations)
    /// return quickly; safe to call twice.
    pub fn close(&self) -> Result<(), StorageError> {
        let _writer = self.inner.writer.lock();
        if self.inner.state.lock().closed {
            return Ok(());
        }
        self.sync_now()?;
        self.inner.state.lock().closed = true;
        Ok(())
    }

    /// Removes the log's directory (topic deletion). The log refuses every
    /// operation afterwards.
    pub fn delete(&self) -> Result<(), StorageError> {
        let _writer = self.inner.writer.lock();
        self.inner.state.lock().closed = true;
        match std::fs::remove_dir_all(&self.inner.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(e).ctx(|| format!("removing log directory {}", self.inner.dir.display()))
            }
            _ => Ok(()),
        }
    }

    /// Wakes `subscribe` receivers with the current high watermark.
    pub(crate) fn notify_hw(&self) {
        notify_hw(&self.inner);
    }

    /// Number of completed fsync rounds.
    #[cfg(test)]
    pub(crate) fn sync_rounds(&self) -> u64 {
        self.inner
            .sync_rounds
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub(crate) fn notify_hw(inner: &Inner) {
    let hw = inner.state.lock().high_watermark;
    inner.hw_tx.send_modify(|v| *v = hw);
}

#[cfg(test)]
impl Log {
    pub(crate) fn set_sync_delay_ms(&self, ms: u64) {
        self.inner
            .sync_delay_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    /// The broker shares logs across tasks and threads.
    #[test]
    fn log_is_send_and_sync() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<super::Log>();
    }
}
