//! Opening a log directory, and crash recovery.
//!
//! Invariants this relies on:
//! - every batch on disk was written whole by one `append`, with offsets
//!   contiguous from the segment's base offset, except in sealed segments
//!   of a compacted log (one with a `cleaner-offset-checkpoint`), where
//!   offsets only increase;
//! - an interrupted compaction swap is finished or rolled back first
//!   (`compaction/swap.rs`);
//! - a sealed segment's index files are written only after its data was
//!   fsynced (see `durability.rs`), so "valid index files" means "durable".
//!
//! So: sealed segments with valid index files are trusted without reading
//! their data. Every other segment (the last one, and any sealed one whose
//! index is missing or invalid) is scanned with CRC32C checks; the first
//! batch that is torn, corrupt or out of sequence ends the log there: the
//! file is truncated and any later segments (which hold data written after
//! the damaged part, never acknowledged as durable) are deleted, as Kafka
//! does.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use strata_wire::batch::BatchHeader;

use crate::compaction;
use crate::config::LogConfig;
use crate::error::{IoContext, StorageError};
use crate::index::{self, SegmentIndex};
use crate::log::{Log, Position, State, SyncState};
use crate::retention::read_log_start_file;
use crate::scan::{ScanError, Scanner, SCAN_CHUNK};
use crate::segment::{
    file_path, parse_log_file_name, remove_if_exists, remove_segment_files, BatchLocation, Segment,
};

/// Scans a segment file with CRC checks and rebuilds its index in memory.
/// Returns the segment (covering only the valid prefix) and whether the file
/// had bytes past it.
fn scan_segment(
    base_offset: i64,
    path: &Path,
    interval: u64,
    gaps_allowed: bool,
) -> Result<(Segment, bool), StorageError> {
    let file = Segment::open_file(path).ctx(|| format!("opening segment {}", path.display()))?;
    let len = file
        .metadata()
        .ctx(|| format!("reading size of {}", path.display()))?
        .len();
    let mut segment = Segment::empty(base_offset, file, path.to_path_buf());
    let file = segment.file.clone();
    let mut scanner = Scanner::new(&file, 0, len, SCAN_CHUNK);
    loop {
        let position = scanner.position();
        let (batch_position, bytes) = match scanner.next_batch() {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(ScanError::Io(e)) => {
                return Err(e).ctx(|| format!("scanning segment {}", path.display()));
            }
            Err(ScanError::Invalid { position, error }) => {
                tracing::warn!(segment = %path.display(), position, %error, "truncating torn or corrupt tail");
                break;
            }
        };
        let header = BatchHeader::parse(&bytes).expect("the scanner yields parsed batches");
        let problem = if let Err(e) = header.verify_crc() {
            Some(e.to_string())
        } else if header.base_offset() < segment.next_offset
            || (!gaps_allowed && header.base_offset() != segment.next_offset)
            || header.last_offset_delta() < 0
            || !segment.offset_fits(header.last_offset())
        {
            Some(format!(
                "batch at offset {} where {} was expected",
                header.base_offset(),
                segment.next_offset
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            tracing::warn!(segment = %path.display(), position, %problem, "truncating torn or corrupt tail");
            break;
        }
        let location = BatchLocation {
            position: batch_position,
            len: bytes.len(),
        };
        segment.on_batch(
            location,
            header.base_offset(),
            header.last_offset(),
            header.max_timestamp(),
            interval,
        );
    }
    let torn = segment.size < len;
    Ok((segment, torn))
}

/// Loads a sealed segment's index files if they exist and are consistent.
fn load_index(path: &Path, size: u64, base_offset: i64, next_offset: i64) -> Option<SegmentIndex> {
    let offsets = index::read_optional(&path.with_extension("index")).ok()??;
    let times = index::read_optional(&path.with_extension("timeindex")).ok()??;
    let max_relative = u32::try_from(next_offset - base_offset - 1).ok()?;
    SegmentIndex::decode(&offsets, &times, size, max_relative)
}

/// Milliseconds since the epoch when `path` was created, for `segment.ms`
/// rolling of a recovered active segment (now, if the file system cannot tell).
fn created_ms(path: &Path) -> i64 {
    let created = fs::metadata(path)
        .and_then(|m| m.created())
        .unwrap_or_else(|_| SystemTime::now());
    created
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Lists the base offsets of the `.log` files and removes leftovers: temp
/// files of interrupted index writes, and index files without a log.
fn list_segments(dir: &Path) -> Result<Vec<i64>, StorageError> {
    let mut bases = Vec::new();
    let mut orphans = Vec::new();
    for entry in fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = parse_log_file_name(name) {
            bases.push(base);
        } else {
            let is_index = name.ends_with(".index")
                || name.ends_with(".timeindex")
                || name.ends_with(".txnindex");
            let orphan_index = is_index && !entry.path().with_extension("log").exists();
            if name.ends_with(".tmp") || orphan_index || crate::retired::is_retired_file(name) {
                orphans.push(entry.path());
            }
        }
    }
    for path in orphans {
        remove_if_exists(&path)?;
    }
    bases.sort_unstable();
    Ok(bases)
}

impl Log {
    /// Opens or creates the partition log in `dir`, recovering after a crash:
    /// the last segment (and any sealed segment without a valid index) is
    /// scanned and a torn or corrupt tail truncated to the last whole batch
    /// with a valid CRC; sealed segments' index files are loaded, and rebuilt
    /// by scanning when missing or invalid. The log start offset survives
    /// restarts. Everything recovered is fsynced, so the high watermark
    /// starts at the log end offset.
    pub fn open(dir: impl Into<PathBuf>, config: LogConfig) -> Result<Log, StorageError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).ctx(|| format!("creating log directory {}", dir.display()))?;
        let stored_start = read_log_start_file(&dir)?;
        compaction::finish_interrupted_swaps(&dir)?;
        // Compaction leaves offset gaps in the sealed segments it rewrote.
        let compacted = compaction::read_checkpoint(&dir)?.is_some();
        let bases = list_segments(&dir)?;
        let interval = config.index_interval_bytes;
        let mut segments = std::collections::BTreeMap::new();
        // Sealed segments loaded from valid index files (not scanned).
        let mut trusted = Vec::new();
        for (i, &base) in bases.iter().enumerate() {
            let path = file_path(&dir, base, "log");
            let next_base = bases.get(i + 1).copied();
            if let Some(next_offset) = next_base {
                let file = Segment::open_file(&path)
                    .ctx(|| format!("opening segment {}", path.display()))?;
                let size = file
                    .metadata()
                    .ctx(|| format!("reading size of {}", path.display()))?
                    .len();
                if let Some(index) = load_index(&path, size, base, next_offset) {
                    let mut segment =
                        Segment::sealed_from_index(base, file, path, size, next_offset, index);
                    segment.aborted = crate::txn_index::read(&segment.path).ctx(|| {
                        format!("reading transaction index of {}", segment.path.display())
                    })?;
                    segments.insert(base, segment);
                    trusted.push(base);
                    continue;
                }
                tracing::info!(segment = %path.display(), "index missing or invalid; rebuilding by scan");
            }
            let gaps_allowed = compacted && next_base.is_some();
            let (mut segment, torn) = scan_segment(base, &path, interval, gaps_allowed)?;
            if let Some(next) = next_base.filter(|&n| gaps_allowed && segment.next_offset <= n) {
                // Its last records may have been cleaned away; the next
                // segment's base says where its offsets end.
                segment.next_offset = next;
            }
            let broken = torn || next_base.is_some_and(|n| n != segment.next_offset);
            if torn {
                segment
                    .file
                    .set_len(segment.size)
                    .ctx(|| format!("truncating {}", path.display()))?;
            }
            segment
                .file
                .sync_all()
                .ctx(|| format!("fsyncing {}", path.display()))?;
            if broken || next_base.is_none() {
                // Everything after a damaged segment was written later and
                // never became durable in order: drop it.
                for &later in &bases[i + 1..] {
                    tracing::warn!(
                        base_offset = later,
                        "removing segment after a truncated one"
                    );
                    remove_segment_files(&file_path(&dir, later, "log"))?;
                }
                segment.first_append_ms = (segment.size > 0).then(|| created_ms(&path));
                segments.insert(base, segment);
                break;
            }
            segment.seal();
            segment
                .index
                .write_files(&segment.offset_index_path(), &segment.time_index_path())
                .ctx(|| format!("writing index files of {}", path.display()))?;
            segment.persisted = true;
            segments.insert(base, segment);
        }
        if segments.is_empty() {
            let base = stored_start.unwrap_or(0).max(0);
            let path = file_path(&dir, base, "log");
            let file =
                Segment::open_file(&path).ctx(|| format!("creating segment {}", path.display()))?;
            segments.insert(base, Segment::empty(base, file, path));
        }
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .ctx(|| format!("fsyncing directory {}", dir.display()))?;

        let log_end = segments
            .values()
            .next_back()
            .expect("at least one segment")
            .next_offset;
        let producers = crate::transactions::rebuild(&dir, &mut segments, &trusted, log_end)?;
        let first_base = *segments.keys().next().expect("at least one segment");
        let active = segments.values().next_back().expect("at least one segment");
        let hw_position = Position {
            segment: active.base_offset,
            position: active.size,
        };
        let log_start = stored_start
            .unwrap_or(first_base)
            .clamp(first_base, log_end);
        let state = State {
            config,
            segments,
            log_start,
            start_floor: stored_start.unwrap_or(0),
            tiered: None,
            log_end,
            high_watermark: log_end,
            hw_position,
            pending: Default::default(),
            durable: log_end,
            sync: SyncState {
                running: false,
                unsynced_sealed: Vec::new(),
                dir_dirty: false,
                failed: None,
                last_sync: Instant::now(),
            },
            closed: false,
            producers,
            retired: Vec::new(),
        };
        tracing::debug!(dir = %dir.display(), log_start, log_end, "opened log");
        Ok(Log::from_state(dir, state))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::testutil::*;

    fn last_log_file(dir: &Path) -> PathBuf {
        let mut logs: Vec<_> = fs::read_dir(dir.join("topic-0"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        logs.pop().unwrap()
    }

    fn append_raw(path: &Path, bytes: &[u8]) {
        fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    fn check_contiguous(log: &Log) {
        let mut next = log.log_start_offset();
        while next < log.high_watermark() {
            for (base, last) in offsets(&log.read(next, 1 << 20, false).unwrap()) {
                assert_eq!(base, next);
                next = last + 1;
            }
        }
        assert_eq!(next, log.log_end_offset());
    }

    #[test]
    fn reopens_after_clean_close() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1000,
            ..fast_config()
        };
        let log = open(dir.path(), config.clone());
        append_n(&log, 25, 2, 0, 39);
        log.close().unwrap();
        let sealed = log.sealed_segments();
        assert_eq!(sealed.len(), 2);
        drop(log);
        let log = open(dir.path(), config);
        assert_eq!(log.log_end_offset(), 50);
        assert_eq!(log.high_watermark(), 50);
        assert_eq!(log.sealed_segments(), sealed);
        check_contiguous(&log);
        assert_eq!(
            log.append(bytes(batch(1, 1, 1)), 0, None)
                .unwrap()
                .base_offset,
            50
        );
    }

    #[test]
    fn torn_tail_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        append_n(&log, 5, 3, 0, 20);
        let size = log.size_bytes();
        drop(log);
        let path = last_log_file(dir.path());
        let whole = batch(2, 1, 20);
        // A partial batch: its header promises more bytes than there are.
        append_raw(&path, &whole[..whole.len() - 5]);
        let log = open(dir.path(), fast_config());
        assert_eq!(log.size_bytes(), size);
        assert_eq!(fs::metadata(&path).unwrap().len(), size);
        assert_eq!(log.log_end_offset(), 15);
        assert_eq!(
            log.append(bytes(batch(2, 1, 20)), 0, None)
                .unwrap()
                .base_offset,
            15
        );
        check_contiguous(&log);
        drop(log);
        // Plain garbage, and a few bytes of a header.
        append_raw(&path, &[0xff; 100]);
        let log = open(dir.path(), fast_config());
        assert_eq!(log.log_end_offset(), 17);
        drop(log);
        append_raw(&path, &[0, 0, 0]);
        assert_eq!(open(dir.path(), fast_config()).log_end_offset(), 17);
    }

    #[test]
    fn corrupt_crc_and_wrong_offsets_in_the_tail_are_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        append_n(&log, 4, 1, 0, 20);
        let size = log.size_bytes();
        drop(log);
        let path = last_log_file(dir.path());
        // A whole batch with the right offset but a flipped payload byte.
        let mut bad = batch(1, 1, 20);
        bad[0..8].copy_from_slice(&4i64.to_be_bytes());
        *bad.last_mut().unwrap() ^= 0x55;
        append_raw(&path, &bad);
        let log = open(dir.path(), fast_config());
        assert_eq!((log.log_end_offset(), log.size_bytes()), (4, size));
        drop(log);
        // A valid batch, but with an offset that does not follow on.
        let mut skip = batch(1, 1, 20);
        skip[0..8].copy_from_slice(&9i64.to_be_bytes());
        append_raw(&path, &skip);
        let log = open(dir.path(), fast_config());
        assert_eq!(log.log_end_offset(), 4);
        check_contiguous(&log);
    }

    #[test]
    fn missing_or_garbage_indexes_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 2000,
            ..fast_config()
        };
        let log = open(dir.path(), config.clone());
        append_n(&log, 60, 2, 1000, 39);
        let expected: Vec<_> = (0..120).map(|o| log.read(o, 1, true).unwrap()).collect();
        log.close().unwrap();
        let sealed = log.sealed_segments();
        assert!(sealed.len() >= 2);
        drop(log);
        let first = &sealed[0].path;
        let good_index = fs::read(first.with_extension("index")).unwrap();
        assert!(!good_index.is_empty());
        fs::remove_file(first.with_extension("index")).unwrap();
        fs::write(sealed[1].path.with_extension("timeindex"), [0xffu8; 30]).unwrap();
        let log = open(dir.path(), config);
        assert_eq!(fs::read(first.with_extension("index")).unwrap(), good_index);
        assert_eq!(log.sealed_segments(), sealed);
        for (o, bytes) in expected.iter().enumerate() {
            assert_eq!(&log.read(o as i64, 1, true).unwrap(), bytes);
        }
        let ts = log.batch_at_timestamp(1030).unwrap().unwrap();
        assert_eq!(offsets(&ts), vec![(60, 61)]);
    }

    #[test]
    fn unsynced_sealed_segment_is_recovered_by_scan() {
        // A crash after a roll but before the sync job wrote the sealed
        // segment's indexes: its tail is torn, so later segments go too.
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 1000,
            ..fast_config()
        };
        let log = open(dir.path(), config.clone());
        append_n(&log, 12, 1, 0, 139); // 200-byte batches: segments 0, 5, 10
        drop(log);
        let seg0 = file_path(&dir.path().join("topic-0"), 0, "log");
        let seg5 = file_path(&dir.path().join("topic-0"), 5, "log");
        assert!(
            !seg5.with_extension("index").exists(),
            "interval flush not due"
        );
        // Tear the middle segment's last batch.
        let f = fs::OpenOptions::new().write(true).open(&seg5).unwrap();
        f.set_len(950).unwrap();
        let log = open(dir.path(), config);
        assert_eq!(log.log_end_offset(), 9);
        assert!(
            seg0.with_extension("index").exists(),
            "rebuilt index written"
        );
        assert!(!file_path(&dir.path().join("topic-0"), 10, "log").exists());
        check_contiguous(&log);
        assert_eq!(
            log.append(bytes(batch(1, 1, 10)), 0, None)
                .unwrap()
                .base_offset,
            9
        );
    }
}
