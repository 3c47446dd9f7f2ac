//! Arbitrary bytes as a produce request's `records` (checked for null keys on
//! compacted topics) and as a stored batch (decoded and rewritten by log
//! compaction): record-level decoding, decompression and re-encoding.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use strata_wire::batch::BatchHeader;
use strata_wire::records::{batch_has_null_key, decode_records, filter_batch, Filtered};

fuzz_target!(|data: &[u8]| {
    let _ = batch_has_null_key(data);
    let batch = Bytes::copy_from_slice(data);
    let Ok(summaries) = decode_records(&batch) else {
        return;
    };
    // Drop every other record, as compaction drops superseded keys.
    let mut n = 0usize;
    let result = filter_batch(&batch, |_| {
        n += 1;
        n % 2 == 1
    });
    if let Ok((Filtered::Rewritten(rewritten), removed)) = result {
        assert_eq!(removed, summaries.len() / 2);
        let header = BatchHeader::parse(&rewritten).expect("a rewritten batch parses");
        header
            .verify_crc()
            .expect("a rewritten batch has a valid crc");
        let kept = decode_records(&rewritten).expect("a rewritten batch decodes");
        assert_eq!(kept.len(), summaries.len() - removed);
    }
});
