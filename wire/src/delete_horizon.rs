//! The delete horizon of a record batch (KIP-534).
//!
//! Kafka's cleaner marks a batch whose removal must wait out
//! `delete.retention.ms` (a tombstone, or a transaction marker whose
//! transaction has no data left) by setting attribute bit 6 and storing the
//! time after which it may go, `deleteHorizonMs`, in the base timestamp.
//! Record timestamps stay what they were: their deltas are taken relative to
//! the new base. Marking the batch, rather than remembering the horizon in
//! cleaner state, lets the horizon survive restarts and copies of the
//! segment, and is what Kafka's own tools read.
//!
//! Only control batches (one uncompressed record) are rewritten here: they
//! are what Strata's cleaner marks.

use crate::batch::{BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD};
use crate::varint::{read_varint, write_varint};

/// Attribute bit 6: the base timestamp holds the delete horizon.
const DELETE_HORIZON_BIT: i16 = 0x40;
const BATCH_LENGTH: usize = 8;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const BASE_TIMESTAMP: usize = 27;

/// The batch's delete horizon in ms, when the cleaner has set one.
pub fn delete_horizon(header: &BatchHeader<'_>) -> Option<i64> {
    (header.attributes() & DELETE_HORIZON_BIT != 0).then(|| header.base_timestamp())
}

/// A copy of the control batch `header` with its delete horizon set to
/// `horizon_ms` and its record's timestamp kept. `None` when the batch is
/// not a single-record uncompressed control batch or its record does not
/// parse.
pub fn with_delete_horizon(header: &BatchHeader<'_>, horizon_ms: i64) -> Option<Vec<u8>> {
    if !header.is_control() || header.record_count() != 1 || header.attributes() & 0x07 != 0 {
        return None;
    }
    let bytes = header.bytes();
    let mut at = BATCH_HEADER_LEN;
    let record_len = usize::try_from(read_varint(bytes, &mut at)?).ok()?;
    let record_start = at;
    let record_end = record_start.checked_add(record_len)?;
    if record_end != bytes.len() {
        return None;
    }
    let attributes = *bytes.get(at)?;
    at += 1;
    let timestamp = header
        .base_timestamp()
        .checked_add(read_varint(bytes, &mut at)?)?;
    let rest = &bytes[at..record_end];

    let mut record = Vec::with_capacity(record_len + 10);
    record.push(attributes);
    write_varint(&mut record, timestamp.checked_sub(horizon_ms)?);
    record.extend_from_slice(rest);

    let mut out = Vec::with_capacity(BATCH_HEADER_LEN + record.len() + 5);
    out.extend_from_slice(&bytes[..BATCH_HEADER_LEN]);
    write_varint(&mut out, record.len() as i64);
    out.extend_from_slice(&record);
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD).ok()?;
    out[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = header.attributes() | DELETE_HORIZON_BIT;
    out[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    out[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&horizon_ms.to_be_bytes());
    let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{control_type, ControlType, Marker};
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn the_horizon_is_set_and_the_record_keeps_its_timestamp() {
        let marker = Marker {
            producer_id: 77,
            producer_epoch: 2,
            coordinator_epoch: 5,
            commit: true,
            timestamp: 1_700_000_000_000,
        };
        let bytes = marker.encode();
        let header = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(delete_horizon(&header), None);
        let horizon = 1_700_086_400_000;
        let marked = with_delete_horizon(&header, horizon).unwrap();
        let h = BatchHeader::parse(&marked).unwrap();
        h.verify_crc().unwrap();
        assert_eq!(h.total_len(), marked.len());
        assert_eq!(delete_horizon(&h), Some(horizon));
        assert_eq!(control_type(&h), Some(ControlType::Commit));
        assert_eq!((h.producer_id(), h.producer_epoch()), (77, 2));
        assert_eq!(h.max_timestamp(), marker.timestamp);

        // kafka-protocol, an independent decoder, reads the flag and the
        // record's original timestamp.
        let set = RecordBatchDecoder::decode(&mut bytes::Bytes::from(marked)).unwrap();
        let record = &set.records[0];
        assert!(record.control && record.delete_horizon);
        assert_eq!(record.timestamp, marker.timestamp);
        assert_eq!(&record.value.as_ref().unwrap()[..], &[0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn only_control_batches_are_marked() {
        let marker = Marker {
            producer_id: 1,
            producer_epoch: 0,
            coordinator_epoch: 0,
            commit: false,
            timestamp: 10,
        };
        let mut bytes = marker.encode();
        bytes[22] &= !0x20; // no control bit
        let header = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(with_delete_horizon(&header, 99), None);
    }
}
