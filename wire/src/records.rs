//! Record-level access to RecordBatch v2, for the two places that need it:
//! log compaction (which keys and offsets a batch holds, and rewriting a
//! batch with some records dropped) and the produce path of compacted
//! topics (refusing records without a key).
//!
//! Everything else in Strata moves batches as opaque bytes (see [`batch`]).
//! Decoding and compression codecs (gzip, snappy, lz4, zstd) are
//! `kafka-protocol`'s; this module only adds what its encoder does not keep
//! on its own when a batch is rewritten: the original attributes (timestamp
//! type included), the last offset delta (so the batch still ends where it
//! ended, as Kafka's cleaner keeps it for producer sequence state), and a
//! LogAppendTime batch's max timestamp.
//!
//! [`batch`]: crate::batch

use std::error::Error as StdError;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression as KafkaCompression, Record, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions,
};
use thiserror::Error;

use crate::batch::{BatchError, BatchHeader, Batches, Compression, BATCH_HEADER_LEN};

// Header field positions, as documented in `batch.rs`.
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const MAX_TIMESTAMP: usize = 35;

/// Why the records of a batch could not be read or rewritten.
#[derive(Debug, Error)]
pub enum RecordsError {
    #[error("invalid record batch")]
    Batch(#[from] BatchError),
    /// The batch frames correctly but its records do not decode (bad CRC,
    /// corrupt compressed data, malformed varints).
    #[error("cannot decode the records of the batch at offset {base_offset}")]
    Decode {
        base_offset: i64,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Re-encoding kept records failed, or did not give back one batch.
    #[error("cannot re-encode the batch at offset {base_offset}")]
    Encode {
        base_offset: i64,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

/// What compaction needs to know about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    pub offset: i64,
    pub timestamp: i64,
    /// A slice of the decoded batch: copy it before keeping it long, or it
    /// pins the whole (decompressed) batch in memory.
    pub key: Option<Bytes>,
    /// A null value: a delete marker for the key.
    pub is_tombstone: bool,
}

impl RecordSummary {
    fn of(record: &Record) -> RecordSummary {
        RecordSummary {
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key.clone(),
            is_tombstone: record.value.is_none(),
        }
    }
}

/// The result of [`filter_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filtered {
    /// Every record was kept: reuse the original bytes as they are.
    Unchanged,
    /// No record was kept: the batch goes away.
    Empty,
    /// Some records were kept, re-encoded as one batch with the original
    /// codec, attributes, producer fields and leader epoch. Kept records keep
    /// their offsets, and the batch keeps its last offset; its base offset
    /// becomes the first kept record's offset.
    Rewritten(Bytes),
}

fn decode(batch: &Bytes, base_offset: i64) -> Result<Vec<Record>, RecordsError> {
    let mut buf = batch.clone();
    RecordBatchDecoder::decode(&mut buf)
        .map(|set| set.records)
        .map_err(|e| RecordsError::Decode {
            base_offset,
            source: e.into(),
        })
}

/// Decodes the records of the one batch in `batch` (decompressing it if
/// needed; the CRC is checked).
pub fn decode_records(batch: &Bytes) -> Result<Vec<RecordSummary>, RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let records = decode(batch, header.base_offset())?;
    Ok(records.iter().map(RecordSummary::of).collect())
}

/// Keeps the records of the one batch in `batch` for which `keep` says so.
/// Returns what became of the batch and how many records were dropped.
pub fn filter_batch(
    batch: &Bytes,
    mut keep: impl FnMut(&RecordSummary) -> bool,
) -> Result<(Filtered, usize), RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let records = decode(batch, header.base_offset())?;
    let total = records.len();
    let kept: Vec<Record> = records
        .into_iter()
        .filter(|r| keep(&RecordSummary::of(r)))
        .collect();
    let removed = total - kept.len();
    if removed == 0 {
        return Ok((Filtered::Unchanged, 0));
    }
    if kept.is_empty() {
        return Ok((Filtered::Empty, removed));
    }
    Ok((Filtered::Rewritten(encode_kept(&header, kept)?), removed))
}

/// Encodes `kept` (records of the batch `original`, in offset order) as one
/// batch that carries over everything the header said about them.
fn encode_kept(original: &BatchHeader<'_>, mut kept: Vec<Record>) -> Result<Bytes, RecordsError> {
    let base_offset = original.base_offset();
    let encode_error = |source: Box<dyn StdError + Send + Sync>| RecordsError::Encode {
        base_offset,
        source,
    };
    let compression = match original.compression() {
        Compression::None => KafkaCompression::None,
        Compression::Gzip => KafkaCompression::Gzip,
        Compression::Snappy => KafkaCompression::Snappy,
        Compression::Lz4 => KafkaCompression::Lz4,
        Compression::Zstd => KafkaCompression::Zstd,
        Compression::Unknown(id) => {
            return Err(encode_error(
                format!("unknown compression codec {id}").into(),
            ))
        }
    };
    // The encoder starts a new batch wherever `offset - sequence` changes,
    // and derives the base sequence from the first record: keep the
    // difference constant so the kept records stay one batch, with the
    // original base sequence shifted to the first kept offset (or -1, "no
    // sequence", for producers that are not idempotent).
    let first = kept[0].offset;
    let base_sequence = original.base_sequence();
    for record in &mut kept {
        let from = if base_sequence < 0 {
            first
        } else {
            base_offset
        };
        let start = if base_sequence < 0 { -1 } else { base_sequence };
        record.sequence = start.wrapping_add((record.offset - from) as i32);
    }
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, kept.iter(), &options)
        .map_err(|e| encode_error(e.into()))?;
    let len = BatchHeader::parse(&buf)?.total_len();
    if len != buf.len() {
        return Err(encode_error("kept records were split over batches".into()));
    }
    // What the encoder computes differently from the original header.
    let last_delta = i32::try_from(original.last_offset() - first)
        .map_err(|_| encode_error("offset range does not fit a batch".into()))?;
    buf[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&original.attributes().to_be_bytes());
    buf[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&last_delta.to_be_bytes());
    if original.is_log_append_time() {
        buf[MAX_TIMESTAMP..MAX_TIMESTAMP + 8]
            .copy_from_slice(&original.max_timestamp().to_be_bytes());
    }
    let crc = crc32c::crc32c(&buf[ATTRIBUTES..]);
    buf[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(buf.freeze())
}

/// Whether any record in `records` (whole v2 batches, as a produce request
/// carries them) has a null key: Kafka refuses those for compacted topics
/// (INVALID_RECORD). Control batches are skipped. Uncompressed batches are
/// walked record header by record header without allocating; compressed
/// ones are decompressed (and their CRC checked).
pub fn batch_has_null_key(records: &[u8]) -> Result<bool, RecordsError> {
    for item in Batches::new(records) {
        let header = item?;
        if header.is_control() {
            continue;
        }
        let null = match header.compression() {
            Compression::None => uncompressed_has_null_key(&header)?,
            _ => {
                let batch = Bytes::copy_from_slice(header.bytes());
                decode(&batch, header.base_offset())?
                    .iter()
                    .any(|r| r.key.is_none())
            }
        };
        if null {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Walks `length, attributes, timestampDelta, offsetDelta, keyLength` of
/// each record, skipping the rest by its length.
fn uncompressed_has_null_key(header: &BatchHeader<'_>) -> Result<bool, RecordsError> {
    let bytes = &header.bytes()[BATCH_HEADER_LEN..];
    let malformed = |what: &str| RecordsError::Decode {
        base_offset: header.base_offset(),
        source: format!("malformed record: {what}").into(),
    };
    let mut at = 0;
    for _ in 0..header.record_count() {
        let len = read_varint(bytes, &mut at).ok_or_else(|| malformed("length"))?;
        let len = usize::try_from(len).map_err(|_| malformed("negative length"))?;
        let end = at
            .checked_add(len)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| malformed("length past the batch"))?;
        let record = &bytes[at..end];
        let mut p = 1; // attributes
        read_varint(record, &mut p).ok_or_else(|| malformed("timestamp delta"))?;
        read_varint(record, &mut p).ok_or_else(|| malformed("offset delta"))?;
        let key_len = read_varint(record, &mut p).ok_or_else(|| malformed("key length"))?;
        if key_len == -1 {
            return Ok(true);
        }
        at = end;
    }
    Ok(false)
}

/// A zigzag varint (or varlong: up to 10 bytes) at `*at`, moving `*at` past it.
fn read_varint(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::TimestampType;

    fn record(offset: i64, key: Option<&'static [u8]>, value: Option<&'static [u8]>) -> Record {
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 5,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset,
            // Non-idempotent: base sequence -1, constant `offset - sequence`
            // so the encoder keeps the sample in one batch.
            sequence: (offset - 11) as i32,
            timestamp: 1_000 + offset,
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers: Default::default(),
        }
    }

    fn encode(records: &[Record], compression: KafkaCompression) -> Bytes {
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression,
        };
        RecordBatchEncoder::encode(&mut buf, records, &options).unwrap();
        buf.freeze()
    }

    fn sample() -> Vec<Record> {
        vec![
            record(10, Some(b"a"), Some(b"1")),
            record(11, Some(b"b"), Some(b"2")),
            record(12, Some(b"a"), None),
            record(13, Some(b"c"), Some(b"3")),
        ]
    }

    #[test]
    fn decodes_keys_offsets_and_tombstones() {
        for compression in [
            KafkaCompression::None,
            KafkaCompression::Gzip,
            KafkaCompression::Snappy,
            KafkaCompression::Lz4,
            KafkaCompression::Zstd,
        ] {
            let batch = encode(&sample(), compression);
            let got = decode_records(&batch).unwrap();
            assert_eq!(got.len(), 4, "{compression:?}");
            assert_eq!(got[2].offset, 12);
            assert_eq!(got[2].key.as_deref(), Some(&b"a"[..]));
            assert!(got[2].is_tombstone && !got[1].is_tombstone);
            assert_eq!(got[3].timestamp, 1_013);
        }
    }

    #[test]
    fn filter_keeps_offsets_header_fields_and_last_offset() {
        for compression in [KafkaCompression::None, KafkaCompression::Zstd] {
            let batch = encode(&sample(), compression);
            let (out, removed) = filter_batch(&batch, |r| r.offset != 10).unwrap();
            assert_eq!(removed, 1);
            let Filtered::Rewritten(new) = out else {
                panic!("{out:?}")
            };
            let (old, h) = (
                BatchHeader::parse(&batch).unwrap(),
                BatchHeader::parse(&new).unwrap(),
            );
            h.verify_crc().unwrap();
            assert_eq!(h.base_offset(), 11);
            assert_eq!(h.last_offset(), old.last_offset());
            assert_eq!(h.record_count(), 3);
            assert_eq!(h.attributes(), old.attributes());
            assert_eq!(h.partition_leader_epoch(), 5);
            assert_eq!(h.base_sequence(), -1);
            let got = decode_records(&new).unwrap();
            let offsets: Vec<_> = got.iter().map(|r| r.offset).collect();
            assert_eq!(offsets, vec![11, 12, 13]);
            assert!(got[1].is_tombstone);

            assert_eq!(
                filter_batch(&batch, |_| true).unwrap(),
                (Filtered::Unchanged, 0)
            );
            assert_eq!(
                filter_batch(&batch, |_| false).unwrap(),
                (Filtered::Empty, 4)
            );
        }
    }

    #[test]
    fn filter_keeps_idempotent_sequences_and_log_append_time() {
        let mut records = sample();
        for (i, r) in records.iter_mut().enumerate() {
            r.producer_id = 77;
            r.producer_epoch = 3;
            r.sequence = 40 + i as i32;
        }
        let mut batch = encode(&records, KafkaCompression::None).to_vec();
        crate::batch::patch_header(&mut batch, 10, 5, Some(99_999));
        let batch = Bytes::from(batch);
        let (out, _) = filter_batch(&batch, |r| r.offset == 11 || r.offset == 13).unwrap();
        let Filtered::Rewritten(new) = out else {
            panic!("{out:?}")
        };
        let h = BatchHeader::parse(&new).unwrap();
        h.verify_crc().unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp(), 99_999);
        assert_eq!((h.producer_id(), h.producer_epoch()), (77, 3));
        assert_eq!(h.base_sequence(), 41);
        assert_eq!(
            (h.base_offset(), h.last_offset(), h.record_count()),
            (11, 13, 2)
        );
        // The last sequence (base sequence + last offset delta) is unchanged.
        assert_eq!(h.base_sequence() + h.last_offset_delta(), 43);
    }

    #[test]
    fn null_keys_are_found_in_plain_and_compressed_batches() {
        let keyed = sample();
        let mut keyless = sample();
        keyless[3].key = None;
        for compression in [KafkaCompression::None, KafkaCompression::Gzip] {
            let mut two = encode(&keyed, compression).to_vec();
            assert!(!batch_has_null_key(&two).unwrap());
            two.extend_from_slice(&encode(&keyless, compression));
            assert!(batch_has_null_key(&two).unwrap(), "{compression:?}");
        }
        // A record length past the batch is an error, not a panic.
        let mut bad = encode(&keyed, KafkaCompression::None).to_vec();
        bad[BATCH_HEADER_LEN] = 0x7e; // zigzag 63: more than the records hold
        assert!(batch_has_null_key(&bad).is_err());
    }

    #[test]
    fn varints() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            300,
            -300,
            i64::from(i32::MAX),
            i64::MIN,
        ] {
            let zz = ((v << 1) ^ (v >> 63)) as u64;
            let mut bytes = Vec::new();
            let mut x = zz;
            loop {
                if x < 0x80 {
                    bytes.push(x as u8);
                    break;
                }
                bytes.push((x as u8 & 0x7f) | 0x80);
                x >>= 7;
            }
            let mut at = 0;
            assert_eq!(read_varint(&bytes, &mut at), Some(v));
            assert_eq!(at, bytes.len());
        }
        assert_eq!(read_varint(&[0x80], &mut 0), None);
    }
}
