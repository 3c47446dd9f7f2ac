//! Marker removal across passes, on a real log (`markers.rs`).

use strata_wire::batch::{BatchHeader, Batches};
use strata_wire::delete_horizon::delete_horizon;

use super::tests::{config, contents, end_txn, marker_offsets, put, sealed_end, txn_keyed};
use crate::testutil::open;
use crate::{Log, LogConfig};

/// The delete horizon of every marker a reader gets.
fn marker_horizons(log: &Log) -> Vec<Option<i64>> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let read = log.read(next, 1 << 20, true).unwrap();
        for h in Batches::new(&read).map(|b| b.unwrap()) {
            let h: BatchHeader<'_> = h;
            h.verify_crc().unwrap();
            if h.is_control() && h.base_offset() >= next {
                out.push(delete_horizon(&h));
            }
            next = h.last_offset() + 1;
        }
    }
    out
}

fn fill(log: &Log, tag: &str) {
    for i in 0..12 {
        put(log, &format!("{tag}{i}"), Some("x"), 1_000);
    }
    sealed_end(log);
}

/// A marker outlives its transaction's data by a pass, then waits out
/// `delete_retention_ms` with its horizon set, then goes; the log reopened
/// afterwards has no open transaction.
#[test]
fn markers_go_after_their_data_and_the_delete_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        delete_retention_ms: 1_000,
        ..config()
    };
    let log = open(dir.path(), config.clone());
    put(&log, "k", Some("v0"), 1_000); // 0
    log.append(txn_keyed(&[("k", Some("committed"))], 7, 0), 0, None)
        .unwrap(); // 1
    let commit = end_txn(&log, 7, true); // 2
    log.append(txn_keyed(&[("a", Some("aborted"))], 8, 0), 0, None)
        .unwrap(); // 3
    let abort = end_txn(&log, 8, false); // 4
    put(&log, "k", Some("v1"), 1_000); // 5: supersedes the committed record
    fill(&log, "a");
    let aborts = log.aborted_transactions(0, log.high_watermark());

    // Pass 1 removes the data; the markers were read after it, so stay as
    // they were.
    log.compact(10_000).unwrap();
    assert!(contents(&log).iter().all(|r| r.0 != 1 && r.0 != 3));
    assert_eq!(marker_offsets(&log), vec![commit, abort]);
    assert_eq!(marker_horizons(&log), vec![None, None]);

    // Pass 2 finds no data before them: the horizon is set.
    fill(&log, "b");
    log.compact(10_000).unwrap();
    assert_eq!(marker_offsets(&log), vec![commit, abort]);
    assert_eq!(marker_horizons(&log), vec![Some(11_000), Some(11_000)]);

    // Before the horizon they stay, at it they go.
    fill(&log, "c");
    log.compact(10_999).unwrap();
    assert_eq!(marker_offsets(&log), vec![commit, abort]);
    fill(&log, "d");
    log.compact(11_000).unwrap();
    assert_eq!(marker_offsets(&log), Vec::<i64>::new());
    assert!(contents(&log).iter().any(|r| r.0 == 5), "v1 stays");
    assert_eq!(
        log.aborted_transactions(0, log.high_watermark()),
        aborts,
        "the aborted index keeps the entry (it names no record any more)"
    );

    let hw = log.high_watermark();
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!(log.high_watermark(), hw);
    assert_eq!(log.last_stable_offset(), hw, "no transaction left open");
}

/// A marker whose transaction still has records in the log stays, however
/// old; so does one with a producer snapshot at or below it.
#[test]
fn markers_stay_while_data_or_an_older_snapshot_remains() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        delete_retention_ms: 0,
        ..config()
    };
    let log = open(dir.path(), config);
    log.append(txn_keyed(&[("kept", Some("committed"))], 7, 0), 0, None)
        .unwrap(); // 0: never superseded
    let kept = end_txn(&log, 7, true); // 1
    log.append(txn_keyed(&[("gone", Some("committed"))], 9, 0), 0, None)
        .unwrap(); // 2
    let held = end_txn(&log, 9, true); // 3
    put(&log, "gone", Some("plain"), 1_000); // 4
    fill(&log, "a");
    // A snapshot at offset 3 (as if taken at a roll while the transaction of
    // producer 9 was open) holds its marker. Rolls prune old snapshots, so
    // it is put back before each pass.
    let hold = |log: &Log| {
        let snapshots = crate::producer_snapshot::list(log.dir()).unwrap();
        let newest = snapshots.iter().max().unwrap();
        std::fs::copy(
            crate::producer_snapshot::snapshot_path(log.dir(), *newest),
            crate::producer_snapshot::snapshot_path(log.dir(), held),
        )
        .unwrap();
    };
    for tag in ["b", "c", "d"] {
        hold(&log);
        log.compact(10_000).unwrap();
        fill(&log, tag);
    }
    assert_eq!(marker_offsets(&log), vec![kept, held]);
    assert_eq!(marker_horizons(&log), vec![None, None]);

    // Without that snapshot the second marker goes (horizon, then removal);
    // the first stays with its data.
    let _ = std::fs::remove_file(crate::producer_snapshot::snapshot_path(log.dir(), held));
    for tag in ["e", "f"] {
        log.compact(10_000).unwrap();
        fill(&log, tag);
    }
    assert_eq!(marker_offsets(&log), vec![kept]);
    assert!(contents(&log).iter().any(|r| r.0 == 0));
}
