//! Batches built by hand for other crates' tests (feature `test-util`).

/// A RecordBatch v2 as a producer sends it: base offset 0, `records`
/// records whose body is `payload` opaque bytes (never decoded by the
/// paths under test), max timestamp `max_ts`, valid CRC32C.
pub fn opaque_batch(records: i32, max_ts: i64, payload: usize) -> Vec<u8> {
    let batch_length = (61 - 12 + payload) as i32;
    let mut b = Vec::with_capacity(61 + payload);
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&batch_length.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&(records - 1).to_be_bytes());
    b.extend_from_slice(&(max_ts - 1).to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&records.to_be_bytes());
    b.resize(61 + payload, 0xab);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// [`opaque_batch`] written by a producer: producer id, epoch and base
/// sequence set, and the transactional bit when `transactional` (CRC
/// recomputed), for tests of idempotence and transactions.
pub fn producer_batch(
    records: i32,
    max_ts: i64,
    payload: usize,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    transactional: bool,
) -> Vec<u8> {
    let mut b = opaque_batch(records, max_ts, payload);
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
