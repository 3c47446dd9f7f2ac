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
