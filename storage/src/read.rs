//! The fetch path and the ListOffsets lookups.
//!
//! Each read decides under the state lock which file, which start hint and
//! which byte limit (the high watermark's position) apply, then drops the
//! lock and does its positioned reads. A caught-up consumer's offset is
//! almost always among the active segment's recent batches, whose positions
//! are remembered exactly, so such a fetch is one `pread`.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use strata_wire::batch::{BatchHeader, Batches};

use crate::error::{IoContext, StorageError};
use crate::log::Log;
use crate::scan::{read_exact_at, ScanError, Scanner};
use crate::segment::{BatchLocation, Hint, Segment};

/// Chunk for scans between sparse index entries: a few index intervals.
const LOOKUP_CHUNK: usize = 32 * 1024;

/// A segment to read from, detached from the lock.
struct Source {
    file: Arc<File>,
    path: PathBuf,
    /// Read no further than this (the high watermark's position).
    limit: u64,
    base_offset: i64,
}

impl Source {
    fn of(segment: &Segment, limit: u64) -> Source {
        Source {
            file: segment.file.clone(),
            path: segment.path.clone(),
            limit,
            base_offset: segment.base_offset,
        }
    }

    fn scan_error(&self, e: ScanError) -> StorageError {
        match e {
            ScanError::Io(source) => StorageError::io(
                format!(
                    "reading segment {} of base offset {}",
                    self.path.display(),
                    self.base_offset
                ),
                source,
            ),
            ScanError::Invalid { position, error } => StorageError::Corrupt {
                path: self.path.clone(),
                position,
                source: error,
            },
        }
    }

    fn read(&self, position: u64, len: usize) -> Result<Bytes, StorageError> {
        read_exact_at(&self.file, position, len).ctx(|| {
            format!(
                "reading {} bytes at {} of {}",
                len,
                position,
                self.path.display()
            )
        })
    }

    /// Finds the batch containing `offset`, scanning forward from `from`.
    fn locate(&self, from: u64, offset: i64) -> Result<Option<BatchLocation>, StorageError> {
        let mut scanner = Scanner::new(&self.file, from, self.limit, LOOKUP_CHUNK);
        while let Some((position, bytes)) = scanner.next_batch().map_err(|e| self.scan_error(e))? {
            let header = BatchHeader::parse(&bytes)
                .map_err(|e| self.scan_error(ScanError::Invalid { position, error: e }))?;
            if header.last_offset() >= offset {
                return Ok(Some(BatchLocation {
                    position,
                    len: bytes.len(),
                }));
            }
        }
        Ok(None)
    }

    fn resolve(&self, hint: Hint, offset: i64) -> Result<Option<BatchLocation>, StorageError> {
        match hint {
            Hint::Exact(location) => Ok(Some(location)),
            Hint::ScanFrom(from) => self.locate(from, offset),
        }
    }
}

impl Log {
    /// Whole batches starting with the one that contains `offset`, at most
    /// `max_bytes` in total, never past the high watermark. With
    /// `min_one_batch` (KIP-74) the first batch is returned whole even when
    /// larger than `max_bytes`. Reads stay within one segment; the consumer's
    /// next fetch continues in the next one.
    ///
    /// `offset` outside `[log start, high watermark]` is `OffsetOutOfRange`;
    /// `offset == high watermark` returns no bytes; an offset only remote
    /// storage holds is `NotLocal`.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<Bytes, StorageError> {
        // Usually the segment containing `offset` has the batch. In a
        // compacted log it may not: the records from `offset` to the end of
        // that segment can all have been cleaned away, and then the read
        // goes on in the next segment, as Kafka's does.
        let mut after: Option<i64> = None;
        let (source, first) = loop {
            let (source, hint) = {
                let st = self.inner.state.lock();
                st.check_usable()?;
                if offset < st.log_start || offset > st.high_watermark {
                    return Err(st.out_of_range(offset));
                }
                if offset == st.high_watermark {
                    return Ok(Bytes::new());
                }
                let local_start = st.first_local();
                if offset < local_start {
                    return Err(StorageError::NotLocal {
                        requested: offset,
                        local_start,
                    });
                }
                let segment = match after {
                    None => st.segments.range(..=offset).next_back(),
                    Some(previous) => st.segments.range(previous + 1..).next(),
                };
                let Some((_, segment)) = segment else {
                    return match after {
                        None => Err(st.out_of_range(offset)),
                        Some(_) => Ok(Bytes::new()),
                    };
                };
                let hint = match after {
                    None => segment.hint(offset),
                    Some(_) => Hint::ScanFrom(0),
                };
                (Source::of(segment, st.read_limit(segment)), hint)
            };
            match source.resolve(hint, offset)? {
                Some(first) => break (source, first),
                None => after = Some(source.base_offset),
            }
        };
        let available = (source.limit.saturating_sub(first.position)) as usize;
        let want = if first.len > max_bytes {
            if !min_one_batch {
                return Ok(Bytes::new());
            }
            first.len
        } else {
            max_bytes.min(available)
        };
        let bytes = source.read(first.position, want)?;
        // Cut at the last whole batch.
        let mut batches = Batches::new(&bytes);
        for _ in batches.by_ref().map_while(Result::ok) {}
        let whole = batches.valid_len();
        Ok(bytes.slice(..whole))
    }

    /// The first batch below the high watermark whose max timestamp is at
    /// least `timestamp` (ListOffsets by time), skipping batches wholly below
    /// the log start offset. The broker decodes its records for the exact one.
    pub fn batch_at_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>, StorageError> {
        // Candidate segments in offset order, each with where its scan may
        // start. Usually the first one answers; a later one is needed only
        // when the first's qualifying batches lie below the log start offset.
        let (candidates, log_start) = {
            let st = self.inner.state.lock();
            st.check_usable()?;
            let candidates: Vec<(Source, u64)> = st
                .segments
                .values()
                .filter(|s| s.next_offset > st.log_start && s.max_timestamp >= timestamp)
                .map(|segment| {
                    // Every batch up to a time entry below `timestamp` is too old.
                    let from = segment
                        .index
                        .floor_time(timestamp)
                        .and_then(|e| segment.index.floor_offset(e.relative_offset))
                        .map_or(0, |e| u64::from(e.position));
                    (Source::of(segment, st.read_limit(segment)), from)
                })
                .collect();
            (candidates, st.log_start)
        };
        for (source, from) in candidates {
            let mut scanner = Scanner::new(&source.file, from, source.limit, LOOKUP_CHUNK);
            while let Some((position, bytes)) =
                scanner.next_batch().map_err(|e| source.scan_error(e))?
            {
                let header = BatchHeader::parse(&bytes)
                    .map_err(|error| source.scan_error(ScanError::Invalid { position, error }))?;
                if header.max_timestamp() >= timestamp && header.last_offset() >= log_start {
                    return Ok(Some(bytes));
                }
            }
        }
        Ok(None)
    }

    /// The batch with the largest max timestamp below the high watermark
    /// (ListOffsets MAX_TIMESTAMP); the earliest such batch on ties.
    pub fn batch_with_max_timestamp(&self) -> Result<Option<Bytes>, StorageError> {
        // (max timestamp, offset of its batch, where to find it)
        let mut best: Option<(i64, i64, Source, Hint)> = None;
        let mut partial: Option<Source> = None;
        {
            let st = self.inner.state.lock();
            st.check_usable()?;
            for segment in st.segments.values() {
                let limit = st.read_limit(segment);
                if segment.next_offset <= st.log_start || limit == 0 || segment.size == 0 {
                    continue;
                }
                let whole = limit == segment.size;
                if whole || segment.max_timestamp_offset < st.high_watermark {
                    if best.as_ref().is_none_or(|b| segment.max_timestamp > b.0) {
                        let hint = segment.hint(segment.max_timestamp_offset);
                        let offset = segment.max_timestamp_offset;
                        best = Some((
                            segment.max_timestamp,
                            offset,
                            Source::of(segment, limit),
                            hint,
                        ));
                    }
                } else {
                    // The segment's maximum lies above the high watermark:
                    // only a scan of its readable part can tell.
                    partial = Some(Source::of(segment, limit));
                }
            }
        }
        if let Some(source) = partial {
            let mut scanner = Scanner::new(&source.file, 0, source.limit, LOOKUP_CHUNK);
            let mut found: Option<(i64, Bytes)> = None;
            while let Some((position, bytes)) =
                scanner.next_batch().map_err(|e| source.scan_error(e))?
            {
                let header = BatchHeader::parse(&bytes)
                    .map_err(|error| source.scan_error(ScanError::Invalid { position, error }))?;
                if found.as_ref().is_none_or(|f| header.max_timestamp() > f.0) {
                    found = Some((header.max_timestamp(), bytes));
                }
            }
            if let Some((ts, bytes)) = found {
                if best.as_ref().is_none_or(|b| ts > b.0) {
                    return Ok(Some(bytes));
                }
            }
        }
        let Some((_, offset, source, hint)) = best else {
            return Ok(None);
        };
        match source.resolve(hint, offset)? {
            Some(location) => Ok(Some(source.read(location.position, location.len)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{LogConfig, StorageError};

    #[test]
    fn reads_start_at_the_containing_batch() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        append_n(&log, 300, 4, 0, 50); // 111-byte batches, offsets 0..1200
                                       // Recent batches (exact hint) and old ones (index + scan) alike.
        for offset in [0, 1, 3, 4, 5, 401, 803, 1199] {
            let read = log.read(offset, 1, true).unwrap();
            let (base, last) = offsets(&read)[0];
            assert!(base <= offset && offset <= last, "{offset}: {base}..{last}");
            assert_eq!(base, offset / 4 * 4);
        }
    }

    #[test]
    fn max_bytes_and_min_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        append_n(&log, 10, 1, 0, 39); // 100-byte batches
        assert_eq!(
            offsets(&log.read(2, 250, false).unwrap()),
            vec![(2, 2), (3, 3)]
        );
        assert_eq!(log.read(2, 300, false).unwrap().len(), 300);
        assert!(log.read(2, 99, false).unwrap().is_empty());
        assert_eq!(offsets(&log.read(2, 99, true).unwrap()), vec![(2, 2)]);
        assert_eq!(offsets(&log.read(2, 0, true).unwrap()), vec![(2, 2)]);
        assert_eq!(log.read(0, usize::MAX, false).unwrap().len(), 1000);
    }

    #[test]
    fn offsets_outside_the_log_are_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        assert!(log.read(0, 100, true).unwrap().is_empty());
        append_n(&log, 3, 2, 0, 10);
        assert!(log.read(6, 100, true).unwrap().is_empty());
        for bad in [-1, 7, 100] {
            match log.read(bad, 100, true) {
                Err(StorageError::OffsetOutOfRange {
                    requested,
                    start: 0,
                    high_watermark: 6,
                }) => {
                    assert_eq!(requested, bad)
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn timestamp_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 2_000,
            ..fast_config()
        };
        let log = open(dir.path(), config);
        // Timestamps 1000, 1010, ... one 2-record batch each, several segments.
        for i in 0..60 {
            log.append(bytes(batch(2, 1000 + 10 * i, 40)), 0, None)
                .unwrap();
        }
        log.flush().unwrap();
        assert_eq!(log.sealed_segments().len(), 3);
        let at = |ts| log.batch_at_timestamp(ts).unwrap().map(|b| offsets(&b)[0]);
        assert_eq!(at(0), Some((0, 1)));
        assert_eq!(at(1000), Some((0, 1)));
        assert_eq!(at(1001), Some((2, 3)));
        assert_eq!(at(1255), Some((52, 53)));
        assert_eq!(at(1590), Some((118, 119)));
        assert_eq!(at(1591), None);
        let max = log.batch_with_max_timestamp().unwrap().unwrap();
        assert_eq!(offsets(&max), vec![(118, 119)]);
        // An out-of-order timestamp in an older segment wins.
        let log2 = open(&dir.path().join("b"), fast_config());
        assert!(log2.batch_with_max_timestamp().unwrap().is_none());
        for ts in [5, 50, 7, 50] {
            log2.append(bytes(batch(1, ts, 10)), 0, None).unwrap();
        }
        assert_eq!(
            offsets(&log2.batch_with_max_timestamp().unwrap().unwrap()),
            vec![(1, 1)]
        );
    }

    #[test]
    fn timestamp_lookup_skips_batches_below_the_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 300,
            ..fast_config()
        };
        let log = open(dir.path(), config);
        for ts in [10, 500, 20, 30, 600, 40] {
            log.append(bytes(batch(1, ts, 39)), 0, None).unwrap(); // 3 per segment
        }
        assert_eq!(
            offsets(&log.batch_at_timestamp(400).unwrap().unwrap()),
            vec![(1, 1)]
        );
        log.delete_records_before(2).unwrap();
        assert_eq!(
            offsets(&log.batch_at_timestamp(400).unwrap().unwrap()),
            vec![(4, 4)]
        );
        assert_eq!(
            offsets(&log.batch_at_timestamp(15).unwrap().unwrap()),
            vec![(2, 2)]
        );
    }

    #[test]
    fn lookups_ignore_data_above_the_hw() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            flush: crate::FlushPolicy::Always,
            ..fast_config()
        };
        let log = open(dir.path(), config);
        log.append(bytes(batch(1, 10, 10)), 0, None).unwrap();
        log.close().unwrap();
        let log = open(
            dir.path(),
            LogConfig {
                flush: crate::FlushPolicy::Always,
                ..fast_config()
            },
        );
        log.append(bytes(batch(1, 99, 10)), 0, None).unwrap(); // not durable: no runtime
        assert_eq!(log.high_watermark(), 1);
        assert!(log.batch_at_timestamp(50).unwrap().is_none());
        assert_eq!(
            offsets(&log.batch_with_max_timestamp().unwrap().unwrap()),
            vec![(0, 0)]
        );
        assert_eq!(offsets(&log.read(0, 10_000, false).unwrap()), vec![(0, 0)]);
    }
}
