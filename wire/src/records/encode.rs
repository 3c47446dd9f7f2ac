//! Producer batches built from records, for the clients Strata runs itself
//! (the REST Proxy's produce, `strata produce`). Kafka keeps a record's
//! headers as a list: a name may repeat and every occurrence is written in
//! order. `kafka-protocol`'s `Record` keeps headers in a map and would fold a
//! repeated name into one, so the records are written here by hand, as
//! [`decode_fetched`](super::decode_fetched) reads them back.
//!
//! The batch is what a non-idempotent producer sends: base offset 0 (the
//! broker assigns the real ones), no producer id, epoch or sequence,
//! CreateTime, not transactional; the codecs at Kafka's default levels.

use bytes::{BufMut, Bytes, BytesMut};

use super::RecordsError;
use crate::batch::{Compression, BATCH_HEADER_LEN, LOG_OVERHEAD};
use crate::recompress::{codec_id, compress, Level};
use crate::varint::write_varint;

/// One record to write, borrowed from its owner.
#[derive(Debug, Clone, Copy)]
pub struct RecordToWrite<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Every header in order; a name may repeat.
    pub headers: &'a [(String, Option<Bytes>)],
    /// CreateTime, milliseconds since the epoch.
    pub timestamp: i64,
}

const MAGIC: i8 = 2;
const NO_PRODUCER_ID: i64 = -1;
const NO_PRODUCER_EPOCH: i16 = -1;
const NO_SEQUENCE: i32 = -1;
const NO_PARTITION_LEADER_EPOCH: i32 = -1;
// Field positions, as documented in `batch.rs`.
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;

fn encode_error(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RecordsError {
    RecordsError::Encode {
        base_offset: 0,
        source: source.into(),
    }
}

/// A byte string as the record format writes it: its varint length (-1 for
/// null), then its bytes.
fn put_blob(out: &mut Vec<u8>, blob: Option<&[u8]>) {
    match blob {
        None => write_varint(out, -1),
        Some(b) => {
            write_varint(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
}

/// Appends one record: `length, attributes, timestampDelta, offsetDelta,
/// key, value, headers`.
fn put_record(out: &mut Vec<u8>, record: &RecordToWrite<'_>, offset_delta: i64, base_ts: i64) {
    let mut body = Vec::with_capacity(
        16 + record.key.map_or(0, <[u8]>::len) + record.value.map_or(0, <[u8]>::len),
    );
    body.push(0); // attributes: unused
    write_varint(&mut body, record.timestamp.wrapping_sub(base_ts));
    write_varint(&mut body, offset_delta);
    put_blob(&mut body, record.key);
    put_blob(&mut body, record.value);
    write_varint(&mut body, record.headers.len() as i64);
    for (name, value) in record.headers {
        put_blob(&mut body, Some(name.as_bytes()));
        put_blob(&mut body, value.as_deref());
    }
    write_varint(out, body.len() as i64);
    out.extend_from_slice(&body);
}

/// One v2 batch holding `records` in order, with offsets 0.. and every
/// header kept; no batch at all (empty bytes) for no records, as a producer
/// sends none.
pub fn encode_batch(
    records: &[RecordToWrite<'_>],
    compression: Compression,
) -> Result<Bytes, RecordsError> {
    let Some(first) = records.first() else {
        return Ok(Bytes::new());
    };
    let count = i32::try_from(records.len()).map_err(|_| encode_error("too many records"))?;
    let base_ts = first.timestamp;
    let max_ts = records.iter().map(|r| r.timestamp).max().unwrap_or(base_ts);
    let mut plain = Vec::new();
    for (delta, record) in records.iter().enumerate() {
        put_record(&mut plain, record, delta as i64, base_ts);
    }
    let body = compress(compression, Level::Default, &plain).map_err(encode_error)?;
    let batch_length = i32::try_from(BATCH_HEADER_LEN - LOG_OVERHEAD + body.len())
        .map_err(|_| encode_error("batch too large"))?;
    let mut out = BytesMut::with_capacity(BATCH_HEADER_LEN + body.len());
    out.put_i64(0); // base offset
    out.put_i32(batch_length);
    out.put_i32(NO_PARTITION_LEADER_EPOCH);
    out.put_i8(MAGIC);
    out.put_u32(0); // CRC, below
    out.put_i16(codec_id(compression)); // CreateTime, not transactional, not control
    out.put_i32(count - 1); // last offset delta
    out.put_i64(base_ts);
    out.put_i64(max_ts);
    out.put_i64(NO_PRODUCER_ID);
    out.put_i16(NO_PRODUCER_EPOCH);
    out.put_i32(NO_SEQUENCE);
    out.put_i32(count);
    out.put_slice(&body);
    let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::RecordBatchDecoder;

    use super::*;
    use crate::batch::BatchHeader;
    use crate::records::decode_fetched;

    fn headers() -> Vec<(String, Option<Bytes>)> {
        vec![
            ("h".into(), Some(Bytes::from_static(b"1"))),
            ("h".into(), Some(Bytes::from_static(b"2"))),
            ("x".into(), None),
            ("h".into(), Some(Bytes::new())),
        ]
    }

    #[test]
    fn every_header_survives_in_order_in_every_codec() {
        let headers = headers();
        let records = [
            RecordToWrite {
                key: Some(b"k"),
                value: Some(b"v"),
                headers: &headers,
                timestamp: 1_000,
            },
            RecordToWrite {
                key: None,
                value: None,
                headers: &[],
                timestamp: 900,
            },
        ];
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let batch = encode_batch(&records, codec).unwrap();
            let header = BatchHeader::parse(&batch).unwrap();
            header.verify_crc().unwrap();
            assert_eq!(header.compression(), codec);
            assert_eq!(header.total_len(), batch.len());
            assert_eq!((header.record_count(), header.last_offset_delta()), (2, 1));
            assert_eq!(
                (header.base_timestamp(), header.max_timestamp()),
                (1_000, 1_000)
            );
            assert_eq!((header.producer_id(), header.base_sequence()), (-1, -1));
            let back = decode_fetched(&batch).unwrap();
            assert_eq!(back.len(), 2);
            assert_eq!(back[0].headers, headers);
            assert_eq!(back[0].key.as_deref(), Some(&b"k"[..]));
            assert_eq!((back[1].offset, back[1].timestamp), (1, 900));
            assert!(back[1].key.is_none() && back[1].value.is_none());
            // kafka-protocol reads it as well (folding the repeated name, as its map does).
            let sets = RecordBatchDecoder::decode_all(&mut batch.clone()).unwrap();
            assert_eq!(sets.len(), 1);
            assert_eq!(sets[0].records.len(), 2);
        }
    }

    #[test]
    fn no_records_make_no_batch() {
        assert!(encode_batch(&[], Compression::None).unwrap().is_empty());
    }
}
