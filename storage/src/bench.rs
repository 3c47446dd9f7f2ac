//! Rough throughput numbers for the hot paths; run with
//! `cargo test -p strata-storage --release -- --ignored --nocapture bench`.

use std::time::Instant;

use crate::testutil::*;
use crate::{FlushPolicy, LogConfig};

fn run(batch_bytes: usize, batches_per_call: usize, calls: usize) {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 256 << 20,
        flush: FlushPolicy::Interval(std::time::Duration::from_secs(3600)),
        ..LogConfig::default()
    };
    let log = open(dir.path(), config);
    let mut request = Vec::new();
    for _ in 0..batches_per_call {
        request.extend(batch(10, 1, batch_bytes - 61));
    }
    let request = bytes::Bytes::from(request);
    let start = Instant::now();
    for _ in 0..calls {
        log.append(request.clone(), 0, None).unwrap();
    }
    let elapsed = start.elapsed();
    let total = (request.len() * calls) as f64;
    println!(
        "append {batch_bytes}B x{batches_per_call}: {:.0} MB/s, {:.1} us/call",
        total / elapsed.as_secs_f64() / 1e6,
        elapsed.as_secs_f64() * 1e6 / calls as f64
    );
    // A caught-up consumer: fetch the last few batches, again and again.
    let hw = log.high_watermark();
    let start = Instant::now();
    let reads = 20_000;
    for i in 0..reads {
        let offset = hw - 1 - (i % 20) as i64;
        let got = log.read(offset, 1 << 20, true).unwrap();
        assert!(!got.is_empty());
    }
    println!(
        "tail read: {:.1} us/read",
        start.elapsed().as_secs_f64() * 1e6 / reads as f64
    );
    // Old data: index lookup plus scan.
    let start = Instant::now();
    for i in 0..reads {
        let offset = (i as i64 * 7919) % (hw / 2);
        log.read(offset, 64 << 10, true).unwrap();
    }
    println!(
        "cold read: {:.1} us/read",
        start.elapsed().as_secs_f64() * 1e6 / reads as f64
    );
}

#[test]
#[ignore]
fn bench_append_and_read() {
    run(1024, 1, 200_000);
    run(16 * 1024, 1, 20_000);
    run(16 * 1024, 8, 2_500);
    run(256 * 1024, 1, 1_000);
}
