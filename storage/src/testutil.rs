//! Test helpers: building producer-style batches and opening logs.

use std::path::Path;

use bytes::Bytes;
use strata_wire::batch::{BatchHeader, Batches};

use crate::{FlushPolicy, Log, LogConfig};

/// A v2 batch as a producer sends it: base offset 0, `records` records
/// (opaque payload of `payload` bytes), max timestamp `max_ts`, valid CRC.
pub(crate) fn batch(records: i32, max_ts: i64, payload: usize) -> Vec<u8> {
    strata_wire::testing::opaque_batch(records, max_ts, payload)
}

pub(crate) fn bytes(b: Vec<u8>) -> Bytes {
    Bytes::from(b)
}

/// A config that makes HW follow appends at once (most tests do not care
/// about fsync) with small segments and a dense index.
pub(crate) fn fast_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1 << 20,
        index_interval_bytes: 256,
        flush: FlushPolicy::Interval(std::time::Duration::from_secs(3600)),
        ..LogConfig::default()
    }
}

pub(crate) fn open(dir: &Path, config: LogConfig) -> Log {
    Log::open(dir.join("topic-0"), config).expect("open log")
}

/// (base offset, last offset) of every batch in `bytes`, checking CRCs.
pub(crate) fn offsets(bytes: &[u8]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut it = Batches::new(bytes);
    for item in it.by_ref() {
        let h: BatchHeader<'_> = item.expect("whole batches");
        h.verify_crc().expect("crc");
        out.push((h.base_offset(), h.last_offset()));
    }
    assert_eq!(it.valid_len(), bytes.len());
    out
}

/// Appends `n` batches of `records` records each, timestamps `ts0`, `ts0+1`...
pub(crate) fn append_n(log: &Log, n: usize, records: i32, ts0: i64, payload: usize) {
    for i in 0..n {
        log.append(bytes(batch(records, ts0 + i as i64, payload)), 0, None)
            .unwrap();
    }
}

/// A producer's batch: `batch` with producer id, epoch, base sequence and
/// the transactional bit set in its header (CRC recomputed).
pub(crate) fn producer_batch(
    records: i32,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    transactional: bool,
) -> Vec<u8> {
    let mut b = batch(records, 1_000, 20);
    if transactional {
        b[21..23].copy_from_slice(&0x10i16.to_be_bytes());
    }
    b[43..51].copy_from_slice(&producer_id.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}
