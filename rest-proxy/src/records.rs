//! Record batches the proxy builds (produce) and reads (consume), through
//! `kafka-protocol`'s RecordBatch v2 codec.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::error::RestError;

/// A record to produce.
#[derive(Debug, Clone, Default)]
pub struct OutRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; the batch's time when `None`.
    pub timestamp: Option<i64>,
}

/// A record read back.
#[derive(Debug, Clone)]
pub struct InRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Encodes `records` as one uncompressed, non-transactional batch with
/// offsets 0.. (the broker assigns the real ones).
pub fn encode_batch(records: &[OutRecord], now_ms: i64) -> Result<Bytes, RestError> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // No producer id, so the batch's base sequence must be -1; the
            // encoder starts a new batch whenever `offset - sequence`
            // changes, so the sequence follows the offset to keep one batch.
            sequence: i as i32 - 1,
            timestamp: r.timestamp.unwrap_or(now_ms),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone()))
                .collect::<IndexMap<_, _>>(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| RestError::internal(format!("encoding a record batch: {e}")))?;
    Ok(buf.freeze())
}

/// Decodes every data record of fetched `batches` (control records are
/// skipped), in offset order.
pub fn decode_batches(mut batches: Bytes) -> Result<Vec<InRecord>, RestError> {
    let sets = RecordBatchDecoder::decode_all(&mut batches)
        .map_err(|e| RestError::kafka(format!("reading fetched records: {e}")))?;
    Ok(sets
        .into_iter()
        .flat_map(|set| set.records)
        .filter(|r| !r.control)
        .map(|r| InRecord {
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: r.timestamp_type,
            key: r.key,
            value: r.value,
            headers: r
                .headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_round_trip() {
        let out = vec![
            OutRecord {
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v")),
                headers: vec![("h".into(), Some(Bytes::from_static(b"1")))],
                timestamp: Some(42),
            },
            OutRecord::default(),
        ];
        let batch = encode_batch(&out, 7).unwrap();
        let mut sets = batch.clone();
        let decoded = RecordBatchDecoder::decode_all(&mut sets).unwrap();
        assert_eq!(
            decoded.len(),
            1,
            "one batch (Produce v3+ takes exactly one)"
        );
        let back = decode_batches(batch).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(back[0].timestamp, 42);
        assert_eq!(back[0].headers[0].0, "h");
        assert_eq!(back[1].offset, 1);
        assert_eq!(back[1].timestamp, 7);
        assert!(back[1].value.is_none());
    }
}
