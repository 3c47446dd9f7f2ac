//! Record batches the proxy builds (produce) and reads (consume), through
//! `kafka-protocol`'s RecordBatch v2 codec.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
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
    encode_compressed(records, now_ms, Compression::None)
        .map_err(|e| RestError::internal(format!("encoding a record batch: {e}")))
}

/// [`encode_batch`] in `compression`, for other producers of batches
/// (the `strata produce` command).
pub fn encode_compressed(
    records: &[OutRecord],
    now_ms: i64,
    compression: Compression,
) -> Result<Bytes, String> {
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
            // kafka-protocol starts a new batch wherever `offset - sequence`
            // changes, and takes the base sequence from the first record:
            // sequences that follow the offsets from -1 keep every record in
            // one batch whose base sequence is -1 (no idempotence).
            sequence: (i as i32).wrapping_sub(1),
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
            compression,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(buf.freeze())
}

/// Decodes every data record of fetched `batches` (control records are
/// skipped), in offset order, with every header (a repeated name included).
pub fn decode_batches(batches: Bytes) -> Result<Vec<InRecord>, RestError> {
    let records = strata_wire::records::decode_fetched(&batches)
        .map_err(|e| RestError::kafka(format!("reading fetched records: {e}")))?;
    Ok(records
        .into_iter()
        .map(|r| InRecord {
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: if r.log_append_time {
                TimestampType::LogAppend
            } else {
                TimestampType::Creation
            },
            key: r.key,
            value: r.value,
            headers: r.headers,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::RecordBatchDecoder;

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
        // One batch (Produce v3+ takes exactly one per partition), not idempotent.
        let sets = RecordBatchDecoder::decode_all(&mut batch.clone()).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(batch[53..57], (-1i32).to_be_bytes());
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
