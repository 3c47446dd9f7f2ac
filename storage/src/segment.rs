//! One segment: a `.log` file of whole batches plus its in-memory bookkeeping.
//!
//! The file is opened once and kept in an `Arc<File>`: readers clone the Arc
//! under the log's lock and `pread` outside it, and an open descriptor stays
//! readable even after retention unlinks the file. Appends go through the
//! same descriptor, opened with `O_APPEND`, while the log's writer lock is
//! held, so the file's length always equals `size`.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{IoContext, StorageError};
use crate::index::SegmentIndex;
use crate::producer_state::AbortedTxn;

/// How many recently appended batches the active segment remembers exactly,
/// so that a caught-up consumer's fetch starts without any index scan.
const RECENT_BATCHES: usize = 256;

/// "No timestamp yet": below every real timestamp, including Kafka's -1.
pub(crate) const NO_TIMESTAMP: i64 = i64::MIN;

pub(crate) fn file_path(dir: &Path, base_offset: i64, extension: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{extension}"))
}

/// The base offset named by a `{base_offset:020}.log` file name.
pub(crate) fn parse_log_file_name(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Removes `path`; one already gone is not an error.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).ctx(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Removes a segment's files (log and indexes).
pub(crate) fn remove_segment_files(log_path: &Path) -> Result<(), StorageError> {
    remove_if_exists(log_path)?;
    remove_if_exists(&log_path.with_extension("index"))?;
    remove_if_exists(&log_path.with_extension("timeindex"))?;
    remove_if_exists(&log_path.with_extension("txnindex"))
}

/// Where a batch lives in its segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchLocation {
    pub(crate) position: u64,
    pub(crate) len: usize,
}

/// A recently appended batch of the active segment.
#[derive(Debug, Clone, Copy)]
struct RecentBatch {
    base_offset: i64,
    last_offset: i64,
    location: BatchLocation,
}

/// Where to find the batch containing an offset, as far as memory knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// Known exactly (recently appended).
    Exact(BatchLocation),
    /// Scan forward from this position (a sparse index entry, or 0).
    ScanFrom(u64),
}

pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    pub(crate) file: Arc<File>,
    pub(crate) path: PathBuf,
    /// Bytes of whole batches in the file.
    pub(crate) size: u64,
    /// How far disk blocks are reserved for appends (`preallocate`); may
    /// exceed `size` while the segment is active.
    pub(crate) reserved_to: u64,
    /// Bytes from the start already dropped from the page cache (`page_cache`).
    pub(crate) cache_dropped_to: u64,
    /// One past the last offset in the segment (its base offset when empty).
    pub(crate) next_offset: i64,
    /// Largest batch max timestamp, `NO_TIMESTAMP` when empty.
    pub(crate) max_timestamp: i64,
    /// Base offset of the first batch that reached `max_timestamp`.
    pub(crate) max_timestamp_offset: i64,
    /// Shared so a sync job can write a sealed segment's index files without
    /// holding the log's lock; the active segment's Arc is normally unique.
    pub(crate) index: Arc<SegmentIndex>,
    bytes_since_index_entry: u64,
    recent: VecDeque<RecentBatch>,
    /// Wall-clock milliseconds of the first append, for `segment.ms` rolling.
    pub(crate) first_append_ms: Option<i64>,
    pub(crate) sealed: bool,
    /// Sealed, fsynced and with index files on disk: safe to upload.
    pub(crate) persisted: bool,
    /// Aborted transactions whose ABORT marker is in this segment
    /// (`txn_index.rs`).
    pub(crate) aborted: Vec<AbortedTxn>,
}

impl Segment {
    /// Opens (creating if absent) the `.log` file for appends and positioned reads.
    pub(crate) fn open_file(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
    }

    /// A segment with no batches yet, over an already opened file.
    pub(crate) fn empty(base_offset: i64, file: File, path: PathBuf) -> Segment {
        Segment {
            base_offset,
            file: Arc::new(file),
            path,
            size: 0,
            reserved_to: 0,
            cache_dropped_to: 0,
            next_offset: base_offset,
            max_timestamp: NO_TIMESTAMP,
            max_timestamp_offset: base_offset,
            index: Arc::new(SegmentIndex::default()),
            bytes_since_index_entry: 0,
            recent: VecDeque::new(),
            first_append_ms: None,
            sealed: false,
            persisted: false,
            aborted: Vec::new(),
        }
    }

    /// A sealed segment described by index files loaded from disk.
    pub(crate) fn sealed_from_index(
        base_offset: i64,
        file: File,
        path: PathBuf,
        size: u64,
        next_offset: i64,
        index: SegmentIndex,
    ) -> Segment {
        let mut segment = Segment::empty(base_offset, file, path);
        segment.size = size;
        segment.next_offset = next_offset;
        if let Some(last) = index.times.last() {
            segment.max_timestamp = last.timestamp;
            segment.max_timestamp_offset = base_offset + i64::from(last.relative_offset);
        }
        segment.index = Arc::new(index);
        segment.sealed = true;
        segment.persisted = true;
        segment
    }

    pub(crate) fn offset_index_path(&self) -> PathBuf {
        self.path.with_extension("index")
    }

    pub(crate) fn time_index_path(&self) -> PathBuf {
        self.path.with_extension("timeindex")
    }

    /// Offsets relative to the base fit u32 (the log rolls before they would not).
    pub(crate) fn relative(&self, offset: i64) -> u32 {
        (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Whether a batch ending at `last_offset` still fits the u32 relative offsets.
    pub(crate) fn offset_fits(&self, last_offset: i64) -> bool {
        last_offset - self.base_offset <= i64::from(u32::MAX)
    }

    /// Records a batch just written at `position` (or found by a recovery
    /// scan): sparse index entries every `index_interval` bytes, as Kafka does.
    pub(crate) fn on_batch(
        &mut self,
        location: BatchLocation,
        base_offset: i64,
        last_offset: i64,
        max_timestamp: i64,
        index_interval: u64,
    ) {
        if max_timestamp > self.max_timestamp {
            self.max_timestamp = max_timestamp;
            self.max_timestamp_offset = base_offset;
        }
        if self.bytes_since_index_entry >= index_interval {
            let (rel, max_rel) = (
                self.relative(base_offset),
                self.relative(self.max_timestamp_offset),
            );
            let index = Arc::make_mut(&mut self.index);
            index.push_offset(rel, location.position as u32);
            index.maybe_push_time(self.max_timestamp, max_rel);
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += location.len as u64;
        self.size = location.position + location.len as u64;
        self.next_offset = last_offset + 1;
        if self.recent.len() == RECENT_BATCHES {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentBatch {
            base_offset,
            last_offset,
            location,
        });
    }

    /// Makes the segment immutable. The final time index entry records the
    /// segment's maximum, so a reopened sealed segment knows it from its
    /// index alone.
    pub(crate) fn seal(&mut self) {
        if self.size > 0 {
            let rel = self.relative(self.max_timestamp_offset);
            Arc::make_mut(&mut self.index).maybe_push_time(self.max_timestamp, rel);
        }
        self.sealed = true;
        // Only the active segment needs exact tail positions; bound memory.
        self.recent = VecDeque::new();
    }

    /// Where the batch containing `offset` is, or where to start looking.
    pub(crate) fn hint(&self, offset: i64) -> Hint {
        if self
            .recent
            .front()
            .is_some_and(|first| offset >= first.base_offset)
        {
            let i = self.recent.partition_point(|b| b.last_offset < offset);
            if let Some(batch) = self.recent.get(i) {
                return Hint::Exact(batch.location);
            }
        }
        let from = self
            .index
            .floor_offset(self.relative(offset))
            .map_or(0, |e| e.position);
        Hint::ScanFrom(u64::from(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let dir = Path::new("/d");
        assert_eq!(
            file_path(dir, 42, "log"),
            Path::new("/d/00000000000000000042.log")
        );
        assert_eq!(parse_log_file_name("00000000000000000042.log"), Some(42));
        assert_eq!(parse_log_file_name("42.log"), None);
        assert_eq!(parse_log_file_name("00000000000000000042.index"), None);
    }

    #[test]
    fn hints_use_recent_batches_then_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_path(dir.path(), 100, "log");
        let mut seg = Segment::empty(100, Segment::open_file(&path).unwrap(), path);
        let mut position = 0;
        for i in 0..300i64 {
            let len = 100;
            seg.on_batch(
                BatchLocation { position, len },
                100 + 2 * i,
                101 + 2 * i,
                i,
                1000,
            );
            position += len as u64;
        }
        assert_eq!(seg.next_offset, 700);
        assert_eq!(seg.size, 30_000);
        // Offset 699 is in the last batch, which starts at 29_900.
        assert_eq!(
            seg.hint(699),
            Hint::Exact(BatchLocation {
                position: 29_900,
                len: 100
            })
        );
        // Offset 101 is long out of the recent window: the index entry at or before it.
        assert_eq!(seg.hint(101), Hint::ScanFrom(0));
        match seg.hint(150) {
            Hint::ScanFrom(p) => assert!(p > 0 && p <= 2500, "{p}"),
            other => panic!("{other:?}"),
        }
        seg.seal();
        assert_eq!(seg.index.times.last().unwrap().timestamp, 299);
    }
}
