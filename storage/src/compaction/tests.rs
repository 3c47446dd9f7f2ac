use std::collections::HashMap;
use std::fs;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use strata_wire::batch::{BatchHeader, Batches};
use strata_wire::kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::testutil::*;
use crate::{Log, LogConfig};

/// (offset, key, value) of one record as a consumer sees it.
pub(super) type Row = (i64, String, Option<String>);

/// One batch of keyed records (value `None` is a tombstone), timestamp `ts`.
fn keyed(entries: &[(&str, Option<&str>)], ts: i64, compression: Compression) -> Bytes {
    encode(entries, ts, compression, None)
}

/// [`keyed`], transactional for `Some(producer_id)` (epoch 0, sequences from 0).
fn encode(
    entries: &[(&str, Option<&str>)],
    ts: i64,
    compression: Compression,
    producer_id: Option<i64>,
) -> Bytes {
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: producer_id.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: producer_id.unwrap_or(-1),
            producer_epoch: if producer_id.is_some() { 0 } else { -1 },
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if producer_id.is_some() {
                i as i32
            } else {
                i as i32 - 1
            },
            timestamp: ts,
            key: Some(Bytes::copy_from_slice(k.as_bytes())),
            value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

pub(super) fn put(log: &Log, key: &str, value: Option<&str>, ts: i64) -> i64 {
    let batch = keyed(&[(key, value)], ts, Compression::None);
    log.append(batch, 0, None).unwrap().base_offset
}

fn text(b: &Option<Bytes>) -> Option<String> {
    b.as_ref().map(|b| String::from_utf8(b.to_vec()).unwrap())
}

/// Every record from the log start to the high watermark, read as a
/// consumer does (fetch, continue after the last batch).
pub(super) fn contents(log: &Log) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let read = log.read(next, 1 << 20, true).unwrap();
        assert!(!read.is_empty(), "no progress at offset {next}");
        for (base, last) in offsets(&read) {
            assert!(base >= next || last >= next, "went backwards at {next}");
        }
        for item in Batches::new(&read) {
            let h = item.unwrap();
            let mut bytes = Bytes::copy_from_slice(h.bytes());
            for r in RecordBatchDecoder::decode(&mut bytes).unwrap().records {
                assert!(r.offset <= h.last_offset());
                if r.offset >= next {
                    rows.push((r.offset, text(&r.key).unwrap(), text(&r.value)));
                }
            }
            next = h.last_offset() + 1;
        }
    }
    rows
}

/// What compaction of `[.., end)` must leave: records superseded by a later
/// one of their key (anywhere below the high watermark) removed.
fn compacted_view(rows: &[Row], end: i64) -> Vec<Row> {
    let latest: HashMap<&str, i64> = rows.iter().map(|r| (r.1.as_str(), r.0)).collect();
    rows.iter()
        .filter(|r| r.0 >= end || latest[r.1.as_str()] == r.0)
        .cloned()
        .collect()
}

pub(super) fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 400,
        compact: true,
        retention_deletes: false,
        min_cleanable_dirty_ratio: 0.0,
        ..fast_config()
    }
}

/// The end of the sealed, persisted segments: where a pass stops.
pub(super) fn sealed_end(log: &Log) -> i64 {
    log.flush().unwrap();
    log.sealed_segments().last().unwrap().next_offset
}

fn active_bytes(log: &Log) -> Vec<u8> {
    let mut logs: Vec<_> = fs::read_dir(log.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    fs::read(logs.pop().unwrap()).unwrap()
}

#[test]
fn keeps_the_latest_record_per_key_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    let mut single = HashMap::new();
    for i in 0..40 {
        let key = format!("k{}", i % 5);
        let offset = put(&log, &key, Some(&format!("v{i}")), 1_000 + i);
        single.insert(offset, log.read(offset, 1, true).unwrap());
    }
    let before = contents(&log);
    let end = sealed_end(&log);
    let active = active_bytes(&log);
    let outcome = log.compact(10_000).unwrap();
    let after = contents(&log);
    assert_eq!(after, compacted_view(&before, end));
    assert_eq!(outcome.records_removed as usize, before.len() - after.len());
    assert!(outcome.cleaned_segments > 0 && outcome.bytes_after < outcome.bytes_before);
    assert_eq!(
        active_bytes(&log),
        active,
        "the active segment is untouched"
    );
    // A kept batch is returned byte for byte as it was appended.
    for (offset, ..) in &after {
        assert_eq!(&log.read(*offset, 1, true).unwrap(), &single[offset]);
    }
    // An offset whose record was cleaned away reads the next kept batch.
    let read = log.read(0, 1, true).unwrap();
    assert_eq!(offsets(&read)[0].0, after[0].0);
    assert!(after[0].0 > 0);
    // Nothing new to clean: a second pass changes nothing.
    assert_eq!(log.compact(10_000).unwrap().cleaned_segments, 0);
    assert_eq!(contents(&log), after);

    // Reopened, with and without the cleaned segments' index files.
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), config());
    assert_eq!(contents(&log), after);
    let sealed = log.sealed_segments();
    drop(log);
    for s in &sealed {
        fs::remove_file(s.path.with_extension("index")).unwrap();
    }
    let log = open(dir.path(), config());
    assert_eq!(log.sealed_segments(), sealed);
    assert_eq!(contents(&log), after);
    assert_eq!(put(&log, "k0", Some("new"), 5_000), 40);
}

#[test]
fn tombstones_go_only_after_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        delete_retention_ms: 1_000,
        ..config()
    };
    let log = open(dir.path(), config);
    put(&log, "gone", Some("v"), 100);
    put(&log, "kept", Some("v"), 100);
    let tombstone = put(&log, "gone", None, 100);
    let fill = |log: &Log, n: usize| {
        for i in 0..n {
            put(log, &format!("f{i}"), Some("x"), 100);
        }
    };
    fill(&log, 8);
    sealed_end(&log);
    let has = |log: &Log, offset: i64| contents(log).iter().any(|r| r.0 == offset);

    // First pass: the old value goes, the tombstone (dirty) stays.
    log.compact(5_000).unwrap();
    assert!(!has(&log, 0) && has(&log, tombstone) && has(&log, 1));
    // It is clean now, but not older than delete.retention.ms.
    fill(&log, 8);
    sealed_end(&log);
    log.compact(1_050).unwrap();
    assert!(has(&log, tombstone));
    // Clean and old enough: removed.
    fill(&log, 8);
    sealed_end(&log);
    log.compact(5_000).unwrap();
    assert!(!has(&log, tombstone) && has(&log, 1));
}

#[test]
fn min_compaction_lag_protects_recent_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_compaction_lag_ms: 1_000,
        ..config()
    };
    let log = open(dir.path(), config);
    for i in 0..10 {
        put(&log, "a", Some(&format!("old{i}")), 100);
    }
    let recent_from = log.log_end_offset();
    for i in 0..10 {
        put(&log, "a", Some(&format!("new{i}")), 9_500);
    }
    put(&log, "z", Some("active"), 9_500);
    sealed_end(&log);
    let before = contents(&log);
    log.compact(10_000).unwrap();
    let after = contents(&log);
    // Old segments are cleaned (superseded by the recent records); the
    // segment holding the lag boundary and everything after stay.
    assert!(after.iter().all(|r| r.0 >= recent_from));
    let recent: Vec<_> = before.iter().filter(|r| r.0 >= recent_from).collect();
    assert_eq!(
        after.iter().filter(|r| r.0 >= recent_from).count(),
        recent.len()
    );
    // Once old enough, they are cleaned too.
    log.compact(20_000).unwrap();
    let last: Vec<_> = contents(&log).into_iter().filter(|r| r.1 == "a").collect();
    assert!(last.len() < recent.len());
    assert_eq!(last.last().unwrap().2.as_deref(), Some("new9"));
}

#[test]
fn dirty_ratio_threshold_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_cleanable_dirty_ratio: 0.9,
        ..config()
    };
    let log = open(dir.path(), config.clone());
    // Keys 0..9 five times over: the last round stays (1 sealed segment
    // of clean bytes, 5 records), the rest is cleaned away.
    for i in 0..30 {
        put(&log, &format!("k{}", i % 10), Some("v"), 100);
    }
    sealed_end(&log);
    assert!(
        log.compact(1_000).unwrap().cleaned_segments > 0,
        "all dirty"
    );
    // Two more sealed segments: dirty ratio 2/3, under 0.9.
    for i in 0..6 {
        put(&log, &format!("k{}", i % 3), Some("w"), 100);
    }
    sealed_end(&log);
    let before = contents(&log);
    assert_eq!(log.compact(1_000).unwrap(), Default::default());
    assert_eq!(contents(&log), before);
    log.set_config(LogConfig {
        min_cleanable_dirty_ratio: 0.1,
        ..config
    });
    assert!(log.compact(1_000).unwrap().records_removed > 0);
}

#[test]
fn compressed_batches_are_compacted() {
    for compression in [Compression::Gzip, Compression::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), config());
        for i in 0..12 {
            let v = format!("v{i}");
            let entries: Vec<(String, Option<&str>)> = (0..4)
                .map(|j| (format!("k{}", (i + j) % 6), (j != 3).then_some(v.as_str())))
                .collect();
            let entries: Vec<(&str, Option<&str>)> =
                entries.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            log.append(keyed(&entries, 100 + i, compression), 0, None)
                .unwrap();
        }
        let before = contents(&log);
        let end = sealed_end(&log);
        let outcome = log.compact(1_000).unwrap();
        assert!(outcome.records_removed > 0, "{compression:?}");
        assert_eq!(
            contents(&log),
            compacted_view(&before, end),
            "{compression:?}"
        );
        let read = log.read(0, 1 << 20, true).unwrap();
        for item in Batches::new(&read) {
            let h: BatchHeader<'_> = item.unwrap();
            assert_eq!(h.attributes() & 7, compression as i16);
        }
    }
}

#[test]
fn compact_without_delete_keeps_segments_past_retention() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(10),
        retention_bytes: Some(1),
        ..config()
    };
    let log = open(dir.path(), config.clone());
    for i in 0..20 {
        put(&log, &format!("k{i}"), Some("v"), 100);
    }
    sealed_end(&log);
    let outcome = log.enforce_retention(1_000_000).unwrap();
    assert_eq!(outcome.deleted_segments, 0);
    assert_eq!(log.log_start_offset(), 0);
    log.set_config(LogConfig {
        retention_deletes: true,
        ..config
    });
    assert!(log.enforce_retention(1_000_000).unwrap().deleted_segments > 0);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn recovery_finishes_committed_swaps_and_drops_unfinished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    for i in 0..30 {
        put(&log, &format!("k{}", i % 4), Some(&format!("v{i}")), 100);
    }
    let before = contents(&log);
    log.close().unwrap();
    let original = dir.path().join("topic-0");
    let before_dir = dir.path().join("before");
    copy_dir(&original, &before_dir);
    let log = open(dir.path(), config());
    log.compact(1_000).unwrap();
    let after = contents(&log);
    let sealed = log.sealed_segments();
    log.close().unwrap();
    drop(log);

    // Committed (every `.swap` file present): the swap is completed.
    let committed = dir.path().join("committed").join("topic-0");
    copy_dir(&before_dir, &committed);
    for s in &sealed {
        for ext in ["log", "index", "timeindex"] {
            let name = s.path.with_extension(ext);
            let to = committed.join(format!(
                "{}.swap",
                name.file_name().unwrap().to_str().unwrap()
            ));
            fs::copy(&name, to).unwrap();
        }
    }
    fs::copy(
        original.join("cleaner-offset-checkpoint"),
        committed.join("cleaner-offset-checkpoint"),
    )
    .unwrap();
    let log = open(&dir.path().join("committed"), config());
    assert_eq!(contents(&log), after);
    assert!(fs::read_dir(&committed).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_str()
        .unwrap()
        .ends_with(".swap")));
    drop(log);

    // Not committed (the log is still `.cleaned`): rolled back.
    let unfinished = dir.path().join("unfinished").join("topic-0");
    copy_dir(&before_dir, &unfinished);
    let first = &sealed[0].path;
    let stem = first
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .replace(".log", "");
    fs::copy(first, unfinished.join(format!("{stem}.log.cleaned"))).unwrap();
    fs::copy(
        first.with_extension("index"),
        unfinished.join(format!("{stem}.index.swap")),
    )
    .unwrap();
    fs::write(
        unfinished.join(format!("{stem}.timeindex.cleaned")),
        b"junk",
    )
    .unwrap();
    let log = open(&dir.path().join("unfinished"), config());
    assert_eq!(contents(&log), before);
    let names: Vec<String> = fs::read_dir(&unfinished)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names
        .iter()
        .all(|n| !n.ends_with(".swap") && !n.ends_with(".cleaned")));
}

#[test]
fn appends_and_reads_race_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    let keys = 7;
    let appends = 600;
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..appends {
                let key = format!("k{}", i % keys);
                put(&log, &key, Some(&format!("{i}")), i as i64);
            }
        })
    };
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for _ in 0..30 {
                // Per key, values only grow along the log, whatever was cleaned.
                let mut last: HashMap<String, i64> = HashMap::new();
                let mut previous = -1;
                for (offset, key, value) in contents(&log) {
                    assert!(offset > previous);
                    previous = offset;
                    let v: i64 = value.unwrap().parse().unwrap();
                    assert!(last.insert(key, v).is_none_or(|old| old < v));
                }
            }
        })
    };
    let mut cleaned = 0;
    while !writer.is_finished() {
        log.flush().unwrap();
        cleaned += log.compact(1 << 40).unwrap().cleaned_segments;
    }
    writer.join().unwrap();
    reader.join().unwrap();
    assert!(cleaned > 0);
    log.flush().unwrap();
    let before = contents(&log);
    let end = sealed_end(&log);
    log.compact(1 << 40).unwrap();
    let after = contents(&log);
    assert_eq!(after, compacted_view(&before, end));
    for k in 0..keys {
        let last = after.iter().rfind(|r| r.1 == format!("k{k}")).unwrap();
        let expected = (0..appends).filter(|i| i % keys == k).max().unwrap();
        assert_eq!(last.2.as_deref(), Some(expected.to_string().as_str()));
    }
}

#[test]
fn undecodable_records_fail_the_pass_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    // Valid framing and CRC, but the payload is not records.
    append_n(&log, 12, 1, 0, 39);
    log.flush().unwrap();
    let before = log.read(0, 1 << 20, true).unwrap();
    let err = log.compact(1_000).unwrap_err();
    assert!(
        matches!(err, crate::StorageError::CorruptRecords { .. }),
        "{err:?}"
    );
    assert_eq!(log.read(0, 1 << 20, true).unwrap(), before);
    assert!(fs::read_dir(log.dir()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_str()
        .unwrap()
        .contains(".cleaned")));
}

/// One transactional batch of keyed records by `producer_id`, sequences from 0.
pub(super) fn txn_keyed(
    entries: &[(&str, Option<&str>)],
    producer_id: i64,
    sequence: i32,
) -> Bytes {
    assert_eq!(
        sequence, 0,
        "every transaction here is its producer's first batch"
    );
    encode(entries, 1_000, Compression::None, Some(producer_id))
}

pub(super) fn end_txn(log: &Log, producer_id: i64, commit: bool) -> i64 {
    let marker = crate::Marker {
        producer_id,
        producer_epoch: 0,
        coordinator_epoch: 0,
        commit,
        timestamp: 1_000,
    };
    log.append_marker(&marker).unwrap().base_offset
}

/// Offsets of the control batches a reader gets.
pub(super) fn marker_offsets(log: &Log) -> Vec<i64> {
    let mut markers = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let read = log.read(next, 1 << 20, true).unwrap();
        for h in Batches::new(&read).map(|b| b.unwrap()) {
            if h.is_control() && h.base_offset() >= next {
                markers.push(h.base_offset());
            }
            next = h.last_offset() + 1;
        }
    }
    markers
}

/// Kafka's cleaner rules for transactional data: aborted batches go whole
/// and supersede nothing, committed records compact like plain ones, markers
/// and the aborted-transaction index stay.
#[test]
fn aborted_batches_go_and_committed_records_compact() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    put(&log, "a", Some("plain-a"), 1_000); // 0
    let aborted = log
        .append(
            txn_keyed(&[("a", Some("aborted-a")), ("b", Some("aborted-b"))], 7, 0),
            0,
            None,
        )
        .unwrap()
        .base_offset; // 1-2
    let abort_marker = end_txn(&log, 7, false); // 3
    let committed = log
        .append(txn_keyed(&[("c", Some("committed-c"))], 8, 0), 0, None)
        .unwrap()
        .base_offset; // 4
    let commit_marker = end_txn(&log, 8, true); // 5
    put(&log, "c", Some("plain-c"), 1_000); // 6: supersedes the committed c
    put(&log, "b", Some("plain-b"), 1_000); // 7
    for i in 0..30 {
        put(&log, &format!("filler{i}"), Some("x"), 1_000);
    }
    let aborts_before = log.aborted_transactions(0, log.high_watermark());
    assert_eq!(aborts_before.len(), 1);
    assert!(
        sealed_end(&log) > 7,
        "the transactions sit in sealed segments"
    );
    log.compact(10_000).unwrap();

    let rows = contents(&log);
    let at = |offset: i64| rows.iter().find(|r| r.0 == offset).map(|r| r.2.clone());
    assert_eq!(
        at(0),
        Some(Some("plain-a".into())),
        "an aborted record supersedes nothing"
    );
    assert_eq!(at(aborted), None, "aborted records are removed");
    assert_eq!(at(aborted + 1), None);
    assert_eq!(
        at(committed),
        None,
        "a committed record is superseded by a later one"
    );
    assert_eq!(at(6), Some(Some("plain-c".into())));
    assert_eq!(at(7), Some(Some("plain-b".into())));
    assert_eq!(marker_offsets(&log), vec![abort_marker, commit_marker]);
    assert_eq!(
        log.aborted_transactions(0, log.high_watermark()),
        aborts_before,
        "the aborted index survives the swap"
    );
}

/// A committed transactional record supersedes earlier plain ones.
#[test]
fn committed_records_supersede_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    put(&log, "k", Some("old"), 1_000); // 0
    log.append(txn_keyed(&[("k", Some("new"))], 9, 0), 0, None)
        .unwrap(); // 1
    end_txn(&log, 9, true); // 2
    for i in 0..30 {
        put(&log, &format!("filler{i}"), Some("x"), 1_000);
    }
    sealed_end(&log);
    log.compact(10_000).unwrap();
    let rows = contents(&log);
    let k: Vec<_> = rows.iter().filter(|r| r.1 == "k").collect();
    assert_eq!(k, vec![&(1, "k".to_owned(), Some("new".to_owned()))]);
}

/// Nothing at or past the first open transaction is cleaned: its records
/// may still be aborted, and records after it stay too.
#[test]
fn open_transactions_bound_the_cleanable_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    put(&log, "k", Some("v0"), 1_000); // 0
    log.append(txn_keyed(&[("k", Some("pending"))], 11, 0), 0, None)
        .unwrap(); // 1: open
    for i in 0..30 {
        put(&log, &format!("filler{}", i % 3), Some("x"), 1_000);
    }
    put(&log, "k", Some("v1"), 1_000);
    sealed_end(&log);
    let before = contents(&log);
    log.compact(10_000).unwrap();
    let after = contents(&log);
    // Only the segment wholly below offset 1 could be cleaned, and nothing
    // in it is superseded by a decided record: the open transaction's
    // record and every record after it are still there.
    assert_eq!(after, before);
    end_txn(&log, 11, false);
    for i in 0..10 {
        put(&log, &format!("more{i}"), Some("x"), 1_000);
    }
    sealed_end(&log);
    log.compact(10_000).unwrap();
    let after = contents(&log);
    assert!(
        after.iter().all(|r| r.2.as_deref() != Some("pending")),
        "aborted now, so removed"
    );
    assert_eq!(
        after
            .iter()
            .filter(|r| r.1 == "k")
            .map(|r| r.2.clone())
            .collect::<Vec<_>>(),
        vec![Some("v1".to_owned())]
    );
}

#[test]
fn max_compaction_lag_forces_a_clean_below_the_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_cleanable_dirty_ratio: 0.99,
        ..config()
    };
    let log = open(dir.path(), config.clone());
    for i in 0..30 {
        put(&log, &format!("k{}", i % 10), Some("v"), 100);
    }
    sealed_end(&log);
    log.compact(1_000).unwrap();
    for i in 0..6 {
        put(&log, &format!("k{}", i % 3), Some("w"), 100);
    }
    sealed_end(&log);
    // Under the ratio, and the dirty records (timestamp 100) are younger
    // than the lag at 1,000: nothing is done.
    log.set_config(LogConfig {
        max_compaction_lag_ms: Some(5_000),
        ..config.clone()
    });
    assert_eq!(log.compact(1_000).unwrap(), Default::default());
    // Once they are older than the lag, the log is cleaned all the same.
    assert!(log.compact(5_101).unwrap().records_removed > 0);
}
