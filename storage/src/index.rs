//! Sparse offset and time indexes of one segment, in memory and on disk.
//!
//! On disk they use Kafka's layout: `.index` holds (relative offset u32,
//! file position u32) pairs and `.timeindex` holds (timestamp i64, relative
//! offset u32) pairs, big-endian. Index files are written only for sealed
//! segments, after the segment's data is fsynced, so a present and valid index
//! file also means "this segment was durable when it was sealed". The active
//! segment's index lives in memory and is rebuilt by the recovery scan.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{IoContext, StorageError};

/// One offset index entry: the batch whose base offset is `relative_offset`
/// (relative to the segment's base offset) starts at `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) relative_offset: u32,
    pub(crate) position: u32,
}

/// One time index entry: up to this point of the segment the largest batch
/// max timestamp is `timestamp`, first reached by the batch whose base offset
/// is `relative_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) timestamp: i64,
    pub(crate) relative_offset: u32,
}

const OFFSET_ENTRY_LEN: usize = 8;
const TIME_ENTRY_LEN: usize = 12;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SegmentIndex {
    pub(crate) offsets: Vec<OffsetEntry>,
    pub(crate) times: Vec<TimeEntry>,
}

impl SegmentIndex {
    /// The last entry at or before `relative_offset`: where a scan for the
    /// batch containing that offset may start.
    pub(crate) fn floor_offset(&self, relative_offset: u32) -> Option<OffsetEntry> {
        let i = self
            .offsets
            .partition_point(|e| e.relative_offset <= relative_offset);
        i.checked_sub(1).map(|i| self.offsets[i])
    }

    /// The last entry whose timestamp is below `timestamp`: every batch up to
    /// its offset has a smaller max timestamp, so a scan may start there.
    pub(crate) fn floor_time(&self, timestamp: i64) -> Option<TimeEntry> {
        let i = self.times.partition_point(|e| e.timestamp < timestamp);
        i.checked_sub(1).map(|i| self.times[i])
    }

    /// Appends an offset entry; callers guarantee increasing offsets and positions.
    pub(crate) fn push_offset(&mut self, relative_offset: u32, position: u32) {
        self.offsets.push(OffsetEntry {
            relative_offset,
            position,
        });
    }

    /// Appends a time entry if it raises the indexed maximum timestamp.
    pub(crate) fn maybe_push_time(&mut self, timestamp: i64, relative_offset: u32) {
        if self
            .times
            .last()
            .is_none_or(|last| timestamp > last.timestamp)
        {
            self.times.push(TimeEntry {
                timestamp,
                relative_offset,
            });
        }
    }

    pub(crate) fn encode_offsets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.offsets.len() * OFFSET_ENTRY_LEN);
        for e in &self.offsets {
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
            out.extend_from_slice(&e.position.to_be_bytes());
        }
        out
    }

    pub(crate) fn encode_times(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.times.len() * TIME_ENTRY_LEN);
        for e in &self.times {
            out.extend_from_slice(&e.timestamp.to_be_bytes());
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
        }
        out
    }

    /// Decodes both files' contents, checking what can be checked without the
    /// log: whole entries, strictly increasing offsets, positions and times,
    /// positions inside the log, offsets below `max_relative_offset`, and at
    /// least one time entry for a non-empty log (sealing always writes one).
    pub(crate) fn decode(
        offsets: &[u8],
        times: &[u8],
        log_len: u64,
        max_relative_offset: u32,
    ) -> Option<SegmentIndex> {
        if offsets.len() % OFFSET_ENTRY_LEN != 0 || times.len() % TIME_ENTRY_LEN != 0 {
            return None;
        }
        let mut index = SegmentIndex::default();
        for chunk in offsets.chunks_exact(OFFSET_ENTRY_LEN) {
            let relative_offset = u32::from_be_bytes(chunk[..4].try_into().ok()?);
            let position = u32::from_be_bytes(chunk[4..].try_into().ok()?);
            if let Some(prev) = index.offsets.last() {
                if relative_offset <= prev.relative_offset || position <= prev.position {
                    return None;
                }
            }
            if u64::from(position) >= log_len || relative_offset > max_relative_offset {
                return None;
            }
            index.offsets.push(OffsetEntry {
                relative_offset,
                position,
            });
        }
        for chunk in times.chunks_exact(TIME_ENTRY_LEN) {
            let timestamp = i64::from_be_bytes(chunk[..8].try_into().ok()?);
            let relative_offset = u32::from_be_bytes(chunk[8..].try_into().ok()?);
            if let Some(prev) = index.times.last() {
                if timestamp <= prev.timestamp || relative_offset < prev.relative_offset {
                    return None;
                }
            }
            if relative_offset > max_relative_offset {
                return None;
            }
            index.times.push(TimeEntry {
                timestamp,
                relative_offset,
            });
        }
        if log_len > 0 && index.times.is_empty() {
            return None;
        }
        Some(index)
    }

    /// Writes both files durably next to the segment (temp file, fsync,
    /// rename). The caller fsyncs the directory.
    pub(crate) fn write_files(&self, offset_path: &Path, time_path: &Path) -> io::Result<()> {
        write_durably(offset_path, &self.encode_offsets())?;
        write_durably(time_path, &self.encode_times())
    }
}

/// Reads an index file; a missing file is `None`, not an error.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the
/// new content: write a temp file, fsync it, rename it over `path`.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

/// Reads a file holding one offset written by [`write_offset_file`], if it
/// exists. A garbled file is an error, never a silent reset: these files
/// (log start, cleaner checkpoint) guard against resurrecting records.
pub(crate) fn read_offset_file(dir: &Path, name: &str) -> Result<Option<i64>, StorageError> {
    let path = dir.join(name);
    let Some(bytes) = read_optional(&path).ctx(|| format!("reading {}", path.display()))? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    text.trim().parse::<i64>().map(Some).map_err(|e| {
        StorageError::io(
            format!("parsing {}: {text:?}", path.display()),
            io::Error::new(io::ErrorKind::InvalidData, e),
        )
    })
}

/// Writes one offset durably: temp file, fsync, rename, then the directory.
pub(crate) fn write_offset_file(dir: &Path, name: &str, offset: i64) -> Result<(), StorageError> {
    let path = dir.join(name);
    write_durably(&path, format!("{offset}\n").as_bytes())
        .and_then(|()| File::open(dir)?.sync_all())
        .ctx(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SegmentIndex {
        let mut index = SegmentIndex::default();
        index.push_offset(0, 0);
        index.push_offset(10, 4096);
        index.push_offset(25, 9000);
        index.maybe_push_time(100, 0);
        index.maybe_push_time(90, 10); // not a new maximum: skipped
        index.maybe_push_time(200, 25);
        index
    }

    #[test]
    fn floor_lookups() {
        let index = sample();
        assert_eq!(index.floor_offset(9).unwrap().position, 0);
        assert_eq!(index.floor_offset(10).unwrap().position, 4096);
        assert_eq!(index.floor_offset(1000).unwrap().position, 9000);
        assert_eq!(index.times.len(), 2);
        assert!(index.floor_time(100).is_none());
        assert_eq!(index.floor_time(101).unwrap().relative_offset, 0);
        assert_eq!(index.floor_time(201).unwrap().relative_offset, 25);
        assert!(SegmentIndex::default().floor_offset(5).is_none());
    }

    #[test]
    fn encode_decode_round_trip_and_validation() {
        let index = sample();
        let (o, t) = (index.encode_offsets(), index.encode_times());
        assert_eq!(SegmentIndex::decode(&o, &t, 10_000, 30), Some(index));
        // Position past the end of the log, offset past the segment, torn entry.
        assert!(SegmentIndex::decode(&o, &t, 9000, 30).is_none());
        assert!(SegmentIndex::decode(&o, &t, 10_000, 20).is_none());
        assert!(SegmentIndex::decode(&o[..o.len() - 1], &t, 10_000, 30).is_none());
        // Garbage that is not increasing, and a missing time index.
        assert!(SegmentIndex::decode(&[0xff; 16], &t, 10_000, 30).is_none());
        assert!(SegmentIndex::decode(&o, &[], 10_000, 30).is_none());
    }
}
