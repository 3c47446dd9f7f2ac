//! Record-level access to RecordBatch v2, for the places that need it:
//! log compaction (which keys and offsets a batch holds, and rewriting a
//! batch with some records dropped) and the produce path of compacted
//! topics (refusing records without a key) and of topics with schema
//! validation (each record's key and value, [`for_each_record`]); and, for
//! Strata's own clients (the REST Proxy, `strata produce`/`consume`), the
//! batches they produce ([`encode_batch`]) and fetch ([`decode_fetched`]),
//! every header kept in order.
//!
//! Everything else in Strata moves batches as opaque bytes (see [`batch`]).
//! The compression codecs (gzip, snappy, lz4, zstd) are `kafka-protocol`'s.
//! Records themselves are walked here rather than decoded into
//! `kafka_protocol::records::Record`s: a rewritten batch then carries its
//! kept records byte for byte (a `Record` keeps headers in a map, which
//! would drop repeated header keys), and keeps its base offset, last offset
//! delta, base sequence and timestamps as Kafka's cleaner does: offset and
//! timestamp deltas stay valid, and producer sequence state survives.
//!
//! [`batch`]: crate::batch

use std::error::Error as StdError;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{self as codec, Compressor, Decompressor};
use thiserror::Error;

use crate::batch::{BatchError, BatchHeader, Batches, Compression, BATCH_HEADER_LEN, LOG_OVERHEAD};
use crate::varint::read_varint;

mod encode;
mod fetched;

pub use encode::{encode_batch, RecordToWrite};
pub use fetched::{decode_fetched, decode_fetched_batches, FetchedBatch, FetchedRecord};

// Header field positions, as documented in `batch.rs`.
const BATCH_LENGTH: usize = 8;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const MAX_TIMESTAMP: usize = 35;
const RECORD_COUNT: usize = 57;

/// Why the records of a batch could not be read or rewritten.
#[derive(Debug, Error)]
pub enum RecordsError {
    #[error("invalid record batch")]
    Batch(#[from] BatchError),
    /// The batch frames correctly but its records do not decode (corrupt
    /// compressed data, malformed varints, lengths past the batch).
    #[error("cannot decode the records of the batch at offset {base_offset}")]
    Decode {
        base_offset: i64,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Compressing kept records failed.
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

/// The result of [`filter_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filtered {
    /// Every record was kept: reuse the original bytes as they are.
    Unchanged,
    /// No record was kept: the batch goes away.
    Empty,
    /// Some records were kept, byte for byte, in one batch with the original
    /// codec, attributes, base and last offset, producer fields and leader
    /// epoch; only the record count, the length, the max timestamp (for
    /// CreateTime batches) and the CRC change.
    Rewritten(Bytes),
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// One record inside the (decompressed) records of a batch.
struct RawRecord {
    /// The whole record, its length varint included.
    bytes: Range<usize>,
    offset: i64,
    timestamp: i64,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    /// The header count and headers, after the value.
    headers: Range<usize>,
    is_tombstone: bool,
}

impl RawRecord {
    fn summary(&self, region: &Bytes) -> RecordSummary {
        RecordSummary {
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.clone().map(|k| region.slice(k)),
            is_tombstone: self.is_tombstone,
        }
    }
}

fn decode_error(header: &BatchHeader<'_>, source: impl Into<BoxError>) -> RecordsError {
    RecordsError::Decode {
        base_offset: header.base_offset(),
        source: source.into(),
    }
}

fn decompress<D: Decompressor<Bytes, Buf = Bytes>>(mut raw: Bytes) -> Result<Bytes, BoxError> {
    D::decompress(&mut raw, |out| Ok(std::mem::take(out))).map_err(BoxError::from)
}

fn compress<C: Compressor<BytesMut, BufMut = BytesMut>>(region: &[u8]) -> Result<Bytes, BoxError> {
    let mut out = BytesMut::new();
    C::compress(&mut out, |buf| {
        buf.put_slice(region);
        Ok(())
    })
    .map_err(BoxError::from)?;
    Ok(out.freeze())
}

/// The records region of a batch, decompressed. The CRC is verified first.
pub(crate) fn records_region(header: &BatchHeader<'_>) -> Result<Bytes, RecordsError> {
    header.verify_crc()?;
    let raw = Bytes::copy_from_slice(&header.bytes()[BATCH_HEADER_LEN..]);
    match header.compression() {
        Compression::None => Ok(raw),
        Compression::Gzip => decompress::<codec::Gzip>(raw),
        Compression::Snappy => decompress::<codec::Snappy>(raw),
        Compression::Lz4 => decompress::<codec::Lz4>(raw),
        Compression::Zstd => decompress::<codec::Zstd>(raw),
        Compression::Unknown(id) => Err(format!("unknown compression codec {id}").into()),
    }
    .map_err(|e| decode_error(header, e))
}

/// A length-prefixed byte string inside `record` at `*at`: `None` for -1.
fn blob(record: &[u8], at: &mut usize) -> Option<Option<Range<usize>>> {
    let n = read_varint(record, at)?;
    if n == -1 {
        return Some(None);
    }
    let start = *at;
    let end = start.checked_add(usize::try_from(n).ok()?)?;
    if end > record.len() {
        return None;
    }
    *at = end;
    Some(Some(start..end))
}

/// Locates each record of `region` (the batch's records, decompressed):
/// `length, attributes, timestampDelta, offsetDelta, key, value, headers`,
/// skipping the headers by the record's length. Never reads out of bounds.
fn walk(header: &BatchHeader<'_>, region: &[u8]) -> Result<Vec<RawRecord>, RecordsError> {
    let malformed = |what: &str| decode_error(header, format!("malformed record: {what}"));
    let count = usize::try_from(header.record_count()).map_err(|_| malformed("record count"))?;
    // A record takes at least 7 bytes: the count cannot make us allocate more.
    let mut records = Vec::with_capacity(count.min(region.len() / 7));
    let mut at = 0;
    for _ in 0..count {
        let start = at;
        let len = read_varint(region, &mut at).ok_or_else(|| malformed("length"))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| at.checked_add(len))
            .filter(|&end| end <= region.len())
            .ok_or_else(|| malformed("length"))?;
        let record = &region[..end];
        let mut p = at + 1; // attributes
        let timestamp_delta =
            read_varint(record, &mut p).ok_or_else(|| malformed("timestamp delta"))?;
        let offset_delta = read_varint(record, &mut p).ok_or_else(|| malformed("offset delta"))?;
        let key = blob(record, &mut p).ok_or_else(|| malformed("key"))?;
        let value = blob(record, &mut p).ok_or_else(|| malformed("value"))?;
        let timestamp = if header.is_log_append_time() {
            header.max_timestamp()
        } else {
            header.base_timestamp().wrapping_add(timestamp_delta)
        };
        records.push(RawRecord {
            bytes: start..end,
            offset: header.base_offset().wrapping_add(offset_delta),
            timestamp,
            key,
            is_tombstone: value.is_none(),
            value,
            headers: p..end,
        });
        at = end;
    }
    if at != region.len() {
        return Err(malformed("bytes after the last record"));
    }
    Ok(records)
}

/// Decodes the records of the one batch at the start of `batch`
/// (decompressing it if needed; the CRC is checked).
pub fn decode_records(batch: &[u8]) -> Result<Vec<RecordSummary>, RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let region = records_region(&header)?;
    let records = walk(&header, &region)?;
    Ok(records.iter().map(|r| r.summary(&region)).collect())
}

/// Keeps the records of the one batch at the start of `batch` for which
/// `keep` says so. Returns what became of the batch and how many records
/// were dropped.
pub fn filter_batch(
    batch: &[u8],
    mut keep: impl FnMut(&RecordSummary) -> bool,
) -> Result<(Filtered, usize), RecordsError> {
    let header = BatchHeader::parse(batch)?;
    let region = records_region(&header)?;
    let records = walk(&header, &region)?;
    let total = records.len();
    let kept: Vec<&RawRecord> = records
        .iter()
        .filter(|r| keep(&r.summary(&region)))
        .collect();
    let removed = total - kept.len();
    if removed == 0 {
        return Ok((Filtered::Unchanged, 0));
    }
    if kept.is_empty() {
        return Ok((Filtered::Empty, removed));
    }
    let mut plain = Vec::with_capacity(region.len());
    for r in &kept {
        plain.extend_from_slice(&region[r.bytes.clone()]);
    }
    let body = match header.compression() {
        Compression::None => Ok(Bytes::from(plain)),
        Compression::Gzip => compress::<codec::Gzip>(&plain),
        Compression::Snappy => compress::<codec::Snappy>(&plain),
        Compression::Lz4 => compress::<codec::Lz4>(&plain),
        Compression::Zstd => compress::<codec::Zstd>(&plain),
        Compression::Unknown(_) => unreachable!("decode refused the codec"),
    }
    .map_err(|source| RecordsError::Encode {
        base_offset: header.base_offset(),
        source,
    })?;
    let mut out = BytesMut::with_capacity(BATCH_HEADER_LEN + body.len());
    out.put_slice(&batch[..BATCH_HEADER_LEN]);
    out.put_slice(&body);
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| decode_error(&header, "rewritten batch too large"))?;
    out[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    out[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&(kept.len() as i32).to_be_bytes());
    if !header.is_log_append_time() {
        // As Kafka's cleaner: the max timestamp of what is left.
        let max = kept.iter().map(|r| r.timestamp).max().expect("not empty");
        out[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&max.to_be_bytes());
    }
    let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok((Filtered::Rewritten(out.freeze()), removed))
}

/// Whether any record in `records` (whole v2 batches, as a produce request
/// carries them) has a null key: Kafka refuses those for compacted topics
/// (INVALID_RECORD). Control batches are skipped. Uncompressed batches are
/// walked in place; compressed ones are CRC-checked and decompressed.
pub fn batch_has_null_key(records: &[u8]) -> Result<bool, RecordsError> {
    for item in Batches::new(records) {
        let header = item?;
        if header.is_control() {
            continue;
        }
        let null = match header.compression() {
            // Walked in place: no copy on the produce path.
            Compression::None => walk(&header, &header.bytes()[BATCH_HEADER_LEN..])?,
            _ => {
                let region = records_region(&header)?;
                walk(&header, &region)?
            }
        }
        .iter()
        .any(|r| r.key.is_none());
        if null {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Calls `visit(index, key, value)` for every record of `records` (whole v2
/// batches, as a produce request carries them), `index` counting records
/// from 0 across the batches (Kafka's batch index for a produce request's
/// one batch). Control batches are skipped. Uncompressed batches are walked
/// in place; compressed ones are CRC-checked and decompressed once. Every
/// record is located before the first visit, so a malformed batch is an
/// error before anything is visited.
pub fn for_each_record(
    records: &[u8],
    mut visit: impl FnMut(usize, Option<&[u8]>, Option<&[u8]>),
) -> Result<(), RecordsError> {
    let mut index = 0;
    for item in Batches::new(records) {
        let header = item?;
        if header.is_control() {
            continue;
        }
        let decompressed;
        let region = match header.compression() {
            Compression::None => &header.bytes()[BATCH_HEADER_LEN..],
            _ => {
                decompressed = records_region(&header)?;
                &decompressed[..]
            }
        };
        for r in walk(&header, region)? {
            let key = r.key.map(|k| &region[k]);
            let value = r.value.map(|v| &region[v]);
            visit(index, key, value);
            index += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{
        Compression as KafkaCompression, Record, RecordBatchDecoder, RecordBatchEncoder,
        RecordEncodeOptions, TimestampType,
    };

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
            // Not idempotent: base sequence -1; a constant `offset - sequence`
            // keeps the encoder from splitting the sample into batches.
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
            assert_eq!(h.base_offset(), old.base_offset());
            assert_eq!(h.last_offset(), old.last_offset());
            assert_eq!(h.record_count(), 3);
            assert_eq!(h.attributes(), old.attributes());
            assert_eq!(h.partition_leader_epoch(), 5);
            assert_eq!(h.base_sequence(), -1);
            let got = decode_records(&new).unwrap();
            let offsets: Vec<_> = got.iter().map(|r| r.offset).collect();
            assert_eq!(offsets, vec![11, 12, 13]);
            assert!(got[1].is_tombstone);
            // The kept records are exactly the original ones.
            let all = |b: &Bytes| RecordBatchDecoder::decode(&mut b.clone()).unwrap().records;
            assert_eq!(all(&new), all(&batch)[1..].to_vec());

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
        assert_eq!(h.base_sequence(), 40);
        assert_eq!(
            (h.base_offset(), h.last_offset(), h.record_count()),
            (10, 13, 2)
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
    fn every_record_is_visited_with_its_key_value_and_index() {
        for compression in [KafkaCompression::None, KafkaCompression::Lz4] {
            let batch = encode(&sample(), compression);
            let mut seen = Vec::new();
            for_each_record(&batch, |i, k, v| {
                seen.push((i, k.map(<[u8]>::to_vec), v.map(<[u8]>::to_vec)))
            })
            .unwrap();
            assert_eq!(seen.len(), 4, "{compression:?}");
            assert_eq!(seen[1], (1, Some(b"b".to_vec()), Some(b"2".to_vec())));
            assert_eq!(seen[2], (2, Some(b"a".to_vec()), None));
        }
        let mut bad = encode(&sample(), KafkaCompression::None).to_vec();
        bad[BATCH_HEADER_LEN] = 0x7e;
        let mut visits = 0;
        assert!(for_each_record(&bad, |_, _, _| visits += 1).is_err());
        assert_eq!(visits, 0, "nothing is visited in a malformed batch");
    }

    proptest::proptest! {
        /// Arbitrary bytes behind a well-framed header (CRC made valid) never
        /// make the record walk panic or read out of bounds.
        #[test]
        fn garbage_records_never_panic(
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            count in -2i32..50,
            compression in 0i16..5,
        ) {
            let mut b = encode(&sample(), KafkaCompression::None)[..BATCH_HEADER_LEN].to_vec();
            b.extend_from_slice(&payload);
            let len = (b.len() - LOG_OVERHEAD) as i32;
            b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
            b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&count.to_be_bytes());
            b[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&compression.to_be_bytes());
            let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
            b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
            let _ = decode_records(&b);
            let _ = filter_batch(&b, |r| r.offset % 2 == 0);
            let _ = batch_has_null_key(&b);
            let _ = for_each_record(&b, |_, _, _| {});
        }
    }
}
