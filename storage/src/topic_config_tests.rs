//! The effects of the topic configs the log honours beyond size, time and
//! compaction basics: `segment.jitter.ms`, `segment.index.bytes`,
//! `preallocate` and `file.delete.delay.ms`.

use std::fs;
use std::time::Duration;

use crate::segment::file_path;
use crate::testutil::*;
use crate::LogConfig;

fn small() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        retention_ms: None,
        segment_ms: None,
        ..fast_config()
    }
}

fn now_ms() -> i64 {
    crate::retired::wall_ms()
}

#[test]
fn segment_jitter_rolls_some_partitions_sooner() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: Some(100_000),
        segment_jitter_ms: 100_000,
        ..small()
    };
    let logs: Vec<_> = (0..16)
        .map(|p| crate::Log::open(dir.path().join(format!("t-{p}")), config.clone()).unwrap())
        .collect();
    for log in &logs {
        append_n(log, 1, 1, 0, 10);
    }
    // Half the roll age later, without jitter none rolls; with it, the
    // partitions whose jitter exceeds half the range do, the others do not.
    let at = now_ms() + 50_000;
    let rolled = logs
        .iter()
        .filter(|log| log.enforce_retention(at).unwrap().rolled)
        .count();
    assert!(rolled > 0 && rolled < 16, "{rolled} of 16 rolled");
    let plain = crate::Log::open(
        dir.path().join("plain"),
        LogConfig {
            segment_jitter_ms: 0,
            ..config
        },
    )
    .unwrap();
    append_n(&plain, 1, 1, 0, 10);
    assert!(!plain.enforce_retention(at).unwrap().rolled);
}

#[test]
fn a_full_offset_index_rolls_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    // One index entry per 200-byte batch (interval 1), room for two entries.
    let log = open(
        dir.path(),
        LogConfig {
            segment_bytes: 1 << 20,
            index_interval_bytes: 1,
            segment_index_bytes: 16,
            ..small()
        },
    );
    append_n(&log, 5, 1, 0, 139);
    log.flush().unwrap();
    let bases: Vec<i64> = log
        .sealed_segments()
        .iter()
        .map(|s| s.base_offset)
        .collect();
    assert_eq!(bases, vec![0, 2]);
}

#[test]
fn preallocate_reserves_the_whole_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            segment_bytes: 8 << 20,
            preallocate: true,
            ..small()
        },
    );
    append_n(&log, 1, 1, 0, 10);
    let path = file_path(log.dir(), 0, "log");
    let meta = fs::metadata(&path).unwrap();
    // The size is still the data's; the blocks cover the whole segment
    // (where the filesystem can reserve at all).
    assert!(meta.len() < 1024);
    use std::os::unix::fs::MetadataExt;
    let reserved = meta.blocks() * 512;
    if reserved > 0 && !crate::preallocate::unsupported() {
        assert!(reserved >= 8 << 20, "{reserved} bytes reserved");
    }
}

#[test]
fn file_delete_delay_keeps_retired_files_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        file_delete_delay_ms: 300,
        ..small()
    };
    let log = open(dir.path(), config.clone());
    append_n(&log, 11, 1, 0, 139); // two sealed segments
    log.set_config(LogConfig {
        retention_bytes: Some(1000),
        ..config.clone()
    });
    assert_eq!(log.enforce_retention(0).unwrap().deleted_segments, 1);
    let first = file_path(log.dir(), 0, "log");
    let retired = first.with_extension("log.deleted");
    assert!(!first.exists());
    assert!(retired.exists());
    assert_eq!(log.log_start_offset(), 5);
    std::thread::sleep(Duration::from_millis(350));
    log.enforce_retention(0).unwrap();
    assert!(!retired.exists());
    assert!(!first.with_extension("index.deleted").exists());
    // Leftovers of a run that ended within the delay go at the next open.
    log.set_config(LogConfig {
        retention_bytes: Some(0),
        ..config.clone()
    });
    log.enforce_retention(0).unwrap();
    let second = file_path(log.dir(), 5, "log").with_extension("log.deleted");
    assert!(second.exists());
    drop(log);
    let log = open(dir.path(), config);
    assert!(!second.exists());
    assert_eq!(log.log_start_offset(), 10);
}
