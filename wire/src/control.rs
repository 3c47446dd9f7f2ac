//! Transaction control batches: the COMMIT and ABORT markers a transaction
//! coordinator writes into every partition of a transaction.
//!
//! A marker is a RecordBatch v2 with the transactional and control bits set,
//! the producer's id and epoch, no sequence, and exactly one record whose key
//! is `version: i16 = 0, type: i16` (0 abort, 1 commit) and whose value is
//! `version: i16 = 0, coordinator_epoch: i32` (Kafka's `ControlRecordType`
//! and `EndTransactionMarker`). Consumers skip control batches; the log reads
//! the type to end a producer's transaction.

use crate::batch::{BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD};
use crate::varint::read_varint;

const TRANSACTIONAL_AND_CONTROL: i16 = 0x10 | 0x20;

/// What a control batch says about its producer's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
}

/// A marker ending one producer's transaction in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    pub commit: bool,
    pub timestamp: i64,
}

impl Marker {
    /// The control batch for this marker, base offset 0 (the log assigns it).
    pub fn encode(&self) -> Vec<u8> {
        let kind: i16 = if self.commit { 1 } else { 0 };
        let mut record = Vec::with_capacity(17);
        record.push(0); // attributes
        record.push(0); // timestamp delta (zigzag 0)
        record.push(0); // offset delta
        record.push(8); // key length 4, zigzag
        record.extend_from_slice(&0i16.to_be_bytes());
        record.extend_from_slice(&kind.to_be_bytes());
        record.push(12); // value length 6, zigzag
        record.extend_from_slice(&0i16.to_be_bytes());
        record.extend_from_slice(&self.coordinator_epoch.to_be_bytes());
        record.push(0); // no headers
        let body_len = record.len() as u8;

        let batch_length = (BATCH_HEADER_LEN - LOG_OVERHEAD + 1 + record.len()) as i32;
        let mut b = Vec::with_capacity(LOG_OVERHEAD + batch_length as usize);
        b.extend_from_slice(&0i64.to_be_bytes());
        b.extend_from_slice(&batch_length.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
        b.push(2); // magic
        b.extend_from_slice(&[0; 4]); // crc, below
        b.extend_from_slice(&TRANSACTIONAL_AND_CONTROL.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
        b.extend_from_slice(&self.timestamp.to_be_bytes());
        b.extend_from_slice(&self.timestamp.to_be_bytes());
        b.extend_from_slice(&self.producer_id.to_be_bytes());
        b.extend_from_slice(&self.producer_epoch.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes()); // no sequence
        b.extend_from_slice(&1i32.to_be_bytes()); // one record
        b.push(body_len << 1); // record length, zigzag (always < 64)
        b.extend_from_slice(&record);
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

/// The control type of a control batch (its first record's key), or `None`
/// when the batch is not a control batch or its key is not a known type.
/// Control batches are never compressed, so the record is read in place.
pub fn control_type(header: &BatchHeader<'_>) -> Option<ControlType> {
    if !header.is_control() {
        return None;
    }
    let bytes = header.bytes();
    let mut at = BATCH_HEADER_LEN;
    let _record_len = read_varint(bytes, &mut at)?;
    at += 1; // attributes
    read_varint(bytes, &mut at)?; // timestamp delta
    read_varint(bytes, &mut at)?; // offset delta
    let key_len = read_varint(bytes, &mut at)?;
    if key_len < 4 {
        return None;
    }
    let key = bytes.get(at..at + 4)?;
    match i16::from_be_bytes([key[2], key[3]]) {
        0 => Some(ControlType::Abort),
        1 => Some(ControlType::Commit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn markers_decode_as_kafka_control_records() {
        for commit in [true, false] {
            let marker = Marker {
                producer_id: 4242,
                producer_epoch: 3,
                coordinator_epoch: 7,
                commit,
                timestamp: 1_700_000_000_000,
            };
            let bytes = marker.encode();
            let header = BatchHeader::parse(&bytes).unwrap();
            header.verify_crc().unwrap();
            assert!(header.is_control() && header.is_transactional());
            assert_eq!(header.total_len(), bytes.len());
            assert_eq!((header.producer_id(), header.producer_epoch()), (4242, 3));
            let want = if commit {
                ControlType::Commit
            } else {
                ControlType::Abort
            };
            assert_eq!(control_type(&header), Some(want));

            // kafka-protocol, an independent decoder, reads the same record.
            let set = RecordBatchDecoder::decode(&mut bytes::Bytes::from(bytes)).unwrap();
            let record = &set.records[0];
            assert!(record.control && record.transactional);
            let key = record.key.as_ref().unwrap();
            assert_eq!(&key[..], &[0, 0, 0, u8::from(commit)]);
            let value = record.value.as_ref().unwrap();
            assert_eq!(&value[..], &[0, 0, 0, 0, 0, 7]);
        }
    }

    #[test]
    fn a_data_batch_or_garbage_has_no_control_type() {
        let marker = Marker {
            producer_id: 1,
            producer_epoch: 0,
            coordinator_epoch: 0,
            commit: true,
            timestamp: 0,
        };
        let mut bytes = marker.encode();
        // Clear the control bit: a plain transactional batch.
        bytes[22] &= !0x20;
        assert_eq!(control_type(&BatchHeader::parse(&bytes).unwrap()), None);
        // A control batch whose record is cut short.
        let mut short = marker.encode();
        short.truncate(BATCH_HEADER_LEN + 3);
        let len = (short.len() - LOG_OVERHEAD) as i32;
        short[8..12].copy_from_slice(&len.to_be_bytes());
        assert_eq!(control_type(&BatchHeader::parse(&short).unwrap()), None);
    }
}
