//! Arbitrary bytes as a log segment or a produce request's `records` field:
//! walk the batches, check each CRC and read every header accessor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_wire::batch::{BatchHeader, Batches, BATCH_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let mut batches = Batches::new(data);
    let mut consumed = 0usize;
    let mut errors = 0;
    while let Some(item) = batches.next() {
        match item {
            Ok(h) => {
                assert!(h.total_len() >= BATCH_HEADER_LEN);
                consumed += h.total_len();
                assert_eq!(batches.valid_len(), consumed);
                let _ = h.verify_crc();
                let _ = (
                    h.bytes(),
                    h.base_offset(),
                    h.partition_leader_epoch(),
                    h.stored_crc(),
                    h.computed_crc(),
                    h.attributes(),
                    h.compression(),
                    h.is_log_append_time(),
                    h.is_transactional(),
                    h.is_control(),
                    h.last_offset_delta(),
                    h.last_offset(),
                    h.base_timestamp(),
                    h.max_timestamp(),
                    h.producer_id(),
                    h.producer_epoch(),
                    h.base_sequence(),
                );
                assert!(h.record_count() >= 0);
            }
            Err(_) => {
                errors += 1;
                assert_eq!(errors, 1, "iteration must stop after one error");
            }
        }
    }
    assert_eq!(batches.valid_len(), consumed);
    assert!(consumed <= data.len());
    // A single parse from the start agrees with the iterator's first step.
    if let Ok(h) = BatchHeader::parse(data) {
        assert!(h.total_len() <= data.len());
    }
});
